//! Form posts from the Tables tab: create a table, add, change and delete rows, import a
//! CSV file (with a kept report of the rows it refused), delete a table; and the CSV
//! export. Each reads the form and calls the domain's action (`domain::actions::tables`),
//! which checks the caller edits the table's folder; a table the caller may not see does
//! not exist.

use crate::AppState;
use crate::forms::{
    Answer, Fields, Finding, InFolder, Origin, Post, action_failed, attachment, done, load,
    refused, refused_because, store_failed,
};
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::access::Permission;
use domain::actions::ActionError;
use domain::actions::tables as actions;
use domain::store::{RowQuery, Store, StoreError, TableSummary};
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

impl InFolder for TableSummary {
    const FINDING: Finding = Finding {
        page: TABLES,
        missing: "no-table-here",
        view: Permission::ViewTables,
    };

    fn folder(&self) -> Option<Uuid> {
        self.folder
    }

    fn find(
        store: &Store,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<Self>, StoreError>> + Send {
        store.table(TableId(id))
    }
}

fn table_page(table: &TableSummary) -> String {
    format!("{TABLES}/{}", table.id)
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
pub async fn create(State(state): State<AppState>, post: Post) -> Response {
    let Post { origin, fields } = post;
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
    match actions::create_table(&state.store, &origin.acting(), &schema, None).await {
        Ok(table) => done(&table_page(&table), "table-created"),
        Err(ActionError::Refused(r)) if r.code == "table-taken" => refused(TABLES, r.code),
        Err(err) => action_failed(TABLES, err),
    }
}

/// `POST /tables/{id}/delete`: the table and its rows.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Answer {
    let table: TableSummary = load(&state, &origin, &id, Permission::EditFlows).await?;
    Ok(
        match actions::delete_table(&state.store, &origin.acting(), &table).await {
            Ok(()) => done(TABLES, "table-deleted"),
            Err(err) => action_failed(TABLES, err),
        },
    )
}

/// A row from the form's cells (`c0`, `c1`, … in column order), each read as its column's
/// type; or every cell that cannot be, in a sentence. The action checks the row as a whole.
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
    if reasons.is_empty() {
        Ok(row)
    } else {
        Err(reasons.join("; "))
    }
}

/// A change to one row of a table.
enum RowChange {
    Add,
    /// The row's id, as the path gives it.
    Update(String),
    Delete(String),
}

/// Reads the change to one row of table `id` and calls its action; back to the grid as
/// the caller left it, or to the row being edited when what they typed does not fit.
async fn row_change(state: &AppState, id: &str, post: Post, change: RowChange) -> Answer {
    let Post { origin, fields } = post;
    let table: TableSummary = load(state, &origin, id, Permission::EditFlows).await?;
    let row_id = match &change {
        RowChange::Add => Uuid::nil(),
        RowChange::Update(row) | RowChange::Delete(row) => {
            Uuid::parse_str(row).map_err(|_| refused(&table_page(&table), "no-row-here"))?
        }
    };
    let page = back(&table, &fields);
    let not_fitting = |why: String| {
        let page = match change {
            // Back to the row being edited, so nothing typed is far away.
            RowChange::Update(_) => format!(
                "{page}{}edit={row_id}",
                if page.contains('?') { '&' } else { '?' }
            ),
            _ => page.clone(),
        };
        refused_because(&page, "row-invalid", &why)
    };
    let (store, acting) = (&state.store, origin.acting());
    let (result, notice) = match change {
        RowChange::Add => {
            let row = row_from(&table, &fields).map_err(not_fitting)?;
            let added = actions::add_row(store, &acting, &table, &row).await;
            (added.map(drop), "row-added")
        }
        RowChange::Update(_) => {
            let row = row_from(&table, &fields).map_err(not_fitting)?;
            let saved = actions::update_row(store, &acting, &table, row_id, &row).await;
            (saved.map(drop), "row-saved")
        }
        RowChange::Delete(_) => (
            actions::delete_row(store, &acting, &table, row_id).await,
            "row-deleted",
        ),
    };
    Ok(match result {
        Ok(()) => done(&page, notice),
        Err(ActionError::Refused(r)) if r.code == "row-invalid" => not_fitting(r.reason),
        Err(ActionError::NotFound { .. }) => refused(&page, "no-row-here"),
        Err(err) => action_failed(&page, err),
    })
}

/// `POST /tables/{id}/rows`: adds a row.
pub async fn add_row(State(state): State<AppState>, Path(id): Path<String>, post: Post) -> Answer {
    row_change(&state, &id, post, RowChange::Add).await
}

/// `POST /tables/{id}/rows/{row}`: replaces a row's values.
pub async fn update_row(
    State(state): State<AppState>,
    Path((id, row)): Path<(String, String)>,
    post: Post,
) -> Answer {
    row_change(&state, &id, post, RowChange::Update(row)).await
}

/// `POST /tables/{id}/rows/{row}/delete`: deletes a row.
pub async fn delete_row(
    State(state): State<AppState>,
    Path((id, row)): Path<(String, String)>,
    post: Post,
) -> Answer {
    row_change(&state, &id, post, RowChange::Delete(row)).await
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
) -> Answer {
    let origin = Origin::of(&state, &request);
    let table: TableSummary = load(&state, &origin, &id, Permission::EditFlows).await?;
    let page = table_page(&table);
    let (file_name, bytes) = uploaded_file(&state, request)
        .await
        .map_err(|code| refused(&page, code))?;
    let read = read_csv(&table.schema, &bytes)
        .map_err(|why| refused_because(&page, "csv-unreadable", &why))?;
    Ok(
        match actions::import_rows(&state.store, &origin.acting(), &table, &file_name, &read).await
        {
            Ok(report) => Redirect::to(&format!("{page}?import={}", report.id)).into_response(),
            Err(err) => action_failed(&page, err),
        },
    )
}

/// `GET /tables/{id}/export`: every row as CSV, the columns in order.
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    origin: Origin,
) -> Answer {
    let table: TableSummary = load(&state, &origin, &id, Permission::ViewTables).await?;
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
            Err(err) => return Err(store_failed(TABLES, err)),
        }
    }
    let text = write_csv(&table.schema, rows.iter().map(|r| &r.data)).map_err(|err| {
        tracing::error!(error = %err, "a table's CSV could not be written");
        refused(TABLES, "unavailable")
    })?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        &table.schema.name,
        ".csv",
        text,
    ))
}
