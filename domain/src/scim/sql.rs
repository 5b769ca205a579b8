//! SCIM user filters as SQL over the `users` table and the keys kept for filters
//! (`user_keys`, [`super::filter::FILTER_PATHS`]).
//!
//! A filter on `id`, `userName`, `externalId`, `displayName`, `emails`,
//! `emails.value` and `active`, with any `and`, `or`, `not` and `emails[value …]`
//! around them, becomes a condition that gives exactly what [`super::filter::matches`]
//! gives: the store pages and counts it in the database. Any other attribute makes the
//! condition a superset of the answer (what the indexed parts allow): the caller reads
//! those users, a bounded number, and the filter decides.

use super::filter::{FILTER_PATHS, case_exact, filter_path, instant, names, orders};
use chrono::{DateTime, TimeDelta, Utc};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use uuid::Uuid;

/// The SQL dialect a condition is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value a condition binds, in the order of its `$n` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Text(String),
    Id(Uuid),
    Time(DateTime<Utc>),
}

/// A `WHERE` condition on `users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub sql: String,
    pub binds: Vec<Bind>,
    /// Whether the condition keeps exactly the users the filter matches; when `false` it
    /// keeps every one of them and maybe others.
    pub exact: bool,
}

const TRUE: &str = "(1 = 1)";

/// The end of the range of strings that start with `prefix`, in byte order: the first
/// string after all of them (for `key >= prefix AND key < prefix_end(prefix)`).
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}
const FALSE: &str = "(1 = 0)";

/// The condition for `filter`, its placeholders numbered from `$1`.
pub fn users(filter: &Filter, dialect: Dialect) -> Condition {
    let mut writer = Writer {
        dialect,
        binds: Vec::new(),
    };
    let (sql, exact) = writer.superset(filter);
    Condition {
        sql,
        binds: writer.binds,
        exact,
    }
}

struct Writer {
    dialect: Dialect,
    binds: Vec<Bind>,
}

impl Writer {
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn text(&mut self, value: String) -> String {
        self.bind(Bind::Text(value))
    }

    /// The exact condition, if every part of `filter` has one.
    fn filter(&mut self, filter: &Filter) -> Option<String> {
        match filter {
            Filter::Attr(exp) => self.attr(exp),
            Filter::ValuePath(vp) => self.value_path(&vp.attr, &vp.filter),
            Filter::Not(inner) => self.filter(inner).map(|sql| format!("(NOT {sql})")),
            Filter::And(items) => self.all(items.as_slice(), " AND "),
            Filter::Or(items) => self.all(items.as_slice(), " OR "),
        }
    }

    fn all(&mut self, items: &[Filter], joint: &str) -> Option<String> {
        let mut parts = Vec::with_capacity(items.len());
        for item in items {
            parts.push(self.filter(item)?);
        }
        Some(format!("({})", parts.join(joint)))
    }

    /// A condition every user `filter` matches meets, and whether it is exact: the
    /// exact one where there is one, and, around the parts without, what `and` and `or`
    /// still allow.
    fn superset(&mut self, filter: &Filter) -> (String, bool) {
        let mark = self.binds.len();
        if let Some(sql) = self.filter(filter) {
            return (sql, true);
        }
        // What the failed attempt bound is not in the condition.
        self.binds.truncate(mark);
        let (items, joint) = match filter {
            Filter::And(items) => (items, " AND "),
            Filter::Or(items) => (items, " OR "),
            // Without an exact condition, `not` allows anyone.
            _ => return (TRUE.to_string(), false),
        };
        let parts: Vec<String> = items
            .as_slice()
            .iter()
            .map(|f| self.superset(f).0)
            .filter(|sql| sql != TRUE)
            .collect();
        if parts.is_empty() || joint == " OR " && parts.len() < items.as_slice().len() {
            // Some side allows anyone: so does the whole.
            self.binds.truncate(mark);
            return (TRUE.to_string(), false);
        }
        (format!("({})", parts.join(joint)), false)
    }

