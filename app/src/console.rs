//! The console's frame: the header with the signed-in user, the navigation, and the
//! check that the user's role may see the page inside.

use crate::entry_points::page_at;
use crate::error::{AppError, set_response_status};
use crate::session::{SessionUser, current_user, sign_in_url};
use domain::access::{Decision, Permission, Rights, Role};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::{use_location, use_navigate};

/// The tabs, in the order an admin reads them, with the permission each needs.
pub const TABS: &[(&str, &str, Permission)] = &[
    ("/flows", "Flows", Permission::ViewFlows),
    ("/tables", "Tables", Permission::ViewTables),
    ("/executions", "Executions", Permission::ViewExecutions),
    ("/directory/users", "Directory", Permission::ViewDirectory),
    ("/assignments", "Assignments", Permission::ViewAssignments),
    ("/connections", "Connections", Permission::ViewConnections),
    ("/system-log", "System Log", Permission::ViewSystemLog),
    ("/settings", "Settings", Permission::ViewSettings),
];

/// The signed-in user as the server resolved it for this request, or `None`.
#[cfg(feature = "ssr")]
fn signed_in_now() -> Option<SessionUser> {
    crate::session::request_caller().map(|caller| SessionUser::from(&caller))
}

/// Outside hydration the console is never built from scratch in the browser.
#[cfg(not(feature = "ssr"))]
fn signed_in_now() -> Option<SessionUser> {
    None
}

#[component]
pub fn Console() -> impl IntoView {
    // Who is signed in, serialized with the page and read synchronously while hydrating.
    // Nothing below waits for it: a page built inside a suspense is built (and its
    // resources made) more than once on the server, which breaks hydration.
    let signed_in = SharedValue::new(signed_in_now).into_inner();
    let location = use_location();
    let navigate = use_navigate();
    // Asked again at every navigation, so a session that ended (a role change, a
    // deactivation, sign-out elsewhere) sends the person to sign-in on their next click.
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|p| p != path) {
            let navigate = navigate.clone();
            let next = path.clone();
            leptos::task::spawn_local(async move {
                if let Ok(None) = current_user().await {
                    navigate(&sign_in_url(&next), Default::default());
                }
            });
        }
        path
    });
    match signed_in {
        Some(me) => {
            provide_context(me.clone());
            view! { <Frame me /> }.into_any()
        }
        None => {
            let next = location.pathname.get_untracked();
            view! { <Redirect path=sign_in_url(&next) /> }.into_any()
        }
    }
}

#[component]
fn Frame(me: SessionUser) -> impl IntoView {
    let role = me.role;
    let rights = me.rights.clone();
    let location = use_location();
    let allowed = {
        let rights = rights.clone();
        Memo::new(move |_| {
            page_at(&location.pathname.get())
                .map(|page| page.access.decide(Some(&rights)) == Decision::Allow)
                .unwrap_or(false)
        })
    };

    view! {
        <a class="skip-link" href="#main">
            "Skip to content"
        </a>
        <header class="top-bar">
            <A href="/" attr:class="brand">
                "idflow"
            </A>
            <div class="who" data-testid="current-user">
                <span class="who-name">{me.name.clone()}</span>
                <span class="role-badge" data-testid="current-role">
                    {role.label()}
                </span>
                <crate::theme::ThemeSwitch />
                <form method="post" action="/auth/sign-out" class="sign-out">
                    <button type="submit" class="link-button">
                        "Sign out"
                    </button>
                </form>
            </div>
        </header>
        <div class="layout">
            <Nav rights />
            <main id="main" class="content">
                <Show when=move || allowed.get() fallback=move || view! { <Forbidden role /> }>
                    <Outlet />
                </Show>
            </main>
        </div>
    }
}

