//! The Tables tab's data: the tables the caller may see, with their columns, row counts
//! and the flows whose cards use them; and one table's grid (a page of rows, searched and
//! sorted) with the report of a CSV import. Changes (create, add, edit and delete rows,
//! import, delete a table) are plain form posts to the server's `tables` module.

use crate::error::AppError;
use domain::tables::{Column, Reject};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const LIST_PATH: &str = "/api/tables/list";
pub const GRID_PATH: &str = "/api/tables/grid";
/// Rows on one page of the grid.
pub const PAGE_SIZE: i64 = 50;

/// A table as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableItem {
    pub id: String,
    pub name: String,
    pub columns: Vec<Column>,
    pub key: Option<String>,
    pub rows: i64,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The flows whose cards name this table.
    pub used_by: Vec<String>,
    /// The caller may change its rows, import into it and delete it.
    pub can_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableList {
    pub tables: Vec<TableItem>,
    /// The caller may create tables (at the top level).
    pub can_create: bool,
}

/// A row as the grid shows it: its cells as text, in column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridRow {
    pub id: String,
    pub cells: Vec<String>,
}

/// What a CSV import did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportView {
    pub summary: String,
    pub file_name: String,
    pub actor: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub rejects: Vec<Reject>,
}

/// One page of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridPage {
    pub table: TableItem,
    pub rows: Vec<GridRow>,
    /// How many rows match the search in all.
    pub matching: i64,
    /// The first row's place among them (0-based).
    pub offset: i64,
    pub import: Option<ImportView>,
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use domain::access::Permission;
    use domain::store::TableSummary;
    use std::collections::HashMap;

    /// Each table name (lowercased) to the names of the flows whose cards use it.
    pub async fn users_of_tables() -> Result<HashMap<String, Vec<String>>, AppError> {
        let store = crate::session::store()?;
        let names: HashMap<_, _> = store
            .flows()
            .await
            .map_err(AppError::from_store)?
            .into_iter()
            .map(|f| (f.id, f.name))
            .collect();
        let mut users: HashMap<String, Vec<String>> = HashMap::new();
        for (id, definition) in store
            .current_definitions()
            .await
            .map_err(AppError::from_store)?
        {
            let Some(name) = names.get(&id) else { continue };
            for table in definition.table_references() {
                users.entry(table).or_default().push(name.clone());
            }
        }
        for names in users.values_mut() {
            names.sort();
        }
        Ok(users)
    }

    pub fn item(
        table: TableSummary,
        users: &HashMap<String, Vec<String>>,
        rights: &domain::access::Rights,
    ) -> TableItem {
        TableItem {
            id: table.id.to_string(),
            used_by: users
                .get(&table.schema.name.trim().to_lowercase())
                .cloned()
                .unwrap_or_default(),
            can_edit: rights.on_flow(Permission::EditFlows, table.folder),
            name: table.schema.name,
            columns: table.schema.columns,
            key: table.schema.key,
            rows: table.rows.unwrap_or_default(),
            updated_at: table.updated_at,
        }
    }
}

/// The tables the caller may see, by name.
#[server(endpoint = "tables/list")]
pub async fn list_tables() -> Result<TableList, AppError> {
    use domain::access::Permission;
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let users = server::users_of_tables().await?;
    let rights = &caller.rights;
    let tables = store
        .tables()
        .await
        .map_err(AppError::from_store)?
        .into_iter()
        .filter(|t| rights.on_flow(Permission::ViewTables, t.folder))
        .map(|t| server::item(t, &users, rights))
        .collect();
    Ok(TableList {
        tables,
        can_create: rights.on_flow(Permission::EditFlows, None),
    })
}

/// One page of the table `id`: the rows containing `q` (any column, ignoring case),
/// sorted by `sort` (descending when `desc`), from row `offset`; with the report of the
/// import `import` when asked.
#[server(endpoint = "tables/grid")]
pub async fn table_grid(
    id: String,
    q: Option<String>,
    sort: Option<String>,
    desc: Option<bool>,
    offset: Option<i64>,
    import: Option<String>,
) -> Result<GridPage, AppError> {
    use domain::store::RowQuery;
    use domain::tables::cell_text;
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let store = crate::session::store()?;
    let table = crate::session::visible_table(&store, &caller, &id).await?;
    let sort = sort.filter(|s| !s.is_empty());
    if let Some(column) = &sort
        && table.schema.column(column).is_none()
    {
        return Err(AppError::BadRequest(format!(
            "{} has no column {column:?} to sort by.",
            table.schema.name
        )));
    }
    let offset = offset.unwrap_or_default().max(0);
    let (rows, matching) = store
        .rows(
            &table,
            &RowQuery {
                search: q.filter(|q| !q.trim().is_empty()),
                equals: None,
                sort: sort.map(|s| (s, desc.unwrap_or_default())),
                limit: PAGE_SIZE,
                offset,
            },
        )
        .await
        .map_err(AppError::from_store)?;
    let rows = rows
        .into_iter()
        .map(|r| GridRow {
            id: r.id.to_string(),
            cells: table
                .schema
                .columns
                .iter()
                .map(|c| cell_text(r.data.get(&c.name)))
                .collect(),
        })
        .collect();
    let import = match import.and_then(|i| uuid::Uuid::parse_str(&i).ok()) {
        Some(import) => store
            .table_import(table.id, import)
            .await
            .map_err(AppError::from_store)?
            .map(|report| ImportView {
                summary: report.summary(),
                file_name: report.file_name,
                actor: report.actor,
                at: report.created_at,
                rejects: report.rejects,
            }),
        None => None,
    };
    let users = server::users_of_tables().await?;
    Ok(GridPage {
        table: server::item(table, &users, &caller.rights),
        rows,
        matching,
        offset,
        import,
    })
}
