//! The function cards: text, number, true/false, date & time, list, object and JSON.
//! Each takes its inputs (already bound and typed) and gives its outputs; none changes
//! anything, so the engine can run them inline and Test Flow can run them anywhere.
//!
//! Inputs and outputs use the field names of the [`super::catalog`]. An error is a
//! sentence naming what was wrong with which input.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Value, json};

/// The longest pattern `text.regex_match` accepts, in characters.
pub const MAX_PATTERN: usize = 1_000;
/// The most items a list function returns or a split makes.
pub const MAX_ITEMS: usize = 100_000;

type Inputs = Map<String, Value>;
type Outputs = Map<String, Value>;

/// Runs the function card `kind` with `inputs`. `None` when `kind` is not a function card.
pub fn run(kind: &str, inputs: &Inputs) -> Option<Result<Outputs, String>> {
    let i = In(inputs);
    let result = match kind {
        "text.compose" => i.text("template").map(output),
        "text.concatenate" => (|| {
            let parts: Vec<String> = i.list("items")?.iter().map(as_text).collect();
            Ok(output(parts.join(&i.text_or("separator", "")?)))
        })(),
        "text.split" => (|| {
            let separator = i.text("separator")?;
            if separator.is_empty() {
                return Err("separator: give at least one character".into());
            }
            let parts: Vec<Value> = i
                .text("text")?
                .split(separator.as_str())
                .take(MAX_ITEMS)
                .map(|p| Value::String(p.to_string()))
                .collect();
            Ok(output(parts))
        })(),
        "text.replace" => (|| {
            let find = i.text("find")?;
            if find.is_empty() {
                return Err("find: give the text to find".into());
            }
            Ok(output(
                i.text("text")?.replace(&find, &i.text_or("replace", "")?),
            ))
        })(),
        "text.regex_match" => (|| {
            let pattern = i.text("pattern")?;
            if pattern.chars().count() > MAX_PATTERN {
                return Err(format!("pattern: longer than {MAX_PATTERN} characters"));
            }
            let regex = regex::RegexBuilder::new(&pattern)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| format!("pattern: not a valid pattern ({e})"))?;
            let text = i.text("text")?;
            let (matched, groups) = match regex.captures(&text) {
                Some(c) => (
                    true,
                    c.iter()
                        .skip(1)
                        .map(|g| g.map_or(Value::Null, |m| Value::String(m.as_str().into())))
                        .collect(),
                ),
                None => (false, Vec::new()),
            };
            Ok(outputs([
                ("matched", json!(matched)),
                ("groups", Value::Array(groups)),
            ]))
        })(),
        "text.change_case" => (|| {
            let text = i.text("text")?;
            Ok(output(match i.text("case")?.to_lowercase().as_str() {
                "upper" => text.to_uppercase(),
                "lower" => text.to_lowercase(),
                "title" => title_case(&text),
                other => return Err(format!("case: {other:?} is not upper, lower or title")),
            }))
        })(),
        "text.trim" => i.text("text").map(|t| output(t.trim())),
        "text.length" => i.text("text").map(|t| output(t.chars().count())),
        "number.add" => (|| Ok(output(number(i.number("a")? + i.number("b")?))))(),
        "number.subtract" => (|| Ok(output(number(i.number("a")? - i.number("b")?))))(),
        "number.compare" => (|| {
            let (a, b) = (i.number("a")?, i.number("b")?);
            Ok(output(match i.text("operator")?.as_str() {
                "=" | "==" => a == b,
                "!=" => a != b,
                "<" => a < b,
                "<=" => a <= b,
                ">" => a > b,
                ">=" => a >= b,
                other => return Err(format!("operator: {other:?} is not one of = != < <= > >=")),
            }))
        })(),
        "boolean.and" => (|| Ok(output(i.booleans("values")?.iter().all(|b| *b))))(),
        "boolean.or" => (|| Ok(output(i.booleans("values")?.iter().any(|b| *b))))(),
        "boolean.not" => i.boolean("value").map(|b| output(!b)),
        "boolean.compare" => (|| {
            let a = i.get("a").cloned().unwrap_or(Value::Null);
            let b = i.get("b").cloned().unwrap_or(Value::Null);
            Ok(output(compare(&a, &i.text("operator")?, &b)?))
        })(),
        "datetime.now" => Ok(output(stamp(Utc::now()))),
        "datetime.add" => (|| {
            let date = i.date("date")?;
            let amount = i.number("amount")?;
            let seconds = amount * unit_seconds(&i.text("unit")?)?;
            if !seconds.is_finite() || seconds.abs() > 1.0e12 {
                return Err("amount: too large".into());
            }
            let added = date
                .checked_add_signed(Duration::milliseconds((seconds * 1000.0) as i64))
                .ok_or("amount: the result is out of range")?;
            Ok(output(stamp(added)))
        })(),
        "datetime.format" => (|| {
            let date = i.date("date")?;
            let format = i.text("format")?;
            check_format(&format)?;
            let text = match i.optional_text("time_zone")? {
                Some(zone) => {
                    let zone: chrono_tz::Tz = zone.parse().map_err(|_| {
                        format!("time_zone: {zone:?} is not a time zone (such as Europe/Paris)")
                    })?;
                    date.with_timezone(&zone).format(&format).to_string()
                }
                None => date.format(&format).to_string(),
            };
            Ok(output(text))
        })(),
        "datetime.parse" => (|| {
            let text = i.text("text")?;
            let parsed = match i.optional_text("format")? {
                Some(format) => {
                    check_format(&format)?;
                    NaiveDateTime::parse_from_str(&text, &format)
                        .map(|d| d.and_utc())
                        .or_else(|_| {
                            NaiveDate::parse_from_str(&text, &format)
                                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
                        })
                        .map_err(|e| format!("text: {text:?} does not fit the format ({e})"))?
                }
                None => parse_date(&text).map_err(|e| format!("text: {e}"))?,
            };
            Ok(output(stamp(parsed)))
        })(),
        "datetime.difference" => (|| {
            let seconds = (i.date("end")? - i.date("start")?).num_milliseconds() as f64 / 1000.0;
            let per = unit_seconds(&i.text("unit")?)?;
            Ok(output((seconds / per).trunc() as i64))
        })(),
        "list.count" => i.list("list").map(|l| output(l.len())),
        "list.filter" => (|| {
            let condition = i.text("condition")?;
            let mut kept = Vec::new();
            for item in i.list("list")? {
                let context = json!({ "item": item });
                if super::expressions::holds(&condition, &context)
                    .map_err(|e| format!("condition: {e}"))?
                {
                    kept.push(item.clone());
                }
            }
            Ok(output(kept))
        })(),
        "list.pluck" => (|| {
            let key = i.text("key")?;
            let values: Vec<Value> = i
                .list("list")?
                .iter()
                .map(|item| item.get(&key).cloned().unwrap_or(Value::Null))
                .collect();
            Ok(output(values))
        })(),
        "list.join" => (|| {
            let parts: Vec<String> = i.list("list")?.iter().map(as_text).collect();
            Ok(output(parts.join(&i.text_or("separator", ", ")?)))
        })(),
        "list.get" => (|| {
            let list = i.list("list")?;
            let index = i.number("index")?;
            if index.fract() != 0.0 {
                return Err("index: give a whole number".into());
            }
            let len = list.len() as i64;
            let at = if index < 0.0 {
                len + index as i64
            } else {
                index as i64
            };
            Ok(output(
                usize::try_from(at)
                    .ok()
                    .and_then(|at| list.get(at))
                    .cloned()
                    .unwrap_or(Value::Null),
            ))
        })(),
        "list.unique" => (|| {
            let mut seen = Vec::new();
            for item in i.list("list")? {
                if !seen.contains(item) {
                    seen.push(item.clone());
                }
            }
            Ok(output(seen))
        })(),
        "list.sort" => (|| {
            let mut list = i.list("list")?.clone();
            let key = i.optional_text("key")?;
            list.sort_by(|a, b| {
                let (a, b) = match &key {
                    Some(k) => (
                        a.get(k).unwrap_or(&Value::Null),
                        b.get(k).unwrap_or(&Value::Null),
                    ),
                    None => (a, b),
                };
                order(a, b)
            });
            Ok(output(list))
        })(),
        "list.contains" => (|| {
            let value = i.get("value").cloned().unwrap_or(Value::Null);
            Ok(output(i.list("list")?.contains(&value)))
        })(),
        "object.get" => (|| {
            let object = i.object("object")?;
            Ok(output(
                get_path(object, &i.text("path")?)
                    .cloned()
                    .unwrap_or(Value::Null),
            ))
        })(),
        "object.set" => (|| {
            let mut object = Value::Object(i.object("object")?.clone());
            let value = i.get("value").cloned().unwrap_or(Value::Null);
            set_path(&mut object, &i.text("path")?, value)?;
            Ok(output(object))
        })(),
        "object.merge" => (|| {
            let mut merged = Map::new();
            for (n, object) in i.list("objects")?.iter().enumerate() {
                let object = object
                    .as_object()
                    .ok_or_else(|| format!("objects: item {} is not an object", n + 1))?;
                merged.extend(object.clone());
            }
            Ok(output(Value::Object(merged)))
        })(),
        "object.keys" => (|| {
            let keys: Vec<Value> = i
                .object("object")?
                .keys()
                .map(|k| Value::String(k.clone()))
                .collect();
            Ok(output(keys))
        })(),
        "json.parse" => (|| {
            let text = i.text("text")?;
            serde_json::from_str::<Value>(&text)
                .map(output)
                .map_err(|e| format!("text: not JSON ({e})"))
        })(),
        "json.stringify" => Ok(output(
            i.get("value").cloned().unwrap_or(Value::Null).to_string(),
        )),
        "json.query" => (|| {
            let query = i.text("query")?;
            let path = serde_json_path::JsonPath::parse(&query)
                .map_err(|e| format!("query: not a JSONPath ({e})"))?;
            let value = i.get("value").cloned().unwrap_or(Value::Null);
            let found: Vec<Value> = path.query(&value).all().into_iter().cloned().collect();
            Ok(output(found))
        })(),
        _ => return None,
    };
    Some(result)
}

