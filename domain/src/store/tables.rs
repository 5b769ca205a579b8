//! Tables and their rows. Rows are checked against the schema before they get here
//! ([`crate::tables::Schema::check_row`]); the store keeps keys unique and imports a CSV
//! file's rows in one transaction, keeping a report of what each import refused.

use super::BeginWrite;
use super::{Backend, Store, StoreError, now, with_pool};
use crate::audit::NewEntry;
use crate::tables::{Column, ColumnType, CsvRows, Reject, Row, Schema, TableId, coerce};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

/// A table as lists show it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSummary {
    pub id: TableId,
    pub schema: Schema,
    pub folder: Option<Uuid>,
    /// How many rows it holds; `None` where it was not counted (a card looking the table
    /// up by name does not need it, and counting grows with the table).
    pub rows: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One stored row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowRecord {
    pub id: Uuid,
    pub data: Row,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A checked row about to be added to a table, with the id and time it will be stored
/// with: what [`Store::insert_row`] writes, and what a card's record is written with
/// (see [`Store::record_steps`]), so the row and the record of adding it are stored
/// together or not at all.
#[derive(Debug, Clone)]
pub struct NewRow {
    pub(crate) table: TableId,
    pub(crate) id: Uuid,
    pub(crate) key: Option<String>,
    pub(crate) data: Row,
    pub(crate) at: DateTime<Utc>,
}

impl NewRow {
    pub fn new(table: &TableSummary, row: Row) -> NewRow {
        NewRow {
            table: table.id,
            id: Uuid::now_v7(),
            key: table.schema.key_of(&row),
            data: row,
            at: now(),
        }
    }

    /// The row as it will be stored.
    pub fn record(&self) -> RowRecord {
        RowRecord {
            id: self.id,
            data: self.data.clone(),
            created_at: self.at,
            updated_at: self.at,
        }
    }

    /// What its key clashes with, when the table has the key already.
    pub(crate) fn taken(&self) -> StoreError {
        StoreError::Conflict {
            what: format!(
                "a row with the key {:?}",
                self.key.clone().unwrap_or_default()
            ),
        }
    }
}

/// Which rows, in what order, which page.
#[derive(Debug, Clone, Default)]
pub struct RowQuery {
    /// Rows whose values contain this text, ignoring case.
    pub search: Option<String>,
    /// Rows whose column equals the value.
    pub equals: Option<(String, Value)>,
    /// Sort by this column (descending when true); by creation otherwise.
    pub sort: Option<(String, bool)>,
    pub limit: i64,
    pub offset: i64,
}

/// What an import of a CSV file did, kept so the admin can read it again.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    pub id: Uuid,
    pub table: TableId,
    pub file_name: String,
    /// Who imported it, as the System Log names them.
    pub actor: String,
    /// How many rows were added.
    pub rows: i64,
    /// Every row that was not added, by line, with its reasons: it did not fit the
    /// columns, or its key is already in the table (or earlier in the file).
    pub rejects: Vec<Reject>,
    pub created_at: DateTime<Utc>,
}

impl ImportReport {
    /// The report in a sentence ("97 rows imported, 3 rejected").
    pub fn summary(&self) -> String {
        let rows = if self.rows == 1 { "row" } else { "rows" };
        format!(
            "{} {rows} imported, {} rejected",
            self.rows,
            self.rejects.len()
        )
    }
}

#[derive(sqlx::FromRow)]
struct ImportRow {
    id: Uuid,
    table_id: Uuid,
    file_name: String,
    actor: String,
    imported: i64,
    rejects: Json<Vec<Reject>>,
    created_at: DateTime<Utc>,
}

