//! Form posts from the Tables tab: create a table, add, change and delete rows, import a
//! CSV file (with a kept report of the rows it refused), delete a table; and the CSV
//! export. The entry-point table has let the caller through on the permission somewhere;
//! here it must hold on this table's folder, and a table the caller may not see does not
//! exist. Every value is checked against its column before anything is written.

use crate::AppState;
use crate::forms::{
    Fields, Finding, Origin, attachment, done, in_folder, refused, refused_because, store_failed,
};
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Permission;
use domain::audit::{Action, Target};
use domain::store::{RowQuery, StoreError, TableSummary};
use domain::tables::{Column, ColumnType, Row, Schema, TableId, parse_cell, read_csv, write_csv};
use uuid::Uuid;

const TABLES: &str = "/tables";
/// Column rows the create form offers at most.
pub const MAX_FORM_COLUMNS: usize = 20;
/// The largest CSV file accepted, in bytes.
pub const MAX_CSV: usize = 10 << 20;
/// The most rows one export writes, read this many at a time.
const MAX_EXPORT: i64 = 100_000;
const EXPORT_PAGE: i64 = 1000;

fn table_target(table: &TableSummary) -> Target {
    Target {
        kind: "table".into(),
        id: table.id.to_string(),
        display: table.schema.name.clone(),
    }
}

/// The table `id`, when the caller holds `permission` on it; otherwise the answer to send.
async fn load(
    state: &AppState,
    origin: &Origin,
    id: &str,
    permission: Permission,
) -> Result<TableSummary, Response> {
    let Ok(id) = Uuid::parse_str(id).map(TableId) else {
        return Err(refused(TABLES, "no-table-here"));
    };
    let finding = Finding {
        page: TABLES,
        missing: "no-table-here",
        view: Permission::ViewTables,
    };
    in_folder(
        origin,
        state.store.table(id),
        |t| t.folder,
        finding,
        permission,
    )
    .await
}

/// The page to go back to: the grid as the caller left it (its search, sort and page),
/// when the form says so and it is this table's page; the table's page otherwise.
fn back(table: &TableSummary, fields: &Fields) -> String {
    let page = format!("{TABLES}/{}", table.id);
    let asked = fields.get("back");
    let query = asked.strip_prefix(&page).unwrap_or("");
    if query.starts_with('?') && !query.contains("error=") && !query.contains("notice=") {
        // Drop an edit in progress: the row is saved or refused now.
        let kept: Vec<&str> = query[1..]
            .split('&')
            .filter(|p| !p.starts_with("edit=") && !p.starts_with("why=") && !p.is_empty())
            .collect();
        if kept.is_empty() {
            page
        } else {
            format!("{page}?{}", kept.join("&"))
        }
    } else {
        page
    }
}

/// `POST /tables`: a new table from its name, optional key column and the column rows
/// (`column_name_N`, `column_type_N`); blank rows are skipped.
pub async fn create(State(state): State<AppState>, request: Request) -> Response {
    let origin = Origin::of(&state, &request);
    if !origin.rights().on_flow(Permission::EditFlows, None) {
        return refused(TABLES, "not-allowed");
    }
    let fields = Fields::read(&state, request).await;
    let mut columns = Vec::new();
    for n in 0..MAX_FORM_COLUMNS {
        let name = fields.get(&format!("column_name_{n}"));
        if name.is_empty() {
            continue;
        }
        let ty = fields.get(&format!("column_type_{n}"));
        let ty = if ty.is_empty() { "text" } else { ty };
        let Ok(ty) = serde_json::from_value::<ColumnType>(serde_json::Value::String(ty.into()))
        else {
            return refused_because(TABLES, "invalid", &format!("{ty:?} is not a column type."));
        };
        columns.push(Column {
            name: name.to_string(),
            ty,
        });
    }
    let schema = Schema {
        name: fields.get("name").to_string(),
        columns,
        key: fields.optional("key"),
    };
    let problems = schema.problems();
    if !problems.is_empty() {
        return refused_because(TABLES, "table-problems", &problems.join(" "));
    }
    let audit = origin.entry(
        Action::TableCreate,
        Target {
            kind: "table".into(),
            id: String::new(),
            display: schema.name.clone(),
        },
    );
    match state.store.create_table(&schema, None, &audit).await {
        Ok(table) => done(&format!("{TABLES}/{}", table.id), "table-created"),
        Err(StoreError::Conflict { .. }) => refused(TABLES, "table-taken"),
        Err(err) => store_failed(TABLES, err),
    }
}

