//! `/Users`: list and search (filters, paging, projection), read, create, replace, patch
//! and delete users.

use super::{
    Client, ListQuery, Projection, ScimQuery, ScimResponse, body_json, if_match, kept_changing,
    location, meta, page_counted, resource_response, search_query,
};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::actions::directory as act;
use domain::audit::Action;
use domain::directory::{User, UserId};
use domain::scim::writes::{attempt, patch_retrying, user_write};
use domain::scim::{self, ScimError};
use domain::store::WriteOutcome;
use serde_json::Value;
use uuid::Uuid;

/// A stored user as a SCIM User.
pub(super) fn render(user: &User, base: &str) -> Value {
    let mut object = scim::user::resource(user);
    object.insert(
        "meta".into(),
        meta(
            "User",
            user.created_at,
            user.updated_at,
            location(base, "Users", user.id),
            user.version,
        ),
    );
    Value::Object(object)
}

/// `GET /Users`: the users a filter matches, one page, projected.
pub(super) async fn list_users(
    State(state): State<AppState>,
    ScimQuery(query): ScimQuery<ListQuery>,
) -> Result<Response, ScimResponse> {
    list_matching(&state, query).await
}

/// `POST /.search` and `POST /Users/.search` (RFC 7644 §3.4.3): a list query in a body.
pub(super) async fn search(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    list_matching(&state, search_query(&body)?).await
}

/// `POST /.search` at the root: users, then groups, as one list.
pub(super) async fn search_all(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let query = search_query(&body)?;
    let (start, count, filter) = query.window()?;
    let (users, user_total) = users_window(&state, filter.as_ref(), start - 1, count).await?;
    let groups: Vec<Value> = match &filter {
        None => {
            // Only the groups this page reaches are read.
            let from = (start - 1).saturating_sub(user_total);
            let room = count - users.len();
            let mut page: Vec<Value> = state
                .store
                .groups_page(from, room)
                .await?
                .iter()
                .map(|g| super::groups::render_group(g, &state.public_url))
                .collect();
            let total = user_total + state.store.count_groups().await? as usize;
            let mut resources = users;
            resources.append(&mut page);
            return page_counted(resources, total, start, &query);
        }
        Some(filter) => super::groups::matching_groups(&state, filter).await?,
    };
    let total = user_total + groups.len();
    let from = (start - 1).saturating_sub(user_total);
    let room = count - users.len();
    let mut resources = users;
    resources.extend(groups.into_iter().skip(from).take(room));
    page_counted(resources, total, start, &query)
}

async fn list_matching(state: &AppState, query: ListQuery) -> Result<Response, ScimResponse> {
    let (start, count, filter) = query.window()?;
    let (page, total) = users_window(state, filter.as_ref(), start - 1, count).await?;
    page_counted(page, total, start, &query)
}

/// The users `filter` matches (every user without one), rendered: `count` from place
/// `offset` and how many match in all. The page, the count and most filters are
/// answered in the database.
async fn users_window(
    state: &AppState,
    filter: Option<&scim::filter::Parsed>,
    offset: usize,
    count: usize,
) -> Result<(Vec<Value>, usize), ScimResponse> {
    let base = &state.public_url;
    let Some(filter) = filter else {
        let (users, total) = state.store.users_page(offset, count).await?;
        return Ok((users.iter().map(|u| render(u, base)).collect(), total));
    };
    let (users, total) = state
        .store
        .users_matching(filter, offset, count, |u| render(u, base))
        .await?
        .ok_or_else(|| {
            ScimError::bad_request(
                "tooMany",
                format!(
                    "This filter would make idflow read more than {} users. Filter on userName, \
                     externalId, emails.value, displayName, active or id (answered from \
                     idflow's indexes), or combine the filter with one of them using \"and\".",
                    domain::store::SCAN_LIMIT
                ),
            )
        })?;
    Ok((users.iter().map(|u| render(u, base)).collect(), total))
}

