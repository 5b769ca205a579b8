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
pub const TIMELINE_PATH: &str = "/api/directory/timeline";

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
    /// The members shown: one page of them on the group's page, none in the list.
    pub members: Vec<Member>,
    /// How many members it has in all.
    pub member_count: i64,
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
    /// The page of members shown (from 1), of `pages`.
    pub page: usize,
    pub pages: usize,
}

/// Members per page of a group's page.
pub const MEMBERS_PAGE: usize = 50;

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

/// The user whose id is `id` (as a page's address has it), or the page's "no such user".
#[cfg(feature = "ssr")]
async fn user_named_by(
    store: &domain::store::Store,
    id: &str,
) -> Result<domain::directory::User, AppError> {
    let not_found = || AppError::NotFound(format!("No user has the id {id}."));
    let uuid = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
    store
        .user(domain::directory::UserId(uuid))
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(not_found)
}

#[server(endpoint = "directory/user")]
pub async fn load_user_detail(id: String) -> Result<UserDetail, AppError> {
    let store = crate::session::store()?;
    let user = user_named_by(&store, &id).await?;
    let uuid = user.id.0;
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

/// One thing that happened to a user, as their timeline shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    /// `execution`, `event` (a directory event) or `log` (a System Log entry).
    pub kind: String,
    /// What happened: the flow that ran, the event, the System Log's sentence.
    pub title: String,
    /// How it ended, who did it, what changed.
    pub detail: String,
    /// Where to read more: the execution's page, or the System Log about the user.
    pub link: Option<String>,
    /// An execution's status (succeeded, failed, …).
    pub status: Option<String>,
}

/// A user's timeline: the newest of what happened to them, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub entries: Vec<TimelineEntry>,
    /// The kinds left out because the viewer may not read them ("executions", "the System
    /// Log").
    pub hidden: Vec<String>,
    /// More happened than is shown (the newest are): narrow by kind or time.
    pub more: bool,
}

/// The timeline's kinds: key and label.
pub const TIMELINE_KINDS: [(&str, &str); 4] = [
    ("", "Everything"),
    ("execution", "Executions"),
    ("event", "Directory events"),
    ("log", "System Log"),
];

/// The timeline's periods: key, label and days (0: any time).
pub const TIMELINE_PERIODS: [(&str, &str, i64); 4] = [
    ("", "Any time", 0),
    ("1", "Last 24 hours", 1),
    ("7", "Last 7 days", 7),
    ("30", "Last 30 days", 30),
];

/// The most entries a timeline shows, and the most it reads of each kind.
pub const TIMELINE_LIMIT: usize = 100;