    /// `emails[value op …]`, or `or`s of such comparisons: each element's value is what
    /// `emails.value` compares, so it is the same filter on `emails.value`. Other value
    /// filters (`and`, `not`, other sub-attributes, and comparisons an element without a
    /// value meets) ask each element for more and have no exact condition.
    fn value_path(&mut self, attr: &AttrPath, filter: &ValFilter) -> Option<String> {
        if attr.sub_attr.is_some() || !names(attr, "emails", None) {
            return None;
        }
        let on_value = |path: &AttrPath| {
            path.uri.is_none() && path.sub_attr.is_none() && path.name.eq_ignore_ascii_case("value")
        };
        let element_path = AttrPath {
            uri: None,
            name: "emails".into(),
            sub_attr: Some("value".into()),
        };
        match filter {
            ValFilter::Attr(AttrExp::Present(path)) if on_value(path) => {
                self.attr(&AttrExp::Present(element_path))
            }
            // An element without a value meets `ne` (and `eq null`): `emails.value` does not
            // see such elements, so those comparisons are not the same filter.
            ValFilter::Attr(AttrExp::Comparison(path, op, value))
                if on_value(path) && !when_absent(op, value) =>
            {
                self.attr(&AttrExp::Comparison(
                    element_path,
                    op.clone(),
                    value.clone(),
                ))
            }
            ValFilter::Or(items) => {
                let mut parts = Vec::new();
                for item in items.as_slice() {
                    parts.push(self.value_path(attr, item)?);
                }
                Some(format!("({})", parts.join(" OR ")))
            }
            _ => None,
        }
    }

    fn attr(&mut self, exp: &AttrExp) -> Option<String> {
        let path = match exp {
            AttrExp::Present(path) | AttrExp::Comparison(path, _, _) => path,
        };
        if names(path, "id", None) {
            return self.id(exp);
        }
        if names(path, "active", None) {
            return Some(self.active(exp));
        }
        if names(path, "meta", Some("created")) {
            return self.time("users.created_at", exp);
        }
        if names(path, "meta", Some("lastModified")) {
            return self.time("users.updated_at", exp);
        }
        let (kind, name, sub) = FILTER_PATHS
            .iter()
            .find(|(_, name, sub)| names(path, name, *sub))?;
        let exact = case_exact(&filter_path(name, *sub));
        let (op, value) = match exp {
            AttrExp::Present(_) => {
                // An empty string or list is not present; every other value is.
                let sql = self.keyed(kind, "key NOT IN ('s:', 'o:[]')");
                return Some(sql);
            }
            AttrExp::Comparison(_, op, value) => (op, value),
        };
        let predicate = self.key_predicate(op, value, exact)?;
        let some = match predicate.as_str() {
            FALSE => FALSE.to_string(),
            _ => self.keyed(kind, &predicate),
        };
        Some(if when_absent(op, value) {
            format!("({} OR {some})", self.absent(kind))
        } else {
            some
        })
    }

    /// Users with a key of `kind` that meets `predicate`.
    fn keyed(&self, kind: &str, predicate: &str) -> String {
        format!(
            "(users.id IN (SELECT user_id FROM user_keys WHERE kind = '{kind}' AND {predicate}))"
        )
    }

    /// Users without any value of `kind`.
    fn absent(&self, kind: &str) -> String {
        format!("(users.id NOT IN (SELECT user_id FROM user_keys WHERE kind = '{kind}'))")
    }