/// Typed access to a card's inputs, each failure naming the input.
struct In<'a>(&'a Inputs);

impl In<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn text(&self, name: &str) -> Result<String, String> {
        match self.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            Some(other) => Err(format!("{name}: expects text, got {}", kind_of(other))),
            None => Err(format!("{name}: has no value")),
        }
    }

    fn optional_text(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(_) => self.text(name).map(Some),
        }
    }

    fn text_or(&self, name: &str, default: &str) -> Result<String, String> {
        Ok(self
            .optional_text(name)?
            .unwrap_or_else(|| default.to_string()))
    }

    fn number(&self, name: &str) -> Result<f64, String> {
        match self.get(name) {
            Some(Value::Number(n)) => n.as_f64().ok_or_else(|| format!("{name}: not a number")),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| format!("{name}: {s:?} is not a number")),
            Some(other) => Err(format!("{name}: expects a number, got {}", kind_of(other))),
            None => Err(format!("{name}: has no value")),
        }
    }

    fn boolean(&self, name: &str) -> Result<bool, String> {
        match self.get(name) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!(
                "{name}: expects true or false, got {}",
                kind_of(other)
            )),
            None => Err(format!("{name}: has no value")),
        }
    }

    fn booleans(&self, name: &str) -> Result<Vec<bool>, String> {
        self.list(name)?
            .iter()
            .enumerate()
            .map(|(n, v)| {
                v.as_bool()
                    .ok_or_else(|| format!("{name}: item {} is not true or false", n + 1))
            })
            .collect()
    }

    fn list(&self, name: &str) -> Result<&Vec<Value>, String> {
        match self.get(name) {
            Some(Value::Array(items)) if items.len() <= MAX_ITEMS => Ok(items),
            Some(Value::Array(_)) => Err(format!("{name}: more than {MAX_ITEMS} items")),
            Some(other) => Err(format!("{name}: expects a list, got {}", kind_of(other))),
            None => Err(format!("{name}: has no value")),
        }
    }

    fn object(&self, name: &str) -> Result<&Map<String, Value>, String> {
        match self.get(name) {
            Some(Value::Object(o)) => Ok(o),
            Some(other) => Err(format!("{name}: expects an object, got {}", kind_of(other))),
            None => Err(format!("{name}: has no value")),
        }
    }

    fn date(&self, name: &str) -> Result<DateTime<Utc>, String> {
        parse_date(&self.text(name)?).map_err(|e| format!("{name}: {e}"))
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn output(value: impl Into<Value>) -> Outputs {
    outputs([("output", value.into())])
}

fn outputs<const N: usize>(pairs: [(&str, Value); N]) -> Outputs {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Whole results as integers (2 + 3 is 5, not 5.0).
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn title_case(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn stamp(date: DateTime<Utc>) -> String {
    date.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_date(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")))
        })
        .map_err(|_| format!("{text:?} is not a date and time (such as 2026-11-23T09:30:00Z)"))
}

/// chrono panics on some malformed format strings when displaying; refuse those first.
fn check_format(format: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!(
            "format: {format:?} is not a valid date format (such as %Y-%m-%d %H:%M)"
        ));
    }
    Ok(())
}

