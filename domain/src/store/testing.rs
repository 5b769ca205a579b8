//! Throw-away databases for tests, on both backends.
//!
//! Store tests run once on SQLite (a file in a temporary folder) and once on PostgreSQL
//! (a fresh database on the server named by `IDFLOW_TEST_POSTGRES_URL`, by default the
//! machine's `postgres://postgres@127.0.0.1:5432/postgres`). Without PostgreSQL the
//! PostgreSQL half is skipped loudly, except under `CI=true`, where it fails.

use super::Store;
use sqlx::Connection;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A migrated database that is removed when dropped.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _guard: Guard,
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Dropping happens outside any async context we could borrow, so use a
            // short-lived runtime on its own thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .execute(&mut conn)
                            .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// A fresh, migrated SQLite database in a temporary folder.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}/idflow.db", dir.path().display());
    let store = Store::open(&url).await.expect("open SQLite test database");
    store.use_secret_key(crate::secrets::SecretKey::generate());
    TestDb {
        store,
        url,
        _guard: Guard::Sqlite(dir),
    }
}

/// The PostgreSQL server tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("IDFLOW_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "false" && v != "0")
        .unwrap_or(false)
}

/// A fresh, migrated PostgreSQL database, or `None` (after saying so) when no server
/// answers outside CI.
pub async fn postgres() -> Option<TestDb> {
    let admin_url = postgres_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(err) if !in_ci() => {
            eprintln!(
                "SKIPPED on PostgreSQL: {} unreachable ({err}); CI=true makes this a failure",
                super::redact_url(&admin_url)
            );
            return None;
        }
        Err(err) => panic!(
            "PostgreSQL at {} is unreachable under CI=true: {err}",
            super::redact_url(&admin_url)
        ),
    };
    let name = format!("idflow_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create PostgreSQL test database");
    let _ = conn.close().await;
    let mut url = url::Url::parse(&admin_url).expect("IDFLOW_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let guard = Guard::Postgres { admin_url, name };
    let store = Store::open(&url)
        .await
        .expect("open PostgreSQL test database");
    store.use_secret_key(crate::secrets::SecretKey::generate());
    Some(TestDb {
        store,
        url,
        _guard: guard,
    })
}

impl Store {
    /// Tests: an author named `name` (as versions record it) who is a Super Admin, so a
    /// flow they save acts for someone who may do what its cards do. Every such author is
    /// the one user `flow.owner@tests.invalid`, made the first time, out of the way of the
    /// users a test makes itself.
    pub async fn test_author(&self, name: &str) -> super::Author {
        const OWNER: &str = "flow.owner@tests.invalid";
        let user = match self.user_by_name(OWNER).await.expect("read a user") {
            Some(user) => user,
            None => self
                .create_user(
                    &super::NewUser {
                        user_name: OWNER.to_string(),
                        display_name: None,
                        email: None,
                        role: crate::access::Role::SuperAdmin,
                    },
                    None,
                    None,
                )
                .await
                .expect("make the test author"),
        };
        super::Author {
            id: Some(user.id),
            name: name.to_string(),
        }
    }

    /// Tests: `flow` made (off) in `folder`, saved by the test author named `by`.
    pub async fn test_flow(
        &self,
        flow: &crate::flows::Flow,
        folder: Option<uuid::Uuid>,
        by: &str,
    ) -> super::FlowSummary {
        use crate::audit::{Action, Actor, NewEntry, Outcome};
        let entry = NewEntry::new(Action::FlowCreate, Outcome::Success, Actor::System);
        self.create_flow(flow, folder, &self.test_author(by).await, &entry)
            .await
            .unwrap_or_else(|e| panic!("make {}: {e}", flow.name))
    }

    /// Tests: `flow` made at the top level by the test author, and turned on.
    pub async fn test_flow_on(&self, flow: &crate::flows::Flow) -> super::FlowSummary {
        use crate::audit::{Action, Actor, NewEntry, Outcome};
        let entry = |action| NewEntry::new(action, Outcome::Success, Actor::System);
        let author = self.test_author("admin@example.com").await;
        let made = self
            .create_flow(flow, None, &author, &entry(Action::FlowCreate))
            .await
            .unwrap_or_else(|e| panic!("make {}: {e}", flow.name));
        self.set_flow_enabled(made.id, true, &author, &entry(Action::FlowEnable))
            .await
            .unwrap_or_else(|e| panic!("turn on {}: {e}", flow.name));
        made
    }