/// `POST /tables/{id}/delete`: the table and its rows.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let table = match load(&state, &origin, &id, Permission::EditFlows).await {
        Ok(table) => table,
        Err(response) => return response,
    };
    let audit = origin.entry(Action::TableDelete, table_target(&table));
    match state.store.delete_table(table.id, &audit).await {
        Ok(true) => done(TABLES, "table-deleted"),
        Ok(false) => refused(TABLES, "no-table-here"),
        Err(err) => store_failed(TABLES, err),
    }
}

/// A row from the form's cells (`c0`, `c1`, … in column order), checked against the
/// columns; or every reason it does not fit, in a sentence.
fn row_from(table: &TableSummary, fields: &Fields) -> Result<Row, String> {
    let mut row = Row::new();
    let mut reasons = Vec::new();
    for (n, column) in table.schema.columns.iter().enumerate() {
        match parse_cell(column.ty, fields.get(&format!("c{n}"))) {
            Ok(serde_json::Value::Null) => {}
            Ok(value) => {
                row.insert(column.name.clone(), value);
            }
            Err(why) => reasons.push(format!("{}: {why}", column.name)),
        }
    }
    if !reasons.is_empty() {
        return Err(reasons.join("; "));
    }
    table.schema.check_row(&row).map_err(|r| r.join("; "))
}

fn row_refused(page: &str, err: StoreError) -> Response {
    match err {
        StoreError::Conflict { what } => {
            refused_because(page, "row-key-taken", &format!("({what} already exists.)"))
        }
        other => store_failed(page, other),
    }
}

/// `POST /tables/{id}/rows`: adds a row.
pub async fn add_row(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let table = match load(&state, &origin, &id, Permission::EditFlows).await {
        Ok(table) => table,
        Err(response) => return response,
    };
    let fields = Fields::read(&state, request).await;
    let page = back(&table, &fields);
    let row = match row_from(&table, &fields) {
        Ok(row) => row,
        Err(why) => return refused_because(&page, "row-invalid", &why),
    };
    if row.is_empty() {
        return refused(&page, "row-empty");
    }
    let audit = origin.entry(Action::TableRowCreate, table_target(&table));
    match state.store.insert_row(&table, &row, Some(&audit)).await {
        Ok(_) => done(&page, "row-added"),
        Err(err) => row_refused(&page, err),
    }
}

/// The refusal for a row that is not there.
fn no_row(table: &TableSummary) -> Response {
    refused(&format!("{TABLES}/{}", table.id), "no-row-here")
}

/// `POST /tables/{id}/rows/{row}`: replaces a row's values.
pub async fn update_row(
    State(state): State<AppState>,
    Path((id, row)): Path<(String, String)>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let table = match load(&state, &origin, &id, Permission::EditFlows).await {
        Ok(table) => table,
        Err(response) => return response,
    };
    let Ok(row_id) = Uuid::parse_str(&row) else {
        return no_row(&table);
    };
    let fields = Fields::read(&state, request).await;
    let page = back(&table, &fields);
    let row = match row_from(&table, &fields) {
        Ok(row) => row,
        Err(why) => {
            // Back to the row being edited, so nothing typed is far away.
            let page = format!(
                "{page}{}edit={row_id}",
                if page.contains('?') { '&' } else { '?' }
            );
            return refused_because(&page, "row-invalid", &why);
        }
    };
    let audit = origin.entry(Action::TableRowUpdate, table_target(&table));
    match state
        .store
        .update_row(&table, row_id, &row, Some(&audit))
        .await
    {
        Ok(Some(_)) => done(&page, "row-saved"),
        Ok(None) => refused(&page, "no-row-here"),
        Err(err) => row_refused(&page, err),
    }
}

