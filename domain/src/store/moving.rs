//! Moving an idflow from one database to another (SQLite to PostgreSQL when a team
//! outgrows one machine): [`Store::export_all`] reads everything people made — the
//! directory with its credentials, roles and group mappings, folders and their grants,
//! flows with every version, tables with their rows, connections (their secrets still
//! sealed under the key, or left out), and the settings — as one JSON document, in a form
//! neither backend owns; [`Store::import_all`] loads it into an empty database in one
//! transaction. Execution history, the System Log and sessions stay behind.
//!
//! Each row is a JSON object of its columns: ids as UUID text, times as RFC 3339 text,
//! JSON columns as JSON (or as the text SQLite keeps them in), flags as booleans or 0/1.
//! The importing backend converts each to its own column types.

use super::BeginWrite;
use super::{Backend, Store, StoreError, now, with_pool};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What an export says it is.
pub const MOVE_FORMAT: &str = "idflow.move/1";

/// The tables moved, each after those it refers to.
const TABLES: &[&str] = &[
    "users",
    "local_credentials",
    "sso_identities",
    "scim_tokens",
    "api_tokens",
    "groups",
    "group_members",
    "group_roles",
    "folders",
    "folder_grants",
    "flows",
    "flow_versions",
    "flow_secrets",
    "tables",
    "table_rows",
    "connections",
    "sso_settings",
    "outbound_settings",
    "log_settings",
];

/// Everything an idflow holds that people made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    pub format: String,
    pub exported_at: chrono::DateTime<chrono::Utc>,
    /// Whether connections' secrets (sealed) came along.
    pub with_secrets: bool,
    /// The backend it came from (`sqlite`, `postgres`): SQLite keeps JSON as text.
    pub source: String,
    /// Each table's rows, in [`TABLES`]'s order.
    pub tables: Vec<ExportedTable>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedTable {
    pub name: String,
    pub rows: Vec<Map<String, Value>>,
}

impl Export {
    /// How many rows of each table it holds.
    pub fn counts(&self) -> Vec<(String, usize)> {
        self.tables
            .iter()
            .map(|t| (t.name.clone(), t.rows.len()))
            .collect()
    }
}

/// A SQLite BLOB as the export writes it: a UUID's text when it is 16 bytes, else
/// PostgreSQL's `\x` hex.
fn blob_text(hex: &str) -> Value {
    let bytes = hex::decode(hex).unwrap_or_default();
    match uuid::Uuid::from_slice(&bytes) {
        Ok(id) => Value::String(id.to_string()),
        Err(_) => Value::String(format!("\\x{hex}")),
    }
}

/// The bytes of a value the export wrote for a BLOB (a UUID's text or `\x` hex).
fn blob_bytes(value: &str) -> Result<Vec<u8>, StoreError> {
    if let Some(hex) = value.strip_prefix("\\x") {
        return hex::decode(hex).map_err(|_| StoreError::Invalid(format!("{value:?} is not hex")));
    }
    uuid::Uuid::parse_str(value)
        .map(|id| id.as_bytes().to_vec())
        .map_err(|_| StoreError::Invalid(format!("{value:?} is not an id")))
}