    /// Tests: `flow` made and turned on as [`Store::test_flow_on`], with its API secret.
    pub async fn test_callable(&self, flow: &crate::flows::Flow) -> (super::FlowSummary, String) {
        use crate::audit::{Action, Actor, NewEntry, Outcome};
        let made = self.test_flow_on(flow).await;
        let entry = NewEntry::new(Action::FlowTokenCreate, Outcome::Success, Actor::System);
        let token = self
            .new_flow_secret(made.id, "test", None, &entry)
            .await
            .expect("make an API secret")
            .expect("the flow is there");
        (made, token)
    }
}

/// Writes each test twice: `sqlite::name` and `postgres::name`, each given a fresh
/// migrated [`Store`](crate::store::Store).
///
/// ```ignore
/// domain::backend_tests! {
///     async fn creates_a_user(store) { ... }
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($( $(#[$meta:meta])* async fn $name:ident($store:ident) $body:block )*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::store::testing::sqlite().await;
                    let $store = db.store.clone();
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::store::testing::postgres().await else { return };
                    let $store = db.store.clone();
                    $body
                }
            )*
        }
    };
}

/// A seeded user of [`Store::seed_directory`]: what a benchmark looks it up by.
#[derive(Debug, Clone)]
pub struct SeededUser {
    pub id: uuid::Uuid,
    pub user_name: String,
    pub external_id: String,
    pub email: String,
}