#[component]
fn Nav(rights: Rights) -> impl IntoView {
    let tabs = TABS
        .iter()
        .filter(|(_, _, permission)| rights.allows(*permission))
        .map(|(href, label, _)| {
            let section = href.split('/').nth(1).unwrap_or_default();
            view! {
                <li>
                    <A href=*href attr:data-section=section>
                        {*label}
                    </A>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="side-nav" aria-label="Console">
            <ul>{tabs}</ul>
        </nav>
    }
}

/// Shown, with status 403, when the user's role may not see the page.
#[component]
pub fn Forbidden(role: Role) -> impl IntoView {
    set_response_status(403);
    view! {
        <section class="notice" data-testid="forbidden">
            <h1>"You don't have access to this page"</h1>
            <p>
                {format!("Your role is {}. ", role.label())}
                "Ask a Super Admin to give you a role that includes it."
            </p>
            <p>
                <A href="/">"Back to the start page"</A>
            </p>
        </section>
    }
}

/// What a page shows of the data it loads: `loading` while it comes, the error page when
/// it could not be had, else what `show` makes of it. With `keep_while_reloading`, a page
/// that loads its data again (live progress) keeps showing what it had meanwhile.
#[component]
pub fn Loaded<T, F, V>(
    data: Resource<Result<T, AppError>>,
    loading: &'static str,
    show: F,
    #[prop(optional)] keep_while_reloading: bool,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let fallback = move || view! { <p class="loading">{loading}</p> };
    let shown = move || {
        let show = show.clone();
        Suspend::new(async move {
            match data.await {
                Err(error) => view! { <ErrorPage error /> }.into_any(),
                Ok(value) => show(value).into_any(),
            }
        })
    };
    if keep_while_reloading {
        view! { <Transition fallback>{shown}</Transition> }.into_any()
    } else {
        view! { <Suspense fallback>{shown}</Suspense> }.into_any()
    }
}

/// Forms that start slow work carry `data-busy` with what they do ("Importing…"): once
/// submitted, their button is marked disabled, a second press sends nothing, and the form
/// says what runs until the answer arrives (without JavaScript the browser shows its own
/// progress). The button keeps its `disabled` property: the browser reads the form after
/// this listener, and a disabled button's value would not be sent.
///
/// A form that also carries `data-upload` (the CSV import) is sent by the page itself, so
/// it can show the upload's progress ("Uploading the file… 42%", then "importing"); the
/// page then goes where the answer went (the import's report) with no second click.
pub fn install_busy_forms() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::submit, |event| {
            if event.default_prevented() {
                return;
            }
            let Some(form) = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            else {
                return;
            };
            let Some(doing) = form.get_attribute("data-busy") else {
                return;
            };
            if form.get_attribute("aria-busy").as_deref() == Some("true") {
                // Already under way: a second press sends nothing.
                event.prevent_default();
                return;
            }
            let _ = form.set_attribute("aria-busy", "true");
            if let Some(button) = event.submitter() {
                let _ = button.set_attribute("aria-disabled", "true");
            }
            let Ok(status) = document().create_element("p") else {
                return;
            };
            status.set_class_name("busy-status");
            let _ = status.set_attribute("role", "status");
            status.set_text_content(Some(&doing));
            let _ = form.append_child(&status);
            if form.has_attribute("data-upload") && upload(&form, &status).is_ok() {
                event.prevent_default();
            }
        });
        // The console's listener lives as long as the page.
        std::mem::forget(handle);
    }
}

/// Sends `form` (multipart) from the page, showing the upload's progress in `status`
/// and a `<progress>` bar, then goes where the answer went. Err: the page could not
/// start it (the browser then sends the form itself).
#[cfg(feature = "hydrate")]
fn upload(
    form: &web_sys::HtmlFormElement,
    status: &web_sys::Element,
) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let data = web_sys::FormData::new_with_form(form)?;
    let request = web_sys::XmlHttpRequest::new()?;
    request.open("POST", &form.action())?;
    let bar = document().create_element("progress")?;
    bar.set_attribute("max", "100")?;
    bar.set_attribute("value", "0")?;
    bar.set_attribute("aria-label", "Upload progress")?;
    form.append_child(&bar)?;
    let (shown, filled) = (status.clone(), bar.clone());
    let progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                let percent = (e.loaded() / e.total() * 100.0).round() as u32;
                let _ = filled.set_attribute("value", &percent.to_string());
                shown.set_text_content(Some(&format!("Uploading the file… {percent}%")));
            }
        });
    let (shown, filled) = (status.clone(), bar.clone());
    let uploaded = Closure::<dyn FnMut()>::new(move || {
        let _ = filled.set_attribute("value", "100");
        shown.set_text_content(Some("Uploaded (100%); importing the rows…"));
    });
    let upload = request.upload()?;
    upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    upload.set_onload(Some(uploaded.as_ref().unchecked_ref()));
    let (answered, sent, shown, again) =
        (request.clone(), form.clone(), status.clone(), bar.clone());
    let done = Closure::<dyn FnMut()>::new(move || {
        let landed = answered.response_url();
        if answered.status().unwrap_or(0) > 0 && !landed.is_empty() {
            // The answer followed the form's redirect: go there (the report).
            let _ = window().location().assign(&landed);
            return;
        }
        shown.set_text_content(Some(
            "The upload did not reach idflow (the connection failed). Check the connection and import again.",
        ));
        let _ = sent.remove_attribute("aria-busy");
        again.remove();
    });
    request.set_onloadend(Some(done.as_ref().unchecked_ref()));
    // Each lives as long as its one request.
    progress.forget();
    uploaded.forget();
    done.forget();
    request.send_with_opt_form_data(Some(&data))?;
    Ok(())
}

