//! CSV cells that spreadsheets read as text. A cell starting with `=`, `+`, `-`, `@`, a
//! tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets, and a
//! user's display name or a table row is not ours to trust: such a cell leaves idflow with
//! a `'` in front (numbers excepted), and the `'` comes off again when idflow reads the
//! CSV back.

use std::borrow::Cow;

fn starts_like_a_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `text` as a cell a spreadsheet shows as text.
pub fn cell(text: &str) -> Cow<'_, str> {
    if starts_like_a_formula(text) && text.trim().parse::<f64>().is_err() {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A cell read back: what [`cell`] wrote, without the `'` it added.
pub fn read(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if starts_like_a_formula(rest) => rest,
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_exports_neutralise_formulas() {
        for hostile in [
            "=HYPERLINK(\"http://evil\",\"x\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\tTAB",
            "\rCR",
        ] {
            let written = cell(hostile);
            assert!(written.starts_with('\''), "{hostile:?} → {written:?}");
            assert_eq!(read(&written), hostile);
        }
        assert_eq!(cell("Ada"), "Ada");
        assert_eq!(cell("-12.5"), "-12.5");
        assert_eq!(cell("+44"), "+44");
        assert_eq!(read("'quoted"), "'quoted");
    }
}
