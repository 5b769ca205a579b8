//! Dry run: a test of a flow whose cards that change something are judged as they would
//! be (the same actions, on the rights of the person the flow acts for) and then not
//! made. Directory and table writes answer with what they would have written; calls to
//! connected services (Okta, Slack, email, HTTP) are not sent; Wait and Pause go on at
//! once; helper flows run as dry runs too. Each such card's record carries a [`Note`]
//! under its output's `dry_run` field: what it would have done, as a sentence, the
//! changes (who or what, field, before → after) and the request it would have sent, its
//! secrets left out.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The field of a card's output that holds its [`Note`].
pub const FIELD: &str = "dry_run";

/// What one card of a dry run would have done.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// "Would deactivate alice@example.com".
    pub summary: String,
    /// What would have changed, one value at a time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The message or request that would have been sent, secrets redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
}

/// One value a dry run's card would have changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Whose or what's value: a user's name, "offboarded, new row".
    pub target: String,
    /// Which value: an attribute, a column, "member of Sales".
    pub field: String,
    pub before: Value,
    pub after: Value,
}

impl Note {
    pub fn new(summary: impl Into<String>) -> Note {
        Note {
            summary: summary.into(),
            ..Note::default()
        }
    }

    pub fn change(
        mut self,
        target: &str,
        field: impl Into<String>,
        before: Value,
        after: Value,
    ) -> Note {
        self.changes.push(Change {
            target: target.to_string(),
            field: field.into(),
            before,
            after,
        });
        self
    }

    pub fn request(mut self, request: Value) -> Note {
        self.request = Some(redact(request));
        self
    }

    /// `output` with this note in its `dry_run` field (an output that is not an object
    /// is kept under `output`).
    pub fn on(self, output: Value) -> Value {
        let mut object = match output {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => Map::from_iter([("output".to_string(), other)]),
        };
        object.insert(
            FIELD.into(),
            serde_json::to_value(self).unwrap_or(Value::Null),
        );
        Value::Object(object)
    }

    /// The note a dry run's card left in `output`, if any.
    pub fn of(output: &Value) -> Option<Note> {
        output
            .get(FIELD)
            .and_then(|note| serde_json::from_value(note.clone()).ok())
    }
}

/// What stands in for a secret a dry run does not show.
pub const REDACTED: &str = "[redacted]";

/// Whether a header, field or query name is likely to hold a secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "password",
        "passwd",
        "api-key",
        "api_key",
        "apikey",
        "x-api-key",
        "private",
        "credential",
        "session",
        "signature",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// `value` with every field whose name looks like it holds a secret replaced by
/// [`REDACTED`], at any depth.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(name, value)| {
                    let value = if is_secret_name(&name) && !value.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact(value)
                    };
                    (name, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// The changes between two objects (a user's card value, a row): each field whose value
/// differs, in `after`'s order, then fields only `before` had.
pub fn object_changes(
    target: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<Change> {
    let mut changes: Vec<Change> = after
        .iter()
        .filter(|(field, value)| before.get(*field).unwrap_or(&Value::Null) != *value)
        .map(|(field, value)| Change {
            target: target.to_string(),
            field: field.clone(),
            before: before.get(field).cloned().unwrap_or(Value::Null),
            after: value.clone(),
        })
        .collect();
    changes.extend(
        before
            .iter()
            .filter(|(field, value)| !after.contains_key(*field) && !value.is_null())
            .map(|(field, value)| Change {
                target: target.to_string(),
                field: field.clone(),
                before: value.clone(),
                after: Value::Null,
            }),
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let shown = redact(json!({
            "headers": { "Authorization": "Bearer abc", "Accept": "application/json", "X-Api-Key": "k" },
            "body": { "user": "ada", "password": "hunter2", "nested": [{ "client_secret": "s" }] },
            "token": null,
        }));
        assert_eq!(shown["headers"]["Authorization"], REDACTED);
        assert_eq!(shown["headers"]["X-Api-Key"], REDACTED);
        assert_eq!(shown["headers"]["Accept"], "application/json");
        assert_eq!(shown["body"]["password"], REDACTED);
        assert_eq!(shown["body"]["nested"][0]["client_secret"], REDACTED);
        assert_eq!(shown["body"]["user"], "ada");
        // Nothing to hide is shown as nothing.
        assert_eq!(shown["token"], Value::Null);
    }

    #[test]
    fn a_note_rides_on_the_output_and_reads_back() {
        let note = Note::new("Would deactivate ada").change(
            "ada",
            "status",
            json!("active"),
            json!("deprovisioned"),
        );
        let output = note.clone().on(json!({ "user": { "id": "1" } }));
        assert_eq!(output["user"]["id"], "1");
        assert_eq!(Note::of(&output), Some(note));
        assert_eq!(Note::of(&json!({ "user": 1 })), None);
        // An output that is not an object is kept beside the note.
        assert_eq!(Note::new("x").on(json!(3))["output"], 3);
    }

    #[test]
    fn object_changes_name_each_differing_field() {
        let before = json!({ "title": "Engineer", "department": "R&D", "gone": "x", "same": 1 });
        let after = json!({ "title": "Manager", "department": "R&D", "same": 1, "new": true });
        let changes = object_changes(
            "ada",
            before.as_object().unwrap(),
            after.as_object().unwrap(),
        );
        let fields: Vec<(&str, &Value, &Value)> = changes
            .iter()
            .map(|c| (c.field.as_str(), &c.before, &c.after))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("new", &Value::Null, &json!(true)),
                ("title", &json!("Engineer"), &json!("Manager")),
                ("gone", &json!("x"), &Value::Null),
            ]
        );
    }
}
