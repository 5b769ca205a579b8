//! `/api/v1/tables`: list and read tables; rows read, added, replaced and deleted; CSV
//! out and in. Each table lives in a folder; a table the token's person may not see
//! does not exist.

use super::{ApiCaller, ApiQuery, ApiResult, Page, Problem, page_size, paged, problem};
use crate::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use domain::access::Permission;
use domain::store::{RowQuery, RowRecord, TableSummary};
use domain::tables::{Row, TableId};
use serde::{Deserialize, Serialize};

/// A table as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TableItem {
    id: String,
    name: String,
    folder: Option<uuid::Uuid>,
    /// Each column's `name` and `type` (text, number, boolean, datetime, json).
    #[schema(value_type = Vec<Object>)]
    columns: Vec<domain::tables::Column>,
    key: Option<String>,
    rows: Option<i64>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<&TableSummary> for TableItem {
    fn from(t: &TableSummary) -> TableItem {
        TableItem {
            id: t.id.0.to_string(),
            name: t.schema.name.clone(),
            folder: t.folder,
            columns: t.schema.columns.clone(),
            key: t.schema.key.clone(),
            rows: t.rows,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A row as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct RowItem {
    id: String,
    /// Its values by column name.
    #[schema(value_type = Object)]
    values: Row,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<&RowRecord> for RowItem {
    fn from(r: &RowRecord) -> RowItem {
        RowItem {
            id: r.id.to_string(),
            values: r.data.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// `GET /api/v1/tables`: the tables the token's person may see, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/tables",
    tag = "tables",
    params(super::ListQuery),
    responses((status = 200, description = "The tables the token's person may see", body = super::Page<TableItem>), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn tables(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    ApiQuery(query): ApiQuery<super::ListQuery>,
) -> ApiResult {
    let tables: Vec<TableSummary> = state
        .store
        .tables()
        .await?
        .into_iter()
        .filter(|t| {
            caller
                .acting
                .rights
                .on_flow(Permission::ViewTables, t.folder)
        })
        .collect();
    super::page_by_id(
        "/api/v1/tables",
        tables,
        |t| t.id.0,
        |x| TableItem::from(x),
        &query,
    )
}

async fn visible_table(
    state: &AppState,
    caller: &ApiCaller,
    id: &str,
) -> Result<TableSummary, Problem> {
    let missing = || {
        problem(
            StatusCode::NOT_FOUND,
            "There is no such table, or it is not yours to see.",
        )
    };
    let id = uuid::Uuid::parse_str(id).map_err(|_| missing())?;
    match state.store.table(TableId(id)).await? {
        Some(table)
            if caller
                .acting
                .rights
                .on_flow(Permission::ViewTables, table.folder) =>
        {
            Ok(table)
        }
        _ => Err(missing()),
    }
}

/// `GET /api/v1/tables/{id}`: its columns, key and row count.
#[utoipa::path(
    get,
    path = "/api/v1/tables/{id}",
    tag = "tables",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The table's columns, key and row count", body = TableItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn table(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let table = visible_table(&state, &caller, &id).await?;
    Ok(Json(TableItem::from(&table)).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RowsQuery {
    /// Rows whose values contain this text, ignoring case.
    search: Option<String>,
    /// The cursor of the next page, as a page gave it.
    #[param(value_type = Option<String>, pattern = "^o[0-9]+$")]
    after: Option<String>,
    /// Items per page, 1 to 200 (50 by default).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// `GET /api/v1/tables/{id}/rows`: rows in the order they were added.
#[utoipa::path(
    get,
    path = "/api/v1/tables/{id}/rows",
    tag = "tables",
    params(("id" = uuid::Uuid, Path, description = "Its id"), RowsQuery),
    responses((status = 200, description = "A page of rows, in the order they were added", body = super::Page<RowItem>), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn rows(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<RowsQuery>,
) -> ApiResult {
    let table = visible_table(&state, &caller, &id).await?;
    let limit = page_size(query.limit)?;
    let offset = match query.after.as_deref().filter(|a| !a.is_empty()) {
        Some(after) => after
            .strip_prefix('o')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                problem(
                    StatusCode::BAD_REQUEST,
                    "after is not a cursor this API gave; start again without it.",
                )
            })?,
        None => 0,
    };
    let (found, total) = state
        .store
        .rows(
            &table,
            &RowQuery {
                search: query.search.clone().filter(|s| !s.trim().is_empty()),
                limit,
                offset,
                ..RowQuery::default()
            },
        )
        .await?;
    let next = (offset + (found.len() as i64) < total).then(|| format!("o{}", offset + limit));
    Ok(paged(
        &format!("/api/v1/tables/{}/rows", table.id.0),
        &[
            ("search", query.search.clone().unwrap_or_default()),
            (
                "limit",
                query.limit.map(|l| l.to_string()).unwrap_or_default(),
            ),
        ],
        Page {
            items: found.iter().map(RowItem::from).collect(),
            next,
        },
    ))
}

/// `POST /api/v1/tables/{id}/rows` with `{"column": value, …}`: adds a row; 409 when
/// its key is taken, 400 when a value does not fit its column.
#[utoipa::path(
    post,
    path = "/api/v1/tables/{id}/rows",
    tag = "tables",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    request_body(content = Object, description = "Column names and values"),
    responses((status = 201, description = "The row, added", body = RowItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn add_row(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let table = visible_table(&state, &caller, &id).await?;
    let row: Row = super::json_body(&body, "a JSON object of column names and values")?;
    let made = domain::actions::tables::add_row(&state.store, &caller.acting, &table, &row)
        .await
        .map_err(row_refusal)?;
    Ok((StatusCode::CREATED, Json(RowItem::from(&made))).into_response())
}

/// A refused row: 400 when it does not fit, 409 when its key is taken.
fn row_refusal(err: domain::actions::ActionError) -> Problem {
    match err {
        domain::actions::ActionError::Refused(refusal)
            if matches!(refusal.code, "row-invalid" | "row-empty") =>
        {
            problem(
                StatusCode::BAD_REQUEST,
                format!("The row does not fit: {}.", refusal.reason),
            )
        }
        other => other.into(),
    }
}

fn row_id(id: &str) -> Result<uuid::Uuid, Problem> {
    uuid::Uuid::parse_str(id)
        .map_err(|_| problem(StatusCode::NOT_FOUND, "There is no such row in the table."))
}

/// `PUT /api/v1/tables/{id}/rows/{row}` with the row's new values.
#[utoipa::path(
    put,
    path = "/api/v1/tables/{id}/rows/{row}",
    tag = "tables",
    params(("id" = uuid::Uuid, Path, description = "The table's id"), ("row" = uuid::Uuid, Path, description = "The row's id")),
    request_body(content = Object, description = "Column names and values"),
    responses((status = 200, description = "The row, replaced", body = RowItem), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn replace_row(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path((id, row)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult {
    let table = visible_table(&state, &caller, &id).await?;
    let values: Row = super::json_body(&body, "a JSON object of column names and values")?;
    let saved = domain::actions::tables::update_row(
        &state.store,
        &caller.acting,
        &table,
        row_id(&row)?,
        &values,
    )
    .await
    .map_err(row_refusal)?;
    Ok(Json(RowItem::from(&saved)).into_response())
}

/// `DELETE /api/v1/tables/{id}/rows/{row}`.
#[utoipa::path(
    delete,
    path = "/api/v1/tables/{id}/rows/{row}",
    tag = "tables",
    params(("id" = uuid::Uuid, Path, description = "The table's id"), ("row" = uuid::Uuid, Path, description = "The row's id")),
    responses((status = 204, description = "Deleted"), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn delete_row(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path((id, row)): Path<(String, String)>,
) -> ApiResult {
    let table = visible_table(&state, &caller, &id).await?;
    domain::actions::tables::delete_row(&state.store, &caller.acting, &table, row_id(&row)?)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The most rows one CSV export holds.
const MOST_EXPORTED: i64 = 100_000;

/// `GET /api/v1/tables/{id}/csv`: every row as CSV (cells a spreadsheet would read as
/// formulas start with `'`).
#[utoipa::path(
    get,
    path = "/api/v1/tables/{id}/csv",
    tag = "tables",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "Every row as CSV", body = String, content_type = "text/csv"), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn csv_out(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let table = visible_table(&state, &caller, &id).await?;
    let mut rows = Vec::new();
    loop {
        let (page, total) = state
            .store
            .rows(
                &table,
                &RowQuery {
                    limit: 1_000,
                    offset: rows.len() as i64,
                    ..RowQuery::default()
                },
            )
            .await?;
        let last = page.len() < 1_000 || rows.len() as i64 + page.len() as i64 >= total;
        rows.extend(page);
        if last || rows.len() as i64 >= MOST_EXPORTED {
            break;
        }
    }
    let text =
        domain::tables::write_csv(&table.schema, rows.iter().map(|r| &r.data)).map_err(|e| {
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("The CSV could not be written: {e}."),
            )
        })?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response())
}

/// `POST /api/v1/tables/{id}/csv` with a CSV file as the body (its header names the
/// columns): adds the rows that fit, in one transaction, and answers with the report of
/// those that did not.
#[utoipa::path(
    post,
    path = "/api/v1/tables/{id}/csv",
    tag = "tables",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    request_body(content = String, content_type = "text/csv", description = "A CSV file whose header names the columns"),
    responses((status = 200, description = "What was added and what was not", body = ImportBody), (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"))
)]
pub(super) async fn csv_in(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let table = visible_table(&state, &caller, &id).await?;
    let read = domain::tables::read_csv(&table.schema, &body).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            format!("The CSV cannot be read for this table: {e}."),
        )
    })?;
    let report = domain::actions::tables::import_rows(
        &state.store,
        &caller.acting,
        &table,
        "REST API",
        &read,
    )
    .await?;
    Ok(Json(ImportBody {
        added: report.rows,
        rejected: report
            .rejects
            .iter()
            .map(|r| Rejected {
                line: r.line,
                reasons: r.reasons.clone(),
            })
            .collect(),
    })
    .into_response())
}

/// What a CSV import did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ImportBody {
    /// How many rows were added.
    added: i64,
    /// The rows not added, by line (the header is line 1), with why.
    rejected: Vec<Rejected>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Rejected {
    line: u64,
    reasons: Vec<String>,
}

/// A new table.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(super) struct NewTable {
    name: String,
    /// Each column's `name` and `type` (text, number, boolean, datetime, json).
    #[schema(value_type = Vec<Object>)]
    columns: Vec<domain::tables::Column>,
    /// The column whose values are unique, if one is.
    key: Option<String>,
    /// The folder to create it in (its id); the top level when absent.
    folder: Option<uuid::Uuid>,
}

/// `POST /api/v1/tables` with `{"name", "columns": [{"name", "type"}], "key", "folder"}`.
#[utoipa::path(
    post,
    path = "/api/v1/tables",
    tag = "tables",
    request_body(content = NewTable),
    responses(
        (status = 201, description = "The table, created", body = TableItem),
        (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    body: axum::body::Bytes,
) -> ApiResult {
    let new: NewTable = super::json_body(&body, "a table: its name, columns and key")?;
    if let Some(folder) = new.folder
        && caller.acting.rights.in_folder(folder).is_none()
    {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "There is no such folder, or it is not yours to see.",
        ));
    }
    let schema = domain::tables::Schema {
        name: new.name,
        columns: new.columns,
        key: new.key,
    };
    let made =
        domain::actions::tables::create_table(&state.store, &caller.acting, &schema, new.folder)
            .await
            .map_err(|err| match err {
                domain::actions::ActionError::Refused(refusal)
                    if refusal.code == "table-problems" =>
                {
                    problem(
                        StatusCode::BAD_REQUEST,
                        format!("The table cannot be made: {}", refusal.reason),
                    )
                }
                other => other.into(),
            })?;
    Ok((StatusCode::CREATED, Json(TableItem::from(&made))).into_response())
}

/// `DELETE /api/v1/tables/{id}`: the table and its rows.
#[utoipa::path(
    delete,
    path = "/api/v1/tables/{id}",
    tag = "tables",
    params(("id" = uuid::Uuid, Path, description = "Its id")),
    responses(
        (status = 204, description = "Deleted, with its rows"),
        (status = "4XX", description = "Refused: the problem says why", body = super::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
    Path(id): Path<String>,
) -> ApiResult {
    let table = visible_table(&state, &caller, &id).await?;
    domain::actions::tables::delete_table(&state.store, &caller.acting, &table).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
