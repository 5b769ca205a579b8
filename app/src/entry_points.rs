//! Every way into idflow over HTTP, and who may use it.
//!
//! Pages, server functions and plain routes are all listed here with the [`Access`] they
//! need; the server enforces it for every request from this table, and a test walks every
//! entry point with every role. An entry point missing from the table is denied.

use domain::access::{Access, Permission};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A console page, rendered on the server and hydrated.
    Page,
    /// A Leptos server function.
    ServerFn,
    /// A plain HTTP route of the server (health, sign-in form posts, APIs).
    Route,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPoint {
    pub kind: Kind,
    pub method: &'static str,
    /// The path, with `:name` for a variable segment.
    pub path: &'static str,
    pub access: Access,
}

const fn page(path: &'static str, access: Access) -> EntryPoint {
    EntryPoint {
        kind: Kind::Page,
        method: "GET",
        path,
        access,
    }
}

const fn server_fn(path: &'static str, access: Access) -> EntryPoint {
    EntryPoint {
        kind: Kind::ServerFn,
        method: "POST",
        path,
        access,
    }
}

const fn route(method: &'static str, path: &'static str, access: Access) -> EntryPoint {
    EntryPoint {
        kind: Kind::Route,
        method,
        path,
        access,
    }
}

use Access::{BearerToken, Public, Requires, SignedIn};
use Permission::*;

