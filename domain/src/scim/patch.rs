//! SCIM PATCH (RFC 7644 §3.5.2) on a JSON resource, accepting the forms Okta and
//! Entra ID send: capitalised `op` values, path-less operations whose keys are dotted
//! (`name.givenName`) or extension URNs, value paths (`emails[type eq "work"].value`,
//! `members[value eq "…"]`), and member removal with a value array.

use super::filter::val_matches;
use super::{ScimError, USER_EXTENSIONS, get_ci, key_ci, known_urn, remove_ci, set_ci};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies every operation of a PatchOp request body to `resource`, in order. Either all
/// apply or the resource is left as it was.
pub fn apply(resource: &mut Value, body: &Value) -> Result<(), ScimError> {
    let body = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("A PATCH body must be a JSON object."))?;
    let operations = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("A PATCH body needs an \"Operations\" array."))?;
    let mut working = resource.clone();
    for (i, operation) in operations.iter().enumerate() {
        apply_one(&mut working, operation).map_err(|e| ScimError {
            detail: format!("Operation {}: {}", i + 1, e.detail),
            ..e
        })?;
    }
    *resource = working;
    Ok(())
}

fn apply_one(resource: &mut Value, operation: &Value) -> Result<(), ScimError> {
    let operation = operation
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("each operation must be a JSON object"))?;
    let op = match get_ci(operation, "op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => Op::Add,
        Some("replace") => Op::Replace,
        Some("remove") => Op::Remove,
        other => {
            return Err(ScimError::invalid_syntax(format!(
                "\"op\" must be add, replace or remove, not {other:?}"
            )));
        }
    };
    let value = get_ci(operation, "value").cloned();
    let path = get_ci(operation, "path")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let root = resource
        .as_object_mut()
        .ok_or_else(|| ScimError::invalid_syntax("the resource is not an object"))?;

    match path {
        None => {
            if op == Op::Remove {
                return Err(ScimError::no_target("a remove operation needs a \"path\""));
            }
            let Some(Value::Object(values)) = value else {
                return Err(ScimError::invalid_value(
                    "an operation without a path needs an object \"value\"",
                ));
            };
            for (key, v) in values {
                apply_pathless(root, &key, v, op)?;
            }
            Ok(())
        }
        // A whole extension named by its URN: `"path": "urn:…:enterprise:2.0:User"`.
        Some(path) if known_urn(path).is_some_and(|u| USER_EXTENSIONS.contains(&u)) => {
            let urn = known_urn(path).expect("checked");
            match (op, value) {
                (Op::Remove, _) => {
                    remove_ci(root, urn);
                    Ok(())
                }
                (_, Some(Value::Object(fields))) => {
                    if op == Op::Replace {
                        remove_ci(root, urn);
                    }
                    let target = container(root, Some(urn), true)?.expect("created");
                    for (name, v) in fields {
                        set_or_add(target, &name, v, op);
                    }
                    Ok(())
                }
                _ => Err(ScimError::invalid_value(format!(
                    "{urn} must hold an object"
                ))),
            }
        }
        Some(path) => {
            let parsed: PatchPath = path.parse().map_err(|e| {
                ScimError::invalid_path(format!("the path {path:?} cannot be read: {e}"))
            })?;
            match parsed {
                PatchPath::Attr(attr) => apply_attr(root, &attr, value, op),
                PatchPath::Value(vp) => apply_value_path(
                    root,
                    &vp.attr,
                    &vp.filter,
                    vp.sub_attr.as_deref(),
                    value,
                    op,
                ),
            }
        }
    }
}

/// The object an attribute path lives in: the resource itself, or an extension's
/// object (created when a value is being set).
fn container<'a>(
    root: &'a mut Map<String, Value>,
    uri: Option<&str>,
    create: bool,
) -> Result<Option<&'a mut Map<String, Value>>, ScimError> {
    let Some(uri) = uri else {
        return Ok(Some(root));
    };
    let canonical =
        known_urn(uri).ok_or_else(|| ScimError::invalid_path(format!("unknown schema {uri}")))?;
    if canonical.contains(":core:") {
        return Ok(Some(root));
    }
    if key_ci(root, canonical).is_none() {
        if !create {
            return Ok(None);
        }
        root.insert(canonical.to_string(), Value::Object(Map::new()));
    }
    let key = key_ci(root, canonical).expect("just inserted");
    Ok(root.get_mut(&key).and_then(Value::as_object_mut))
}