/// `POST /tables/{id}/rows/{row}/delete`: deletes a row.
pub async fn delete_row(
    State(state): State<AppState>,
    Path((id, row)): Path<(String, String)>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let table = match load(&state, &origin, &id, Permission::EditFlows).await {
        Ok(table) => table,
        Err(response) => return response,
    };
    let Ok(row_id) = Uuid::parse_str(&row) else {
        return no_row(&table);
    };
    let fields = Fields::read(&state, request).await;
    let page = back(&table, &fields);
    let audit = origin.entry(Action::TableRowDelete, table_target(&table));
    match state.store.delete_row(table.id, row_id, Some(&audit)).await {
        Ok(true) => done(&page, "row-deleted"),
        Ok(false) => refused(&page, "no-row-here"),
        Err(err) => store_failed(&page, err),
    }
}

/// The uploaded file of a multipart form: its name and bytes. `Err` carries the error
/// code to show.
async fn uploaded_file(
    state: &AppState,
    request: Request,
) -> Result<(String, Vec<u8>), &'static str> {
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|_| "csv-no-file")?;
    while let Some(field) = form.next_field().await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            "csv-too-large"
        } else {
            "csv-no-file"
        }
    })? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload.csv").to_string();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                "csv-too-large"
            } else {
                "csv-no-file"
            }
        })?;
        if bytes.is_empty() {
            return Err("csv-no-file");
        }
        return Ok((name, bytes.to_vec()));
    }
    Err("csv-no-file")
}

/// `POST /tables/{id}/import`: the rows of an uploaded CSV file (a header naming
/// columns, then rows). Rows that fit are added; the rest are reported by line with
/// their reasons, on the table's page.
pub async fn import(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let table = match load(&state, &origin, &id, Permission::EditFlows).await {
        Ok(table) => table,
        Err(response) => return response,
    };
    let page = format!("{TABLES}/{}", table.id);
    let (file_name, bytes) = match uploaded_file(&state, request).await {
        Ok(file) => file,
        Err(code) => return refused(&page, code),
    };
    let read = match read_csv(&table.schema, &bytes) {
        Ok(read) => read,
        Err(why) => return refused_because(&page, "csv-unreadable", &why),
    };
    let audit = origin.entry(Action::TableImport, table_target(&table));
    match state
        .store
        .import_rows(&table, &file_name, &read, &audit)
        .await
    {
        Ok(report) => Redirect::to(&format!("{page}?import={}", report.id)).into_response(),
        Err(err) => store_failed(&page, err),
    }
}

/// `GET /tables/{id}/export`: every row as CSV, the columns in order.
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let origin = Origin::of(&state, &request);
    let table = match load(&state, &origin, &id, Permission::ViewTables).await {
        Ok(table) => table,
        Err(response) => return response,
    };
    // Page by page, in the grid's order.
    let mut rows = Vec::new();
    loop {
        let query = RowQuery {
            limit: EXPORT_PAGE,
            offset: rows.len() as i64,
            ..RowQuery::default()
        };
        match state.store.rows(&table, &query).await {
            Ok((page, total)) => {
                let last = page.len() < EXPORT_PAGE as usize || rows.len() as i64 >= total;
                rows.extend(page);
                if last || rows.len() as i64 >= MAX_EXPORT {
                    break;
                }
            }
            Err(err) => return store_failed(TABLES, err),
        }
    }
    let text = match write_csv(&table.schema, rows.iter().map(|r| &r.data)) {
        Ok(text) => text,
        Err(err) => {
            tracing::error!(error = %err, "a table's CSV could not be written");
            return refused(TABLES, "unavailable");
        }
    };
    attachment("text/csv; charset=utf-8", &table.schema.name, ".csv", text)
}
