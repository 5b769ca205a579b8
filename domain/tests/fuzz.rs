//! Property tests over what comes from outside: SCIM filters and PATCH bodies from
//! identity providers, templates and flow JSON from people. None of them may panic, and
//! what the filter parser and PATCH accept round-trips. Each property runs a bounded
//! number of cases so the whole file takes seconds in `make test`.

use domain::scim::{filter, patch};
use proptest::prelude::*;
use serde_json::{Value, json};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Attribute paths identity providers filter and patch on, and a few odd ones.
fn attribute() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_string()),
        Just("externalId".to_string()),
        Just("displayName".to_string()),
        Just("active".to_string()),
        Just("title".to_string()),
        Just("emails.value".to_string()),
        Just("emails.type".to_string()),
        Just("name.givenName".to_string()),
        Just("name.familyName".to_string()),
        Just("meta.lastModified".to_string()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".to_string()),
        "[a-zA-Z][a-zA-Z0-9]{0,8}",
    ]
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9@._ é-]{0,12}".prop_map(|s| format!("\"{s}\"")),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
        (-1000i64..1000).prop_map(|n| n.to_string()),
    ]
}

/// Filters as RFC 7644 writes them, nested a few levels.
fn filter_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (
            attribute(),
            prop_oneof![
                Just("eq"),
                Just("ne"),
                Just("co"),
                Just("sw"),
                Just("ew"),
                Just("gt"),
                Just("ge"),
                Just("lt"),
                Just("le")
            ],
            literal()
        )
            .prop_map(|(a, op, v)| format!("{a} {op} {v}")),
        attribute().prop_map(|a| format!("{a} pr")),
        (literal()).prop_map(|v| format!("emails[type eq {v}]")),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

fn user_resource() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "0190aaaa-0000-7000-8000-000000000001",
        "userName": "ada@example.com",
        "displayName": "Ada Lovelace",
        "active": true,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
    })
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn filter_parsing_never_panics(text in "\\PC{0,80}") {
        let _ = filter::parse(&text);
    }

    #[test]
    fn accepted_filters_round_trip(text in filter_text()) {
        if let Ok(parsed) = filter::parse(&text) {
            let again = filter::parse(&parsed.to_string())
                .unwrap_or_else(|e| panic!("{text:?} printed as {:?}, which does not parse: {e}", parsed.to_string()));
            prop_assert_eq!(&again, &parsed);
            // And it means the same for a user.
            let user = user_resource();
            prop_assert_eq!(filter::matches(&again, &user), filter::matches(&parsed, &user));
        }
    }

    #[test]
    fn patch_apply_never_panics(
        op in prop_oneof![
            Just("add".to_string()),
            Just("replace".to_string()),
            Just("remove".to_string()),
            Just("Replace".to_string()),
            "\\PC{0,6}",
        ],
        path in prop_oneof![attribute(), attribute().prop_map(|a| format!("emails[type eq \"work\"].{a}")), "\\PC{0,20}"],
        value in prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            "\\PC{0,10}".prop_map(Value::String),
            Just(json!({"givenName": "X", "active": false})),
            Just(json!([{"value": "x@example.com", "type": "home"}])),
        ],
        with_path in any::<bool>(),
    ) {
        let mut operation = json!({"op": op, "value": value});
        if with_path {
            operation["path"] = json!(path);
        }
        let body = json!({"schemas": [domain::scim::PATCH_OP], "Operations": [operation]});
        let mut resource = user_resource();
        let before = resource.clone();
        match patch::apply(&mut resource, &body) {
            Ok(()) => {
                // What a replace or remove did, doing it again changes nothing more.
                if op.eq_ignore_ascii_case("replace") || op.eq_ignore_ascii_case("remove") {
                    let mut twice = resource.clone();
                    if patch::apply(&mut twice, &body).is_ok() {
                        prop_assert_eq!(twice, resource.clone());
                    }
                }
                let _ = domain::scim::user::parse(&resource);
            }
            // A refused PATCH leaves the resource as it was.
            Err(_) => prop_assert_eq!(resource, before),
        }
    }

    #[test]
    fn template_rendering_never_panics(
        template in prop_oneof![
            "\\PC{0,60}",
            "[{}%|a-z() .'\"0-9~*+-]{0,60}",
            ("[a-z_. ]{0,20}", "[a-z]{0,8}").prop_map(|(a, f)| format!("{{{{ {a} | {f} }}}}")),
        ]
    ) {
        let context = json!({"trigger": {"user": {"email": "ada@example.com"}}, "card_1": {"output": [1, 2, 3]}});
        let _ = domain::flows::expressions::render(&template, &context);
        let _ = domain::flows::expressions::evaluate(&template, &context);
        let _ = domain::flows::expressions::holds(&template, &context);
    }
}

/// Any JSON at all, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_string()),
                    Just("trigger".to_string()),
                    Just("cards".to_string()),
                    Just("kind".to_string()),
                    Just("inputs".to_string()),
                    Just("lanes".to_string()),
                    Just("flows".to_string()),
                    Just("tables".to_string()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn flow_json_import_never_panics(value in json_value()) {
        let _ = domain::flows::bundle::Bundle::read(&value.to_string());
    }

    #[test]
    fn a_mutated_template_flow_imports_or_is_refused(
        which in 0usize..5,
        path in prop::collection::vec(0usize..6, 1..5),
        replacement in json_value(),
    ) {
        let templates = domain::flows::templates::templates();
        let flow = &templates[which % templates.len()].flows[0];
        let mut value = serde_json::to_value(flow).unwrap();
        // Replace something somewhere inside the flow with anything.
        let mut pointer = String::new();
        let mut at = &value;
        for step in path {
            let next = match at {
                Value::Object(o) if !o.is_empty() => {
                    let key = o.keys().nth(step % o.len()).cloned().unwrap();
                    pointer.push('/');
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    o.get(&key)
                }
                Value::Array(a) if !a.is_empty() => {
                    pointer.push_str(&format!("/{}", step % a.len()));
                    a.get(step % a.len())
                }
                _ => None,
            };
            match next {
                Some(inner) => at = inner,
                None => break,
            }
        }
        if let Some(target) = value.pointer_mut(&pointer) {
            *target = replacement;
        }
        if let Ok(bundle) = domain::flows::bundle::Bundle::read(&value.to_string()) {
            for entry in &bundle.flows {
                let _ = domain::flows::validate::validate(&entry.flow, domain::flows::catalog::catalog());
                let _ = domain::flows::needs::beyond_rights(
                    &entry.flow,
                    &domain::access::Rights::of(domain::access::Role::WorkflowsAdministrator),
                );
            }
        }
    }
}
