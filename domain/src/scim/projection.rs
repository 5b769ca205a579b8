//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes of a
//! resource a SCIM answer carries. `id` and `schemas` are always returned; a sub-attribute
//! (`name.givenName`, `urn:…:User:department`) keeps just that part of its parent.

use serde_json::{Map, Value};

/// `resource` with only the attributes `attributes` names (all when `None`), less those
/// `excluded` names. Names are compared without regard to case.
pub fn project(resource: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let Value::Object(object) = resource else {
        return resource;
    };
    let names = |list: Option<&str>| -> Vec<String> {
        list.map(|l| {
            l.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
    };
    let (wanted, unwanted) = (names(attributes), names(excluded));
    let always = |k: &str| k.eq_ignore_ascii_case("id") || k.eq_ignore_ascii_case("schemas");
    let mut out = Map::new();
    for (key, value) in object {
        let matching = |list: &[String]| -> Vec<Option<String>> {
            list.iter()
                .filter_map(|n| {
                    if n.eq_ignore_ascii_case(&key) {
                        Some(None)
                    } else if let (Some(head), Some(b'.' | b':'), Some(rest)) = (
                        n.get(..key.len()),
                        n.as_bytes().get(key.len()),
                        n.get(key.len() + 1..),
                    ) && head.eq_ignore_ascii_case(&key)
                        && !rest.is_empty()
                    {
                        Some(Some(rest.to_string()))
                    } else {
                        None
                    }
                })
                .collect()
        };
        if always(&key) {
            out.insert(key, value);
            continue;
        }
        if !wanted.is_empty() {
            let hits = matching(&wanted);
            if hits.is_empty() {
                continue;
            }
            if hits.iter().any(Option::is_none) {
                out.insert(key, value);
            } else if let Value::Object(inner) = &value {
                let kept: Map<String, Value> = inner
                    .iter()
                    .filter(|(k, _)| hits.iter().flatten().any(|h| h.eq_ignore_ascii_case(k)))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                out.insert(key, Value::Object(kept));
            }
            continue;
        }
        let hits = matching(&unwanted);
        if hits.iter().any(Option::is_none) {
            continue;
        }
        match value {
            Value::Object(mut inner) if !hits.is_empty() => {
                inner.retain(|k, _| !hits.iter().flatten().any(|h| h.eq_ignore_ascii_case(k)));
                out.insert(key, Value::Object(inner));
            }
            other => {
                out.insert(key, other);
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projection_keeps_what_is_asked_for() {
        let user = json!({"id": "1", "schemas": ["s"], "userName": "ada", "name": {"givenName": "Ada", "familyName": "L"}, "title": "x"});
        assert_eq!(
            project(user.clone(), Some("userName,name.givenName"), None),
            json!({"id": "1", "schemas": ["s"], "userName": "ada", "name": {"givenName": "Ada"}})
        );
        assert_eq!(
            project(user, None, Some("name,TITLE")),
            json!({"id": "1", "schemas": ["s"], "userName": "ada"})
        );
    }

    #[test]
    fn no_panic_from_input_in_attribute_names() {
        let user = json!({"id": "1", "userName": "ada", "é": 1, "name": {"givenName": "Ada"}});
        for names in [
            "aaaaaaaé.x",
            "é",
            "éé.x",
            "name.",
            "userNamé",
            "nam\u{e9}.givenName",
            ".",
            "",
        ] {
            let _ = project(user.clone(), Some(names), None);
            let _ = project(user.clone(), None, Some(names));
        }
        assert_eq!(
            project(user.clone(), Some("é"), None),
            json!({"id": "1", "é": 1})
        );
    }
}
