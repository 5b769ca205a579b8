//! Tables: small typed tables flows keep state in (who was offboarded when, which
//! department gets which groups). Columns are typed (text, number, true/false, date &
//! time, JSON); one column may be the unique key. Every value is checked against its
//! column on the way in, from a card, the grid or a CSV file, with a reason an admin can
//! act on when it does not fit.
//!
//! The schema and value rules are pure (the console checks the same rules); CSV import and
//! export need the `server` feature.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// At most this many columns per table.
pub const MAX_COLUMNS: usize = 100;
/// A text value may be at most this long, in characters.
pub const MAX_TEXT_LENGTH: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TableId(pub Uuid);

impl TableId {
    pub fn new() -> TableId {
        TableId(Uuid::now_v7())
    }
}

impl Default for TableId {
    fn default() -> Self {
        TableId::new()
    }
}

impl std::fmt::Display for TableId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Text,
    Number,
    Boolean,
    DateTime,
    Json,
}

impl ColumnType {
    pub fn label(self) -> &'static str {
        match self {
            ColumnType::Text => "Text",
            ColumnType::Number => "Number",
            ColumnType::Boolean => "True/False",
            ColumnType::DateTime => "Date & Time",
            ColumnType::Json => "JSON",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

/// A table's name and columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub name: String,
    pub columns: Vec<Column>,
    /// The column whose values are unique and name a row ("email").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A row's values by column name; a missing column is empty (null).
pub type Row = Map<String, Value>;

impl Schema {
    /// A table named `name` with `columns` (name and type, in order) and `key`, if any.
    pub fn new(name: &str, columns: &[(&str, ColumnType)], key: Option<&str>) -> Schema {
        Schema {
            name: name.into(),
            columns: columns
                .iter()
                .map(|(name, ty)| Column {
                    name: (*name).into(),
                    ty: *ty,
                })
                .collect(),
            key: key.map(str::to_string),
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The problems with the schema itself, each a sentence.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push("A table needs a name of 1 to 100 characters.".to_string());
        }
        if self.columns.is_empty() {
            problems.push("A table needs at least one column.".to_string());
        }
        if self.columns.len() > MAX_COLUMNS {
            problems.push(format!("A table has at most {MAX_COLUMNS} columns."));
        }
        let mut seen = std::collections::HashSet::new();
        for column in &self.columns {
            let n = column.name.trim();
            if n.is_empty() || n.chars().count() > 64 || n != column.name {
                problems.push(format!(
                    "Column name {:?} must be 1 to 64 characters without spaces around it.",
                    column.name
                ));
            }
            if !seen.insert(n.to_lowercase()) {
                problems.push(format!("There are two columns named {:?}.", column.name));
            }
        }
        if let Some(key) = &self.key {
            match self.column(key) {
                None => problems.push(format!("The key column {key:?} is not one of the columns.")),
                Some(c) if c.ty == ColumnType::Json => {
                    problems.push(format!("The key column {key:?} cannot be JSON."))
                }
                _ => {}
            }
        }
        problems
    }

    /// `row` checked against the columns, each value in its column's form (numbers as
    /// numbers, dates as RFC 3339 in UTC); or every reason it does not fit.
    pub fn check_row(&self, row: &Row) -> Result<Row, Vec<String>> {
        let mut out = Row::new();
        let mut reasons = Vec::new();
        for (name, value) in row {
            match self.column(name) {
                None => reasons.push(format!("there is no column {name:?}")),
                Some(column) => match coerce(column.ty, value) {
                    Ok(Value::Null) => {}
                    Ok(v) => {
                        out.insert(name.clone(), v);
                    }
                    Err(why) => reasons.push(format!("{name}: {why}")),
                },
            }
        }
        if let Some(key) = &self.key
            && reasons.is_empty()
            && out.get(key).is_none_or(|v| v.as_str() == Some(""))
        {
            reasons.push(format!("{key}: the key column needs a value"));
        }
        if reasons.is_empty() {
            Ok(out)
        } else {
            Err(reasons)
        }
    }

    /// The key of a checked row, as text (how keys are stored and compared).
    pub fn key_of(&self, row: &Row) -> Option<String> {
        let key = self.key.as_ref()?;
        row.get(key).map(key_text)
    }
}

/// A key value as text: strings as they are, other values as JSON.
pub fn key_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `value` in the form a column of type `ty` keeps, or why it does not fit.
pub fn coerce(ty: ColumnType, value: &Value) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        ColumnType::Json => Ok(value.clone()),
        ColumnType::Text => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err("expects text, not a list or object".into()),
            };
            if text.chars().count() > MAX_TEXT_LENGTH {
                return Err(format!("text longer than {MAX_TEXT_LENGTH} characters"));
            }
            Ok(Value::String(text))
        }
        ColumnType::Number => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(s) => parse_number(s),
            _ => Err(format!("expects a number, got {value}")),
        },
        ColumnType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(s) => parse_boolean(s),
            _ => Err(format!("expects true or false, got {value}")),
        },
        ColumnType::DateTime => match value {
            Value::String(s) => parse_date_time(s),
            _ => Err(format!("expects a date and time, got {value}")),
        },
    }
}

