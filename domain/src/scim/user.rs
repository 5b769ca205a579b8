//! idflow's SCIM User: what a client may send, and how a stored user reads back.

use super::{
    ENTERPRISE_USER, IDFLOW_USER, ScimError, USER_EXTENSIONS, get_ci, known_urn, optional_string,
    required_string, resource_object,
};
use crate::access::Role;
use serde_json::{Map, Value};

/// A stored user as a SCIM User resource, without `meta` (which needs the server's
/// address): what SCIM clients read, and what Find Users' filters match.
pub fn resource(user: &crate::directory::User) -> Map<String, Value> {
    let mut object = named(
        &user.attributes,
        &user.user_name,
        user.external_id.as_deref(),
    );
    object.insert(
        "schemas".into(),
        Value::Array(schemas_for(&user.attributes, user.role)),
    );
    object.insert("id".into(), Value::String(user.id.to_string()));
    // A PATCH that removed `active` leaves a null behind: the attribute stays unshown
    // (the status is unchanged) until a client sets it again.
    if object.get("active") == Some(&Value::Null) {
        object.remove("active");
    } else {
        object.insert(
            "active".into(),
            Value::Bool(user.status == crate::directory::UserStatus::Active),
        );
    }
    // No role is an Unassigned User: the extension appears only when there is a role.
    if user.role != Role::UnassignedUser {
        object.insert(
            IDFLOW_USER.into(),
            serde_json::json!({"role": user.role.as_str()}),
        );
    }
    object
}

/// The part of a user's resource made of its attributes, `userName` and `externalId`:
/// everything [`super::filter::filter_keys`] keeps for filters in the database.
pub fn named(
    attributes: &Map<String, Value>,
    user_name: &str,
    external_id: Option<&str>,
) -> Map<String, Value> {
    let mut object = attributes.clone();
    // Kept by versions of idflow before it ignored them: never shown.
    object.retain(|key, _| !IGNORED.iter().any(|i| i.eq_ignore_ascii_case(key)));
    if let Some(external) = external_id {
        object.insert("externalId".into(), Value::String(external.to_string()));
    }
    object.insert("userName".into(), Value::String(user_name.to_string()));
    object
}

/// A User as a client sent it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    /// `None` when the client did not say; a PUT without `active` is not a deactivation.
    pub active: Option<bool>,
    /// `None` when the client did not say.
    pub role: Option<Role>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// Every other attribute, core and enterprise, as sent (extension keys canonical).
    pub attributes: Map<String, Value>,
}

/// Reads a boolean the way clients send them: `true`, or Entra ID's `"True"`.
pub fn boolean(value: &Value, name: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::invalid_value(format!(
            "{name} must be true or false, not {other}"
        ))),
    }
}

/// Reads a role: its stored name (`workflows_auditor`) or its label ("Workflows
/// Auditor"), in any case.
pub fn role(value: &Value) -> Result<Role, ScimError> {
    let text = value.as_str().unwrap_or_default().trim();
    Role::ALL
        .into_iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(text) || r.label().eq_ignore_ascii_case(text))
        .ok_or_else(|| {
            ScimError::invalid_value(format!(
                "role {value} is not one of {}",
                Role::ALL.map(|r| r.as_str()).join(", ")
            ))
        })
}

const READ_ONLY: [&str; 3] = ["schemas", "id", "meta"];
/// Attributes a client may send but idflow never keeps: Okta's password sync sends the
/// user's `password`, which idflow has no use for (people sign in through the identity
/// provider or with their own local password) and must never store, return or hand to a
/// flow.
pub const IGNORED: [&str; 1] = ["password"];

