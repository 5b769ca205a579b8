//! What a SCIM filter (RFC 7644 §3.4.2.2) means for a JSON resource.

use super::{ScimError, get_ci, known_urn};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;
use std::cmp::Ordering;

pub use scim_v2::filter::Filter as Parsed;

/// Parses a filter, turning a syntax error into `400 invalidFilter`.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    text.parse::<Filter>().map_err(|e| {
        ScimError::invalid_filter(format!(
            "The filter {:?} cannot be read: {}",
            super::shortened(text, 60),
            super::shortened(&e.to_string(), 160)
        ))
    })
}

/// Whether `resource` matches `filter`.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::Attr(exp) => attr_matches(exp, resource),
        Filter::ValuePath(vp) => resolve_raw(resource, &vp.attr)
            .into_iter()
            .flat_map(elements)
            .any(|element| val_matches(&vp.filter, element)),
        Filter::Not(inner) => !matches(inner, resource),
        Filter::And(items) => items.as_slice().iter().all(|f| matches(f, resource)),
        Filter::Or(items) => items.as_slice().iter().any(|f| matches(f, resource)),
    }
}

/// Whether one element of a multi-valued attribute matches a value-path filter.
pub fn val_matches(filter: &ValFilter, element: &Value) -> bool {
    match filter {
        ValFilter::Attr(exp) => attr_matches(exp, element),
        ValFilter::Not(inner) => !val_matches(inner, element),
        ValFilter::And(items) => items.as_slice().iter().all(|f| val_matches(f, element)),
        ValFilter::Or(items) => items.as_slice().iter().any(|f| val_matches(f, element)),
    }
}

fn elements(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// The value at `path` (an extension object when the path names its URN).
fn resolve_raw<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(object) = resource.as_object() else {
        return vec![];
    };
    let base = match path.uri.as_deref() {
        None => Some(object),
        Some(uri)
            if known_urn(uri).is_some_and(|u| {
                u.ends_with(":core:2.0:User") || u.ends_with(":core:2.0:Group")
            }) =>
        {
            Some(object)
        }
        Some(uri) => get_ci(object, uri).and_then(Value::as_object),
    };
    let Some(value) = base.and_then(|b| get_ci(b, &path.name)) else {
        return vec![];
    };
    match &path.sub_attr {
        None => vec![value],
        Some(sub) => elements(value)
            .into_iter()
            .filter_map(|e| e.as_object().and_then(|o| get_ci(o, sub)))
            .collect(),
    }
}

/// The values a comparison looks at: the elements of a multi-valued attribute, and
/// for complex elements without a named sub-attribute, their `value`.
fn resolve<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    resolve_raw(resource, path)
        .into_iter()
        .flat_map(elements)
        .filter_map(|v| match v {
            Value::Object(o) if path.sub_attr.is_none() => get_ci(o, "value"),
            other => Some(other),
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// Attributes whose string values compare with case (RFC 7643: `id`, `externalId`,
/// `meta.version` are caseExact).
pub(crate) fn case_exact(path: &AttrPath) -> bool {
    path.sub_attr.is_none()
        && ["id", "externalId"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&path.name))
        || path.name.eq_ignore_ascii_case("meta")
            && path
                .sub_attr
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("version"))
}

/// `meta.created` and `meta.lastModified`: dateTime attributes, which compare in time
/// (RFC 7644 §3.4.2.2) when the filter's value reads as an RFC 3339 time.
pub(crate) fn date_time(path: &AttrPath) -> bool {
    path.name.eq_ignore_ascii_case("meta")
        && path.sub_attr.as_deref().is_some_and(|s| {
            s.eq_ignore_ascii_case("created") || s.eq_ignore_ascii_case("lastModified")
        })
}

/// An RFC 3339 time, as a filter or a resource writes one.
pub(crate) fn instant(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The comparisons that put two times in order (the others compare text).
pub(crate) fn orders(op: &CompareOp) -> bool {
    !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
}

fn attr_matches(exp: &AttrExp, resource: &Value) -> bool {
    match exp {
        AttrExp::Present(path) => resolve(resource, path).into_iter().any(|v| match v {
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        }),
        AttrExp::Comparison(path, op, expected) => {
            let values = resolve(resource, path);
            if values.is_empty() {
                return matches!((op, expected), (CompareOp::Ne, v) if !matches!(v, CompValue::Null))
                    || matches!((op, expected), (CompareOp::Eq, CompValue::Null));
            }
            let exact = case_exact(path);
            let time = match expected {
                CompValue::Str(e) if date_time(path) && orders(op) => instant(e),
                _ => None,
            };
            values
                .into_iter()
                .any(|v| match (time, v.as_str().and_then(instant)) {
                    (Some(expected), Some(actual)) => ordering_op(op, actual.cmp(&expected)),
                    _ => compare(v, op, expected, exact),
                })
        }
    }
}

fn compare(actual: &Value, op: &CompareOp, expected: &CompValue, case_exact: bool) -> bool {
    match (actual, expected) {
        (Value::String(a), CompValue::Str(e)) => {
            let (a, e) = if case_exact {
                (a.clone(), e.clone())
            } else {
                (a.to_lowercase(), e.to_lowercase())
            };
            match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                CompareOp::Co => a.contains(&e),
                CompareOp::Sw => a.starts_with(&e),
                CompareOp::Ew => a.ends_with(&e),
                CompareOp::Gt => a > e,
                CompareOp::Ge => a >= e,
                CompareOp::Lt => a < e,
                CompareOp::Le => a <= e,
            }
        }
        (Value::Bool(a), CompValue::True) => bool_op(op, *a, true),
        (Value::Bool(a), CompValue::False) => bool_op(op, *a, false),
        // Some clients send booleans as strings ("True").
        (Value::String(a), CompValue::True) => bool_op(op, a.eq_ignore_ascii_case("true"), true),
        (Value::String(a), CompValue::False) => bool_op(op, a.eq_ignore_ascii_case("true"), false),
        (Value::Number(a), CompValue::Number(e)) => {
            let ordering = a
                .as_f64()
                .zip(e.as_f64())
                .and_then(|(a, e)| a.partial_cmp(&e));
            ordering.is_some_and(|o| ordering_op(op, o))
        }
        (_, CompValue::Null) => matches!(op, CompareOp::Ne),
        _ => matches!(op, CompareOp::Ne),
    }
}

