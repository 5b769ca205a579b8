//! Changes to tables and their rows from the console (and the coming API): create and
//! delete a table, add, change and delete a row, import a CSV file's rows. Each needs the
//! Editor grant on the table's folder (or a role that edits every flow and table), and
//! every row is checked against the table's columns before anything is written.
//!
//! The Tables cards of a flow (`engine::runner::tables`) call the same row actions, for
//! the person the flow acts for: a card writes only where that person may write in the
//! console. A flow's row changes are kept in its execution's card records rather than as
//! a System Log entry per row.

use super::{Acting, ActionError};
use crate::access::Permission;
use crate::audit::{Action, Actor, NewEntry, Target};
use crate::store::{ImportReport, NewRow, RowRecord, Store, StoreError, TableSummary};
use crate::tables::{CsvRows, Row, Schema};
use uuid::Uuid;

pub fn table_target(id: impl ToString, name: &str) -> Target {
    Target {
        kind: "table".into(),
        id: id.to_string(),
        display: name.to_string(),
    }
}

fn may_fill(acting: &Acting, folder: Option<Uuid>) -> Result<(), ActionError> {
    if acting.rights.on_flow(Permission::EditFlows, folder) {
        Ok(())
    } else {
        Err(ActionError::refused(
            "not-allowed",
            "creating and changing tables here needs the Editor grant on this folder",
        ))
    }
}

/// Reading a table's rows (a flow's Tables cards) needs sight of the table in the console.
pub fn may_read(acting: &Acting, folder: Option<Uuid>) -> Result<(), ActionError> {
    if acting.rights.on_flow(Permission::ViewTables, folder) {
        Ok(())
    } else {
        Err(ActionError::refused(
            "not-allowed",
            "reading this folder's tables needs a grant on the folder",
        ))
    }
}

/// The System Log entry of a change to `table`'s rows: none for a flow, whose card
/// records keep its changes.
fn row_entry(acting: &Acting, action: Action, table: &TableSummary) -> Option<NewEntry> {
    match acting.actor {
        Actor::Flow { .. } => None,
        _ => Some(acting.entry(action, table_target(table.id, &table.schema.name))),
    }
}

fn row_gone(table: &TableSummary) -> ActionError {
    ActionError::gone(
        "row",
        format!("the row is no longer in {}", table.schema.name),
    )
}

/// A key that is taken is the caller's to fix, with the value that clashed.
pub(crate) fn key_taken(err: StoreError) -> ActionError {
    match err {
        StoreError::Conflict { what } => {
            ActionError::refused("row-key-taken", format!("({what} already exists.)"))
        }
        other => ActionError::Store(other),
    }
}

/// A new table with `schema` in `folder`; refused with every problem of the schema, or
/// when its name is taken (table names are unique across idflow, so a card's name finds
/// one table).
pub async fn create_table(
    store: &Store,
    acting: &Acting,
    schema: &Schema,
    folder: Option<Uuid>,
) -> Result<TableSummary, ActionError> {
    may_fill(acting, folder)?;
    let problems = schema.problems();
    if !problems.is_empty() {
        return Err(ActionError::refused("table-problems", problems.join(" ")));
    }
    let entry = acting.entry(Action::TableCreate, table_target("", &schema.name));
    match store.create_table(schema, folder, &entry).await {
        Err(StoreError::Conflict { .. }) => Err(ActionError::refused(
            "table-taken",
            format!(
                "a table named \"{}\" already exists; choose another name",
                schema.name.trim()
            ),
        )),
        made => Ok(made?),
    }
}

/// Deletes `table` and its rows.
pub async fn delete_table(
    store: &Store,
    acting: &Acting,
    table: &TableSummary,
) -> Result<(), ActionError> {
    may_fill(acting, table.folder)?;
    let entry = acting.entry(
        Action::TableDelete,
        table_target(table.id, &table.schema.name),
    );
    if store.delete_table(table.id, &entry).await? {
        Ok(())
    } else {
        Err(ActionError::gone(
            "table",
            format!("the table {} is gone", table.schema.name),
        ))
    }
}

/// `row` as `table`'s columns hold it (values coerced to their column's type); refused
/// with every reason it does not fit.
fn fits(table: &TableSummary, row: &Row) -> Result<Row, ActionError> {
    table
        .schema
        .check_row(row)
        .map_err(|reasons| ActionError::refused("row-invalid", reasons.join("; ")))
}

/// A dry run's row write: `row` as it would be kept (in place of row `id`, or new),
/// refused as the write would be when another row holds its key.
async fn would_write(
    store: &Store,
    table: &TableSummary,
    id: Option<Uuid>,
    row: Row,
) -> Result<RowRecord, ActionError> {
    let key = table.schema.key.as_ref().and_then(|column| row.get(column));
    if let Some(key) = key.filter(|k| !k.is_null()) {
        let key = crate::tables::key_text(key);
        if let Some(holder) = store.row_by_key(table.id, &key).await?
            && Some(holder.id) != id
        {
            return Err(ActionError::refused(
                "row-key-taken",
                format!("(a row with the key {key:?} already exists.)"),
            ));
        }
    }
    let now = chrono::Utc::now();
    Ok(RowRecord {
        id: id.unwrap_or_else(Uuid::new_v4),
        data: row,
        created_at: now,
        updated_at: now,
    })
}