fn no_user(id: impl std::fmt::Display) -> ScimError {
    ScimError::not_found(format!("No user has the id {id}."))
}

fn parse_id(id: &str) -> Result<UserId, ScimError> {
    Uuid::parse_str(id)
        .map(UserId)
        .map_err(|_| ScimError::not_found(format!("No user has the id {id:?}.")))
}

fn user_response(status: StatusCode, user: &User, base: &str, projection: &Projection) -> Response {
    resource_response(status, render(user, base), user.version, projection)
}

/// The user a write left, as SCIM clients expect it back.
fn written(status: StatusCode, user: &User, state: &AppState) -> Response {
    user_response(status, user, &state.public_url, &Projection::default())
}

pub(super) async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ScimQuery(projection): ScimQuery<Projection>,
) -> Result<Response, ScimResponse> {
    let user = state
        .store
        .user(parse_id(&id)?)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("No user has the id {id:?}.")))?;
    Ok(user_response(
        StatusCode::OK,
        &user,
        &state.public_url,
        &projection,
    ))
}

pub(super) async fn create_user(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let input = scim::user::parse(&body_json(&body)?)?;
    let write = user_write(input, None, false);
    // The store names the new user as the entry's target once it has an id.
    let entry = client.new_entry(Action::ScimUserCreate);
    let user = act::create_user(
        &state.store,
        &client.acting(&state.store).await?,
        &write,
        &entry,
    )
    .await?;
    Ok(written(StatusCode::CREATED, &user, &state))
}

pub(super) async fn replace_user(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let id = parse_id(&id)?;
    let input = scim::user::parse(&body_json(&body)?)?;
    let current = state.store.user(id).await?.ok_or_else(|| no_user(id))?;
    let write = user_write(input, Some(&current), true);
    let outcome = act::update_user(
        &state.store,
        &client.acting(&state.store).await?,
        &current,
        &write,
        if_match(&headers)?,
        &client.entry(Action::ScimUserUpdate, &current),
    )
    .await?;
    Ok(written(StatusCode::OK, outcome.user(), &state))
}

pub(super) async fn patch_user(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let id = parse_id(&id)?;
    let body = body_json(&body)?;
    let client_version = if_match(&headers)?;
    let acting = client.acting(&state.store).await?;
    let (state, body, client, acting) = (&state, &body, &client, &acting);
    // Read, patch, write with the version read; a concurrent change makes the write
    // fail, and the patch is applied again to the newer state.
    let patched = patch_retrying(|| async move {
        let current = state.store.user(id).await?.ok_or_else(|| no_user(id))?;
        if let Some(v) = client_version
            && v != current.version
        {
            return Err(domain::store::StoreError::PreconditionFailed {
                current: current.version,
            }
            .into());
        }
        let mut resource = render(&current, &state.public_url);
        scim::patch::apply(&mut resource, body)?;
        let input = scim::user::parse(&resource)?;
        let write = user_write(input, Some(&current), false);
        let entry = client.entry(Action::ScimUserUpdate, &current);
        let written = act::update_user(
            &state.store,
            acting,
            &current,
            &write,
            Some(current.version),
            &entry,
        )
        .await;
        Ok::<_, ScimResponse>(attempt(written, client_version.is_some())?)
    })
    .await?;
    match patched {
        Some(WriteOutcome::Updated(user)) | Some(WriteOutcome::Unchanged(user)) => {
            Ok(written(StatusCode::OK, &user, state))
        }
        None => Err(kept_changing("user")),
    }
}

pub(super) async fn delete_user(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
) -> Result<Response, ScimResponse> {
    let id = parse_id(&id)?;
    let current = state.store.user(id).await?.ok_or_else(|| no_user(id))?;
    act::delete_user(
        &state.store,
        &client.acting(&state.store).await?,
        &current,
        &client.entry(Action::ScimUserDelete, &current),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
