//! SCIM 2.0 semantics (RFC 7643/7644) on plain JSON resources: filters, PATCH, and the
//! shape of idflow's User resource. Pure: no I/O, so the same rules can run anywhere.
//!
//! Attribute names are case-insensitive, as the RFC says; values of most string
//! attributes compare without regard to case. The parsing of filters and PATCH paths is
//! the `scim_v2` crate's (with its depth limits); what they mean for a resource is here.

pub mod filter;
pub mod group;
pub mod patch;
pub mod projection;
pub mod self_check;
pub mod sql;
pub mod token;
pub mod user;
#[cfg(feature = "server")]
pub mod writes;

use serde_json::{Map, Value};

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const IDFLOW_USER: &str = "urn:ietf:params:scim:schemas:extension:idflow:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The extension schemas a User may carry.
pub const USER_EXTENSIONS: [&str; 2] = [ENTERPRISE_USER, IDFLOW_USER];

/// A SCIM error: the HTTP status and the `scimType` RFC 7644 §3.12 names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

/// The longest `detail` an error carries: what a client sent may be quoted in it, and a
/// 120 KB filter must not come back as a 120 KB error.
pub const MAX_DETAIL: usize = 300;

/// `text` cut to at most `max` characters, marked with `…` when cut.
pub fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

impl ScimError {
    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError {
            status: 400,
            scim_type: Some(scim_type),
            detail: shortened(&detail.into(), MAX_DETAIL),
        }
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidValue", detail)
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidFilter", detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidPath", detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidSyntax", detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request("noTarget", detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request("mutability", detail)
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError {
            status: 409,
            scim_type: Some("uniqueness"),
            detail: detail.into(),
        }
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError {
            status: 404,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// The error body RFC 7644 §3.12 describes.
    pub fn body(&self) -> Value {
        let mut body = serde_json::json!({
            "schemas": [ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::String(t.to_string());
        }
        body
    }
}

/// Finds `name` in `object` without regard to case.
pub fn get_ci<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A resource's body as an object; `kind` ("User", "Group") names it in the error.
pub(crate) fn resource_object<'a>(
    body: &'a Value,
    kind: &str,
) -> Result<&'a Map<String, Value>, ScimError> {
    body.as_object()
        .ok_or_else(|| ScimError::invalid_syntax(format!("A {kind} must be a JSON object.")))
}

/// The required, non-blank string attribute `name` of `object`, trimmed.
pub(crate) fn required_string(
    object: &Map<String, Value>,
    name: &str,
) -> Result<String, ScimError> {
    match get_ci(object, name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ScimError::invalid_value(format!("{name} is required.")))
        }
        Some(other) => Err(ScimError::invalid_value(format!(
            "{name} must be a string, not {other}"
        ))),
    }
}

/// The optional string attribute `name` of `object`, as sent.
pub(crate) fn optional_string(
    object: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, ScimError> {
    match get_ci(object, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ScimError::invalid_value(format!(
            "{name} must be a string, not {other}"
        ))),
    }
}

/// The key under which `object` holds `name`, ignoring case, if any.
pub fn key_ci(object: &Map<String, Value>, name: &str) -> Option<String> {
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
}

/// Removes `name` from `object` without regard to case.
pub fn remove_ci(object: &mut Map<String, Value>, name: &str) -> Option<Value> {
    key_ci(object, name).and_then(|k| object.remove(&k))
}

/// Sets `name` in `object`, replacing any key that differs only in case.
pub fn set_ci(object: &mut Map<String, Value>, name: &str, value: Value) {
    let key = key_ci(object, name).unwrap_or_else(|| name.to_string());
    object.insert(key, value);
}

/// The canonical spelling of a known schema URN, matched without regard to case.
pub fn known_urn(urn: &str) -> Option<&'static str> {
    [CORE_USER, ENTERPRISE_USER, IDFLOW_USER, CORE_GROUP]
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(urn))
}