/// What happened to user `id`, newest first, in one line: every execution that carried
/// them (by subject, user name or email) of the flows the viewer may see, every
/// directory event about them, and every System Log entry about them (for a viewer of the
/// System Log); of one `kind` (a key of [`TIMELINE_KINDS`]) and within the last
/// `within_days`, when given.
#[server(endpoint = "directory/timeline")]
pub async fn user_timeline(
    id: String,
    kind: Option<String>,
    within_days: Option<i64>,
) -> Result<Timeline, AppError> {
    let store = crate::session::store()?;
    let caller = crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let user = user_named_by(&store, &id).await?;
    let uuid = user.id.0;
    let kind = kind.unwrap_or_default();
    if !TIMELINE_KINDS.iter().any(|(k, _)| *k == kind) {
        return Err(AppError::BadRequest(format!(
            "{kind:?} is not a kind of the timeline: choose executions, directory events or the System Log."
        )));
    }
    let wants = |k: &str| kind.is_empty() || kind == k;
    let since = within_days
        .filter(|d| *d > 0)
        .map(|d| chrono::Utc::now() - chrono::Duration::days(d));
    let mut timeline = Timeline {
        entries: Vec::new(),
        hidden: Vec::new(),
        more: false,
    };
    if wants("execution") {
        timeline_executions(&store, &caller, &user, since, &mut timeline).await?;
    }
    if wants("event") {
        let mut events = store
            .directory_events_about(uuid)
            .await
            .map_err(AppError::from_store)?;
        events.retain(|e| since.is_none_or(|s| e.occurred_at >= s));
        events.reverse();
        timeline.more |= events.len() > TIMELINE_LIMIT;
        for e in events.into_iter().take(TIMELINE_LIMIT) {
            let changes: Vec<String> = e
                .changes
                .iter()
                .map(|c| format!("{}: {} → {}", c.attribute, short(&c.old), short(&c.new)))
                .collect();
            let by = e.actor_display.unwrap_or_else(|| e.actor_kind.clone());
            timeline.entries.push(TimelineEntry {
                at: e.occurred_at,
                kind: "event".into(),
                title: e.event_type,
                detail: if changes.is_empty() {
                    format!("by {by}")
                } else {
                    format!("by {by} · {}", changes.join("; "))
                },
                link: None,
                status: None,
            });
        }
    }
    if wants("log") {
        timeline_log(&store, &caller, &id, since, &mut timeline).await?;
    }
    timeline.entries.sort_by_key(|e| std::cmp::Reverse(e.at));
    timeline.more |= timeline.entries.len() > TIMELINE_LIMIT;
    timeline.entries.truncate(TIMELINE_LIMIT);
    Ok(timeline)
}