    /// Whether one kept value (`key`, as [`super::filter::filter_key`] made it) compares as `op` with
    /// `value` would in memory; `None` when SQL cannot say (numbers, and booleans on
    /// attributes compared with case).
    fn key_predicate(&mut self, op: &CompareOp, value: &CompValue, exact: bool) -> Option<String> {
        let is_string = "substr(key, 1, 2) = 's:'";
        Some(match value {
            CompValue::Str(expected) => {
                let expected = if exact {
                    expected.clone()
                } else {
                    expected.to_lowercase()
                };
                let whole = || format!("s:{expected}");
                match op {
                    CompareOp::Eq => format!("key = {}", self.text(whole())),
                    CompareOp::Ne => format!("key <> {}", self.text(whole())),
                    CompareOp::Sw => {
                        // A range of the index: from the prefix to the last string that
                        // starts with it.
                        let from = self.text(whole());
                        let to = self.text(prefix_end(&format!("s:{expected}")));
                        format!("key >= {from} AND key < {to}")
                    }
                    CompareOp::Co => {
                        let p = self.text(expected.clone());
                        format!("{is_string} AND {}", self.contains("substr(key, 3)", &p))
                    }
                    CompareOp::Ew => {
                        let p = self.text(expected.clone());
                        format!("{is_string} AND {}", self.ends_with("substr(key, 3)", &p))
                    }
                    CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                        let sign = match op {
                            CompareOp::Gt => ">",
                            CompareOp::Ge => ">=",
                            CompareOp::Lt => "<",
                            _ => "<=",
                        };
                        let p = self.text(whole());
                        // The keys compare in byte order, as Rust compares strings (on
                        // PostgreSQL the column's collation is "C").
                        format!("{is_string} AND key {sign} {p}")
                    }
                }
            }
            CompValue::True | CompValue::False if exact => return None,
            CompValue::True | CompValue::False => {
                // A boolean, or a string reading "true" in any case, is true; any other
                // string is false; other values compare only as `ne`.
                let truthy = "(key = 's:true' OR key = 'b:true')";
                let falsy = format!("(key = 'b:false' OR ({is_string} AND key <> 's:true'))");
                let wanted = matches!(value, CompValue::True);
                match (op, wanted) {
                    (CompareOp::Eq, true) => truthy.to_string(),
                    (CompareOp::Eq, false) => falsy,
                    (CompareOp::Ne, true) => format!("NOT {truthy}"),
                    (CompareOp::Ne, false) => format!("NOT {falsy}"),
                    _ => FALSE.to_string(),
                }
            }
            CompValue::Null => match op {
                CompareOp::Ne => TRUE.to_string(),
                _ => FALSE.to_string(),
            },
            CompValue::Number(_) => return None,
        })
    }

    /// `id`: a UUID, compared with case as the resource writes it; only `eq`, `ne` and
    /// `pr` have a condition.
    fn id(&mut self, exp: &AttrExp) -> Option<String> {
        let (op, value) = match exp {
            AttrExp::Present(_) => return Some(TRUE.to_string()),
            AttrExp::Comparison(_, op, CompValue::Str(value)) => (op, value),
            AttrExp::Comparison(..) => return None,
        };
        // Only the lowercase, hyphenated form is any user's id.
        let id = Uuid::parse_str(value)
            .ok()
            .filter(|id| id.to_string() == *value);
        Some(match (op, id) {
            (CompareOp::Eq, Some(id)) => format!("users.id = {}", self.bind(Bind::Id(id))),
            (CompareOp::Ne, Some(id)) => format!("users.id <> {}", self.bind(Bind::Id(id))),
            (CompareOp::Eq, None) => FALSE.to_string(),
            (CompareOp::Ne, None) => TRUE.to_string(),
            _ => return None,
        })
    }

    /// `meta.created` or `meta.lastModified` (`column`), which the resource writes to
    /// the millisecond: compared in time with a value that reads as an RFC 3339 time.
    fn time(&mut self, column: &str, exp: &AttrExp) -> Option<String> {
        let (op, expected) = match exp {
            AttrExp::Present(_) => return Some(TRUE.to_string()),
            AttrExp::Comparison(_, op, CompValue::Str(e)) if orders(op) => (op, instant(e)?),
            AttrExp::Comparison(..) => return None,
        };
        // The shown time is the stored one cut to the millisecond, so it is after the
        // expected time when the stored one is at or after the next millisecond, and so on.
        let millisecond = TimeDelta::milliseconds(1);
        let floor = DateTime::from_timestamp_millis(expected.timestamp_millis())?;
        let ceiling = if floor == expected {
            floor
        } else {
            floor + millisecond
        };
        let on_a_millisecond = floor == expected;
        let mut at = |time: DateTime<Utc>| self.bind(Bind::Time(time));
        Some(match op {
            CompareOp::Gt => format!("{column} >= {}", at(floor + millisecond)),
            CompareOp::Ge => format!("{column} >= {}", at(ceiling)),
            CompareOp::Lt => format!("{column} < {}", at(ceiling)),
            CompareOp::Le => format!("{column} < {}", at(floor + millisecond)),
            CompareOp::Eq if on_a_millisecond => {
                let (from, to) = (at(floor), at(floor + millisecond));
                format!("({column} >= {from} AND {column} < {to})")
            }
            CompareOp::Ne if on_a_millisecond => {
                let (from, to) = (at(floor), at(floor + millisecond));
                format!("({column} < {from} OR {column} >= {to})")
            }
            CompareOp::Eq => FALSE.to_string(),
            _ => TRUE.to_string(),
        })
    }

    /// `active`: whether the user's status is active, unless a PATCH removed it (a JSON
    /// null kept in the attributes), when the resource has no `active`.
    fn active(&mut self, exp: &AttrExp) -> String {
        let hidden = match self.dialect {
            Dialect::Sqlite => "COALESCE(json_type(users.attributes, '$.active') = 'null', 0)",
            Dialect::Postgres => "COALESCE(users.attributes -> 'active' = 'null'::jsonb, FALSE)",
        };
        let active = "users.status = 'active'";
        let (op, value) = match exp {
            AttrExp::Present(_) => return format!("(NOT {hidden})"),
            AttrExp::Comparison(_, op, value) => (op, value),
        };
        let shown = match (op, value) {
            (CompareOp::Eq, CompValue::True) | (CompareOp::Ne, CompValue::False) => {
                active.to_string()
            }
            (CompareOp::Eq, CompValue::False) | (CompareOp::Ne, CompValue::True) => {
                format!("NOT {active}")
            }
            (_, CompValue::True | CompValue::False) => FALSE.to_string(),
            // A boolean against anything else compares only as `ne`.
            (CompareOp::Ne, _) => TRUE.to_string(),
            _ => FALSE.to_string(),
        };
        let when_hidden = if when_absent(op, value) { TRUE } else { FALSE };
        format!("(({hidden} AND {when_hidden}) OR (NOT {hidden} AND {shown}))")
    }

    fn contains(&self, haystack: &str, needle: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("instr({haystack}, {needle}) > 0"),
            Dialect::Postgres => format!("strpos({haystack}, {needle}) > 0"),
        }
    }

    fn ends_with(&self, text: &str, suffix: &str) -> String {
        // `substr(x, -0)` is all of x in SQLite: the empty suffix is said apart.
        match self.dialect {
            Dialect::Sqlite => {
                format!("(length({suffix}) = 0 OR substr({text}, -length({suffix})) = {suffix})")
            }
            Dialect::Postgres => format!("right({text}, length({suffix})) = {suffix}"),
        }
    }
}