fn apply_pathless(
    root: &mut Map<String, Value>,
    key: &str,
    value: Value,
    op: Op,
) -> Result<(), ScimError> {
    // An extension's whole object: {"urn:…:enterprise:2.0:User": {"department": "…"}}
    if let Some(urn) = known_urn(key).filter(|u| USER_EXTENSIONS.contains(u)) {
        let Value::Object(fields) = value else {
            return Err(ScimError::invalid_value(format!(
                "{key} must hold an object"
            )));
        };
        let target = container(root, Some(urn), true)?.expect("created");
        for (name, v) in fields {
            set_or_add(target, &name, v, op);
        }
        return Ok(());
    }
    // One extension attribute: {"urn:…:enterprise:2.0:User:manager.value": "…"}
    for urn in USER_EXTENSIONS {
        if key.len() > urn.len() + 1
            && key[..urn.len()].eq_ignore_ascii_case(urn)
            && key.as_bytes()[urn.len()] == b':'
        {
            let attr = parse_attr(&key[urn.len() + 1..])?;
            let target = container(root, Some(urn), true)?.expect("created");
            return set_attr(target, &attr, value, op);
        }
    }
    let attr = parse_attr(key)?;
    set_attr(root, &attr, value, op)
}

fn parse_attr(text: &str) -> Result<AttrPath, ScimError> {
    match text.parse::<PatchPath>() {
        Ok(PatchPath::Attr(attr)) => Ok(attr),
        _ => Err(ScimError::invalid_path(format!(
            "{text:?} is not an attribute name"
        ))),
    }
}

fn set_attr(
    target: &mut Map<String, Value>,
    attr: &AttrPath,
    value: Value,
    op: Op,
) -> Result<(), ScimError> {
    match &attr.sub_attr {
        None => set_or_add(target, &attr.name, value, op),
        Some(sub) => {
            let key = key_ci(target, &attr.name).unwrap_or_else(|| attr.name.clone());
            let entry = target
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            match entry {
                Value::Object(inner) => set_ci(inner, sub, value),
                Value::Array(items) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        set_ci(item, sub, value.clone());
                    }
                }
                other => {
                    *other = Value::Object(Map::from_iter([(sub.clone(), value)]));
                }
            }
        }
    }
    Ok(())
}

/// `add` appends to multi-valued attributes and merges complex ones; `replace` sets.
fn set_or_add(target: &mut Map<String, Value>, name: &str, value: Value, op: Op) {
    let key = key_ci(target, name);
    match (op, key.as_ref().and_then(|k| target.get_mut(k)), value) {
        (Op::Add, Some(Value::Array(existing)), Value::Array(new)) => {
            for item in new {
                if !existing.contains(&item) {
                    existing.push(item);
                }
            }
        }
        (Op::Add, Some(Value::Array(existing)), item @ Value::Object(_)) => {
            if !existing.contains(&item) {
                existing.push(item);
            }
        }
        (_, Some(Value::Object(existing)), Value::Object(new)) => {
            for (k, v) in new {
                set_ci(existing, &k, v);
            }
        }
        (_, _, value) => set_ci(target, name, value),
    }
}