/// A list as a table: a row of column headings over the rows (`children`), scrolling
/// sideways on a narrow screen.
#[component]
pub fn DataTable(
    /// The column headings, in order.
    columns: Vec<&'static str>,
    /// A last column only some callers see (the actions of those who may change things).
    #[prop(default = None)]
    last: Option<&'static str>,
    /// What tests and scripts find the table by.
    #[prop(optional)]
    testid: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let headings = columns
        .into_iter()
        .chain(last)
        .map(|c| view! { <th scope="col">{c}</th> })
        .collect_view();
    view! {
        // Focusable, so a keyboard can scroll a table wider than the screen.
        <div class="table-scroll" tabindex="0" role="region" aria-label="Table (scrolls sideways)">
            <table class="data-table" data-testid=testid>
                <thead>
                    <tr>{headings}</tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// An error a page could not get past, with the status it stands for.
#[component]
pub fn ErrorPage(error: AppError) -> impl IntoView {
    set_response_status(error.status());
    let sign_in = matches!(error, AppError::SignInRequired);
    view! {
        <section class="notice error" role="alert" data-testid="error-page">
            <h1>"This page could not be shown"</h1>
            <p>{error.to_string()}</p>
            {sign_in
                .then(|| {
                    view! {
                        <p>
                            <a href="/sign-in">"Sign in"</a>
                        </p>
                    }
                })}
        </section>
    }
}

/// A page heading with a one-line explanation.
#[component]
pub fn PageHeader(title: &'static str, #[prop(optional)] subtitle: &'static str) -> impl IntoView {
    view! {
        <leptos_meta::Title text=title />
        <div class="page-header">
            <h1>{title}</h1>
            {(!subtitle.is_empty()).then(|| view! { <p class="subtitle">{subtitle}</p> })}
        </div>
    }
}

/// What an area shows when it has nothing yet: what will be here and what to do.
#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="empty-state">
            <h2>{title}</h2>
            {children()}
        </div>
    }
}

/// A moment as the console shows it, or "never".
pub fn when(time: Option<chrono::DateTime<chrono::Utc>>) -> String {
    time.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".to_string())
}