impl From<ImportRow> for ImportReport {
    fn from(r: ImportRow) -> Self {
        ImportReport {
            id: r.id,
            table: TableId(r.table_id),
            file_name: r.file_name,
            actor: r.actor,
            rows: r.imported,
            rejects: r.rejects.0,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TableRow {
    id: Uuid,
    folder_id: Option<Uuid>,
    schema: Json<Schema>,
    rows: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<TableRow> for TableSummary {
    fn from(r: TableRow) -> Self {
        TableSummary {
            id: TableId(r.id),
            schema: r.schema.0,
            folder: r.folder_id,
            rows: r.rows,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct DataRow {
    id: Uuid,
    data: Json<Row>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<DataRow> for RowRecord {
    fn from(r: DataRow) -> Self {
        RowRecord {
            id: r.id,
            data: r.data.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const TABLE_COLUMNS: &str = "t.id, t.folder_id, t.schema, \
     (SELECT COUNT(*) FROM table_rows r WHERE r.table_id = t.id) AS rows, t.created_at, t.updated_at";
/// The same without counting the rows.
const TABLE_COLUMNS_UNCOUNTED: &str =
    "t.id, t.folder_id, t.schema, CAST(NULL AS BIGINT) AS rows, t.created_at, t.updated_at";

impl Store {
    /// Creates a table. Its schema must have no problems (`Invalid` otherwise); its name
    /// is unique regardless of case (`Conflict`).
    pub async fn create_table(
        &self,
        schema: &Schema,
        folder: Option<Uuid>,
        audit: &NewEntry,
    ) -> Result<TableSummary, StoreError> {
        let problems = schema.problems();
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems.join(" ")));
        }
        let id = TableId::new();
        let at = now();
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO tables (id, name, name_key, folder_id, schema, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(id.0)
            .bind(schema.name.trim())
            .bind(schema.name.trim().to_lowercase())
            .bind(folder)
            .bind(Json(schema))
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::conflict_or(e, format!("a table named {:?}", schema.name.trim())))?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        self.table(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("table {id} vanished after insert")))
    }

    pub async fn table(&self, id: TableId) -> Result<Option<TableSummary>, StoreError> {
        let sql = format!("SELECT {TABLE_COLUMNS} FROM tables t WHERE t.id = $1");
        let row: Option<TableRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await?
        });
        Ok(row.map(TableSummary::from))
    }

    /// The table named `name`, ignoring case (cards name their table); its rows are not
    /// counted.
    pub async fn table_by_name(&self, name: &str) -> Result<Option<TableSummary>, StoreError> {
        let key = name.trim().to_lowercase();
        if let Some(known) = self.tables_by_name.get(&key) {
            return Ok(Some(known));
        }
        let generation = self.tables_by_name.generation();
        let sql = format!("SELECT {TABLE_COLUMNS_UNCOUNTED} FROM tables t WHERE t.name_key = $1");
        let row: Option<TableRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(&key).fetch_optional(pool).await?
        });
        let found = row.map(TableSummary::from);
        if let Some(table) = &found {
            self.tables_by_name.keep(generation, key, table.clone());
        }
        Ok(found)
    }

    /// Every table, by name.
    pub async fn tables(&self) -> Result<Vec<TableSummary>, StoreError> {
        let sql = format!("SELECT {TABLE_COLUMNS} FROM tables t ORDER BY t.name_key");
        let rows: Vec<TableRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(TableSummary::from).collect())
    }

    /// Deletes a table and its rows. `false` when there is no such table.
    pub async fn delete_table(&self, id: TableId, audit: &NewEntry) -> Result<bool, StoreError> {
        let deleted = super::audit::change_logged!(
            self,
            audit,
            sqlx::query("DELETE FROM tables WHERE id = $1").bind(id.0)
        );
        self.tables_by_name.forget_all();
        Ok(deleted)
    }

    /// Adds a checked row, with its System Log entry when a person adds it (a flow's card
    /// is recorded in its execution instead). A key already in the table is a `Conflict`.
    pub async fn insert_row(
        &self,
        table: &TableSummary,
        row: &Row,
        audit: Option<&NewEntry>,
    ) -> Result<RowRecord, StoreError> {
        let new = NewRow::new(table, row.clone());
        let conflict = |e: sqlx::Error| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => new.taken(),
            _ => StoreError::Database(e),
        };
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let insert = sqlx::query(
                "INSERT INTO table_rows (id, table_id, row_key, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(new.id)
            .bind(new.table.0)
            .bind(&new.key)
            .bind(Json(&new.data))
            .bind(new.at);
            match audit {
                Some(audit) => {
                    let mut tx = pool.begin_write().await?;
                    insert.execute(&mut *tx).await.map_err(conflict)?;
                    super::audit::append_in!(tx, audit)?;
                    tx.commit().await?;
                }
                // One statement (a flow's card; its execution is the record): no
                // transaction around it.
                None => {
                    insert.execute(pool).await.map_err(conflict)?;
                }
            }
        });
        Ok(new.record())
    }