/// A stored value as a CSV cell or a grid shows it (and [`parse_cell`] reads it back):
/// empty for none, text as it is, anything else as JSON.
pub fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A CSV cell or typed text as a value of type `ty`; empty is empty (null).
pub fn parse_cell(ty: ColumnType, cell: &str) -> Result<Value, String> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(Value::Null);
    }
    match ty {
        ColumnType::Text => coerce(ty, &Value::String(cell.to_string())),
        ColumnType::Number => parse_number(cell),
        ColumnType::Boolean => parse_boolean(cell),
        ColumnType::DateTime => parse_date_time(cell),
        ColumnType::Json => serde_json::from_str(cell).map_err(|e| format!("is not JSON ({e})")),
    }
}

fn parse_number(s: &str) -> Result<Value, String> {
    let n: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if !n.is_finite() {
        return Err(format!("{s:?} is not a number"));
    }
    // Whole numbers stay integers, so 3 is 3 and not 3.0.
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Ok(Value::from(n as i64))
    } else {
        Ok(Value::from(n))
    }
}

fn parse_boolean(s: &str) -> Result<Value, String> {
    match s.trim().to_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(Value::Bool(true)),
        "false" | "no" | "0" => Ok(Value::Bool(false)),
        _ => Err(format!("{s:?} is not true or false")),
    }
}

fn parse_date_time(s: &str) -> Result<Value, String> {
    use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
    let s = s.trim();
    let parsed = DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        })
        .map_err(|_| {
            format!("{s:?} is not a date and time (use 2026-11-23T09:30:00Z or 2026-11-23)")
        })?;
    Ok(Value::String(
        parsed.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    ))
}

/// A row of a CSV file that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub reasons: Vec<String>,
}

/// What a CSV file holds for a table: rows that fit (with their lines) and rows that do not.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CsvRows {
    pub rows: Vec<(u64, Row)>,
    pub rejects: Vec<Reject>,
}