fn bool_op(op: &CompareOp, actual: bool, expected: bool) -> bool {
    match op {
        CompareOp::Eq => actual == expected,
        CompareOp::Ne => actual != expected,
        _ => false,
    }
}

fn ordering_op(op: &CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// A lookup that finds, from an index, every group a filter can match (and perhaps a
/// few more, which the filter itself then turns away): the filter is, or is `and`ed
/// with, an equality on `id`, `displayName` or a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// `id eq` (compared with case).
    Id(String),
    /// An indexed value: `displayName eq`, or a member's id.
    Key(&'static str, String),
}

/// The user attributes idflow keeps a copy of for SCIM filters to run in the database
/// (`domain::scim::sql`): the kind of `user_keys` row each is kept under, its name and
/// sub-attribute. Each value is kept as [`filter_key`] makes it from what the in-memory
/// filter would compare, so the database answers exactly as [`matches`] would.
pub const FILTER_PATHS: [(&str, &str, Option<&str>); 5] = [
    ("f:userName", "userName", None),
    ("f:externalId", "externalId", None),
    ("f:displayName", "displayName", None),
    ("f:emails", "emails", None),
    ("f:emails.value", "emails", Some("value")),
];

/// The longest value (in bytes) a filter key may hold: a longer one would not fit a
/// PostgreSQL index entry.
pub const MAX_KEY_BYTES: usize = 2000;

/// One value of a filtered attribute as kept: a string as `s:` and the string
/// (lowercased unless the attribute compares with case), a boolean as `b:true` or
/// `b:false`, anything else as `o:` and its JSON. Strings sort among themselves as they
/// compare in memory (byte order), after every boolean and other value.
pub fn filter_key(value: &Value, case_exact: bool) -> String {
    match value {
        Value::String(s) if case_exact => format!("s:{s}"),
        Value::String(s) => format!("s:{}", s.to_lowercase()),
        Value::Bool(b) => format!("b:{b}"),
        other => format!("o:{other}"),
    }
}

/// The path of a [`FILTER_PATHS`] entry.
pub(crate) fn filter_path(name: &str, sub: Option<&str>) -> AttrPath {
    AttrPath {
        uri: None,
        name: name.to_string(),
        sub_attr: sub.map(str::to_string),
    }
}

/// Every `(kind, key)` of [`FILTER_PATHS`] a user resource holds: one for each value
/// the in-memory filter would compare.
pub fn filter_keys(resource: &Value) -> Vec<(&'static str, String)> {
    let mut keys: Vec<(&'static str, String)> = FILTER_PATHS
        .iter()
        .flat_map(|(kind, name, sub)| {
            let path = filter_path(name, *sub);
            let exact = case_exact(&path);
            resolve(resource, &path)
                .into_iter()
                .map(|v| (*kind, filter_key(v, exact)))
                .collect::<Vec<_>>()
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Whether `path` names the core User attribute `name` (with sub-attribute `sub`).
pub(crate) fn names(path: &AttrPath, name: &str, sub: Option<&str>) -> bool {
    names_in(super::CORE_USER, path, name, sub)
}

/// Whether `path` names the attribute `name` (with sub-attribute `sub`) of the core
/// schema `urn`.
fn names_in(urn: &str, path: &AttrPath, name: &str, sub: Option<&str>) -> bool {
    path.uri
        .as_deref()
        .is_none_or(|uri| uri.eq_ignore_ascii_case(urn))
        && path.name.eq_ignore_ascii_case(name)
        && match (path.sub_attr.as_deref(), sub) {
            (None, None) => true,
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
}

/// The value a value-path filter (`attr[value eq "…"]`, alone or `and`ed) asks for.
fn value_equality(filter: &ValFilter) -> Option<&str> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(value)))
            if path.uri.is_none()
                && path.sub_attr.is_none()
                && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(value)
        }
        ValFilter::And(items) => items.as_slice().iter().find_map(value_equality),
        _ => None,
    }
}

/// The lookup that finds every group `filter` can match, if there is one: `id`,
/// `displayName` or a member (`members.value eq`, `members eq`, `members[value eq …]`).
pub fn group_anchor(filter: &Filter) -> Option<Anchor> {
    let names = |path: &AttrPath, name: &str, sub: Option<&str>| {
        names_in(super::CORE_GROUP, path, name, sub)
    };
    match filter {
        Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(value))) => {
            if names(path, "id", None) {
                Some(Anchor::Id(value.clone()))
            } else if names(path, "displayName", None) {
                Some(Anchor::Key("display_name", value.clone()))
            } else if names(path, "members", Some("value")) || names(path, "members", None) {
                Some(Anchor::Key("member", value.clone()))
            } else {
                None
            }
        }
        Filter::ValuePath(vp) if names(&vp.attr, "members", None) => {
            value_equality(&vp.filter).map(|v| Anchor::Key("member", v.to_string()))
        }
        Filter::And(items) => items.as_slice().iter().find_map(group_anchor),
        _ => None,
    }
}