/// The sentence for a notice or error code that a console form post sent back
/// (`?notice=…` / `?error=…`). Codes are fixed; nothing from the address is shown as is.
pub fn flash_message(kind: &str, code: &str) -> Option<&'static str> {
    Some(match (kind, code) {
        ("notice", "assigned") => {
            "The user is assigned. Their new role holds from their next click."
        }
        ("notice", "role-changed") => {
            "The role is changed. It holds from the user's next click; their sessions were ended."
        }
        ("notice", "unassigned") => {
            "The user is unassigned and their sessions ended. Roles through groups still hold."
        }
        ("notice", "provisioned") => {
            "The user's assignment was sent again; flows listening for \"User provisioned\" run for it."
        }
        ("notice", "mapped") => {
            "The group is mapped. Its members hold the role from their next click."
        }
        ("notice", "unmapped") => "The group no longer gives a role. Its members' sessions ended.",
        ("notice", "converted") => {
            "The users now hold their role through the group; their direct assignments are gone."
        }
        ("notice", "unchanged") => "Nothing changed: it was already so.",
        ("notice", "user-created") => "The user is created. Give them a role in Assignments.",
        ("notice", "user-updated") => "The profile is saved.",
        ("notice", "suspended") => "The user is suspended and signed out everywhere.",
        ("notice", "unsuspended") => "The user is active again.",
        ("notice", "deactivated") => "The user is deactivated and signed out everywhere.",
        ("notice", "reactivated") => "The user is active again.",
        ("notice", "group-created") => "The group is created. Add members below.",
        ("notice", "member-added") => "The member is added.",
        ("notice", "member-removed") => "The member is removed.",
        ("notice", "execution-cancelled") => {
            "The execution is cancelled: it stops before its next card, and so do the helper executions it started."
        }
        ("notice", "execution-rerun") => {
            "This is a new execution of the same input, with the flow's current version."
        }
        ("notice", "execution-approved") => {
            "The execution is approved and goes on past the blast-radius guard."
        }
        ("notice", "flow-imported") => {
            "The flow is imported, turned off. Turn it on when you are ready."
        }
        ("notice", "flows-imported") => {
            "The flow and its helper flows are imported (the tables they use made where missing). Helper flows are on; the flow is off until you turn it on."
        }
        ("error", "import-taken") => {
            "Nothing was imported: flows with these names already exist (rename or delete them first):"
        }
        ("notice", "flow-on") => "The flow is on: its trigger starts it from now on.",
        ("notice", "flow-on-loops") => {
            "The flow is on: its trigger starts it from now on. Watch out, it can start itself again:"
        }
        ("notice", "flow-off") => "The flow is off: its trigger no longer starts it.",
        ("notice", "flow-deleted") => "The flow, its versions and its executions are deleted.",
        ("notice", "flow-started") => {
            "The flow is running with your input; this page shows what it did."
        }
        ("notice", "template-installed") => {
            "The template is installed: its tables are made and its flows are off (helper flows on). Adjust them, then turn them on."
        }
        ("notice", "template-installed-unconnected") => {
            "The template is installed, its flows off. No connection was chosen for their cards that send: pick one in each such card in the builder before turning the flows on. Missing:"
        }
        ("error", "template-connection") => "The template was not installed:",
        ("error", "no-template") => "There is no such template.",
        ("error", "template-taken") => {
            "A flow with one of the template's names already exists. Rename or delete it first."
        }
        ("notice", "table-created") => {
            "The table is created. Add rows here or import a CSV file; flows name it in their Tables cards."
        }
        ("notice", "table-deleted") => "The table and its rows are deleted.",
        ("notice", "row-added") => "The row is added.",
        ("notice", "row-saved") => "The row is saved.",
        ("notice", "row-deleted") => "The row is deleted.",
        ("error", "no-table-here") => "That table does not exist, or it is not yours to see.",
        ("error", "no-row-here") => {
            "That row is no longer in the table; someone may have deleted it."
        }
        ("error", "table-problems") => "The table cannot be created as it is:",
        ("error", "table-taken") => {
            "A table with that name already exists (names are compared without regard to case)."
        }
        ("error", "row-invalid") => "The row was not saved; a value does not fit its column:",
        ("error", "row-key-taken") => {
            "The row was not saved: another row already has that value in the key column."
        }
        ("error", "row-empty") => "Fill in at least one column to add a row.",
        ("error", "csv-no-file") => "Choose a CSV file to import.",
        ("error", "csv-too-large") => {
            "That file is larger than 10 MB; split it and import the parts."
        }
        ("error", "csv-unreadable") => {
            "Nothing was imported: the file cannot be read for this table."
        }
        ("notice", "log-retention-saved") => {
            "The retention is saved. Entries older than it are deleted within the hour, on every server."
        }
        ("error", "log-retention") => "The retention was not changed:",
        ("notice", "secret-revoked") => {
            "Every secret of the flow is revoked: calls with them are refused. Make a new one to call it again."
        }
        ("error", "secret-grace") => "Choose how long the current secret keeps working:",
        ("error", "secret-none") => "The flow has no secret to revoke.",
        ("notice", "flow-cloned") => "The copy is made, turned off. Change it, then turn it on.",
        ("notice", "test-started") => {
            "The test is running with your sample input; this page shows each card's inputs and outputs as it goes."
        }
        ("notice", "dry-run-started") => {
            "The dry run is running with your sample input: nothing will be changed or sent. Each card that would change something says below what it would have done."
        }
        ("error", "sample-invalid") => {
            "The test did not start; a sample value does not fit its field:"
        }
        ("notice", "folder-created") => {
            "The folder is made. Move flows into it and share it below."
        }
        ("notice", "folder-renamed") => "The folder is renamed.",
        ("notice", "folder-shared") => {
            "The folder's sharing is changed. It holds from the next click of those it reaches; their sessions were ended."
        }
        ("notice", "flow-moved") => "The flow is moved.",
        ("error", "no-folder") => "That folder does not exist, or it is not yours to see.",
        ("error", "folder-taken") => {
            "A folder with that name already exists (names are compared without regard to case)."
        }
        ("error", "grantee-unknown") => "There is no user or group by that name:",
        ("notice", "version-saved") => "Saved as a new version. Executions from now on use it.",
        ("notice", "version-restored") => {
            "The older version is restored as the newest version; the versions between are kept."
        }
        ("notice", "version-saved-turned-off") => {
            "Saved as a new version, and the flow is turned off: the new version has problems (listed below). Fix them, then turn it on."
        }
        ("error", "no-version") => "That version does not exist.",
        ("error", "no-flow-here") => "That flow does not exist, or it is not yours to see.",
        ("error", "import-empty") => "Paste a flow's JSON (as exported) to import it.",
        ("error", "import-too-large") => "That JSON is larger than 1 MB.",
        ("error", "import-not-a-flow") => {
            "That is not a flow's JSON: it needs at least a name and a trigger, as an exported flow has."
        }
        ("error", "import-no-name") => "The flow needs a name.",
        ("error", "flow-has-problems") => {
            "The flow has problems to fix before it can be turned on (a required input without a value, a mapping to a field that does not exist, …)."
        }
        ("error", "beyond-rights") => {
            "Not saved: a flow acts for whoever saves it or turns it on, and this one has cards that need a right you do not hold."
        }
        ("error", "not-manual") => "Only flows started by the Manual trigger can be run by hand.",
        ("error", "input-not-json") => "The input is not JSON; leave it empty for none.",
        ("error", "no-execution") => "That execution does not exist, or it is not yours to see.",
        ("error", "not-allowed") => "Your role does not allow that here.",
        ("error", "execution-ended") => "The execution had already ended; nothing was cancelled.",
        ("error", "not-paused") => {
            "Only an execution paused by the blast-radius guard can be approved."
        }
        ("error", "no-flow") => "Its flow no longer exists, so it cannot run again.",
        ("error", "role") => "Choose one of the roles in the list.",
        ("error", "no-user") => {
            "No user has that user name. Check the spelling, or create the user in Directory."
        }
        ("error", "no-group") => "That group does not exist (any more).",
        ("error", "gone") => "That user no longer exists.",
        ("error", "super-admin") => {
            "Only a Super Admin can give, change or take away the Super Admin role, or change a Super Admin's account."
        }
        ("error", "last-super-admin") => {
            "idflow needs at least one active Super Admin. Give the role to someone else first."
        }
        ("error", "convert-super-admin") => {
            "A Super Admin's assignment can only be converted to a group mapped to Super Admin."
        }
        ("error", "self") => "You cannot suspend or deactivate your own account.",
        ("error", "none-chosen") => "Choose at least one user to convert.",
        ("error", "group-unmapped") => {
            "Map the group to a role first; then its members hold that role."
        }
        ("error", "user-name") => {
            "Enter a user name of 1 to 256 characters, usually the person's email address."
        }
        ("error", "email") => "Enter an email address such as ann@example.com, or leave it empty.",
        ("error", "group-name") => "Enter a group name of 1 to 256 characters.",
        ("error", "status") => "Choose active, suspended or deactivated.",
        ("notice", "connection-created") => {
            "The connection is created. Test it, then pick it in a flow's HTTP Request card."
        }
        ("notice", "connection-saved") => "The connection is saved. Secrets left empty were kept.",
        ("notice", "connection-works") => "The connection works.",
        ("notice", "okta-authorized") => {
            "Okta authorized the connection; its refresh token is kept sealed. Test it."
        }
        ("error", "okta-authorize-failed") => "The connection was not authorized.",
        ("error", "okta-not-authorizable") => "This connection is not authorized that way.",
        ("notice", "connection-deleted") => "The connection and its secrets are deleted.",
        ("notice", "connection-shared") => "Who may use the connection is saved.",
        ("notice", "connection-shared-stranded") => {
            "Who may use the connection is saved. These flows use it outside those folders and will fail until it is shared with theirs:"
        }
        ("error", "connection-share-none") => "Who may use the connection was not changed:",
        ("error", "connection-not-shared") => {
            "The flow was not saved: a connection it uses is not shared with its folder."
        }
        ("error", "connection-test-failed") => "The connection's test failed.",
        ("error", "connection-problems") => "The connection was not saved: fix what is listed.",
        ("error", "connection-taken") => "That connection name is already taken.",
        ("error", "connection-in-use") => "Flows use this connection, so it was not deleted.",
        ("error", "connection-changed") => {
            "Someone changed this connection meanwhile; yours was not saved. Look again and retry."
        }
        ("error", "connection-kind") => "That kind of connection does not exist here.",
        ("error", "no-connection") => "That connection no longer exists.",
        ("error", "taken") => {
            "That name is already taken (names are compared without regard to case)."
        }
        ("error", "changed") => "Someone changed this at the same moment. Look again and retry.",
        ("error", "invalid") => {
            "idflow could not accept that change; check the fields and try again."
        }
        ("error", "unavailable") => "idflow could not save that change. Try again in a moment.",
        _ => return None,
    })
}