/// Reads a CSV file for `schema`: a header naming columns (in any order, each at most
/// once; columns left out are empty), then rows. A row that does not fit is rejected with
/// its reasons; the others are returned checked. A file whose header names an unknown
/// column is refused as a whole.
#[cfg(feature = "server")]
pub fn read_csv(schema: &Schema, data: &[u8]) -> Result<CsvRows, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::Headers)
        .from_reader(data);
    let headers = reader
        .headers()
        .map_err(|e| format!("the file's first line is not a CSV header: {e}"))?
        .clone();
    let mut columns = Vec::new();
    for header in headers.iter() {
        let header = header.trim_start_matches('\u{feff}');
        let Some(column) = schema.column(header) else {
            return Err(format!(
                "the header names {header:?}, which is not a column of {} (its columns: {})",
                schema.name,
                schema
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        if columns.iter().any(|c: &&Column| c.name == column.name) {
            return Err(format!("the header names {header:?} twice"));
        }
        columns.push(column);
    }
    let mut out = CsvRows::default();
    let mut keys = std::collections::HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                out.rejects.push(Reject {
                    line,
                    reasons: vec![format!("not readable as CSV: {e}")],
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() != columns.len() {
            out.rejects.push(Reject {
                line,
                reasons: vec![format!(
                    "has {} values; the header has {}",
                    record.len(),
                    columns.len()
                )],
            });
            continue;
        }
        let mut row = Row::new();
        let mut reasons = Vec::new();
        for (column, cell) in columns.iter().zip(record.iter()) {
            match parse_cell(column.ty, crate::spreadsheet::read(cell)) {
                Ok(Value::Null) => {}
                Ok(value) => {
                    row.insert(column.name.clone(), value);
                }
                Err(why) => reasons.push(format!("{}: {why}", column.name)),
            }
        }
        let checked = if reasons.is_empty() {
            schema.check_row(&row)
        } else {
            Err(reasons)
        };
        match checked {
            Ok(row) => {
                if let Some(key) = schema.key_of(&row)
                    && let Some(first) = keys.insert(key.clone(), line)
                {
                    out.rejects.push(Reject {
                        line,
                        reasons: vec![format!("the key {key:?} is already on line {first}")],
                    });
                    continue;
                }
                out.rows.push((line, row));
            }
            Err(reasons) => out.rejects.push(Reject { line, reasons }),
        }
    }
    Ok(out)
}

/// The rows as CSV: a header of the columns in order, then one line per row.
#[cfg(feature = "server")]
pub fn write_csv<'a>(
    schema: &Schema,
    rows: impl IntoIterator<Item = &'a Row>,
) -> Result<String, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(schema.columns.iter().map(|c| c.name.as_str()))
        .map_err(|e| e.to_string())?;
    for row in rows {
        let cells = schema
            .columns
            .iter()
            .map(|c| crate::spreadsheet::cell(&cell_text(row.get(&c.name))).into_owned());
        writer.write_record(cells).map_err(|e| e.to_string())?;
    }
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn offboarded() -> Schema {
        Schema {
            name: "offboarded".into(),
            columns: vec![
                Column {
                    name: "email".into(),
                    ty: ColumnType::Text,
                },
                Column {
                    name: "when".into(),
                    ty: ColumnType::DateTime,
                },
                Column {
                    name: "groups_removed".into(),
                    ty: ColumnType::Number,
                },
                Column {
                    name: "rehire".into(),
                    ty: ColumnType::Boolean,
                },
                Column {
                    name: "extra".into(),
                    ty: ColumnType::Json,
                },
            ],
            key: Some("email".into()),
        }
    }

    #[test]
    fn a_schema_names_its_problems() {
        assert_eq!(offboarded().problems(), Vec::<String>::new());
        let mut bad = offboarded();
        bad.name = "".into();
        bad.columns.push(Column {
            name: "Email".into(),
            ty: ColumnType::Text,
        });
        bad.key = Some("extra".into());
        let problems = bad.problems().join("\n");
        assert!(problems.contains("needs a name"), "{problems}");
        assert!(
            problems.contains("two columns named \"Email\""),
            "{problems}"
        );
        assert!(problems.contains("cannot be JSON"), "{problems}");
    }

    #[test]
    fn rows_are_checked_and_normalized() {
        let row = json!({"email": "ada@example.com", "when": "2026-11-23T10:00:00+01:00", "groups_removed": "3", "rehire": "yes"});
        let checked = offboarded().check_row(row.as_object().unwrap()).unwrap();
        assert_eq!(checked["when"], "2026-11-23T09:00:00Z");
        assert_eq!(checked["groups_removed"], 3);
        assert_eq!(checked["rehire"], true);

        let bad =
            json!({"email": "", "when": "yesterday", "groups_removed": "many", "colour": "red"});
        let reasons = offboarded()
            .check_row(bad.as_object().unwrap())
            .unwrap_err();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("no column \"colour\"")));
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("when: \"yesterday\" is not a date"))
        );
        let keyless = json!({"when": "2026-11-23"});
        assert_eq!(
            offboarded()
                .check_row(keyless.as_object().unwrap())
                .unwrap_err(),
            vec!["email: the key column needs a value".to_string()]
        );
    }

    #[cfg(feature = "server")]
    #[test]
    fn a_csv_with_three_bad_rows_of_a_hundred_keeps_ninety_seven() {
        let mut csv = String::from("email,when,groups_removed,rehire\n");
        for i in 0..100 {
            match i {
                10 => csv.push_str("bad.date@example.com,someday,1,no\n"),
                50 => csv.push_str("user1@example.com,2026-11-23,2,no\n"),
                70 => csv.push_str("too,many,values,in,this,row\n"),
                _ => csv.push_str(&format!(
                    "user{i}@example.com,2026-11-23T08:00:00Z,{i},false\n"
                )),
            }
        }
        let read = read_csv(&offboarded(), csv.as_bytes()).unwrap();
        assert_eq!(read.rows.len(), 97);
        assert_eq!(
            read.rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![12, 52, 72]
        );
        assert!(
            read.rejects[0].reasons[0].contains("is not a date"),
            "{:?}",
            read.rejects
        );
        assert!(
            read.rejects[1].reasons[0].contains("already on line 3"),
            "{:?}",
            read.rejects
        );
        assert!(
            read.rejects[2].reasons[0].contains("has 6 values"),
            "{:?}",
            read.rejects
        );

        // Export and read back: the same rows.
        let rows: Vec<Row> = read.rows.iter().map(|(_, r)| r.clone()).collect();
        let text = write_csv(&offboarded(), &rows).unwrap();
        assert!(text.starts_with("email,when,groups_removed,rehire,extra\n"));
        let again = read_csv(&offboarded(), text.as_bytes()).unwrap();
        assert_eq!(again.rejects, vec![]);
        assert_eq!(
            again
                .rows
                .iter()
                .map(|(_, r)| r.clone())
                .collect::<Vec<_>>(),
            rows
        );
    }

    #[cfg(feature = "server")]
    #[test]
    fn a_header_with_an_unknown_column_refuses_the_file() {
        let err = read_csv(&offboarded(), b"email,department\nada@example.com,IT\n").unwrap_err();
        assert!(
            err.contains("\"department\", which is not a column of offboarded"),
            "{err}"
        );
    }
}