/// What a comparison gives for an attribute without a value: `ne` anything but null is
/// true, `eq null` is true, everything else is false.
fn when_absent(op: &CompareOp, value: &CompValue) -> bool {
    match op {
        CompareOp::Ne => !matches!(value, CompValue::Null),
        CompareOp::Eq => matches!(value, CompValue::Null),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse;

    fn condition(text: &str) -> Condition {
        users(&parse(text).unwrap(), Dialect::Sqlite)
    }

    #[test]
    fn the_attributes_identity_providers_filter_on_are_exact() {
        for text in [
            r#"userName eq "Ada@Example.com""#,
            r#"externalId co "x" or emails.value sw "ada""#,
            r#"not (displayName ew "lace") and active eq true"#,
            r#"emails[value eq "a@b" or value gt "m"]"#,
            r#"id eq "2819c223-7f76-453a-919d-413861904646""#,
            "emails pr",
            r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
        ] {
            assert!(condition(text).exact, "{text}");
        }
        let c = condition(r#"userName eq "Ada@Example.com""#);
        assert_eq!(c.binds, vec![Bind::Text("s:ada@example.com".into())]);
        // externalId compares with case.
        let c = condition(r#"externalId eq "X1""#);
        assert_eq!(c.binds, vec![Bind::Text("s:X1".into())]);
    }

    #[test]
    fn other_attributes_leave_a_superset_of_what_the_indexed_parts_allow() {
        let c = condition(r#"title eq "Boss" and userName sw "a""#);
        assert!(!c.exact);
        assert!(c.sql.contains("f:userName"), "{}", c.sql);
        // `sw` is a range of the index.
        assert_eq!(
            c.binds,
            vec![Bind::Text("s:a".into()), Bind::Text("s:a\u{10ffff}".into())]
        );
        // `or` with an unindexed side, and `not` around one, allow anyone.
        for text in [
            r#"title eq "Boss" or userName sw "a""#,
            r#"not (title eq "Boss")"#,
            r#"emails[type eq "work" and value co "x"]"#,
            r#"meta.lastModified co "2026""#,
        ] {
            let c = condition(text);
            assert!(!c.exact, "{text}");
            assert!(c.binds.is_empty(), "{text}: {:?}", c.binds);
        }
    }

    #[test]
    fn an_id_that_no_user_can_have_is_answered_without_binding() {
        // Uppercase is not how ids are written, so it matches nobody.
        let c = condition(r#"id eq "2819C223-7F76-453A-919D-413861904646""#);
        assert!(c.exact);
        assert_eq!(c.sql, FALSE);
        assert_eq!(condition(r#"id ne "x""#).sql, TRUE);
    }
}
