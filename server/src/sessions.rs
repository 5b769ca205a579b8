//! Sessions in the database: tower-sessions with the sqlx store of whichever backend
//! idflow runs on. The session holds only who signed in and when; the user's role and
//! status are read fresh on every request.
//!
//! An ended session stays ended: saving a session only updates a record that still
//! exists. A request that loaded the session before sign-out (or before an expired
//! session was removed) and saves it afterwards would otherwise write it back, and the
//! old cookie would work again.

use async_trait::async_trait;
use domain::store::Store;
use serde::{Deserialize, Serialize};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::sqlx::{PgPool, SqlitePool};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// The key under which a signed-in session keeps [`SignedIn`].
pub const SIGNED_IN_KEY: &str = "signed_in";

/// What a session remembers about its sign-in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SignedIn {
    pub user_id: uuid::Uuid,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Signs `user` in on `session` under a new id: a session id anyone saw before signing
/// in is dead from now on.
pub async fn start(
    session: &tower_sessions::Session,
    user: domain::directory::UserId,
) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session
        .insert(
            SIGNED_IN_KEY,
            SignedIn {
                user_id: user.0,
                at: chrono::Utc::now(),
            },
        )
        .await
}

/// The SQLite table of sessions.
const SQLITE_TABLE: &str = "sessions";
/// Where [`PostgresStore`] keeps sessions (its default schema and table).
const POSTGRES_TABLE: &str = r#""tower_sessions"."session""#;

/// The session store of the backend idflow runs on: the sqlx store creates, loads and
/// deletes; saving is idflow's own (see the module's note).
#[derive(Debug, Clone)]
pub enum DbSessionStore {
    Sqlite(SqliteStore, SqlitePool),
    Postgres(PostgresStore, PgPool),
}

impl DbSessionStore {
    /// The store for `store`'s database, with its table created.
    pub async fn for_store(store: &Store) -> Result<DbSessionStore, sqlx_error::Error> {
        if let Some(pool) = store.sqlite_pool() {
            let sessions = SqliteStore::new(pool.clone())
                .with_table_name(SQLITE_TABLE)
                .map_err(sqlx_error::Error::Name)?;
            sessions.migrate().await.map_err(sqlx_error::Error::Sqlx)?;
            Ok(DbSessionStore::Sqlite(sessions, pool))
        } else if let Some(pool) = store.postgres_pool() {
            let sessions = PostgresStore::new(pool.clone());
            sessions.migrate().await.map_err(sqlx_error::Error::Sqlx)?;
            Ok(DbSessionStore::Postgres(sessions, pool))
        } else {
            unreachable!("a store is either SQLite or PostgreSQL")
        }
    }

    /// Removes expired sessions every `period`, for as long as the process runs.
    pub fn spawn_cleanup(&self, period: std::time::Duration) {
        let store = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            loop {
                ticker.tick().await;
                if let Err(err) = store.delete_expired().await {
                    tracing::warn!(error = %err, "could not remove expired sessions");
                }
            }
        });
    }
}

pub mod sqlx_error {
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        #[error("session table name: {0}")]
        Name(String),
        #[error("session store: {0}")]
        Sqlx(#[from] tower_sessions_sqlx_store::sqlx::Error),
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s, _) => s.create(record).await,
            DbSessionStore::Postgres(s, _) => s.create(record).await,
        }
    }

    /// Updates the record if it still exists, and writes nothing if the session ended
    /// meanwhile (tower-sessions calls `create`, not `save`, for a new session).
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data =
            rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let id = record.id.to_string();
        let table = match self {
            DbSessionStore::Sqlite(..) => SQLITE_TABLE,
            DbSessionStore::Postgres(..) => POSTGRES_TABLE,
        };
        let sql = format!("update {table} set data = $1, expiry_date = $2 where id = $3");
        // One statement; each backend's pool runs it with its own types.
        macro_rules! update_on {
            ($pool:expr) => {
                tower_sessions_sqlx_store::sqlx::query(&sql)
                    .bind(data)
                    .bind(record.expiry_date)
                    .bind(id)
                    .execute($pool)
                    .await
                    .map(|done| done.rows_affected())
            };
        }
        let updated = match self {
            DbSessionStore::Sqlite(_, pool) => update_on!(pool),
            DbSessionStore::Postgres(_, pool) => update_on!(pool),
        }
        .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        if updated == 0 {
            tracing::debug!("a session ended while a request held it; not written back");
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            DbSessionStore::Sqlite(s, _) => s.load(id).await,
            DbSessionStore::Postgres(s, _) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s, _) => s.delete(id).await,
            DbSessionStore::Postgres(s, _) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s, _) => s.delete_expired().await,
            DbSessionStore::Postgres(s, _) => s.delete_expired().await,
        }
    }
}