/// The `id` in the page's address (empty when there is none), read reactively: what a
/// page about one thing loads.
pub fn path_id() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || params.read().get("id").unwrap_or_default()
}

/// The top of a page about one thing: its area's heading, the way back to the list, and
/// the outcome of the last form post.
#[component]
pub fn DetailTop(
    title: &'static str,
    /// The list's address and what the link back says ("← All flows").
    back: (&'static str, &'static str),
) -> impl IntoView {
    let (href, label) = back;
    view! {
        <PageHeader title />
        <p>
            <A href=href>{label}</A>
        </p>
        <Flash />
    }
}

/// The outcome of the last form post, from the page's address.
#[component]
pub fn Flash() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        let query = query.read();
        if let Some(m) = query.get("error").and_then(|c| flash_message("error", &c)) {
            // The server's specific reason, when it gave one (which field, and why).
            let why = query.get("why").filter(|w| !w.is_empty());
            Some(
                view! {
                    <p class="alert" role="alert" data-testid="flash">
                        {m}
                        {why.map(|why| view! { <span class="why">" " {why}</span> })}
                    </p>
                }
                .into_any(),
            )
        } else {
            let why = query.get("why").filter(|w| !w.is_empty());
            query
                .get("notice")
                .and_then(|c| flash_message("notice", &c))
                .map(|m| {
                    view! {
                        <p class="info" role="status" data-testid="flash">
                            {m}
                            {why.map(|why| view! { <span class="why">" " {why}</span> })}
                        </p>
                    }
                    .into_any()
                })
        }
    }
}

