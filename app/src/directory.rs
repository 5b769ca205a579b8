//! The Directory's data as server functions: users (search, status, paging), one user
//! with their groups, access and events, groups and one group with its members. The
//! Directory pages (`pages::directory`) are built on these.

use crate::error::AppError;
use domain::access::Role;
use domain::directory::{DirectoryEvent, Member, UserStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const USERS_PATH: &str = "/api/directory/users";
pub const USER_PATH: &str = "/api/directory/user";
pub const GROUPS_PATH: &str = "/api/directory/groups";
pub const GROUP_PATH: &str = "/api/directory/group";

/// Users per page of the list.
pub const PAGE_SIZE: usize = 25;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub user_name: String,
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
    pub status: UserStatus,
    pub last_sign_in_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_provisioned_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<&domain::directory::User> for UserSummary {
    fn from(u: &domain::directory::User) -> Self {
        UserSummary {
            id: u.id.to_string(),
            user_name: u.user_name.clone(),
            name: u.shown_name().to_string(),
            email: u.email.clone(),
            role: u.role,
            status: u.status,
            last_sign_in_at: u.last_sign_in_at,
            last_provisioned_at: u.last_provisioned_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<UserSummary>,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub can_manage: bool,
}

/// The profile fields the console edits, as the user has them now.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Profile {
    pub display_name: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub title: String,
    pub department: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: UserSummary,
    pub external_id: Option<String>,
    /// The SCIM attributes as provisioned, pretty-printed.
    pub attributes: String,
    pub groups: Vec<(String, String)>,
    /// Newest first.
    pub events: Vec<DirectoryEvent>,
    pub profile: Profile,
    /// The highest role held by any path, and the groups that give roles.
    pub effective_role: Role,
    pub via_groups: Vec<(String, Role)>,
    /// Whether the viewer may edit this user (a Super Admin only by a Super Admin).
    pub can_manage: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub members: Vec<Member>,
    /// The console role the group gives its members, if mapped.
    pub role: Option<Role>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupsList {
    pub groups: Vec<GroupSummary>,
    pub can_manage: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    pub group: GroupSummary,
    pub can_manage: bool,
}

/// Whether the signed-in caller may change the directory.
#[cfg(feature = "ssr")]
fn may_manage(permission: domain::access::Permission) -> bool {
    crate::session::request_caller().is_some_and(|c| c.rights.allows(permission))
}

/// Users whose name, userName or email contains `q` (ignoring case), with `status`
/// (empty for any), page `page` (from 1).
#[server(endpoint = "directory/users")]
pub async fn find_users(q: String, status: String, page: usize) -> Result<UsersPage, AppError> {
    let store = crate::session::store()?;
    let q = q.trim().to_lowercase();
    let status: Option<UserStatus> = match status.as_str() {
        "" => None,
        s => Some(
            s.parse()
                .map_err(|_| AppError::BadRequest(format!("Unknown status {s:?}.")))?,
        ),
    };
    // The page and the count come from the database (its search keys are lowercased
    // as `q` is), so the cost follows the page, not the directory.
    let page = page.max(1);
    let (mut found, total) = store
        .search_users(&q, status, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        .await
        .map_err(AppError::from_store)?;
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = if page > pages {
        // Beyond the last page (the directory shrank meanwhile): the last page.
        found = store
            .search_users(&q, status, (pages - 1) * PAGE_SIZE, PAGE_SIZE)
            .await
            .map_err(AppError::from_store)?
            .0;
        pages
    } else {
        page
    };
    let users = found.iter().map(UserSummary::from).collect();
    Ok(UsersPage {
        users,
        total,
        page,
        pages,
        can_manage: may_manage(domain::access::Permission::ManageDirectory),
    })
}

#[server(endpoint = "directory/user")]
pub async fn load_user_detail(id: String) -> Result<UserDetail, AppError> {
    let store = crate::session::store()?;
    let not_found = || AppError::NotFound(format!("No user has the id {id}."));
    let uuid = uuid::Uuid::parse_str(&id).map_err(|_| not_found())?;
    let user = store
        .user(domain::directory::UserId(uuid))
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(not_found)?;
    let groups = store
        .groups_of(user.id)
        .await
        .map_err(AppError::from_store)?;
    let mut events = store
        .directory_events_about(uuid)
        .await
        .map_err(AppError::from_store)?;
    events.reverse();
    events.truncate(50);
    use domain::access::Permission;
    let rights = store.rights_of(&user).await.map_err(AppError::from_store)?;
    let via_groups = store
        .roles_through_groups(user.id)
        .await
        .map_err(AppError::from_store)?
        .into_iter()
        .map(|g| (g.group_name, g.role))
        .collect();
    let can_manage = may_manage(Permission::ManageDirectory)
        && (user.role != Role::SuperAdmin || may_manage(Permission::ManageSuperAdmins));
    Ok(UserDetail {
        profile: profile_of(&user),
        effective_role: rights.role(),
        via_groups,
        can_manage,
        user: UserSummary::from(&user),
        external_id: user.external_id.clone(),
        // Nulls only mark attributes an identity provider removed; they say nothing.
        attributes: serde_json::to_string_pretty(
            &user
                .attributes
                .iter()
                .filter(|(_, v)| !v.is_null())
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .unwrap_or_default(),
        groups: groups
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
        events,
    })
}

/// The fields the edit form starts from, read from the user's SCIM attributes.
#[cfg(feature = "ssr")]
fn profile_of(user: &domain::directory::User) -> Profile {
    use serde_json::Value;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let name = user.attributes.get("name");
    let enterprise = user.attributes.get(domain::scim::ENTERPRISE_USER);
    Profile {
        display_name: user.display_name.clone().unwrap_or_default(),
        email: user.email.clone().unwrap_or_default(),
        given_name: text(name.and_then(|n| n.get("givenName"))),
        family_name: text(name.and_then(|n| n.get("familyName"))),
        title: text(user.attributes.get("title")),
        department: text(enterprise.and_then(|e| e.get("department"))),
    }
}

#[server(endpoint = "directory/groups")]
pub async fn all_groups() -> Result<GroupsList, AppError> {
    let store = crate::session::store()?;
    let mapped = store.mapped_groups().await.map_err(AppError::from_store)?;
    let groups = store
        .all_groups()
        .await
        .map_err(AppError::from_store)?
        .into_iter()
        .map(|g| GroupSummary {
            role: mapped.iter().find(|m| m.id == g.id).map(|m| m.role),
            id: g.id.to_string(),
            name: g.display_name,
            external_id: g.external_id,
            members: g.members,
        })
        .collect();
    Ok(GroupsList {
        groups,
        can_manage: may_manage(domain::access::Permission::ManageDirectory),
    })
}

#[server(endpoint = "directory/group")]
pub async fn group_detail(id: String) -> Result<GroupView, AppError> {
    let store = crate::session::store()?;
    let not_found = || AppError::NotFound(format!("No group has the id {id}."));
    let uuid = uuid::Uuid::parse_str(&id).map_err(|_| not_found())?;
    let g = store
        .group(domain::directory::GroupId(uuid))
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(not_found)?;
    let role = store.group_role(g.id).await.map_err(AppError::from_store)?;
    Ok(GroupView {
        group: GroupSummary {
            id: g.id.to_string(),
            name: g.display_name,
            external_id: g.external_id,
            members: g.members,
            role,
        },
        can_manage: may_manage(domain::access::Permission::ManageDirectory),
    })
}
