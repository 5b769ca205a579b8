//! The database: one interface, SQLite and PostgreSQL behind it.
//!
//! The backend is chosen by the URL's scheme (`sqlite:` or `postgres:`). Each backend
//! has its own migrations (`migrations/sqlite`, `migrations/postgres`), applied at start.
//! Queries are written once where both dialects agree (numbered `$1` parameters work on
//! both) and run through [`with_pool!`]; where they differ, each backend gets its own arm.
//! Nothing outside this module sees a pool or SQL.

mod assignments;
pub(crate) mod audit;
pub use audit::{AuditPage, DEFAULT_LOG_RETENTION_DAYS};
mod api_tokens;
mod connections;
mod directory;
mod executions;
mod flows;
mod folders;
mod groups;
mod moving;
mod okta;
mod outbound;
mod scim_tokens;
pub use api_tokens::NewApiToken;
mod sso;
mod tables;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod throttle;
mod users;

pub use assignments::SuperAdminPath;
pub use connections::{Connection, ConnectionTest};
pub use directory::{Change, DirectoryEvent, SCAN_LIMIT, UserWrite, WriteOutcome};
pub use executions::{
    ExecutionFilter, ExecutionRecord, NewExecution, Parent, StepRecord, execution_cursor,
    parse_execution_cursor,
};
pub use flows::{Author, FlowSecret, FlowSummary, FlowVersion};
pub use folders::Folder;
pub use groups::GroupWrite;
pub use moving::{Export, MOVE_FORMAT};
pub use okta::{HookDelivery, Received, WaitingOktaEvent};
pub use outbound::OutboundSetting;
pub use scim_tokens::{ScimToken, TokenMaker};
pub use sqlx::Error as SqlxError;
pub use sso::{SsoIdentity, SsoSettings};
pub use tables::{ImportReport, NewRow, RowQuery, RowRecord, TableSummary};
pub use throttle::ThrottleState;
pub use users::NewUser;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Runs `$body` with `$pool` bound to whichever pool the store holds. The body is
/// compiled once per backend, so it must be valid for both.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Starting a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), waiting its turn behind other writers (the busy timeout): a
/// transaction that read first and then wrote would otherwise fail at once ("database is
/// locked") whenever another connection — the session store — wrote in between.
/// PostgreSQL locks rows as it goes and begins as usual.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send {
        self.begin()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL must start with sqlite: or postgres:, got {0:?}")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("{0}")]
    Migration(String),
    #[error("{what} already exists")]
    Conflict { what: String },
    #[error("{0}")]
    Invalid(String),
    /// What a write needed was deleted meanwhile (a card's table), saying what.
    #[error("{0} was deleted")]
    Gone(String),
    #[error("the resource changed since it was read (its version is now {current})")]
    PreconditionFailed { current: i64 },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    /// A secret could not be sealed or opened.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    #[error(
        "no key for secrets at rest was set up; idflow seals secrets only with a key (IDFLOW_SECRET_KEY or the key file)"
    )]
    NoSecretKey,
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Conflict`].
    pub(crate) fn conflict_or(err: sqlx::Error, what: impl Into<String>) -> StoreError {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict { what: what.into() }
            }
            _ => StoreError::Database(err),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "SQLite",
            BackendKind::Postgres => "PostgreSQL",
        }
    }
}

/// The handle every part of idflow uses to read and write its data. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) backend: Backend,
    /// SQLite lets one transaction write at a time and makes the others wait by sleeping
    /// and retrying, which stretches the slowest requests under load. Writers queue
    /// here instead, in order. PostgreSQL needs no gate: it locks rows.
    write_gate: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
    /// Wake-ups within this process (other servers find the same work by polling).
    pub(crate) signals: std::sync::Arc<Signals>,
    /// Flow definitions read so far, shared by workers and the API.
    pub(crate) definitions: std::sync::Arc<Definitions>,
    /// Executions that ran to their end before being stored, to write together.
    pub(crate) finished: std::sync::Arc<executions::FinishedQueue>,
    /// API endpoint secrets that matched lately: (flow, the secret's digest) → the flow.
    pub(crate) callers: std::sync::Arc<Recent<(crate::flows::FlowId, String), FlowSummary>>,
    /// Tables cards looked up lately: the name as compared → the table.
    pub(crate) tables_by_name: std::sync::Arc<Recent<String, TableSummary>>,
    /// Flows the engine looked up lately (the folder its cards may reach): id → flow.
    pub(crate) flows_by_id: std::sync::Arc<Recent<crate::flows::FlowId, FlowSummary>>,
    /// Places in the users' list order, so a deep SCIM page need not skip all before it.
    pub(crate) user_marks: std::sync::Arc<directory::ListMarks>,
    /// The key secrets are sealed under, set once at start (never from the database).
    secret_key: std::sync::Arc<std::sync::OnceLock<crate::secrets::SecretKey>>,
    /// The guarded client flows' outbound requests go through, set up once.
    connectors: std::sync::Arc<std::sync::OnceLock<crate::connectors::Connectors>>,
}

/// What the hot paths read often and rarely changes (a flow's API secret, a table by
/// name), remembered for at most [`Recent::FRESH`]. This process forgets it all whenever it
/// changes such a thing; a change made by another server (several on one PostgreSQL) is
/// seen after at most [`Recent::FRESH`].
#[derive(Debug)]
pub struct Recent<K, V> {
    /// Counts this process's changes, so a read that raced one is not kept.
    generation: std::sync::atomic::AtomicU64,
    known: std::sync::Mutex<std::collections::HashMap<K, (V, std::time::Instant)>>,
}

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent {
            generation: Default::default(),
            known: Default::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> Recent<K, V> {
    /// How long what was read is trusted without reading the database again.
    pub const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
    /// Beyond this many, start afresh.
    const KEPT: usize = 1024;

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let known = self.known.lock().ok()?;
        let (value, at) = known.get(key)?;
        (at.elapsed() < Self::FRESH).then(|| value.clone())
    }

    /// Take this before reading the database; give it to [`Recent::keep`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Remembers what a read that began at `read_at` found, unless this process changed
    /// something meanwhile (the read may have seen the old state).
    pub(crate) fn keep(&self, read_at: u64, key: K, value: V) {
        let Ok(mut known) = self.known.lock() else {
            return;
        };
        if self.generation() != read_at {
            return;
        }
        if known.len() >= Self::KEPT {
            known.clear();
        }
        known.insert(key, (value, std::time::Instant::now()));
    }

    /// Call after committing a change to what is remembered.
    pub(crate) fn forget_all(&self) {
        if let Ok(mut known) = self.known.lock() {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            known.clear();
        }
    }
}

/// What this process's engine and API callers wait for, so they need not poll the
/// database: new work, and executions that ended (or answered early with Close).
#[derive(Debug, Default)]
pub struct Signals {
    /// An execution was queued (or woken).
    pub queued: tokio::sync::Notify,
    /// Who waits for which execution to end.
    waiting: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, std::sync::Arc<Watch>>>,
}

/// Flow definitions by flow and version, as read (a saved version never changes).
pub(crate) type Definitions = std::sync::Mutex<
    std::collections::HashMap<(crate::flows::FlowId, i64), std::sync::Arc<crate::flows::Flow>>,
>;

/// How an execution ended (or, still running, what a Close card answered).
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub status: crate::engine::Status,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// One caller's wait for one execution.
#[derive(Debug, Default)]
pub struct Watch {
    notify: tokio::sync::Notify,
    ended: std::sync::Mutex<Option<Ended>>,
}

impl Watch {
    /// How it ended, once this process saw it end; waits at most `limit` for that.
    pub async fn ended_within(&self, limit: std::time::Duration) -> Option<Ended> {
        if let Some(ended) = self.ended.lock().ok().and_then(|e| e.clone()) {
            return Some(ended);
        }
        let _ = tokio::time::timeout(limit, self.notify.notified()).await;
        self.ended.lock().ok().and_then(|e| e.clone())
    }
}

impl Signals {
    /// Tells whoever waits for execution `id` how it ended (or what it answered).
    pub fn finished(&self, id: crate::engine::ExecutionId, ended: Ended) {
        let watch = self.waiting.lock().ok().and_then(|w| w.get(&id.0).cloned());
        if let Some(watch) = watch {
            if let Ok(mut slot) = watch.ended.lock() {
                *slot = Some(ended);
            }
            watch.notify.notify_one();
        }
    }

    /// Starts waiting for execution `id` (before it is queued, so its end is not missed);
    /// call [`Signals::forget`] after.
    pub fn watch(&self, id: crate::engine::ExecutionId) -> std::sync::Arc<Watch> {
        let watch = std::sync::Arc::new(Watch::default());
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.insert(id.0, watch.clone());
        }
        watch
    }

    pub fn forget(&self, id: crate::engine::ExecutionId) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.remove(&id.0);
        }
    }
}

/// Readiness as `/readyz` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub database_reachable: bool,
    pub pending_migrations: Vec<String>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.database_reachable && self.pending_migrations.is_empty()
    }
}

impl Store {
    /// Waits for this process's turn to write (SQLite only); hold the guard until the
    /// write commits.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        }
    }

    /// This process's wake-ups.
    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    fn over(backend: Backend, write_gate: Option<std::sync::Arc<tokio::sync::Mutex<()>>>) -> Store {
        Store {
            backend,
            write_gate,
            signals: Default::default(),
            definitions: Default::default(),
            finished: Default::default(),
            callers: Default::default(),
            tables_by_name: Default::default(),
            flows_by_id: Default::default(),
            user_marks: Default::default(),
            secret_key: Default::default(),
            connectors: Default::default(),
        }
    }

    /// Seals secrets under `key` from now on (set once, at start; a later call keeps the
    /// first key).
    pub fn use_secret_key(&self, key: crate::secrets::SecretKey) {
        let _ = self.secret_key.set(key);
    }

    pub(crate) fn secret_key(&self) -> Result<&crate::secrets::SecretKey, StoreError> {
        self.secret_key.get().ok_or(StoreError::NoSecretKey)
    }

    /// Lets flows' outbound requests reach `allowed` despite the guard's rules (set once,
    /// at start; a later call keeps the first).
    pub fn allow_outbound(&self, allowed: crate::outbound::Allowed) {
        let _ = self
            .connectors
            .set(crate::connectors::Connectors::new(allowed));
    }

    /// The guarded outbound client, with nothing allowed beyond the rules unless
    /// [`Store::allow_outbound`] said so first.
    pub fn connectors(&self) -> &crate::connectors::Connectors {
        self.connectors.get_or_init(Default::default)
    }

    /// Opens the database named by `url` without running migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(StoreError::Connect)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // A connection to a local file does not drop: no ping (a round trip to the
            // connection's thread) each time one is taken from the pool.
            let pool = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(StoreError::Connect)?;
            Ok(Store::over(Backend::Sqlite(pool), Some(Default::default())))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url).map_err(StoreError::Connect)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(StoreError::Connect)?;
            Ok(Store::over(Backend::Postgres(pool), None))
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// Opens the database and applies every pending migration. A failed migration is an
    /// error that names it.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        let keyed = store.key_unkeyed_users().await?;
        if keyed > 0 {
            tracing::info!(
                users = keyed,
                "kept the lookup keys of users written before them"
            );
        }
        Ok(store)
    }

    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite(_) => &SQLITE_MIGRATIONS,
            Backend::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = self.migrator();
        let result = with_pool!(self, pool => migrator.run(pool).await);
        result.map_err(|err| {
            StoreError::Migration(describe_migration_error(migrator, self.kind(), &err))
        })
    }

    /// Refreshes the planner's statistics (after a bulk load: an import, a benchmark's
    /// seeding), so searches pick their indexes; on PostgreSQL also the visibility map
    /// (`VACUUM`), as autovacuum would, so a page is found from the index alone.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                sqlx::query("ANALYZE").execute(pool).await?;
            }
            Backend::Postgres(pool) => {
                sqlx::query("VACUUM (ANALYZE)").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Whether the database answers and every migration this build knows is applied.
    pub async fn readiness(&self) -> Readiness {
        let reachable =
            with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok());
        if !reachable {
            return Readiness {
                database_reachable: false,
                pending_migrations: vec![],
            };
        }
        let applied: Result<Vec<(i64, bool)>, sqlx::Error> = with_pool!(self, pool => {
            sqlx::query_as("SELECT version, success FROM _sqlx_migrations").fetch_all(pool).await
        });
        let applied = applied.unwrap_or_default();
        let pending = self
            .migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .filter(|m| !applied.iter().any(|(v, ok)| *v == m.version && *ok))
            .map(|m| format!("{}_{}", m.version, m.description))
            .collect();
        Readiness {
            database_reachable: true,
            pending_migrations: pending,
        }
    }

    /// The SQLite pool, for crates that keep their own tables in our database
    /// (the session store). `None` on PostgreSQL.
    pub fn sqlite_pool(&self) -> Option<SqlitePool> {
        match &self.backend {
            Backend::Sqlite(p) => Some(p.clone()),
            Backend::Postgres(_) => None,
        }
    }

    /// The PostgreSQL pool, for the session store. `None` on SQLite.
    pub fn postgres_pool(&self) -> Option<PgPool> {
        match &self.backend {
            Backend::Postgres(p) => Some(p.clone()),
            Backend::Sqlite(_) => None,
        }
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }

    /// How many executions wait for a worker (queued, due or not).
    pub async fn queue_depth(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM executions WHERE status = 'queued'")
                .fetch_one(pool)
                .await?
        }))
    }

    /// The database pool's connections: (open, of which idle).
    pub fn pool_use(&self) -> (u32, u32) {
        with_pool!(self, pool => (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(u32::MAX)))
    }

    /// A consistent copy of the SQLite database, made while idflow runs (`VACUUM INTO`),
    /// at `to`, a file that must not exist yet. PostgreSQL is backed up with `pg_dump`:
    /// refused, saying so.
    pub async fn backup_to(&self, to: &std::path::Path) -> Result<(), StoreError> {
        let Backend::Sqlite(pool) = &self.backend else {
            return Err(StoreError::Invalid(
                "on PostgreSQL, back up with pg_dump (the README says how); idflow backup copies SQLite databases".into(),
            ));
        };
        if to.exists() {
            return Err(StoreError::Invalid(format!(
                "{} exists already; name a new file",
                to.display()
            )));
        }
        let path = to.to_str().ok_or_else(|| {
            StoreError::Invalid(format!("{} is not a path SQLite can take", to.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(pool)
            .await?;
        Ok(())
    }
}

fn describe_migration_error(migrator: &Migrator, kind: BackendKind, err: &MigrateError) -> String {
    let name = |version: i64| {
        migrator
            .iter()
            .find(|m| m.version == version)
            .map(|m| format!("{}_{}", m.version, m.description))
            .unwrap_or_else(|| version.to_string())
    };
    match err {
        MigrateError::ExecuteMigration(source, version) => format!(
            "{} migration {} failed: {source}",
            kind.name(),
            name(*version)
        ),
        MigrateError::VersionMismatch(version) => format!(
            "{} migration {} was changed after it was applied; migrations must never be edited",
            kind.name(),
            name(*version)
        ),
        MigrateError::VersionMissing(version) => format!(
            "the database has {} migration {} applied, which this build of idflow does not know; is it older than the database?",
            kind.name(),
            version
        ),
        MigrateError::Dirty(version) => format!(
            "{} migration {} failed part-way earlier; repair the database before starting",
            kind.name(),
            name(*version)
        ),
        other => format!("{} migrations failed: {other}", kind.name()),
    }
}

/// Hides the password in a database URL.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => "<unparseable URL>".to_string(),
    }
}

/// Returns the current time rounded to microseconds, the precision both backends keep,
/// so a value read back equals the value written.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests;