pub const ENTRY_POINTS: &[EntryPoint] = &[
    // Pages
    page("/sign-in", Public),
    page("/", SignedIn),
    page("/flows", Requires(ViewFlows)),
    page("/flows/new", Requires(EditFlows)),
    page("/flows/:id/edit", Requires(ViewFlows)),
    page("/flows/:id/versions", Requires(ViewFlows)),
    page("/flows/:id/test", Requires(EditFlows)),
    page("/flows/:id/api", Requires(ViewFlows)),
    page("/tables", Requires(ViewTables)),
    page("/tables/:id", Requires(ViewTables)),
    page("/executions", Requires(ViewExecutions)),
    page("/executions/:id", Requires(ViewExecutions)),
    page("/directory", Requires(ViewDirectory)),
    page("/directory/users", Requires(ViewDirectory)),
    page("/directory/users/:id", Requires(ViewDirectory)),
    page("/directory/groups", Requires(ViewDirectory)),
    page("/directory/groups/:id", Requires(ViewDirectory)),
    page("/assignments", Requires(ViewAssignments)),
    page("/connections", Requires(ViewConnections)),
    page("/connections/:id", Requires(ViewConnections)),
    page("/system-log", Requires(ViewSystemLog)),
    page("/settings", Requires(ViewSettings)),
    page("/api-reference", SignedIn),
    // Server functions
    server_fn(crate::session::CURRENT_USER_PATH, Public),
    server_fn(crate::session::SIGN_IN_OPTIONS_PATH, Public),
    server_fn(crate::builder::SETUP_PATH, Requires(ViewFlows)),
    server_fn(crate::builder::CHECK_PATH, Requires(EditFlows)),
    server_fn(crate::builder::SAVE_PATH, Requires(EditFlows)),
    server_fn(crate::directory::USERS_PATH, Requires(ViewDirectory)),
    server_fn(crate::directory::USER_PATH, Requires(ViewDirectory)),
    server_fn(crate::directory::TIMELINE_PATH, Requires(ViewDirectory)),
    server_fn(crate::directory::GROUPS_PATH, Requires(ViewDirectory)),
    server_fn(crate::directory::GROUP_PATH, Requires(ViewDirectory)),
    server_fn(
        crate::assignments::ASSIGNMENTS_PATH,
        Requires(ViewAssignments),
    ),
    server_fn(crate::settings::SCIM_TOKENS_PATH, Requires(ViewSettings)),
    server_fn(crate::settings::SSO_PATH, Requires(ViewSettings)),
    server_fn(crate::settings::OUTBOUND_PATH, Requires(ViewSettings)),
    server_fn(crate::settings::API_TOKENS_PATH, Requires(ViewSettings)),
    server_fn(crate::api_reference::REFERENCE_PATH, SignedIn),
    server_fn(crate::flows::LIST_PATH, Requires(ViewFlows)),
    server_fn(crate::flows::VERSIONS_PATH, Requires(ViewFlows)),
    server_fn(crate::flows::TEST_FORM_PATH, Requires(EditFlows)),
    server_fn(crate::flows::API_ACCESS_PATH, Requires(ViewFlows)),
    server_fn(crate::connections::LIST_PATH, Requires(ViewConnections)),
    server_fn(crate::connections::DETAIL_PATH, Requires(ViewConnections)),
    server_fn(crate::tables::LIST_PATH, Requires(ViewTables)),
    server_fn(crate::tables::GRID_PATH, Requires(ViewTables)),
    server_fn(crate::executions::LIST_PATH, Requires(ViewExecutions)),
    server_fn(crate::executions::DETAIL_PATH, Requires(ViewExecutions)),
    server_fn(crate::executions::PROGRESS_PATH, Requires(ViewExecutions)),
    server_fn(crate::system_log::SEARCH_PATH, Requires(ViewSystemLog)),
    // Routes
    route("POST", "/auth/sign-in", Public),
    route("POST", "/auth/sign-out", Public),
    route("GET", "/auth/oidc/start", Public),
    route("GET", "/auth/oidc/callback", Public),
    route("POST", "/auth/oidc/link", Public),
    route("GET", "/auth/oidc/signed-out", Public),
    route("POST", "/api/v1/flows/:id/invoke", BearerToken),
    // An Okta connection's Event Hook: its own header and secret (`server::hooks`).
    route("GET", "/hooks/okta/:id", BearerToken),
    route("POST", "/hooks/okta/:id", BearerToken),
    // The REST API: each route checks its API token, scope and rights
    // (`server::api::ROUTES`).
    route("GET", "/api/v1/openapi.json", Public),
    route("GET", "/api/v1/me", BearerToken),
    route("GET", "/api/v1/logs", BearerToken),
    route("GET", "/api/v1/flows", BearerToken),
    route("GET", "/api/v1/flows/:id", BearerToken),
    route("POST", "/api/v1/flows/:id/enable", BearerToken),
    route("POST", "/api/v1/flows/:id/disable", BearerToken),
    route("GET", "/api/v1/executions", BearerToken),
    route("GET", "/api/v1/executions/:id", BearerToken),
    route("POST", "/api/v1/executions/:id/cancel", BearerToken),
    route("POST", "/api/v1/flows", BearerToken),
    route("DELETE", "/api/v1/flows/:id", BearerToken),
    route("GET", "/api/v1/flows/:id/versions", BearerToken),
    route("POST", "/api/v1/flows/:id/versions", BearerToken),
    route("GET", "/api/v1/flows/:id/export", BearerToken),
    route("POST", "/api/v1/executions/:id/rerun", BearerToken),
    route("GET", "/api/v1/tables", BearerToken),
    route("GET", "/api/v1/tables/:id", BearerToken),
    route("POST", "/api/v1/tables", BearerToken),
    route("DELETE", "/api/v1/tables/:id", BearerToken),
    route("GET", "/api/v1/tables/:id/rows", BearerToken),
    route("POST", "/api/v1/tables/:id/rows", BearerToken),
    route("PUT", "/api/v1/tables/:id/rows/:row", BearerToken),
    route("DELETE", "/api/v1/tables/:id/rows/:row", BearerToken),
    route("GET", "/api/v1/tables/:id/csv", BearerToken),
    route("POST", "/api/v1/tables/:id/csv", BearerToken),
    route("GET", "/api/v1/users", BearerToken),
    route("GET", "/api/v1/users/:id", BearerToken),
    route("GET", "/api/v1/groups", BearerToken),
    route("GET", "/api/v1/groups/:id", BearerToken),
    route("GET", "/api/v1/connections", BearerToken),
    route("POST", "/api/v1/connections/:id/test", BearerToken),
    route("POST", "/api/v1/executions/:id/resume", BearerToken),
    route("GET", "/healthz", Public),
    route("GET", "/metrics", BearerToken),
    route("GET", "/readyz", Public),
    route("POST", "/preferences/theme", Public),
    route("POST", "/settings/scim-tokens", Requires(ManageScimTokens)),
    route(
        "POST",
        "/settings/scim-self-check",
        Requires(ManageScimTokens),
    ),
    route("POST", "/settings/sso", Requires(ManageSignIn)),
    route("POST", "/settings/sso/remove", Requires(ManageSignIn)),
    route("POST", "/settings/outbound", Requires(ManageOutbound)),
    route("POST", "/settings/api-tokens", Requires(ViewSettings)),
    route(
        "POST",
        "/settings/api-tokens/:id/revoke",
        Requires(ViewSettings),
    ),
    route("POST", "/system-log/retention", Requires(ManageSystemLog)),
    route("GET", "/system-log/export", Requires(ViewSystemLog)),
    route(
        "POST",
        "/settings/scim-tokens/:id/revoke",
        Requires(ManageScimTokens),
    ),
    route("POST", "/flows/import", Requires(EditFlows)),
    route("POST", "/flows/templates/:key", Requires(EditFlows)),
    route("POST", "/flows/:id/enabled", Requires(EditFlows)),
    route("POST", "/flows/:id/run", Requires(RunFlows)),
    route("POST", "/flows/:id/delete", Requires(EditFlows)),
    route("POST", "/flows/:id/secret", Requires(EditFlows)),
    route("POST", "/flows/:id/secret/revoke", Requires(EditFlows)),
    route("GET", "/flows/:id/export", Requires(ViewFlows)),
    route("POST", "/flows/:id/versions", Requires(EditFlows)),
    route(
        "POST",
        "/flows/:id/versions/:version/restore",
        Requires(EditFlows),
    ),
    route("POST", "/tables", Requires(EditFlows)),
    route("POST", "/tables/:id/delete", Requires(EditFlows)),
    route("POST", "/tables/:id/rows", Requires(EditFlows)),
    route("POST", "/tables/:id/rows/:row", Requires(EditFlows)),
    route("POST", "/tables/:id/rows/:row/delete", Requires(EditFlows)),
    route("POST", "/tables/:id/import", Requires(EditFlows)),
    route("GET", "/tables/:id/export", Requires(ViewTables)),
    route("POST", "/executions/:id/cancel", Requires(RunFlows)),
    route("POST", "/executions/:id/rerun", Requires(RunFlows)),
    route("POST", "/executions/:id/approve", Requires(ManageDirectory)),
    route("GET", "/executions/:id/export", Requires(ViewExecutions)),
    route("POST", "/flows/:id/clone", Requires(EditFlows)),
    route("POST", "/flows/:id/test", Requires(EditFlows)),
    route("POST", "/flows/:id/move", Requires(EditFlows)),
    route("POST", "/folders", Requires(EditFlows)),
    route("POST", "/folders/:id/rename", Requires(EditFlows)),
    route("GET", "/folders/:id/export", Requires(ViewFlows)),
    route("POST", "/folders/:id/grants", Requires(EditFlows)),
    route("POST", "/assignments/users", Requires(ManageAssignments)),
    route(
        "POST",
        "/assignments/users/:id/role",
        Requires(ManageAssignments),
    ),
    route(
        "POST",
        "/assignments/users/:id/unassign",
        Requires(ManageAssignments),
    ),
    route(
        "POST",
        "/assignments/users/:id/provision",
        Requires(ManageAssignments),
    ),
    route("POST", "/assignments/groups", Requires(ManageAssignments)),
    route(
        "POST",
        "/assignments/groups/:id/unmap",
        Requires(ManageAssignments),
    ),
    route("POST", "/assignments/convert", Requires(ManageAssignments)),
    route(
        "GET",
        "/assignments/access-review.csv",
        Requires(ViewAssignments),
    ),
    route("POST", "/connections", Requires(ManageConnections)),
    route("POST", "/connections/:id", Requires(ManageConnections)),
    route("POST", "/connections/:id/test", Requires(ManageConnections)),
    route(
        "POST",
        "/connections/:id/sharing",
        Requires(ManageConnections),
    ),
    route(
        "POST",
        "/connections/:id/delete",
        Requires(ManageConnections),
    ),
    route(
        "POST",
        "/connections/:id/okta/authorize",
        Requires(ManageConnections),
    ),
    route(
        "GET",
        "/connections/okta/callback",
        Requires(ManageConnections),
    ),
    route("POST", "/directory/users", Requires(ManageDirectory)),
    route("POST", "/directory/users/:id", Requires(ManageDirectory)),
    route(
        "POST",
        "/directory/users/:id/status",
        Requires(ManageDirectory),
    ),
    route("POST", "/directory/groups", Requires(ManageDirectory)),
    route(
        "POST",
        "/directory/groups/:id/members",
        Requires(ManageDirectory),
    ),
    route(
        "POST",
        "/directory/groups/:id/members/:user/remove",
        Requires(ManageDirectory),
    ),
    // SCIM 2.0, for identity providers with a SCIM token
    route("GET", "/scim/v2/ServiceProviderConfig", BearerToken),
    route("GET", "/scim/v2/ResourceTypes", BearerToken),
    route("GET", "/scim/v2/ResourceTypes/:id", BearerToken),
    route("GET", "/scim/v2/Schemas", BearerToken),
    route("GET", "/scim/v2/Schemas/:id", BearerToken),
    route("GET", "/scim/v2/Users", BearerToken),
    route("POST", "/scim/v2/Users", BearerToken),
    route("POST", "/scim/v2/Users/.search", BearerToken),
    route("POST", "/scim/v2/.search", BearerToken),
    route("GET", "/scim/v2/Users/:id", BearerToken),
    route("PUT", "/scim/v2/Users/:id", BearerToken),
    route("PATCH", "/scim/v2/Users/:id", BearerToken),
    route("DELETE", "/scim/v2/Users/:id", BearerToken),
    route("GET", "/scim/v2/Groups", BearerToken),
    route("POST", "/scim/v2/Groups", BearerToken),
    route("POST", "/scim/v2/Groups/.search", BearerToken),
    route("GET", "/scim/v2/Groups/:id", BearerToken),
    route("PUT", "/scim/v2/Groups/:id", BearerToken),
    route("PATCH", "/scim/v2/Groups/:id", BearerToken),
    route("DELETE", "/scim/v2/Groups/:id", BearerToken),
];