/// A button that asks once more before a form post that takes something away: the
/// form opens under its summary with what will happen, then the real button.
#[component]
pub fn Confirm(
    /// The summary's text ("Unassign").
    label: &'static str,
    /// Where the form posts.
    action: String,
    /// What will happen, in a sentence.
    consequence: String,
    /// The confirming button's text ("Yes, unassign").
    confirm: &'static str,
    /// Hidden fields to send.
    #[prop(optional)]
    hidden: Vec<(&'static str, String)>,
) -> impl IntoView {
    let hidden = hidden
        .into_iter()
        .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
        .collect_view();
    view! {
        <details class="confirm">
            <summary>{label}</summary>
            <form method="post" action=action>
                {hidden}
                <p>{consequence}</p>
                <button type="submit" class="danger">
                    {confirm}
                </button>
            </form>
        </details>
    }
}

/// The options of a yes-or-no choice that may be left empty ("—"), with `selected`'s one
/// chosen; the `<select>` around them is the caller's.
#[component]
pub fn BooleanOptions(selected: String) -> impl IntoView {
    ["", "true", "false"]
        .into_iter()
        .map(|value| {
            let label = if value.is_empty() { "—" } else { value };
            view! {
                <option value=value selected=selected == value>
                    {label}
                </option>
            }
        })
        .collect_view()
}
