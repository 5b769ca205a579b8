//! idflow's SCIM Group: what a client may send. Entra ID's ADSCIM schema URI in
//! `schemas` is accepted and ignored.

use super::{ScimError, get_ci, optional_string, required_string, resource_object};
use crate::directory::UserId;
use serde_json::{Map, Value};
use uuid::Uuid;

/// A stored group as a SCIM Group, without `meta`: each member's `$ref` is
/// `user_ref(member)`.
pub fn resource(
    group: &crate::directory::Group,
    user_ref: impl Fn(UserId) -> String,
) -> Map<String, Value> {
    let mut object = group.attributes.clone();
    object.insert("schemas".into(), serde_json::json!([super::CORE_GROUP]));
    object.insert("id".into(), Value::String(group.id.to_string()));
    if let Some(external) = &group.external_id {
        object.insert("externalId".into(), Value::String(external.clone()));
    }
    object.insert(
        "displayName".into(),
        Value::String(group.display_name.clone()),
    );
    let members: Vec<Value> = group
        .members
        .iter()
        .map(|m| {
            serde_json::json!({
                "value": m.user_id.to_string(),
                "type": "User",
                "$ref": user_ref(m.user_id),
            })
        })
        .collect();
    object.insert("members".into(), Value::Array(members));
    object
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// The member ids (users), without duplicates, in the order sent.
    pub members: Vec<Uuid>,
    pub attributes: Map<String, Value>,
}

pub fn parse(body: &Value) -> Result<GroupInput, ScimError> {
    let object = resource_object(body, "Group")?;
    let display_name = required_string(object, "displayName")?;
    let external_id = optional_string(object, "externalId")?;
    let mut members = Vec::new();
    match get_ci(object, "members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let value = item
                    .as_object()
                    .and_then(|o| get_ci(o, "value"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ScimError::invalid_value("each member needs a \"value\" with a user id")
                    })?;
                let id = Uuid::parse_str(value.trim()).map_err(|_| {
                    ScimError::invalid_value(format!("member {value:?} is not the id of a user"))
                })?;
                if !members.contains(&id) {
                    members.push(id);
                }
            }
        }
        Some(_) => return Err(ScimError::invalid_value("members must be an array")),
    }
    let attributes = object
        .iter()
        .filter(|(k, _)| {
            ![
                "schemas",
                "id",
                "meta",
                "displayName",
                "externalId",
                "members",
            ]
            .iter()
            .any(|r| r.eq_ignore_ascii_case(k))
                && !k.contains(':')
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(GroupInput {
        display_name,
        external_id,
        members,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entra_group_with_the_adscim_schema() {
        let g = parse(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "displayName": " Engineering ",
            "externalId": "e1",
            "members": [{"value": "0190aaaa-0000-7000-8000-000000000001"}, {"value": "0190aaaa-0000-7000-8000-000000000001"}]
        }))
        .unwrap();
        assert_eq!(g.display_name, "Engineering");
        assert_eq!(g.members.len(), 1);
    }

    #[test]
    fn bad_groups_are_refused() {
        assert_eq!(
            parse(&json!({"members": []})).unwrap_err().scim_type,
            Some("invalidValue")
        );
        assert_eq!(
            parse(&json!({"displayName": "g", "members": [{"value": "x"}]}))
                .unwrap_err()
                .scim_type,
            Some("invalidValue")
        );
    }
}

/// The members a PATCH adds and removes, when that is all it does: operations `add`
/// or `remove` (any case) on `members` with a value list, or `remove` on
/// `members[value eq "…"]`. `None` for anything else, which takes the general path.
pub fn member_changes(body: &Value) -> Option<(Vec<UserId>, Vec<UserId>)> {
    let operations = body
        .get("Operations")
        .or_else(|| body.get("operations"))?
        .as_array()?;
    let ids = |value: &Value| -> Option<Vec<UserId>> {
        value
            .as_array()?
            .iter()
            .map(|m| {
                m.get("value")?
                    .as_str()
                    .and_then(|v| Uuid::parse_str(v).ok())
                    .map(UserId)
            })
            .collect()
    };
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for op in operations {
        let kind = op.get("op")?.as_str()?.to_ascii_lowercase();
        let path = op.get("path")?.as_str()?.trim();
        let lower = path.to_ascii_lowercase();
        match (kind.as_str(), lower.as_str()) {
            ("add", "members") => add.extend(ids(op.get("value")?)?),
            ("remove", "members") => remove.extend(ids(op.get("value")?)?),
            ("remove", _) if lower.starts_with("members[value eq \"") && lower.ends_with("\"]") => {
                let inner = &path["members[value eq \"".len()..path.len() - 2];
                remove.push(UserId(Uuid::parse_str(inner).ok()?));
            }
            _ => return None,
        }
    }
    (!add.is_empty() || !remove.is_empty()).then_some((add, remove))
}

#[cfg(test)]
mod member_change_tests {
    use super::*;
    use serde_json::json;

    const A: &str = "0190aaaa-0000-7000-8000-000000000001";
    const B: &str = "0190aaaa-0000-7000-8000-000000000002";

    fn ids(list: &[&str]) -> Vec<UserId> {
        list.iter()
            .map(|s| UserId(Uuid::parse_str(s).unwrap()))
            .collect()
    }

    #[test]
    fn okta_and_entra_member_forms_are_member_changes() {
        let okta = json!({"Operations": [
            {"op": "add", "path": "members", "value": [{"value": A, "display": "a"}]},
            {"op": "remove", "path": format!("members[value eq \"{B}\"]")}
        ]});
        assert_eq!(member_changes(&okta), Some((ids(&[A]), ids(&[B]))));
        let entra = json!({"Operations": [{"op": "Remove", "path": "members", "value": [{"value": A}, {"value": B}]}]});
        assert_eq!(member_changes(&entra), Some((vec![], ids(&[A, B]))));
    }

    #[test]
    fn anything_else_takes_the_general_path() {
        for body in [
            json!({"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}),
            json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "not-a-uuid"}]}]}),
            json!({"Operations": [{"op": "replace", "path": "members", "value": [{"value": A}]}]}),
            json!({"Operations": [{"op": "remove", "path": "members"}]}),
            json!({"Operations": []}),
            json!({}),
        ] {
            assert_eq!(member_changes(&body), None, "{body}");
        }
    }
}