pub fn parse(body: &Value) -> Result<UserInput, ScimError> {
    let object = resource_object(body, "User")?;
    let user_name = required_string(object, "userName")?;
    if user_name.chars().count() > 256 {
        return Err(ScimError::invalid_value(
            "userName is longer than 256 characters.",
        ));
    }
    let external_id = optional_string(object, "externalId")?;
    let active = match get_ci(object, "active") {
        None | Some(Value::Null) => None,
        Some(v) => Some(boolean(v, "active")?),
    };

    let mut attributes = Map::new();
    let mut role_value = None;
    for (key, value) in object {
        if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(key))
            || IGNORED.iter().any(|r| r.eq_ignore_ascii_case(key))
            || ["userName", "externalId", "active"]
                .iter()
                .any(|r| r.eq_ignore_ascii_case(key))
        {
            continue;
        }
        match known_urn(key) {
            Some(IDFLOW_USER) => {
                if let Some(fields) = value.as_object() {
                    role_value = get_ci(fields, "role").cloned();
                }
            }
            Some(urn) if USER_EXTENSIONS.contains(&urn) => {
                if !value.is_object() {
                    return Err(ScimError::invalid_value(format!(
                        "{urn} must hold an object"
                    )));
                }
                attributes.insert(urn.to_string(), value.clone());
            }
            Some(_) => {}
            None if key.contains(':') => {
                return Err(ScimError::invalid_value(format!(
                    "unknown schema extension {key}"
                )));
            }
            None => {
                attributes.insert(key.clone(), value.clone());
            }
        }
    }
    let role = match role_value {
        None | Some(Value::Null) => None,
        Some(v) => Some(role(&v)?),
    };

    let display_name = get_ci(object, "displayName")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            let name = get_ci(object, "name")?.as_object()?;
            get_ci(name, "formatted")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    let given = get_ci(name, "givenName")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let family = get_ci(name, "familyName")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let full = format!("{given} {family}").trim().to_string();
                    (!full.is_empty()).then_some(full)
                })
        });
    let email = primary_email(object);

    Ok(UserInput {
        user_name,
        external_id,
        active,
        role,
        display_name,
        email,
        attributes,
    })
}

/// The primary email, else the work email, else the first one.
fn primary_email(object: &Map<String, Value>) -> Option<String> {
    let emails = get_ci(object, "emails")?.as_array()?;
    let value = |e: &Value| {
        e.as_object()
            .and_then(|o| get_ci(o, "value"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let flag = |e: &Value, name: &str| {
        e.as_object()
            .and_then(|o| get_ci(o, name))
            .is_some_and(|v| boolean(v, name).unwrap_or(false))
    };
    let kind = |e: &Value| {
        e.as_object()
            .and_then(|o| get_ci(o, "type"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    emails
        .iter()
        .find(|e| flag(e, "primary"))
        .or_else(|| emails.iter().find(|e| kind(e) == "work"))
        .or_else(|| emails.first())
        .and_then(value)
}

/// The schemas a stored user's representation lists.
pub fn schemas_for(attributes: &Map<String, Value>, role: Role) -> Vec<Value> {
    let mut schemas = vec![Value::String(super::CORE_USER.into())];
    if attributes.contains_key(ENTERPRISE_USER) {
        schemas.push(Value::String(ENTERPRISE_USER.into()));
    }
    if role != Role::UnassignedUser {
        schemas.push(Value::String(IDFLOW_USER.into()));
    }
    schemas
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scim_password_is_never_stored() {
        let input = parse(&json!({
            "userName": "pat@example.com",
            "password": "Okta sync secret 1!",
            "PASSWORD": "another",
            "name": {"givenName": "Pat"}
        }))
        .unwrap();
        assert!(
            !input
                .attributes
                .keys()
                .any(|k| k.eq_ignore_ascii_case("password"))
        );
        assert!(
            !serde_json::to_string(&input.attributes)
                .unwrap()
                .contains("secret")
        );
    }

    #[test]
    fn a_minimal_user() {
        let u =
            parse(&json!({"schemas": [super::super::CORE_USER], "userName": " ada@example.com "}))
                .unwrap();
        assert_eq!(u.user_name, "ada@example.com");
        assert_eq!(u.active, None);
        assert_eq!(u.role, None);
    }

    #[test]
    fn user_name_is_required() {
        let err = parse(&json!({"displayName": "x"})).unwrap_err();
        assert_eq!((err.status, err.scim_type), (400, Some("invalidValue")));
    }

    #[test]
    fn roles_by_name_or_label_and_unknown_roles_refused() {
        let u =
            parse(&json!({"userName": "a", IDFLOW_USER: {"role": "Workflows Auditor"}})).unwrap();
        assert_eq!(u.role, Some(Role::WorkflowsAuditor));
        let u = parse(&json!({"userName": "a", IDFLOW_USER: {"role": "super_admin"}})).unwrap();
        assert_eq!(u.role, Some(Role::SuperAdmin));
        let err = parse(&json!({"userName": "a", IDFLOW_USER: {"role": "owner"}})).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidValue"));
    }

    #[test]
    fn entra_string_booleans() {
        assert_eq!(
            parse(&json!({"userName": "a", "active": "False"}))
                .unwrap()
                .active,
            Some(false)
        );
        assert!(parse(&json!({"userName": "a", "active": "maybe"})).is_err());
    }

    #[test]
    fn display_name_and_email_are_derived() {
        let u = parse(&json!({
            "userName": "a",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "home@x", "type": "home"}, {"value": "work@x", "type": "work"}]
        }))
        .unwrap();
        assert_eq!(u.display_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(u.email.as_deref(), Some("work@x"));
    }
}