impl Store {
    /// The database's size in bytes (SQLite: its pages; PostgreSQL: pg_database_size).
    pub async fn database_bytes(&self) -> Result<i64, super::StoreError> {
        Ok(match &self.backend {
            super::Backend::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                )
                .fetch_one(pool)
                .await?
            }
            super::Backend::Postgres(pool) => {
                sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(pool)
                    .await?
            }
        })
    }

    /// Fills the directory quickly, for benchmarks: `users` users (`user000001@example.com`,
    /// external id `ext000001`, an email, a display name, a title and a department) and
    /// `groups` groups (`Group 0001`, …) of `members` users each, by multi-row inserts
    /// of 500, then their lookup keys as the store keeps them. No events, no log.
    pub async fn seed_directory(
        &self,
        users: usize,
        groups: usize,
        members: usize,
    ) -> Result<(Vec<SeededUser>, Vec<(uuid::Uuid, String)>), super::StoreError> {
        use super::{BeginWrite, with_pool};
        let at = super::now();
        let seeded: Vec<SeededUser> = (1..=users)
            .map(|n| SeededUser {
                id: uuid::Uuid::now_v7(),
                user_name: format!("user{n:06}@example.com"),
                external_id: format!("ext{n:06}"),
                email: format!("User{n:06}@Example.com"),
            })
            .collect();
        for chunk in seeded.chunks(500) {
            with_pool!(self, pool => {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO users (id, user_name, user_name_key, display_name, email, role, status, created_at, updated_at, \
                     external_id, attributes, version, last_provisioned_at) ",
                );
                insert.push_values(chunk, |mut row, user| {
                    let n = &user.external_id[3..];
                    let attributes = serde_json::json!({
                        "displayName": format!("User {n}"),
                        "name": { "givenName": "User", "familyName": n },
                        "emails": [{ "value": user.email, "type": "work", "primary": true }],
                        "title": "Engineer",
                        crate::scim::ENTERPRISE_USER: { "department": format!("Dept {}", n.parse::<usize>().unwrap_or(0) % 50) },
                    });
                    row.push_bind(user.id)
                        .push_bind(user.user_name.clone())
                        .push_bind(crate::directory::user_name_key(&user.user_name))
                        .push_bind(format!("User {n}"))
                        .push_bind(user.email.clone())
                        .push_bind("unassigned_user")
                        .push_bind("active")
                        .push_bind(at)
                        .push_bind(at)
                        .push_bind(user.external_id.clone())
                        .push_bind(sqlx::types::Json(attributes))
                        .push_bind(1_i64)
                        .push_bind(at);
                });
                let mut tx = pool.begin_write().await?;
                insert.build().execute(&mut *tx).await?;
                tx.commit().await?;
            });
        }
        self.key_unkeyed_users().await?;
        let made: Vec<(uuid::Uuid, String)> = (1..=groups)
            .map(|n| (uuid::Uuid::now_v7(), format!("Group {n:04}")))
            .collect();
        for chunk in made.chunks(500) {
            with_pool!(self, pool => {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO groups (id, display_name, display_name_key, external_id, attributes, version, created_at, updated_at) ",
                );
                insert.push_values(chunk, |mut row, (id, name)| {
                    row.push_bind(*id)
                        .push_bind(name.clone())
                        .push_bind(name.to_lowercase())
                        .push_bind(format!("g-{name}"))
                        .push_bind(sqlx::types::Json(serde_json::json!({})))
                        .push_bind(1_i64)
                        .push_bind(at)
                        .push_bind(at);
                });
                let mut tx = pool.begin_write().await?;
                insert.build().execute(&mut *tx).await?;
                tx.commit().await?;
            });
        }
        let memberships: Vec<(uuid::Uuid, uuid::Uuid)> = made
            .iter()
            .enumerate()
            .flat_map(|(g, (group, _))| {
                let seeded = &seeded;
                (0..members.min(seeded.len()))
                    .map(move |m| (*group, seeded[(g * members + m) % seeded.len()].id))
            })
            .collect();
        for chunk in memberships.chunks(500) {
            with_pool!(self, pool => {
                let mut insert =
                    sqlx::QueryBuilder::new("INSERT INTO group_members (group_id, user_id, added_at) ");
                insert.push_values(chunk, |mut row, (group, user)| {
                    row.push_bind(*group).push_bind(*user).push_bind(at);
                });
                insert.push(" ON CONFLICT DO NOTHING");
                let mut tx = pool.begin_write().await?;
                insert.build().execute(&mut *tx).await?;
                tx.commit().await?;
            });
        }
        Ok((seeded, made))
    }

    /// Fills the execution history quickly, for benchmarks: `count` succeeded executions
    /// of `flows` in turn, each about one of `users` (its subject, and its id and email in
    /// the input and a card's output), one a second up to now, by multi-row inserts of
    /// 500, with what they carried kept as [`Store::keep_carried`] keeps it.
    pub async fn seed_executions(
        &self,
        flows: &[crate::flows::FlowId],
        users: &[SeededUser],
        count: usize,
    ) -> Result<(), super::StoreError> {
        use super::{BeginWrite, with_pool};
        let now = super::now();
        for first in (0..count).step_by(500) {
            let rows: Vec<(uuid::Uuid, usize)> = (first..(first + 500).min(count))
                .map(|n| (uuid::Uuid::now_v7(), n))
                .collect();
            let about = |n: usize| &users[(n * 7919) % users.len()];
            with_pool!(self, pool => {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO executions (id, flow_id, flow_version, status, trigger_kind, input, subject, \
                     progress, output, steps, queued_at, started_at, finished_at, run_after, carried) ",
                );
                insert.push_values(&rows, |mut row, (id, n)| {
                    let user = about(*n);
                    let input = serde_json::json!({ "user": { "id": user.id.to_string(), "email": user.email } });
                    let mut progress = crate::engine::Progress::new(input.clone());
                    progress.outputs.insert(1, serde_json::json!({ "email": user.email.to_lowercase() }));
                    let at = now - chrono::Duration::seconds((count - n) as i64);
                    row.push_bind(*id)
                        .push_bind(flows[n % flows.len()].0)
                        .push_bind(1_i64)
                        .push_bind("succeeded")
                        .push_bind("directory.user_created")
                        .push_bind(sqlx::types::Json(input))
                        .push_bind(user.id.to_string())
                        .push_bind(sqlx::types::Json(progress))
                        .push_bind(sqlx::types::Json(serde_json::json!({})))
                        .push_bind(1_i64)
                        .push_bind(at)
                        .push_bind(at)
                        .push_bind(at + chrono::Duration::milliseconds(5))
                        .push_bind(at)
                        .push_bind(true);
                });
                let mut values = sqlx::QueryBuilder::new("INSERT INTO execution_values (value, execution_id) ");
                let pairs: Vec<(String, uuid::Uuid)> = rows
                    .iter()
                    .flat_map(|(id, n)| {
                        let user = about(*n);
                        [user.id.to_string(), user.email.to_lowercase()].map(|v| (v, *id))
                    })
                    .collect();
                values.push_values(&pairs, |mut row, (value, id)| {
                    row.push_bind(value.as_str()).push_bind(*id);
                });
                let mut tx = pool.begin_write().await?;
                insert.build().execute(&mut *tx).await?;
                values.build().execute(&mut *tx).await?;
                tx.commit().await?;
            });
        }
        Ok(())
    }
}
