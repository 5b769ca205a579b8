//! Folders: they hold flows and tables, and grants on them (Folder Manager, Editor,
//! Runner, Reader, to a user or a group). A folder's name is unique regardless of case.

use super::BeginWrite;
use super::assignments::parse_grant;
use super::{Store, StoreError, now, with_pool};
use crate::access::FolderRole;
use crate::assignments::{FolderGrant, Grantee};
use crate::audit::NewEntry;
use crate::directory::{GroupId, UserId};
use uuid::Uuid;

#[derive(sqlx::FromRow)]
pub(super) struct GrantRow {
    folder_id: Uuid,
    folder_name: String,
    grant_role: String,
    user_id: Option<Uuid>,
    group_id: Option<Uuid>,
    group_name: Option<String>,
}

impl GrantRow {
    pub(super) fn into_grant(self) -> Result<FolderGrant, StoreError> {
        let grant = parse_grant(&self.grant_role, format!("folder {}", self.folder_id))?;
        let to = match (self.user_id, self.group_id) {
            (Some(user), _) => Grantee::User(UserId(user)),
            (None, Some(group)) => Grantee::Group {
                id: GroupId(group),
                name: self.group_name.unwrap_or_default(),
            },
            (None, None) => {
                return Err(StoreError::Corrupt(format!(
                    "a grant on folder {} has no grantee",
                    self.folder_id
                )));
            }
        };
        Ok(FolderGrant {
            folder_id: self.folder_id,
            folder_name: self.folder_name,
            grant,
            to,
        })
    }
}

/// A folder of flows and tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub id: Uuid,
    pub name: String,
}

/// A folder's name, trimmed: 1 to 100 characters.
fn folder_name(name: &str) -> Result<&str, StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::Invalid(
            "A folder needs a name of 1 to 100 characters.".into(),
        ));
    }
    Ok(name)
}

pub(super) const GRANT_SELECT: &str = "SELECT fg.folder_id, f.name AS folder_name, fg.grant_role, fg.user_id, \
     fg.group_id, g.display_name AS group_name FROM folder_grants fg \
     JOIN folders f ON f.id = fg.folder_id LEFT JOIN groups g ON g.id = fg.group_id";

impl Store {
    /// Makes a folder; folders hold flows and tables, and grants on them. Its name is
    /// unique regardless of case (`Conflict`).
    pub async fn create_folder(&self, name: &str, audit: &NewEntry) -> Result<Uuid, StoreError> {
        let id = Uuid::now_v7();
        let name = folder_name(name)?;
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query("INSERT INTO folders (id, name, name_key, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(name)
                .bind(name.to_lowercase())
                .bind(now())
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::conflict_or(e, format!("a folder named {name:?}")))?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(id)
    }

    /// Every folder, by name.
    pub async fn folders(&self) -> Result<Vec<Folder>, StoreError> {
        let rows: Vec<(Uuid, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, name FROM folders ORDER BY name_key")
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name)| Folder { id, name })
            .collect())
    }

    /// Renames a folder. `false` when there is no such folder; a name another folder has
    /// is a `Conflict`.
    pub async fn rename_folder(
        &self,
        id: Uuid,
        name: &str,
        audit: &NewEntry,
    ) -> Result<bool, StoreError> {
        let name = folder_name(name)?;
        let renamed = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            let renamed = sqlx::query("UPDATE folders SET name = $2, name_key = $3 WHERE id = $1")
                .bind(id)
                .bind(name)
                .bind(name.to_lowercase())
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::conflict_or(e, format!("a folder named {name:?}")))?
                .rows_affected()
                > 0;
            if renamed {
                super::audit::append_in!(tx, audit)?;
            }
            tx.commit().await?;
            renamed
        });
        Ok(renamed)
    }

    /// Moves a flow into `folder` (none: the top level). `false` when there is no such
    /// flow; a folder that does not exist is `Invalid`.
    pub async fn move_flow(
        &self,
        flow: crate::flows::FlowId,
        folder: Option<Uuid>,
        audit: &NewEntry,
    ) -> Result<bool, StoreError> {
        let moved = with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            // Writing first takes the row (PostgreSQL) or the database (SQLite) for this
            // transaction, so the folder read below cannot go stale before the move (SQLite
            // would refuse the commit of a stale read as "database is locked").
            sqlx::query("UPDATE flows SET folder_id = folder_id WHERE id = $1")
                .bind(flow.0)
                .execute(&mut *tx)
                .await?;
            if let Some(folder) = folder {
                let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM folders WHERE id = $1")
                    .bind(folder)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Err(StoreError::Invalid("there is no such folder".into()));
                }
            }
            let moved = sqlx::query("UPDATE flows SET folder_id = $2 WHERE id = $1")
                .bind(flow.0)
                .bind(folder)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if moved {
                super::audit::append_in!(tx, audit)?;
            }
            tx.commit().await?;
            moved
        });
        self.flows_changed();
        Ok(moved)
    }

    /// Gives `to` a grant on `folder`, replacing the one they had there; `None` takes it
    /// away. Ends the sessions of everyone it reaches.
    pub async fn set_folder_grant(
        &self,
        folder: Uuid,
        to: &Grantee,
        grant: Option<FolderRole>,
        audit: &NewEntry,
    ) -> Result<(), StoreError> {
        let (user, group) = match to {
            Grantee::User(u) => (Some(u.0), None),
            Grantee::Group { id, .. } => (None, Some(id.0)),
        };
        let at = now();
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "DELETE FROM folder_grants WHERE folder_id = $1 AND (user_id = $2 OR group_id = $3)",
            )
            .bind(folder)
            .bind(user)
            .bind(group)
            .execute(&mut *tx)
            .await?;
            if let Some(grant) = grant {
                sqlx::query(
                    "INSERT INTO folder_grants (folder_id, user_id, group_id, grant_role, granted_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(folder)
                .bind(user)
                .bind(group)
                .bind(grant.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                        StoreError::Invalid("no such folder, user or group".into())
                    }
                    _ => StoreError::Database(e),
                })?;
            }
            sqlx::query(
                "UPDATE users SET sessions_valid_after = $3 WHERE id = $1 \
                 OR id IN (SELECT user_id FROM group_members WHERE group_id = $2)",
            )
            .bind(user)
            .bind(group)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            super::audit::append_in!(tx, audit)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every folder grant, by folder name.
    pub async fn folder_grants(&self) -> Result<Vec<FolderGrant>, StoreError> {
        let sql = format!("{GRANT_SELECT} ORDER BY f.name_key, fg.granted_at");
        let rows: Vec<GrantRow> =
            with_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(GrantRow::into_grant).collect()
    }
}