impl Store {
    /// Everything people made, for [`Store::import_all`] elsewhere; connections' sealed
    /// secrets (and the single sign-on client secret) only `with_secrets`.
    pub async fn export_all(&self, with_secrets: bool) -> Result<Export, StoreError> {
        let mut tables = Vec::new();
        for name in TABLES {
            let mut rows = match &self.backend {
                Backend::Sqlite(pool) => {
                    let columns: Vec<(String, String)> =
                        sqlx::query_as("SELECT name, type FROM pragma_table_info($1)")
                            .bind(name)
                            .fetch_all(pool)
                            .await?;
                    let fields: Vec<String> = columns
                        .iter()
                        .map(|(column, ty)| {
                            let value = if ty.eq_ignore_ascii_case("BLOB") {
                                format!("CASE WHEN \"{column}\" IS NULL THEN NULL ELSE lower(hex(\"{column}\")) END")
                            } else {
                                format!("\"{column}\"")
                            };
                            format!("'{column}', {value}")
                        })
                        .collect();
                    let sql = format!("SELECT json_object({}) FROM \"{name}\"", fields.join(", "));
                    let texts: Vec<String> = sqlx::query_scalar(&sql).fetch_all(pool).await?;
                    let blobs: Vec<&String> = columns
                        .iter()
                        .filter(|(_, ty)| ty.eq_ignore_ascii_case("BLOB"))
                        .map(|(column, _)| column)
                        .collect();
                    texts
                        .iter()
                        .map(|text| {
                            let mut row: Map<String, Value> = serde_json::from_str(text)
                                .map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))?;
                            for column in &blobs {
                                if let Some(Value::String(hex)) = row.get(column.as_str()) {
                                    let text = blob_text(hex);
                                    row.insert((*column).clone(), text);
                                }
                            }
                            Ok(row)
                        })
                        .collect::<Result<Vec<_>, StoreError>>()?
                }
                Backend::Postgres(pool) => {
                    let sql = format!("SELECT row_to_json(t)::text FROM \"{name}\" t");
                    let texts: Vec<String> = sqlx::query_scalar(&sql).fetch_all(pool).await?;
                    texts
                        .iter()
                        .map(|text| {
                            serde_json::from_str(text)
                                .map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
                        })
                        .collect::<Result<Vec<_>, StoreError>>()?
                }
            };
            if !with_secrets {
                for row in &mut rows {
                    match *name {
                        "connections" => {
                            row.insert("secrets".into(), Value::String("{}".into()));
                        }
                        "sso_settings" => {
                            row.insert("client_secret".into(), Value::String(String::new()));
                            row.insert("client_secret_sealed".into(), Value::Bool(false));
                        }
                        _ => {}
                    }
                }
            }
            tables.push(ExportedTable {
                name: (*name).to_string(),
                rows,
            });
        }
        Ok(Export {
            format: MOVE_FORMAT.to_string(),
            exported_at: now(),
            with_secrets,
            source: self.kind().name().to_lowercase(),
            tables,
        })
    }

    /// Loads `export` into this database, which must hold no users, flows or connections
    /// yet, in one transaction: all of it or, refused, nothing. How many rows of each
    /// table it loaded.
    pub async fn import_all(&self, export: &Export) -> Result<Vec<(String, usize)>, StoreError> {
        if export.format != MOVE_FORMAT {
            return Err(StoreError::Invalid(format!(
                "this file is {:?}, not an idflow export ({MOVE_FORMAT})",
                export.format
            )));
        }
        if let Some(unknown) = export
            .tables
            .iter()
            .find(|t| !TABLES.contains(&t.name.as_str()))
        {
            return Err(StoreError::Invalid(format!(
                "the export holds a table this idflow does not know: {}",
                unknown.name
            )));
        }
        let held: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM flows) + (SELECT COUNT(*) FROM connections)",
            )
            .fetch_one(pool)
            .await?
        });
        if held > 0 {
            return Err(StoreError::Invalid(
                "this database already holds users, flows or connections: import into a new, empty one".into(),
            ));
        }
        let _turn = self.write_turn().await;
        match &self.backend {
            Backend::Postgres(pool) => {
                let mut tx = pool.begin_write().await?;
                for table in &export.tables {
                    let columns: Vec<(String, String)> = sqlx::query_as(
                        "SELECT column_name::text, data_type::text FROM information_schema.columns \
                         WHERE table_schema = current_schema() AND table_name = $1",
                    )
                    .bind(&table.name)
                    .fetch_all(&mut *tx)
                    .await?;
                    let sql = format!(
                        "INSERT INTO \"{0}\" SELECT * FROM json_populate_record(NULL::\"{0}\", $1::json)",
                        table.name
                    );
                    for row in &table.rows {
                        let mut row = row.clone();
                        for (column, ty) in &columns {
                            let Some(value) = row.get_mut(column) else {
                                continue;
                            };
                            match (ty.as_str(), &*value) {
                                // SQLite keeps JSON as text.
                                ("jsonb" | "json", Value::String(text))
                                    if export.source == "sqlite" =>
                                {
                                    *value = serde_json::from_str(text).map_err(|e| {
                                        StoreError::Invalid(format!("{}.{column}: {e}", table.name))
                                    })?;
                                }
                                ("boolean", Value::Number(n)) => {
                                    *value = Value::Bool(n.as_i64() != Some(0));
                                }
                                _ => {}
                            }
                        }
                        sqlx::query(&sql)
                            .bind(Value::Object(row).to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
            }
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
                for table in &export.tables {
                    let columns: Vec<(String, String)> =
                        sqlx::query_as("SELECT name, type FROM pragma_table_info($1)")
                            .bind(&table.name)
                            .fetch_all(&mut *tx)
                            .await?;
                    let names: Vec<String> =
                        columns.iter().map(|(c, _)| format!("\"{c}\"")).collect();
                    let marks: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
                    let sql = format!(
                        "INSERT INTO \"{}\" ({}) VALUES ({})",
                        table.name,
                        names.join(", "),
                        marks.join(", ")
                    );
                    for row in &table.rows {
                        let mut query = sqlx::query(&sql);
                        for (column, ty) in &columns {
                            let value = row.get(column).unwrap_or(&Value::Null);
                            query = match (value, ty.eq_ignore_ascii_case("BLOB")) {
                                (Value::Null, _) => query.bind(None::<String>),
                                (Value::String(text), true) => query.bind(blob_bytes(text)?),
                                (Value::String(text), false) => query.bind(text.clone()),
                                (Value::Bool(b), _) => query.bind(*b),
                                (Value::Number(n), _) => match n.as_i64() {
                                    Some(i) => query.bind(i),
                                    None => query.bind(n.as_f64().unwrap_or_default()),
                                },
                                (other, _) => query.bind(other.to_string()),
                            };
                        }
                        query.execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            }
        }
        self.flows_changed();
        Ok(export.counts())
    }
}