#[cfg(test)]
mod short_errors {
    use super::*;

    #[test]
    fn no_panic_from_input_and_short_filter_errors() {
        let deep = format!(
            "{}userName eq \"a\"{}",
            "(".repeat(40_000),
            ")".repeat(40_000)
        );
        let err = parse(&deep).unwrap_err();
        assert!(
            err.detail.chars().count() <= crate::scim::MAX_DETAIL + 1,
            "{}",
            err.detail.len()
        );
        let err = parse(&format!("userName eq \"{}é", "x".repeat(100_000))).unwrap_err();
        assert!(err.detail.chars().count() <= crate::scim::MAX_DETAIL + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [super::super::CORE_USER, super::super::ENTERPRISE_USER],
            "id": "2819c223",
            "externalId": "Ext-1",
            "userName": "Bjensen@Example.com",
            "active": true,
            "title": "Tour Guide",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"type": "work", "value": "bjensen@example.com", "primary": true},
                {"type": "home", "value": "babs@jensen.org"}
            ],
            "meta": {"lastModified": "2011-05-13T04:42:34Z", "resourceType": "User"},
            super::super::ENTERPRISE_USER: {"department": "Tour Operations", "manager": {"value": "26118915"}}
        })
    }

    fn check(filter: &str) -> bool {
        matches(&parse(filter).unwrap(), &user())
    }

    #[test]
    fn every_operator() {
        assert!(check(r#"userName eq "bjensen@example.com""#));
        assert!(check(r#"USERNAME Eq "BJENSEN@EXAMPLE.COM""#));
        assert!(check(r#"userName ne "someone""#));
        assert!(check(r#"name.familyName co "ens""#));
        assert!(check(r#"userName sw "bjen""#));
        assert!(check(r#"userName ew "example.com""#));
        assert!(check("title pr"));
        assert!(!check("nickName pr"));
        assert!(check(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
        assert!(check(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#));
        assert!(check(r#"meta.lastModified lt "2012-01-01T00:00:00Z""#));
        assert!(check(r#"meta.lastModified le "2011-05-13T04:42:34Z""#));
        // Times compare in time, whatever their precision or offset.
        assert!(check(r#"meta.lastModified eq "2011-05-13T04:42:34.000Z""#));
        assert!(check(
            r#"meta.lastModified gt "2011-05-13T06:42:33.5+02:00""#
        ));
        assert!(!check(r#"meta.lastModified gt "2011-05-13T04:42:34.001Z""#));
        // Text that is no time compares as text.
        assert!(check(r#"meta.lastModified gt "2011-05""#));
        assert!(check("active eq true"));
        assert!(!check("active eq false"));
    }

    #[test]
    fn logic_and_grouping() {
        assert!(check(r#"title pr and userName sw "b""#));
        assert!(check(r#"title eq "nope" or userName sw "b""#));
        assert!(check(r#"not (title eq "nope")"#));
        assert!(check(
            r#"(title eq "nope" or title eq "tour guide") and active eq true"#
        ));
    }

    #[test]
    fn multi_valued_and_value_paths() {
        assert!(check(r#"emails co "jensen.org""#));
        assert!(check(r#"emails.value eq "babs@jensen.org""#));
        assert!(check(
            r#"emails[type eq "work" and value co "@example.com"]"#
        ));
        assert!(!check(
            r#"emails[type eq "work" and value co "jensen.org"]"#
        ));
    }

    #[test]
    fn extension_attributes_by_urn() {
        assert!(check(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#
        ));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#
        ));
    }

    #[test]
    fn ids_compare_with_case() {
        assert!(check(r#"externalId eq "Ext-1""#));
        assert!(!check(r#"externalId eq "ext-1""#));
    }

    #[test]
    fn a_broken_filter_is_an_invalid_filter_error() {
        let err = parse(r#"userName eq"#).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidFilter"));
        assert_eq!(err.status, 400);
    }
}