fn apply_attr(
    root: &mut Map<String, Value>,
    attr: &AttrPath,
    value: Option<Value>,
    op: Op,
) -> Result<(), ScimError> {
    match op {
        Op::Add | Op::Replace => {
            let value = value
                .ok_or_else(|| ScimError::invalid_value("add and replace need a \"value\""))?;
            let target = container(root, attr.uri.as_deref(), true)?.expect("created");
            set_attr(target, attr, value, op)
        }
        Op::Remove => {
            let Some(target) = container(root, attr.uri.as_deref(), false)? else {
                return Ok(());
            };
            match (&attr.sub_attr, value) {
                (None, Some(Value::Array(values))) => {
                    // Entra ID: {"op":"Remove","path":"members","value":[{"value":"…"}]}
                    if let Some(Value::Array(items)) =
                        key_ci(target, &attr.name).and_then(|k| target.get_mut(&k))
                    {
                        let doomed: Vec<Value> =
                            values.iter().filter_map(|v| value_of(v).cloned()).collect();
                        items.retain(|item| !value_of(item).is_some_and(|v| doomed.contains(v)));
                    }
                }
                (None, _) => {
                    remove_ci(target, &attr.name);
                }
                (Some(sub), _) => match key_ci(target, &attr.name).and_then(|k| target.get_mut(&k))
                {
                    Some(Value::Object(inner)) => {
                        remove_ci(inner, sub);
                    }
                    Some(Value::Array(items)) => {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            remove_ci(item, sub);
                        }
                    }
                    _ => {}
                },
            }
            Ok(())
        }
    }
}

/// The `value` of a multi-valued element, or the element itself when it is plain.
fn value_of(item: &Value) -> Option<&Value> {
    match item {
        Value::Object(o) => get_ci(o, "value"),
        other => Some(other),
    }
}

fn apply_value_path(
    root: &mut Map<String, Value>,
    attr: &AttrPath,
    filter: &ValFilter,
    sub_attr: Option<&str>,
    value: Option<Value>,
    op: Op,
) -> Result<(), ScimError> {
    let create = op != Op::Remove;
    let Some(target) = container(root, attr.uri.as_deref(), create)? else {
        return Ok(());
    };
    let key = key_ci(target, &attr.name).unwrap_or_else(|| attr.name.clone());
    if op == Op::Remove {
        if let Some(Value::Array(items)) = target.get_mut(&key) {
            match sub_attr {
                None => items.retain(|item| !val_matches(filter, item)),
                Some(sub) => {
                    for item in items
                        .iter_mut()
                        .filter(|i| val_matches(filter, i))
                        .filter_map(Value::as_object_mut)
                    {
                        remove_ci(item, sub);
                    }
                }
            }
        }
        return Ok(());
    }
    let value =
        value.ok_or_else(|| ScimError::invalid_value("add and replace need a \"value\""))?;
    let entry = target.entry(key).or_insert_with(|| Value::Array(vec![]));
    let Value::Array(items) = entry else {
        return Err(ScimError::invalid_path(format!(
            "{} is not multi-valued",
            attr.name
        )));
    };
    let mut matched = false;
    for item in items.iter_mut().filter(|i| val_matches(filter, i)) {
        matched = true;
        match (sub_attr, item.as_object_mut()) {
            (Some(sub), Some(object)) => set_ci(object, sub, value.clone()),
            (None, Some(object)) => {
                if let Value::Object(fields) = &value {
                    for (k, v) in fields {
                        set_ci(object, k, v.clone());
                    }
                }
            }
            (_, None) => {}
        }
    }
    if !matched {
        // Entra ID sets `emails[type eq "work"].value` on users who have no work email
        // yet: make the element the filter describes.
        let Some(mut element) = element_from_filter(filter) else {
            return Err(ScimError::no_target(format!(
                "no {} element matches the filter",
                attr.name
            )));
        };
        match (sub_attr, value) {
            (Some(sub), v) => {
                element.insert(sub.to_string(), v);
            }
            (None, Value::Object(fields)) => element.extend(fields),
            (None, _) => return Err(ScimError::invalid_value("the value must be an object")),
        }
        items.push(Value::Object(element));
    }
    Ok(())
}