/// A changed value, short enough for one line.
#[cfg(feature = "ssr")]
fn short(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::Null => "—".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

/// The executions that carried `user` (as their subject, or their id, user name or email
/// anywhere in their input or outputs), of the flows the caller may see.
#[cfg(feature = "ssr")]
async fn timeline_executions(
    store: &domain::store::Store,
    caller: &crate::session::Caller,
    user: &domain::directory::User,
    since: Option<chrono::DateTime<chrono::Utc>>,
    timeline: &mut Timeline,
) -> Result<(), AppError> {
    use domain::access::Permission;
    use domain::store::ExecutionFilter;
    let crate::executions::SeenFlows {
        by_id: visible,
        only,
    } = crate::executions::seen_flows().await?;
    if visible.is_empty() && !caller.rights.allows(Permission::ViewExecutions) {
        timeline.hidden.push("executions".into());
        return Ok(());
    }
    let base = ExecutionFilter {
        since,
        limit: TIMELINE_LIMIT as i64 + 1,
        flows: only,
        ..ExecutionFilter::default()
    };
    let mut searches = vec![ExecutionFilter {
        subject: Some(user.id.to_string()),
        ..base.clone()
    }];
    let mut values = vec![user.id.to_string(), user.user_name.to_lowercase()];
    if let Some(email) = &user.email
        && !values.contains(&email.to_lowercase())
    {
        values.push(email.to_lowercase());
    }
    searches.extend(values.into_iter().map(|value| ExecutionFilter {
        carried: Some(value),
        ..base.clone()
    }));
    let mut seen = std::collections::HashSet::new();
    for search in searches {
        let found = store
            .executions(&search)
            .await
            .map_err(AppError::from_store)?;
        timeline.more |= found.len() > TIMELINE_LIMIT;
        for e in found.into_iter().take(TIMELINE_LIMIT) {
            let Some(flow) = visible.get(&e.flow) else {
                continue;
            };
            if !seen.insert(e.id) {
                continue;
            }
            let trigger = domain::flows::catalog::catalog()
                .get(&e.trigger_kind)
                .map_or_else(|| e.trigger_kind.clone(), |c| c.name.to_string());
            let mut detail = format!("{trigger} · version {}", e.flow_version);
            if let Some(why) = &e.error {
                detail.push_str(&format!(" · {why}"));
            }
            timeline.entries.push(TimelineEntry {
                at: e.queued_at,
                kind: "execution".into(),
                title: flow.name.clone(),
                detail,
                link: Some(format!("/executions/{}", e.id)),
                status: Some(e.status.as_str().to_string()),
            });
        }
    }
    Ok(())
}

/// The System Log's entries about user `id`, for a caller who may read the System Log.
#[cfg(feature = "ssr")]
async fn timeline_log(
    store: &domain::store::Store,
    caller: &crate::session::Caller,
    id: &str,
    since: Option<chrono::DateTime<chrono::Utc>>,
    timeline: &mut Timeline,
) -> Result<(), AppError> {
    use domain::audit::search::{Search, SearchInput};
    if !caller
        .rights
        .allows(domain::access::Permission::ViewSystemLog)
    {
        timeline.hidden.push("the System Log".into());
        return Ok(());
    }
    let filter = format!("target.id eq \"{id}\"");
    let search = Search::parse(&SearchInput {
        filter: filter.clone(),
        since: since.map(|s| s.to_rfc3339()).unwrap_or_default(),
        limit: Some(TIMELINE_LIMIT as i64),
        ..SearchInput::default()
    })
    .map_err(|e| AppError::internal(e.0))?;
    let page = store
        .search_audit(&search)
        .await
        .map_err(AppError::from_store)?;
    timeline.more |= page.next.is_some();
    let link = format!("/system-log?filter={}", urlencoding::encode(&filter));
    for entry in page.entries {
        let by = entry
            .actor_display
            .clone()
            .unwrap_or_else(|| entry.actor_kind.clone());
        let mut detail = format!("by {by} · {}", entry.outcome);
        if let Some(reason) = &entry.reason {
            detail.push_str(&format!(" · {reason}"));
        }
        timeline.entries.push(TimelineEntry {
            at: entry.occurred_at,
            kind: "log".into(),
            title: entry.action_label().to_string(),
            detail,
            link: Some(link.clone()),
            status: None,
        });
    }
    Ok(())
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
    // Counted in the database: the list reads no member.
    let groups = store
        .groups_with_counts()
        .await
        .map_err(AppError::from_store)?
        .into_iter()
        .map(|(g, count)| GroupSummary {
            role: mapped.iter().find(|m| m.id == g.id).map(|m| m.role),
            id: g.id.to_string(),
            name: g.display_name,
            external_id: g.external_id,
            members: Vec::new(),
            member_count: count,
        })
        .collect();
    Ok(GroupsList {
        groups,
        can_manage: may_manage(domain::access::Permission::ManageDirectory),
    })
}

/// Group `id` with page `page` (from 1; the last when beyond it) of its members, in the
/// order they joined.
#[server(endpoint = "directory/group")]
pub async fn group_detail(id: String, page: Option<usize>) -> Result<GroupView, AppError> {
    let store = crate::session::store()?;
    let not_found = || AppError::NotFound(format!("No group has the id {id}."));
    let uuid = uuid::Uuid::parse_str(&id).map_err(|_| not_found())?;
    let g = store
        .group_alone(domain::directory::GroupId(uuid))
        .await
        .map_err(AppError::from_store)?
        .ok_or_else(not_found)?;
    let role = store.group_role(g.id).await.map_err(AppError::from_store)?;
    let page = page.unwrap_or(1).max(1);
    let (mut members, total) = store
        .group_members_page(g.id, (page - 1) * MEMBERS_PAGE, MEMBERS_PAGE)
        .await
        .map_err(AppError::from_store)?;
    let pages = (total as usize).div_ceil(MEMBERS_PAGE).max(1);
    let page = if page > pages {
        // Beyond the last page (members left meanwhile): the last page.
        members = store
            .group_members_page(g.id, (pages - 1) * MEMBERS_PAGE, MEMBERS_PAGE)
            .await
            .map_err(AppError::from_store)?
            .0;
        pages
    } else {
        page
    };
    Ok(GroupView {
        group: GroupSummary {
            id: g.id.to_string(),
            name: g.display_name,
            external_id: g.external_id,
            members,
            member_count: total,
            role,
        },
        can_manage: may_manage(domain::access::Permission::ManageDirectory),
        page,
        pages,
    })
}