/// The entry point serving `method path`, if any. `HEAD` is a `GET` without the body:
/// it is served, and judged, as the `GET`.
pub fn lookup(method: &str, path: &str) -> Option<&'static EntryPoint> {
    let path = normalize(path);
    let method = if method.eq_ignore_ascii_case("HEAD") {
        "GET"
    } else {
        method
    };
    ENTRY_POINTS
        .iter()
        .find(|e| e.method.eq_ignore_ascii_case(method) && matches(e.path, path))
}

/// The methods the table lists for `path` (empty: no entry point is there at all).
pub fn methods_at(path: &str) -> Vec<&'static str> {
    let path = normalize(path);
    let mut methods: Vec<&'static str> = ENTRY_POINTS
        .iter()
        .filter(|e| matches(e.path, path))
        .map(|e| e.method)
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// The entry point of a page at `path`, if it is one.
pub fn page_at(path: &str) -> Option<&'static EntryPoint> {
    let path = normalize(path);
    ENTRY_POINTS
        .iter()
        .find(|e| e.kind == Kind::Page && matches(e.path, path))
}

fn normalize(path: &str) -> &str {
    let path = path.split(['?', '#']).next().unwrap_or("/");
    match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    }
}

/// Whether `path` fits `pattern`, where a `:name` segment matches any one segment.
fn matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with(':') && !g.is_empty() => continue,
            (Some(w), Some(g)) if w == g => continue,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_is_judged_as_get_and_other_methods_find_nothing() {
        assert_eq!(
            lookup("HEAD", "/assignments/access-review.csv"),
            lookup("GET", "/assignments/access-review.csv")
        );
        assert!(lookup("HEAD", "/auth/sign-in").is_none());
        assert!(lookup("OPTIONS", "/flows").is_none());
        assert_eq!(methods_at("/flows"), vec!["GET"]);
        assert_eq!(
            methods_at("/scim/v2/Users/:x"),
            vec!["DELETE", "GET", "PATCH", "PUT"]
        );
        assert!(methods_at("/nowhere").is_empty());
    }

    #[test]
    fn lookup_ignores_trailing_slashes_and_queries() {
        assert_eq!(lookup("GET", "/flows/").unwrap().path, "/flows");
        assert_eq!(lookup("get", "/flows?x=1").unwrap().path, "/flows");
        assert_eq!(lookup("GET", "/").unwrap().path, "/");
        assert!(lookup("DELETE", "/flows").is_none());
        assert!(lookup("GET", "/flowsx").is_none());
    }

    #[test]
    fn variable_segments_match_one_segment() {
        assert!(matches("/flows/:id", "/flows/42"));
        assert!(!matches("/flows/:id", "/flows/"));
        assert!(!matches("/flows/:id", "/flows/42/versions"));
    }

    #[test]
    fn each_entry_point_is_listed_once() {
        for (i, a) in ENTRY_POINTS.iter().enumerate() {
            for b in &ENTRY_POINTS[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} is listed twice",
                    a.method,
                    a.path
                );
            }
        }
    }
}

