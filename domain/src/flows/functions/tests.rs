//! Tests of `flows::functions`.

use super::*;

fn call(kind: &str, inputs: Value) -> Result<Value, String> {
    run(kind, inputs.as_object().unwrap())
        .expect("a function card")
        .map(Value::Object)
}

fn out(kind: &str, inputs: Value) -> Value {
    call(kind, inputs).unwrap()["output"].clone()
}

#[test]
fn every_function_card_of_the_catalog_runs_here() {
    use super::super::catalog::{CardRole, catalog};
    for spec in catalog()
        .all()
        .iter()
        .filter(|c| c.role == CardRole::Function)
    {
        assert!(
            run(spec.key, &Map::new()).is_some(),
            "{} has no implementation",
            spec.key
        );
    }
    assert!(run("directory.read_user", &Map::new()).is_none());
}

#[test]
fn text() {
    assert_eq!(
        out(
            "text.concatenate",
            json!({"items": ["a", 1, true], "separator": "-"})
        ),
        "a-1-true"
    );
    assert_eq!(
        out("text.split", json!({"text": "a,b,,c", "separator": ","})),
        json!(["a", "b", "", "c"])
    );
    assert_eq!(
        out(
            "text.replace",
            json!({"text": "a.b.c", "find": ".", "replace": "/"})
        ),
        "a/b/c"
    );
    assert_eq!(
        out(
            "text.change_case",
            json!({"text": "ada LOVELACE", "case": "title"})
        ),
        "Ada Lovelace"
    );
    assert_eq!(out("text.trim", json!({"text": "  x "})), "x");
    assert_eq!(out("text.length", json!({"text": "héllo"})), 5);
    let matched = call(
        "text.regex_match",
        json!({"text": "ada@example.com", "pattern": "^(.+)@(.+)$"}),
    )
    .unwrap();
    assert_eq!(
        matched,
        json!({"matched": true, "groups": ["ada", "example.com"]})
    );
    assert!(
        call("text.regex_match", json!({"text": "x", "pattern": "("}))
            .unwrap_err()
            .starts_with("pattern: not a valid pattern")
    );
    assert_eq!(
        call("text.trim", json!({})).unwrap_err(),
        "text: has no value"
    );
    assert_eq!(
        call("text.trim", json!({"text": [1]})).unwrap_err(),
        "text: expects text, got a list"
    );
}

#[test]
fn numbers_and_truth() {
    assert_eq!(out("number.add", json!({"a": 2, "b": "3"})), 5);
    assert_eq!(out("number.subtract", json!({"a": 2.5, "b": 1})), 1.5);
    assert_eq!(
        out("number.compare", json!({"a": 2, "operator": ">=", "b": 2})),
        true
    );
    assert!(
        call("number.add", json!({"a": "two", "b": 1}))
            .unwrap_err()
            .contains("\"two\" is not a number")
    );
    assert_eq!(out("boolean.and", json!({"values": [true, false]})), false);
    assert_eq!(out("boolean.or", json!({"values": [true, false]})), true);
    assert_eq!(out("boolean.not", json!({"value": false})), true);
    assert_eq!(
        out(
            "boolean.compare",
            json!({"a": "Sales Ops", "operator": "starts with", "b": "Sales"})
        ),
        true
    );
    assert_eq!(
        out(
            "boolean.compare",
            json!({"a": 3, "operator": "equals", "b": "3"})
        ),
        true
    );
    assert_eq!(
        out(
            "boolean.compare",
            json!({"a": ["x"], "operator": "contains", "b": "x"})
        ),
        true
    );
    assert_eq!(
        out("boolean.compare", json!({"a": "", "operator": "is empty"})),
        true
    );
}