/// The element a simple equality filter (`type eq "work"`) describes.
fn element_from_filter(filter: &ValFilter) -> Option<Map<String, Value>> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(v)))
            if path.sub_attr.is_none() =>
        {
            Some(Map::from_iter([(
                path.name.clone(),
                Value::String(v.clone()),
            )]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(resource: Value, ops: Value) -> Value {
        let mut r = resource;
        apply(
            &mut r,
            &json!({"schemas": [super::super::PATCH_OP], "Operations": ops}),
        )
        .unwrap();
        r
    }

    #[test]
    fn okta_path_less_replace_of_active() {
        let r = patched(
            json!({"userName": "a", "active": true}),
            json!([{"op": "replace", "value": {"active": false}}]),
        );
        assert_eq!(r["active"], false);
    }

    #[test]
    fn entra_capitalised_ops_dotted_and_urn_keys() {
        let r = patched(
            json!({"userName": "a", "name": {"givenName": "A"}}),
            json!([{"op": "Replace", "value": {
                "name.familyName": "Lovelace",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Math",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "m1",
                "active": "False"
            }}]),
        );
        assert_eq!(
            r["name"],
            json!({"givenName": "A", "familyName": "Lovelace"})
        );
        assert_eq!(r[super::super::ENTERPRISE_USER]["department"], "Math");
        assert_eq!(r[super::super::ENTERPRISE_USER]["manager"]["value"], "m1");
        assert_eq!(
            r["active"], "False",
            "coercion to a boolean happens at validation"
        );
    }

    #[test]
    fn entra_work_email_value_path_creates_or_updates() {
        let r = patched(
            json!({"userName": "a"}),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@x"}]),
        );
        assert_eq!(r["emails"], json!([{"type": "work", "value": "a@x"}]));
        let r = patched(
            r,
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "b@x"}]),
        );
        assert_eq!(r["emails"], json!([{"type": "work", "value": "b@x"}]));
    }

    #[test]
    fn member_removal_forms() {
        let group = json!({"displayName": "g", "members": [{"value": "1"}, {"value": "2"}, {"value": "3"}]});
        let r = patched(
            group.clone(),
            json!([{"op": "remove", "path": "members[value eq \"2\"]"}]),
        );
        assert_eq!(r["members"], json!([{"value": "1"}, {"value": "3"}]));
        let r = patched(
            group,
            json!([{"op": "Remove", "path": "members", "value": [{"value": "1"}, {"value": "3"}]}]),
        );
        assert_eq!(r["members"], json!([{"value": "2"}]));
    }

    #[test]
    fn add_appends_to_multi_valued_attributes() {
        let r = patched(
            json!({"members": [{"value": "1"}]}),
            json!([{"op": "add", "path": "members", "value": [{"value": "2"}, {"value": "1"}]}]),
        );
        assert_eq!(r["members"], json!([{"value": "1"}, {"value": "2"}]));
    }

    #[test]
    fn remove_of_an_attribute_and_a_sub_attribute() {
        let r = patched(
            json!({"title": "x", "name": {"givenName": "A", "familyName": "B"}}),
            json!([
                {"op": "remove", "path": "title"},
                {"op": "remove", "path": "name.familyName"}
            ]),
        );
        assert_eq!(r, json!({"name": {"givenName": "A"}}));
    }

    #[test]
    fn a_whole_extension_by_its_urn() {
        let ext = super::super::ENTERPRISE_USER;
        let r = patched(
            json!({"userName": "a", ext: {"department": "A", "division": "D"}}),
            json!([{"op": "replace", "path": ext, "value": {"department": "B"}}]),
        );
        assert_eq!(r[ext], json!({"department": "B"}));
        let r = patched(
            r,
            json!([{"op": "add", "path": ext, "value": {"costCenter": "42"}}]),
        );
        assert_eq!(r[ext], json!({"department": "B", "costCenter": "42"}));
        let r = patched(r, json!([{"op": "remove", "path": ext}]));
        assert_eq!(r, json!({"userName": "a"}));
    }

    #[test]
    fn bad_operations_are_named_and_change_nothing() {
        let mut r = json!({"title": "x"});
        let err = apply(&mut r, &json!({"Operations": [{"op": "replace", "path": "title", "value": "y"}, {"op": "move"}]})).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidSyntax"));
        assert!(err.detail.starts_with("Operation 2"), "{}", err.detail);
        assert_eq!(r, json!({"title": "x"}));
        let err = apply(&mut r, &json!({"Operations": [{"op": "remove"}]})).unwrap_err();
        assert_eq!(err.scim_type, Some("noTarget"));
        let err = apply(
            &mut r,
            &json!({"Operations": [{"op": "add", "path": "emails[type eq", "value": 1}]}),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some("invalidPath"));
    }
}
