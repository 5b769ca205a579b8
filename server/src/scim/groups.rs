//! `/Groups`: list and search, read, create, replace, patch (the member-only PATCHes
//! Okta and Entra ID send go straight to the membership) and delete groups.

use super::{
    Client, ListQuery, Projection, ScimQuery, ScimResponse, body_json, if_match, kept_changing,
    location, meta, page_counted, page_of, resource_response, search_query,
};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::actions::directory as act;
use domain::audit::{Action, NewEntry};
use domain::directory::{Group, GroupId};
use domain::scim::group::member_changes;
use domain::scim::writes::{attempt, group_write, patch_retrying};
use domain::scim::{self, ScimError};
use serde_json::Value;
use uuid::Uuid;

pub(super) fn render_group(group: &Group, base: &str) -> Value {
    let mut object = scim::group::resource(group, |user| location(base, "Users", user));
    object.insert(
        "meta".into(),
        meta(
            "Group",
            group.created_at,
            group.updated_at,
            location(base, "Groups", group.id),
            group.version,
        ),
    );
    Value::Object(object)
}

fn group_response(
    status: StatusCode,
    group: &Group,
    base: &str,
    projection: &Projection,
) -> Response {
    resource_response(status, render_group(group, base), group.version, projection)
}

/// The group a write left, as SCIM clients expect it back.
fn written(status: StatusCode, group: &Group, state: &AppState) -> Response {
    group_response(status, group, &state.public_url, &Projection::default())
}

fn parse_group_id(id: &str) -> Result<GroupId, ScimError> {
    Uuid::parse_str(id)
        .map(GroupId)
        .map_err(|_| ScimError::not_found(format!("No group has the id {id:?}.")))
}

fn no_group(id: impl std::fmt::Display) -> ScimError {
    ScimError::not_found(format!("No group has the id {id}."))
}

impl Client {
    pub(crate) fn group_entry(&self, action: Action, group: &Group) -> NewEntry {
        self.new_entry(action)
            .target(domain::actions::group_target(group.id, &group.display_name))
    }
}

pub(super) async fn list_groups(
    State(state): State<AppState>,
    ScimQuery(query): ScimQuery<ListQuery>,
) -> Result<Response, ScimResponse> {
    list_matching_groups(&state, query).await
}

pub(super) async fn search_groups(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    list_matching_groups(&state, search_query(&body)?).await
}

async fn list_matching_groups(
    state: &AppState,
    query: ListQuery,
) -> Result<Response, ScimResponse> {
    let (start, count, filter) = query.window()?;
    let Some(filter) = filter else {
        // Every group: the page and the total come from the database.
        let total = state.store.count_groups().await? as usize;
        let groups = state.store.groups_page(start - 1, count).await?;
        let page = groups
            .iter()
            .map(|g| render_group(g, &state.public_url))
            .collect();
        return page_counted(page, total, start, &query);
    };
    let matching = matching_groups(state, &filter).await?;
    page_of(matching, start, count, &query)
}

/// Every group `filter` matches, rendered: by name, id or member the index finds the
/// groups and the filter then decides; any other filter reads every group.
pub(super) async fn matching_groups(
    state: &AppState,
    filter: &scim::filter::Parsed,
) -> Result<Vec<Value>, ScimResponse> {
    let groups = match scim::filter::group_anchor(filter) {
        Some(anchor) => state.store.groups_anchored(&anchor).await?,
        None => state.store.all_groups().await?,
    };
    Ok(groups
        .iter()
        .map(|g| render_group(g, &state.public_url))
        .filter(|r| scim::filter::matches(filter, r))
        .collect())
}

pub(super) async fn get_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ScimQuery(projection): ScimQuery<Projection>,
) -> Result<Response, ScimResponse> {
    let group = state
        .store
        .group(parse_group_id(&id)?)
        .await?
        .ok_or_else(|| no_group(&id))?;
    Ok(group_response(
        StatusCode::OK,
        &group,
        &state.public_url,
        &projection,
    ))
}

pub(super) async fn create_group(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let write = group_write(scim::group::parse(&body_json(&body)?)?);
    let entry = client.new_entry(Action::ScimGroupCreate);
    let group = act::create_group(
        &state.store,
        &client.acting(&state.store).await?,
        &write,
        &entry,
    )
    .await?;
    Ok(written(StatusCode::CREATED, &group, &state))
}

pub(super) async fn replace_group(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let id = parse_group_id(&id)?;
    let write = group_write(scim::group::parse(&body_json(&body)?)?);
    let current = state.store.group(id).await?.ok_or_else(|| no_group(id))?;
    let entry = client.group_entry(Action::ScimGroupUpdate, &current);
    let (group, _) = act::update_group(
        &state.store,
        &client.acting(&state.store).await?,
        &current,
        if_match(&headers)?,
        &write,
        &entry,
    )
    .await?
    .ok_or_else(|| no_group(id))?;
    Ok(written(StatusCode::OK, &group, &state))
}

pub(super) async fn patch_group(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimResponse> {
    let id = parse_group_id(&id)?;
    let body = body_json(&body)?;
    let client_version = if_match(&headers)?;
    let projected = uri
        .query()
        .is_some_and(|q| q.to_ascii_lowercase().contains("attributes="));
    let acting = client.acting(&state.store).await?;
    // Member additions and removals alone (Okta's push, Entra ID's member PATCHes) go
    // straight to the membership table: no reading and rewriting the whole group, and
    // no answer listing every member (204, as both expect).
    if client_version.is_none()
        && !projected
        && let Some((add, remove)) = member_changes(&body)
    {
        act::change_members(
            &state.store,
            &acting,
            id,
            &add,
            &remove,
            Action::ScimGroupUpdate,
            None,
        )
        .await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let (state, body, acting) = (&state, &body, &acting);
    let client = &client;
    let patched = patch_retrying(|| async move {
        let current = state.store.group(id).await?.ok_or_else(|| no_group(id))?;
        let mut resource = render_group(&current, &state.public_url);
        scim::patch::apply(&mut resource, body)?;
        let write = group_write(scim::group::parse(&resource)?);
        let entry = client.group_entry(Action::ScimGroupUpdate, &current);
        let written = act::update_group(
            &state.store,
            acting,
            &current,
            Some(client_version.unwrap_or(current.version)),
            &write,
            &entry,
        )
        .await;
        Ok::<_, ScimResponse>(attempt(written, client_version.is_some())?)
    })
    .await?;
    match patched {
        // Okta and Entra ID expect 204 or the group; the group answers both.
        Some(Some((group, _))) => Ok(written(StatusCode::OK, &group, state)),
        Some(None) => Err(no_group(id).into()),
        None => Err(kept_changing("group")),
    }
}

pub(super) async fn delete_group(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<Client>,
    Path(id): Path<String>,
) -> Result<Response, ScimResponse> {
    let id = parse_group_id(&id)?;
    let current = state.store.group(id).await?.ok_or_else(|| no_group(id))?;
    act::delete_group(
        &state.store,
        &client.acting(&state.store).await?,
        &current,
        &client.group_entry(Action::ScimGroupDelete, &current),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