    /// Replaces a row's values with a checked row, logged like [`Store::insert_row`].
    /// `None` when there is no such row; a key another row has is a `Conflict`.
    pub async fn update_row(
        &self,
        table: &TableSummary,
        id: Uuid,
        row: &Row,
        audit: Option<&NewEntry>,
    ) -> Result<Option<RowRecord>, StoreError> {
        let key = table.schema.key_of(row);
        let done = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("UPDATE table_rows SET row_key = $3, data = $4, updated_at = $5 WHERE table_id = $1 AND id = $2")
                .bind(table.id.0)
                .bind(id)
                .bind(&key)
                .bind(Json(row))
                .bind(now())
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::conflict_or(e, format!("a row with the key {:?}", key.clone().unwrap_or_default())))?
                .rows_affected();
            if let (true, Some(audit)) = (done > 0, audit) {
                super::audit::append_in!(tx, audit)?;
            }
            tx.commit().await?;
            done
        });
        if done == 0 {
            return Ok(None);
        }
        self.row(table.id, id).await
    }

    pub async fn row(&self, table: TableId, id: Uuid) -> Result<Option<RowRecord>, StoreError> {
        let row: Option<DataRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, data, created_at, updated_at FROM table_rows WHERE table_id = $1 AND id = $2")
                .bind(table.0)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(RowRecord::from))
    }

    /// The row with this key.
    pub async fn row_by_key(
        &self,
        table: TableId,
        key: &str,
    ) -> Result<Option<RowRecord>, StoreError> {
        let row: Option<DataRow> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, data, created_at, updated_at FROM table_rows WHERE table_id = $1 AND row_key = $2")
                .bind(table.0)
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(RowRecord::from))
    }

    /// Deletes a row, logged like [`Store::insert_row`]. `false` when there is no such
    /// row.
    pub async fn delete_row(
        &self,
        table: TableId,
        id: Uuid,
        audit: Option<&NewEntry>,
    ) -> Result<bool, StoreError> {
        let deleted = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query("DELETE FROM table_rows WHERE table_id = $1 AND id = $2")
                .bind(table.0)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if let (true, Some(audit)) = (deleted, audit) {
                super::audit::append_in!(tx, audit)?;
            }
            tx.commit().await?;
            deleted
        });
        Ok(deleted)
    }

    /// One page of the rows `query` asks for, and how many rows match in all. Columns
    /// named in the query must be the table's, and a value compared must fit its column
    /// (`Invalid` otherwise).
    pub async fn rows(
        &self,
        table: &TableSummary,
        query: &RowQuery,
    ) -> Result<(Vec<RowRecord>, i64), StoreError> {
        let column = |name: &str| {
            table.schema.column(name).cloned().ok_or_else(|| {
                StoreError::Invalid(format!("{} has no column {name:?}", table.schema.name))
            })
        };
        let equals = match &query.equals {
            Some((name, value)) => {
                let column = column(name)?;
                if column.ty == ColumnType::Json {
                    return Err(StoreError::Invalid(format!(
                        "{name} is a JSON column; search it instead of filtering by it"
                    )));
                }
                let value = coerce(column.ty, value)
                    .map_err(|why| StoreError::Invalid(format!("{name}: {why}")))?;
                Some((column, value))
            }
            None => None,
        };
        let sort = match &query.sort {
            Some((name, desc)) => Some((column(name)?, *desc)),
            None => None,
        };
        let search = query
            .search
            .as_ref()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .map(|s| {
                let escaped = s
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            });
        let page = RowPage {
            table: table.id,
            search,
            equals,
            sort,
            limit: query.limit.clamp(1, 1000),
            offset: query.offset.max(0),
        };
        let (rows, total) = match &self.backend {
            Backend::Sqlite(pool) => {
                let mut count = page.build::<sqlx::Sqlite>("SELECT COUNT(*)", false);
                let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
                let mut select =
                    page.build::<sqlx::Sqlite>("SELECT id, data, created_at, updated_at", true);
                let rows: Vec<DataRow> = select.build_query_as().fetch_all(pool).await?;
                (rows, total)
            }
            Backend::Postgres(pool) => {
                let mut count = page.build::<sqlx::Postgres>("SELECT COUNT(*)", false);
                let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
                let mut select =
                    page.build::<sqlx::Postgres>("SELECT id, data, created_at, updated_at", true);
                let rows: Vec<DataRow> = select.build_query_as().fetch_all(pool).await?;
                (rows, total)
            }
        };
        Ok((rows.into_iter().map(RowRecord::from).collect(), total))
    }

    /// Adds the rows of a CSV file that fit (`read`, from [`crate::tables::read_csv`]) in
    /// one transaction. A row whose key is already in the table is not added and joins the
    /// file's own rejects; every other row is added. The report is kept, and the System
    /// Log entry carries its summary.
    pub async fn import_rows(
        &self,
        table: &TableSummary,
        file_name: &str,
        read: &CsvRows,
        audit: &NewEntry,
    ) -> Result<ImportReport, StoreError> {
        let at = now();
        let mut report = ImportReport {
            id: Uuid::now_v7(),
            table: table.id,
            file_name: file_name.to_string(),
            actor: audit.actor.id_and_display().1,
            rows: 0,
            rejects: read.rejects.clone(),
            created_at: at,
        };
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            for (line, row) in &read.rows {
                let key = table.schema.key_of(row);
                let done = sqlx::query(
                    "INSERT INTO table_rows (id, table_id, row_key, data, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
                )
                .bind(Uuid::now_v7())
                .bind(table.id.0)
                .bind(&key)
                .bind(Json(row))
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if done == 0 {
                    report.rejects.push(Reject {
                        line: *line,
                        reasons: vec![format!("the key {:?} is already in the table", key.unwrap_or_default())],
                    });
                } else {
                    report.rows += 1;
                }
            }
            report.rejects.sort_by_key(|r| r.line);
            sqlx::query("UPDATE tables SET updated_at = $2 WHERE id = $1")
                .bind(table.id.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO table_imports (id, table_id, file_name, actor, imported, rejects, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(report.id)
            .bind(table.id.0)
            .bind(&report.file_name)
            .bind(&report.actor)
            .bind(report.rows)
            .bind(Json(&report.rejects))
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let audit = audit.clone().reason(format!("{} from {file_name}", report.summary()));
            super::audit::append_in!(tx, &audit)?;
            tx.commit().await?;
        });
        Ok(report)
    }

    /// The report of one import into `table`.
    pub async fn table_import(
        &self,
        table: TableId,
        id: Uuid,
    ) -> Result<Option<ImportReport>, StoreError> {
        let row: Option<ImportRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, table_id, file_name, actor, imported, rejects, created_at \
                 FROM table_imports WHERE table_id = $1 AND id = $2",
            )
            .bind(table.0)
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(ImportReport::from))
    }
}