fn unit_seconds(unit: &str) -> Result<f64, String> {
    Ok(match unit.trim().to_lowercase().trim_end_matches('s') {
        "second" => 1.0,
        "minute" => 60.0,
        "hour" => 3_600.0,
        "day" => 86_400.0,
        "week" => 604_800.0,
        other => {
            return Err(format!(
                "unit: {other:?} is not seconds, minutes, hours, days or weeks"
            ));
        }
    })
}

/// Orders values: numbers by value, text alphabetically, nothing last.
fn order(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (x, y) => as_text(x).cmp(&as_text(y)),
    }
}

/// Equal as values, or as text for plain values (3 equals "3").
fn loosely_equal(a: &Value, b: &Value) -> bool {
    a == b || (!a.is_array() && !a.is_object() && as_text(a) == as_text(b))
}

fn compare(a: &Value, operator: &str, b: &Value) -> Result<bool, String> {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(l) => l.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    Ok(match operator.trim().to_lowercase().as_str() {
        "equals" | "=" | "==" => loosely_equal(a, b),
        "not equals" | "!=" => !loosely_equal(a, b),
        "contains" => match a {
            Value::Array(items) => items.contains(b),
            other => as_text(other).contains(&as_text(b)),
        },
        "starts with" => as_text(a).starts_with(&as_text(b)),
        "ends with" => as_text(a).ends_with(&as_text(b)),
        "is empty" => empty(a),
        "is not empty" => !empty(a),
        other => {
            return Err(format!(
                "operator: {other:?} is not one of equals, not equals, contains, starts with, ends with, is empty, is not empty"
            ));
        }
    })
}

fn get_path<'v>(object: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut current = object.get(parts.next()?)?;
    for part in parts {
        current = match current {
            Value::Object(o) => o.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

fn set_path(object: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("path: {path:?} has an empty part"));
    }
    let mut current = object;
    for part in &parts[..parts.len() - 1] {
        let map = current
            .as_object_mut()
            .ok_or_else(|| format!("path: {part:?} is inside something that is not an object"))?;
        current = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    current
        .as_object_mut()
        .ok_or_else(|| format!("path: {path:?} is inside something that is not an object"))?
        .insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests;
