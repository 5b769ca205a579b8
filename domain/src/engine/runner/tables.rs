//! The Tables app's cards: rows of the tables in the flow's own folder, read and written
//! through the same actions as the console's, for the person the flow acts for.

use super::{Context, Runner, where_};
use crate::actions::{ActionError, tables as act};
use crate::engine::control::{CardError, Done};
use crate::engine::dry_run::{Note, object_changes};
use crate::store::RowQuery;
use crate::tables::Row;
use serde_json::{Map, Value, json};

impl Runner {
    pub(super) async fn tables_card(
        &self,
        kind: &str,
        context: &Context<'_>,
        inputs: &Map<String, Value>,
        adds_with_record: bool,
    ) -> Result<Done, CardError> {
        let name = inputs
            .get("table")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| CardError::fatal("table: has no value"))?;
        let folder = self.folder_of(context).await?;
        // Only a table in the flow's own folder (or, for a flow at the top level, at the
        // top level): a name never reaches into a folder the flow's people may not see.
        let table = self
            .store
            .table_by_name(name)
            .await?
            .filter(|t| t.folder == folder)
            .ok_or_else(|| {
                CardError::fatal(format!(
                    "table: there is no table named {name:?} {}",
                    where_(folder)
                ))
            })?;
        let acting = self.acting(context).await?;
        act::may_read(acting, table.folder)?;
        let schema = &table.schema;
        let object = |field: &str| -> Result<Row, CardError> {
            match inputs.get(field) {
                Some(Value::Object(o)) => Ok(o.clone()),
                None | Some(Value::Null) => Ok(Row::new()),
                Some(other) => Err(CardError::fatal(format!(
                    "{field}: expects an object, got {other}"
                ))),
            }
        };
        let key = || -> Result<String, CardError> {
            inputs
                .get("key")
                .filter(|v| !v.is_null())
                .map(crate::tables::key_text)
                .ok_or_else(|| CardError::fatal("key: has no value"))
        };
        let table_name = table.schema.name.clone();
        // What a dry run's write would have done to the table.
        let would = |summary: String, target: String, before: &Row, after: &Row, output: Value| {
            if acting.dry_run {
                Note {
                    changes: object_changes(&target, before, after),
                    ..Note::new(summary)
                }
                .on(output)
            } else {
                output
            }
        };
        let added = |record: &crate::store::RowRecord, output: Value| {
            would(
                format!("Would add a row to {table_name}"),
                format!("{table_name}, new row"),
                &Row::new(),
                &record.data,
                output,
            )
        };
        match kind {
            "tables.create_row" if adds_with_record => {
                let row = act::row_to_add(acting, &table, &object("row")?)?;
                Ok(Done::Adds(json!({ "row": row.record().data }), row))
            }
            "tables.create_row" => {
                let record = act::add_row(&self.store, acting, &table, &object("row")?).await?;
                Ok(Done::Output(added(&record, json!({ "row": record.data }))))
            }
            "tables.read_row" => {
                // No key names no row.
                let found = match key() {
                    Ok(key) => self.store.row_by_key(table.id, &key).await?,
                    Err(_) => None,
                };
                Ok(Done::Output(
                    json!({ "found": found.is_some(), "row": found.map(|r| r.data) }),
                ))
            }
            "tables.update_row" => {
                let found = self
                    .store
                    .row_by_key(table.id, &key()?)
                    .await?
                    .ok_or_else(|| {
                        CardError::fatal(format!(
                            "key: no row with the key {:?}",
                            key().unwrap_or_default()
                        ))
                    })?;
                let mut row = found.data.clone();
                row.extend(object("row")?);
                let updated = act::update_row(&self.store, acting, &table, found.id, &row).await?;
                let key = key()?;
                Ok(Done::Output(would(
                    format!("Would update the row {key:?} of {table_name}"),
                    format!("{table_name}, row {key:?}"),
                    &found.data,
                    &updated.data,
                    json!({ "row": updated.data }),
                )))
            }
            "tables.delete_row" => {
                let found = self.store.row_by_key(table.id, &key()?).await?;
                if acting.dry_run {
                    let key = key()?;
                    let note = match &found {
                        Some(row) => {
                            act::delete_row(&self.store, acting, &table, row.id).await?;
                            Note::new(format!("Would delete the row {key:?} of {table_name}"))
                                .change(
                                    &format!("{table_name}, row {key:?}"),
                                    "the row",
                                    Value::Object(row.data.clone()),
                                    Value::Null,
                                )
                        }
                        None => Note::new(format!(
                            "{table_name} has no row {key:?}: nothing would be deleted"
                        )),
                    };
                    return Ok(Done::Output(note.on(json!({ "deleted": found.is_some() }))));
                }
                let deleted = match found {
                    Some(row) => match act::delete_row(&self.store, acting, &table, row.id).await {
                        Ok(()) => true,
                        // Deleted meanwhile: it is gone all the same.
                        Err(ActionError::NotFound { .. }) => false,
                        Err(other) => return Err(other.into()),
                    },
                    None => false,
                };
                Ok(Done::Output(json!({ "deleted": deleted })))
            }
            "tables.find_or_create_row" => {
                if let Some(found) = self.store.row_by_key(table.id, &key()?).await? {
                    return Ok(Done::Output(json!({ "row": found.data, "created": false })));
                }
                let mut row = object("row")?;
                if let Some(key_column) = &schema.key {
                    row.insert(key_column.clone(), Value::String(key()?));
                }
                let record = act::add_row(&self.store, acting, &table, &row).await?;
                Ok(Done::Output(added(
                    &record,
                    json!({ "row": record.data, "created": true }),
                )))
            }
            "tables.search_rows" | "tables.count_rows" => {
                let equals = object("where")?.into_iter().next();
                let limit = inputs.get("limit").and_then(Value::as_i64).unwrap_or(100);
                let query = RowQuery {
                    equals,
                    limit: if kind == "tables.count_rows" {
                        1
                    } else {
                        limit
                    },
                    ..RowQuery::default()
                };
                let (rows, total) = self.store.rows(&table, &query).await?;
                if kind == "tables.count_rows" {
                    return Ok(Done::Output(json!({ "output": total })));
                }
                let rows: Vec<Value> = rows.into_iter().map(|r| Value::Object(r.data)).collect();
                Ok(Done::Output(json!({ "rows": rows, "count": total })))
            }
            other => Err(CardError::fatal(format!(
                "the {other:?} card does not exist"
            ))),
        }
    }
}