/// A checked row query, written out for either backend.
struct RowPage {
    table: TableId,
    search: Option<String>,
    equals: Option<(Column, Value)>,
    sort: Option<(Column, bool)>,
    limit: i64,
    offset: i64,
}

/// How each backend reads a JSON field and binds a value to compare with it.
trait RowSql: sqlx::Database {
    fn push_field(q: &mut sqlx::QueryBuilder<'_, Self>, column: &str);
    fn push_value(q: &mut sqlx::QueryBuilder<'_, Self>, ty: ColumnType, value: &Value);
    fn push_text(q: &mut sqlx::QueryBuilder<'_, Self>);
}

impl RowSql for sqlx::Sqlite {
    fn push_field(q: &mut sqlx::QueryBuilder<'_, Self>, column: &str) {
        q.push("json_extract(data, ")
            .push_bind(format!("$.\"{}\"", column.replace('"', "\\\"")))
            .push(")");
    }
    fn push_value(q: &mut sqlx::QueryBuilder<'_, Self>, ty: ColumnType, value: &Value) {
        // json_extract gives SQL values: numbers as numbers, true/false as 1/0.
        match ty {
            ColumnType::Number => q.push_bind(value.as_f64().unwrap_or_default()),
            ColumnType::Boolean => q.push_bind(i64::from(value.as_bool().unwrap_or_default())),
            _ => q.push_bind(crate::tables::key_text(value)),
        };
    }
    fn push_text(q: &mut sqlx::QueryBuilder<'_, Self>) {
        q.push("LOWER(data)");
    }
}

impl RowSql for sqlx::Postgres {
    fn push_field(q: &mut sqlx::QueryBuilder<'_, Self>, column: &str) {
        q.push("(data -> ").push_bind(column.to_string()).push(")");
    }
    fn push_value(q: &mut sqlx::QueryBuilder<'_, Self>, _ty: ColumnType, value: &Value) {
        q.push_bind(Json(value.clone()));
    }
    fn push_text(q: &mut sqlx::QueryBuilder<'_, Self>) {
        q.push("LOWER(data::text)");
    }
}

impl RowPage {
    fn build<DB>(&self, select: &str, page: bool) -> sqlx::QueryBuilder<'static, DB>
    where
        DB: RowSql,
        Uuid: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'a> <DB as sqlx::Database>::Arguments<'a>: sqlx::IntoArguments<'a, DB>,
    {
        let mut q = sqlx::QueryBuilder::<DB>::new(select);
        q.push(" FROM table_rows WHERE table_id = ")
            .push_bind(self.table.0);
        if let Some(search) = &self.search {
            q.push(" AND ");
            DB::push_text(&mut q);
            q.push(" LIKE ")
                .push_bind(search.clone())
                .push(" ESCAPE '\\'");
        }
        if let Some((column, value)) = &self.equals {
            q.push(" AND ");
            DB::push_field(&mut q, &column.name);
            q.push(" = ");
            DB::push_value(&mut q, column.ty, value);
        }
        if page {
            q.push(" ORDER BY ");
            if let Some((column, desc)) = &self.sort {
                DB::push_field(&mut q, &column.name);
                q.push(if *desc { " DESC, " } else { " ASC, " });
            }
            q.push("id LIMIT ")
                .push_bind(self.limit)
                .push(" OFFSET ")
                .push_bind(self.offset);
        }
        q
    }
}