/// `row` as it would be added to `table`; refused when `acting` may not fill the table's
/// rows, or the row is empty or does not fit.
fn to_add(acting: &Acting, table: &TableSummary, row: &Row) -> Result<Row, ActionError> {
    may_fill(acting, table.folder)?;
    let row = fits(table, row)?;
    if row.is_empty() {
        return Err(ActionError::refused(
            "row-empty",
            "fill in at least one column",
        ));
    }
    Ok(row)
}

/// Adds `row` to `table`; refused when it is empty, does not fit, or its key is taken.
pub async fn add_row(
    store: &Store,
    acting: &Acting,
    table: &TableSummary,
    row: &Row,
) -> Result<RowRecord, ActionError> {
    let row = to_add(acting, table, row)?;
    if acting.dry_run {
        return would_write(store, table, None, row).await;
    }
    let entry = row_entry(acting, Action::TableRowCreate, table);
    store
        .insert_row(table, &row, entry.as_ref())
        .await
        .map_err(key_taken)
}

/// The row [`add_row`] would add, checked and refused as it is, for a flow's card that has
/// it written with the card's record (see [`crate::store::Store::record_steps`]) rather
/// than on its own.
pub fn row_to_add(acting: &Acting, table: &TableSummary, row: &Row) -> Result<NewRow, ActionError> {
    Ok(NewRow::new(table, to_add(acting, table, row)?))
}

/// Replaces the values of `table`'s row `id` with `row`.
pub async fn update_row(
    store: &Store,
    acting: &Acting,
    table: &TableSummary,
    id: Uuid,
    row: &Row,
) -> Result<RowRecord, ActionError> {
    may_fill(acting, table.folder)?;
    let row = fits(table, row)?;
    if acting.dry_run {
        return would_write(store, table, Some(id), row).await;
    }
    let entry = row_entry(acting, Action::TableRowUpdate, table);
    store
        .update_row(table, id, &row, entry.as_ref())
        .await
        .map_err(key_taken)?
        .ok_or_else(|| row_gone(table))
}

/// Deletes `table`'s row `id`.
pub async fn delete_row(
    store: &Store,
    acting: &Acting,
    table: &TableSummary,
    id: Uuid,
) -> Result<(), ActionError> {
    may_fill(acting, table.folder)?;
    if acting.dry_run {
        return Ok(());
    }
    let entry = row_entry(acting, Action::TableRowDelete, table);
    if store.delete_row(table.id, id, entry.as_ref()).await? {
        Ok(())
    } else {
        Err(row_gone(table))
    }
}

/// Adds the rows `read` from the CSV file `file_name` that fit (`read` holds those that
/// did not, by line): one transaction, with a kept report of every row refused.
pub async fn import_rows(
    store: &Store,
    acting: &Acting,
    table: &TableSummary,
    file_name: &str,
    read: &CsvRows,
) -> Result<ImportReport, ActionError> {
    may_fill(acting, table.folder)?;
    let entry = acting.entry(
        Action::TableImport,
        table_target(table.id, &table.schema.name),
    );
    Ok(store.import_rows(table, file_name, read, &entry).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{FolderRole, Rights, Role};
    use crate::audit::Actor;
    use crate::tables::{Column, ColumnType};

    fn acting(rights: Rights) -> Acting {
        Acting {
            actor: Actor::System,
            rights,
            person: None,
            client_address: None,
            request_id: None,
            dry_run: false,
        }
    }

    fn table(folder: Option<Uuid>) -> TableSummary {
        TableSummary {
            id: crate::tables::TableId(Uuid::nil()),
            schema: Schema {
                name: "Hires".into(),
                columns: vec![Column {
                    name: "count".into(),
                    ty: ColumnType::Number,
                }],
                key: None,
            },
            folder,
            rows: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn only_editors_of_the_folder_fill_its_tables() {
        let folder = Uuid::now_v7();
        let reader = acting(Rights::new(vec![], vec![(folder, FolderRole::Reader)]));
        let editor = acting(Rights::new(vec![], vec![(folder, FolderRole::Editor)]));
        let admin = acting(Rights::new(vec![Role::WorkflowsAdministrator], vec![]));
        assert!(may_fill(&reader, Some(folder)).is_err());
        assert!(may_fill(&editor, Some(folder)).is_ok());
        assert!(
            may_fill(&editor, None).is_err(),
            "the top level is not theirs"
        );
        assert!(may_fill(&admin, Some(folder)).is_ok());
        assert!(may_fill(&admin, None).is_ok());
    }

    #[test]
    fn a_row_that_does_not_fit_is_refused_with_its_reasons() {
        let mut row = Row::new();
        row.insert("count".into(), serde_json::json!("many"));
        match fits(&table(None), &row) {
            Err(ActionError::Refused(r)) => {
                assert_eq!(r.code, "row-invalid");
                assert!(r.reason.contains("count"), "{}", r.reason);
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        row.insert("count".into(), serde_json::json!(3));
        assert!(fits(&table(None), &row).is_ok());
    }
}