#[test]
fn dates_and_times() {
    assert_eq!(
        out(
            "datetime.add",
            json!({"date": "2026-11-23T09:00:00Z", "amount": 2, "unit": "days"})
        ),
        "2026-11-25T09:00:00Z"
    );
    assert_eq!(
        out(
            "datetime.format",
            json!({"date": "2026-11-23T09:00:00Z", "format": "%Y-%m-%d %H:%M", "time_zone": "Europe/Paris"})
        ),
        "2026-11-23 10:00"
    );
    assert_eq!(
        out(
            "datetime.parse",
            json!({"text": "23/11/2026 08:15", "format": "%d/%m/%Y %H:%M"})
        ),
        "2026-11-23T08:15:00Z"
    );
    assert_eq!(
        out("datetime.parse", json!({"text": "2026-11-23"})),
        "2026-11-23T00:00:00Z"
    );
    assert_eq!(
        out(
            "datetime.difference",
            json!({"start": "2026-11-01", "end": "2026-11-23T12:00:00Z", "unit": "days"})
        ),
        22
    );
    assert!(
        call(
            "datetime.format",
            json!({"date": "2026-11-23", "format": "%Q"})
        )
        .unwrap_err()
        .contains("not a valid date format")
    );
    assert!(
        call(
            "datetime.format",
            json!({"date": "2026-11-23", "format": "%Y", "time_zone": "Mars/Base"})
        )
        .unwrap_err()
        .contains("not a time zone")
    );
    assert!(
        out("datetime.now", json!({}))
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[test]
fn lists_objects_and_json() {
    let people = json!([{"name": "b", "dept": "IT"}, {"name": "a", "dept": "Sales"}, {"name": "c", "dept": "IT"}]);
    assert_eq!(out("list.count", json!({"list": people})), 3);
    assert_eq!(
        out(
            "list.filter",
            json!({"list": people, "condition": "item.dept == 'IT'"})
        ),
        json!([{"name": "b", "dept": "IT"}, {"name": "c", "dept": "IT"}])
    );
    assert_eq!(
        out("list.pluck", json!({"list": people, "key": "name"})),
        json!(["b", "a", "c"])
    );
    assert_eq!(
        out("list.sort", json!({"list": people, "key": "name"}))[0]["name"],
        "a"
    );
    assert_eq!(
        out("list.sort", json!({"list": [10, 9, 100]})),
        json!([9, 10, 100])
    );
    assert_eq!(out("list.join", json!({"list": ["a", "b"]})), "a, b");
    assert_eq!(
        out("list.get", json!({"list": ["a", "b"], "index": -1})),
        "b"
    );
    assert_eq!(
        out("list.get", json!({"list": ["a"], "index": 5})),
        Value::Null
    );
    assert_eq!(
        out("list.unique", json!({"list": [1, 2, 1]})),
        json!([1, 2])
    );
    assert_eq!(
        out("list.contains", json!({"list": [1, 2], "value": 2})),
        true
    );
    let user = json!({"profile": {"email": "ada@example.com"}, "groups": ["a", "b"]});
    assert_eq!(
        out(
            "object.get",
            json!({"object": user, "path": "profile.email"})
        ),
        "ada@example.com"
    );
    assert_eq!(
        out("object.get", json!({"object": user, "path": "groups.1"})),
        "b"
    );
    assert_eq!(
        out(
            "object.set",
            json!({"object": {}, "path": "a.b", "value": 1})
        ),
        json!({"a": {"b": 1}})
    );
    assert_eq!(
        out(
            "object.merge",
            json!({"objects": [{"a": 1, "b": 1}, {"b": 2}]})
        ),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        out("object.keys", json!({"object": {"b": 1, "a": 2}})),
        json!(["a", "b"])
    );
    assert_eq!(
        out("json.parse", json!({"text": "{\"a\": [1]}"})),
        json!({"a": [1]})
    );
    assert_eq!(
        out("json.stringify", json!({"value": {"a": 1}})),
        "{\"a\":1}"
    );
    assert_eq!(
        out(
            "json.query",
            json!({"value": people, "query": "$[?@.dept == 'IT'].name"})
        ),
        json!(["b", "c"])
    );
    assert!(
        call("json.query", json!({"value": {}, "query": "$[?"}))
            .unwrap_err()
            .starts_with("query: not a JSONPath")
    );
}
