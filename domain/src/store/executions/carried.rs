//! What executions carried (`execution_values`): each string value of an ended
//! execution's input and its cards' outputs, lowercased, kept by [`Store::keep_carried`]
//! a batch at a time so the history's search by a value and a user's timeline read an
//! index.

use super::super::{BeginWrite, Store, StoreError, with_pool};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

/// The longest value kept, in characters: a longer one is kept cut to this, which a
/// prefix search (cut the same way) still finds.
pub(crate) const VALUE_CHARS: usize = 256;
/// The most values kept for one execution (the first found, input first).
pub(crate) const VALUES_PER_EXECUTION: usize = 200;

/// A value as kept and looked for: lowercased, trimmed, at most [`VALUE_CHARS`].
pub(crate) fn value_key(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .take(VALUE_CHARS)
        .collect()
}

/// The values `input` and the cards' `outputs` carry, as kept: each distinct non-empty
/// string, at most [`VALUES_PER_EXECUTION`].
pub(crate) fn carried_values<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    fn walk(value: &Value, found: &mut Vec<String>) {
        if found.len() >= VALUES_PER_EXECUTION {
            return;
        }
        match value {
            Value::String(text) => {
                let key = value_key(text);
                if !key.is_empty() && !found.contains(&key) {
                    found.push(key);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            Value::Object(fields) => fields.values().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for value in values {
        walk(value, &mut found);
    }
    found
}

impl Store {
    /// Keeps the carried values of up to `batch` ended executions whose values are not
    /// kept yet, in one transaction; how many it kept. The engine never waits on this:
    /// a background task calls it until there is nothing left. On PostgreSQL the batch
    /// is claimed (`FOR UPDATE SKIP LOCKED`), so servers sharing the database keep
    /// different executions' values instead of waiting on (or deadlocking with) each
    /// other.
    pub async fn keep_carried(&self, batch: usize) -> Result<usize, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Ended {
            id: Uuid,
            input: Json<Value>,
            progress: Json<Value>,
        }
        let (not_carried, claim) = match self.backend {
            super::super::Backend::Sqlite(_) => ("carried = 0", ""),
            super::super::Backend::Postgres(_) => ("NOT carried", " FOR UPDATE SKIP LOCKED"),
        };
        let select = format!(
            "SELECT id, input, progress FROM executions WHERE {not_carried} AND status IN {} \
             ORDER BY id LIMIT $1{claim}",
            super::FINAL
        );
        let kept = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let rows: Vec<Ended> = sqlx::query_as(&select)
                .bind(batch as i64)
                .fetch_all(&mut *tx)
                .await?;
            // In one order (value, then execution), as the index is.
            let mut pairs: Vec<(String, Uuid)> = rows
                .iter()
                .flat_map(|row| {
                    let outputs = row.progress.0.get("outputs").and_then(Value::as_object);
                    carried_values(
                        std::iter::once(&row.input.0)
                            .chain(outputs.into_iter().flat_map(|o| o.values())),
                    )
                    .into_iter()
                    .map(|value| (value, row.id))
                })
                .collect();
            pairs.sort();
            for piece in pairs.chunks(400) {
                let mut insert =
                    sqlx::QueryBuilder::new("INSERT INTO execution_values (value, execution_id) ");
                insert.push_values(piece, |mut row, (value, id)| {
                    row.push_bind(value.as_str()).push_bind(*id);
                });
                insert.push(" ON CONFLICT DO NOTHING");
                insert.build().execute(&mut *tx).await?;
            }
            for chunk in rows.chunks(400) {
                let mut mark = sqlx::QueryBuilder::new("UPDATE executions SET carried = TRUE WHERE id IN (");
                let mut ids = mark.separated(", ");
                for row in chunk {
                    ids.push_bind(row.id);
                }
                mark.push(")");
                mark.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            rows.len()
        });
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_distinct_string_value_lowercased_and_cut() {
        let input = json!({"user": {"email": " Ada@Example.com ", "id": "u1", "age": 36, "ok": true},
                           "tags": ["A", "a", ""]});
        let long = "x".repeat(300);
        let output = json!({"note": long});
        let values = carried_values([&input, &output]);
        // Fields in name order ("tags" before "user"), as the JSON keeps them.
        assert_eq!(values, vec!["a", "ada@example.com", "u1", &"x".repeat(256)]);
        let many = Value::Array((0..500).map(|n| json!(format!("v{n}"))).collect());
        assert_eq!(carried_values([&many]).len(), VALUES_PER_EXECUTION);
    }

    #[test]
    fn a_prefix_range_holds_what_starts_with_it() {
        let end = crate::scim::sql::prefix_end("ada@");
        for inside in ["ada@", "ada@example.com", "ada@\u{ffff}z"] {
            assert!(inside >= "ada@" && inside < end.as_str(), "{inside}");
        }
        for outside in ["ada", "ada?", "adb@"] {
            assert!(!(outside >= "ada@" && outside < end.as_str()), "{outside}");
        }
    }
}