/// The whole table as text, one line per entry point, with what each caller gets:
/// `A` allowed, `S` must sign in, `F` forbidden, `T` needs a bearer token instead; columns are anonymous, then each role
/// in [`domain::access::Role::ALL`] order. Used to review access changes at a glance.
pub fn access_review() -> String {
    use domain::access::{Decision, Rights, Role};
    let mut out = String::new();
    for entry in ENTRY_POINTS {
        let callers = std::iter::once(None).chain(Role::ALL.into_iter().map(Some));
        let marks: String = callers
            .map(
                |role| match entry.access.decide(role.map(Rights::of).as_ref()) {
                    _ if entry.access == domain::access::Access::BearerToken => 'T',
                    Decision::Allow => 'A',
                    Decision::SignInRequired => 'S',
                    Decision::Forbidden => 'F',
                },
            )
            .collect();
        out.push_str(&format!("{marks} {} {}\n", entry.method, entry.path));
    }
    out
}

#[cfg(test)]
mod review {
    /// Changing who may use an entry point must change this list too, on purpose.
    #[test]
    fn who_may_use_what() {
        let expected = "\
AAAAAA GET /sign-in
SAAAAA GET /
SAAAFF GET /flows
SAAFFF GET /flows/new
SAAAFF GET /flows/:id/edit
SAAAFF GET /flows/:id/versions
SAAFFF GET /flows/:id/test
SAAAFF GET /flows/:id/api
SAAAFF GET /tables
SAAAFF GET /tables/:id
SAAAFF GET /executions
SAAAFF GET /executions/:id
SAAAFF GET /directory
SAAAFF GET /directory/users
SAAAFF GET /directory/users/:id
SAAAFF GET /directory/groups
SAAAFF GET /directory/groups/:id
SAAAFF GET /assignments
SAAAAF GET /connections
SAAAAF GET /connections/:id
SAAAFF GET /system-log
SAAAFF GET /settings
SAAAAA GET /api-reference
AAAAAA POST /api/session/current_user
AAAAAA POST /api/session/sign_in_options
SAAAFF POST /api/builder/setup
SAAFFF POST /api/builder/check
SAAFFF POST /api/builder/save
SAAAFF POST /api/directory/users
SAAAFF POST /api/directory/user
SAAAFF POST /api/directory/timeline
SAAAFF POST /api/directory/groups
SAAAFF POST /api/directory/group
SAAAFF POST /api/assignments/list
SAAAFF POST /api/settings/scim-tokens
SAAAFF POST /api/settings/sso
SAAAFF POST /api/settings/outbound
SAAAFF POST /api/settings/api-tokens
SAAAAA POST /api/api-reference
SAAAFF POST /api/flows/list
SAAAFF POST /api/flows/versions
SAAFFF POST /api/flows/test-form
SAAAFF POST /api/flows/api-access
SAAAAF POST /api/connections/list
SAAAAF POST /api/connections/detail
SAAAFF POST /api/tables/list
SAAAFF POST /api/tables/grid
SAAAFF POST /api/executions/list
SAAAFF POST /api/executions/detail
SAAAFF POST /api/executions/progress
SAAAFF POST /api/system-log/search
AAAAAA POST /auth/sign-in
AAAAAA POST /auth/sign-out
AAAAAA GET /auth/oidc/start
AAAAAA GET /auth/oidc/callback
AAAAAA POST /auth/oidc/link
AAAAAA GET /auth/oidc/signed-out
TTTTTT POST /api/v1/flows/:id/invoke
TTTTTT GET /hooks/okta/:id
TTTTTT POST /hooks/okta/:id
AAAAAA GET /api/v1/openapi.json
TTTTTT GET /api/v1/me
TTTTTT GET /api/v1/logs
TTTTTT GET /api/v1/flows
TTTTTT GET /api/v1/flows/:id
TTTTTT POST /api/v1/flows/:id/enable
TTTTTT POST /api/v1/flows/:id/disable
TTTTTT GET /api/v1/executions
TTTTTT GET /api/v1/executions/:id
TTTTTT POST /api/v1/executions/:id/cancel
TTTTTT POST /api/v1/flows
TTTTTT DELETE /api/v1/flows/:id
TTTTTT GET /api/v1/flows/:id/versions
TTTTTT POST /api/v1/flows/:id/versions
TTTTTT GET /api/v1/flows/:id/export
TTTTTT POST /api/v1/executions/:id/rerun
TTTTTT GET /api/v1/tables
TTTTTT GET /api/v1/tables/:id
TTTTTT POST /api/v1/tables
TTTTTT DELETE /api/v1/tables/:id
TTTTTT GET /api/v1/tables/:id/rows
TTTTTT POST /api/v1/tables/:id/rows
TTTTTT PUT /api/v1/tables/:id/rows/:row
TTTTTT DELETE /api/v1/tables/:id/rows/:row
TTTTTT GET /api/v1/tables/:id/csv
TTTTTT POST /api/v1/tables/:id/csv
TTTTTT GET /api/v1/users
TTTTTT GET /api/v1/users/:id
TTTTTT GET /api/v1/groups
TTTTTT GET /api/v1/groups/:id
TTTTTT GET /api/v1/connections
TTTTTT POST /api/v1/connections/:id/test
TTTTTT POST /api/v1/executions/:id/resume
AAAAAA GET /healthz
TTTTTT GET /metrics
AAAAAA GET /readyz
AAAAAA POST /preferences/theme
SAFFFF POST /settings/scim-tokens
SAFFFF POST /settings/scim-self-check
SAFFFF POST /settings/sso
SAFFFF POST /settings/sso/remove
SAFFFF POST /settings/outbound
SAAAFF POST /settings/api-tokens
SAAAFF POST /settings/api-tokens/:id/revoke
SAFFFF POST /system-log/retention
SAAAFF GET /system-log/export
SAFFFF POST /settings/scim-tokens/:id/revoke
SAAFFF POST /flows/import
SAAFFF POST /flows/templates/:key
SAAFFF POST /flows/:id/enabled
SAAFFF POST /flows/:id/run
SAAFFF POST /flows/:id/delete
SAAFFF POST /flows/:id/secret
SAAFFF POST /flows/:id/secret/revoke
SAAAFF GET /flows/:id/export
SAAFFF POST /flows/:id/versions
SAAFFF POST /flows/:id/versions/:version/restore
SAAFFF POST /tables
SAAFFF POST /tables/:id/delete
SAAFFF POST /tables/:id/rows
SAAFFF POST /tables/:id/rows/:row
SAAFFF POST /tables/:id/rows/:row/delete
SAAFFF POST /tables/:id/import
SAAAFF GET /tables/:id/export
SAAFFF POST /executions/:id/cancel
SAAFFF POST /executions/:id/rerun
SAAFFF POST /executions/:id/approve
SAAAFF GET /executions/:id/export
SAAFFF POST /flows/:id/clone
SAAFFF POST /flows/:id/test
SAAFFF POST /flows/:id/move
SAAFFF POST /folders
SAAFFF POST /folders/:id/rename
SAAAFF GET /folders/:id/export
SAAFFF POST /folders/:id/grants
SAAFFF POST /assignments/users
SAAFFF POST /assignments/users/:id/role
SAAFFF POST /assignments/users/:id/unassign
SAAFFF POST /assignments/users/:id/provision
SAAFFF POST /assignments/groups
SAAFFF POST /assignments/groups/:id/unmap
SAAFFF POST /assignments/convert
SAAAFF GET /assignments/access-review.csv
SAAFAF POST /connections
SAAFAF POST /connections/:id
SAAFAF POST /connections/:id/test
SAAFAF POST /connections/:id/sharing
SAAFAF POST /connections/:id/delete
SAAFAF POST /connections/:id/okta/authorize
SAAFAF GET /connections/okta/callback
SAAFFF POST /directory/users
SAAFFF POST /directory/users/:id
SAAFFF POST /directory/users/:id/status
SAAFFF POST /directory/groups
SAAFFF POST /directory/groups/:id/members
SAAFFF POST /directory/groups/:id/members/:user/remove
TTTTTT GET /scim/v2/ServiceProviderConfig
TTTTTT GET /scim/v2/ResourceTypes
TTTTTT GET /scim/v2/ResourceTypes/:id
TTTTTT GET /scim/v2/Schemas
TTTTTT GET /scim/v2/Schemas/:id
TTTTTT GET /scim/v2/Users
TTTTTT POST /scim/v2/Users
TTTTTT POST /scim/v2/Users/.search
TTTTTT POST /scim/v2/.search
TTTTTT GET /scim/v2/Users/:id
TTTTTT PUT /scim/v2/Users/:id
TTTTTT PATCH /scim/v2/Users/:id
TTTTTT DELETE /scim/v2/Users/:id
TTTTTT GET /scim/v2/Groups
TTTTTT POST /scim/v2/Groups
TTTTTT POST /scim/v2/Groups/.search
TTTTTT GET /scim/v2/Groups/:id
TTTTTT PUT /scim/v2/Groups/:id
TTTTTT PATCH /scim/v2/Groups/:id
TTTTTT DELETE /scim/v2/Groups/:id
";
        assert_eq!(super::access_review(), expected);
    }
}
