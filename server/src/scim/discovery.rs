//! What a SCIM client reads to learn what idflow serves: `ServiceProviderConfig`,
//! `ResourceTypes` and `Schemas`.

use super::{MAX_RESULTS, ScimResponse, scim_json};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::scim::{self, IDFLOW_USER, LIST_RESPONSE, ScimError};
use serde_json::{Value, json};

pub(super) async fn service_provider_config() -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://github.com/idflow/idflow#scim",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A SCIM token made in idflow's Settings or with `idflow admin scim-token create`.",
                "primary": true
            }],
            "meta": {"resourceType": "ServiceProviderConfig"}
        }),
    )
}

fn list(resources: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

pub(super) async fn schemas(State(state): State<AppState>) -> Response {
    list(super::schemas::all(&state.public_url))
}

pub(super) async fn one_schema(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimResponse> {
    super::schemas::all(&state.public_url)
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        })
        .map(|s| scim_json(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found(format!("No schema has the id {id:?}.")).into())
}

pub(super) async fn resource_types(State(state): State<AppState>) -> Response {
    list(vec![
        user_resource_type(&state.public_url),
        group_resource_type(&state.public_url),
    ])
}

fn group_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "A group of idflow users",
        "schema": scim::CORE_GROUP,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/Group")}
    })
}

pub(super) async fn resource_type(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimResponse> {
    if id.eq_ignore_ascii_case("User") {
        Ok(scim_json(
            StatusCode::OK,
            &user_resource_type(&state.public_url),
        ))
    } else if id.eq_ignore_ascii_case("Group") {
        Ok(scim_json(
            StatusCode::OK,
            &group_resource_type(&state.public_url),
        ))
    } else {
        Err(ScimError::not_found(format!("No resource type has the id {id:?}.")).into())
    }
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A user of the idflow console",
        "schema": scim::CORE_USER,
        "schemaExtensions": [
            {"schema": scim::ENTERPRISE_USER, "required": false},
            {"schema": IDFLOW_USER, "required": false}
        ],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/User")}
    })
}
