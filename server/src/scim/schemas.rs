//! The schemas idflow serves at `/scim/v2/Schemas` (RFC 7643 §7 and §8.7): the core
//! User, the enterprise extension and idflow's role extension. Written as a compact
//! description, expanded to the RFC's attribute definitions.

use domain::access::Role;
use domain::scim::{CORE_GROUP, CORE_USER, ENTERPRISE_USER, IDFLOW_USER};
use serde_json::{Value, json};

/// One attribute definition with the RFC's defaults: optional, single-valued,
/// case-insensitive, read-write, returned by default, not unique.
fn attr(name: &str, kind: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": name,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    })
}

fn with(mut a: Value, key: &str, value: Value) -> Value {
    a[key] = value;
    a
}

fn complex(name: &str, sub: Vec<Value>) -> Value {
    with(attr(name, "complex"), "subAttributes", Value::Array(sub))
}

fn multi(a: Value) -> Value {
    with(a, "multiValued", json!(true))
}

/// A multi-valued complex attribute with `value`, `display`, `type` and `primary`.
fn plural(name: &str, value_kind: &str, types: &[&str]) -> Value {
    let mut kind = attr("type", "string");
    if !types.is_empty() {
        kind = with(kind, "canonicalValues", json!(types));
    }
    multi(complex(
        name,
        vec![
            attr("value", value_kind),
            attr("display", "string"),
            kind,
            attr("primary", "boolean"),
        ],
    ))
}

fn reference(name: &str, types: &[&str]) -> Value {
    with(attr(name, "reference"), "referenceTypes", json!(types))
}

fn schema(id: &str, name: &str, description: &str, attributes: Vec<Value>, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/scim/v2/Schemas/{id}")},
    })
}

pub fn user(base: &str) -> Value {
    let user_name = with(
        with(
            with(attr("userName", "string"), "required", json!(true)),
            "uniqueness",
            json!("server"),
        ),
        "description",
        json!(
            "Unique identifier for the user, usually an email address; unique regardless of case."
        ),
    );
    let name = complex(
        "name",
        [
            "formatted",
            "familyName",
            "givenName",
            "middleName",
            "honorificPrefix",
            "honorificSuffix",
        ]
        .iter()
        .map(|n| attr(n, "string"))
        .collect(),
    );
    let groups = with(
        multi(complex(
            "groups",
            vec![
                with(attr("value", "string"), "mutability", json!("readOnly")),
                with(
                    reference("$ref", &["User", "Group"]),
                    "mutability",
                    json!("readOnly"),
                ),
                with(attr("display", "string"), "mutability", json!("readOnly")),
                with(
                    with(
                        attr("type", "string"),
                        "canonicalValues",
                        json!(["direct", "indirect"]),
                    ),
                    "mutability",
                    json!("readOnly"),
                ),
            ],
        )),
        "mutability",
        json!("readOnly"),
    );
    let addresses = multi(complex(
        "addresses",
        vec![
            attr("formatted", "string"),
            attr("streetAddress", "string"),
            attr("locality", "string"),
            attr("region", "string"),
            attr("postalCode", "string"),
            attr("country", "string"),
            with(
                attr("type", "string"),
                "canonicalValues",
                json!(["work", "home", "other"]),
            ),
            attr("primary", "boolean"),
        ],
    ));
    schema(
        CORE_USER,
        "User",
        "User Account",
        vec![
            user_name,
            name,
            attr("displayName", "string"),
            attr("nickName", "string"),
            reference("profileUrl", &["external"]),
            attr("title", "string"),
            attr("userType", "string"),
            attr("preferredLanguage", "string"),
            attr("locale", "string"),
            attr("timezone", "string"),
            attr("active", "boolean"),
            plural("emails", "string", &["work", "home", "other"]),
            plural(
                "phoneNumbers",
                "string",
                &["work", "home", "mobile", "fax", "pager", "other"],
            ),
            plural(
                "ims",
                "string",
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
            plural("photos", "reference", &["photo", "thumbnail"]),
            addresses,
            groups,
            plural("entitlements", "string", &[]),
            plural("roles", "string", &[]),
            plural("x509Certificates", "binary", &[]),
        ],
        base,
    )
}

pub fn enterprise_user(base: &str) -> Value {
    let manager = complex(
        "manager",
        vec![
            attr("value", "string"),
            reference("$ref", &["User"]),
            with(
                attr("displayName", "string"),
                "mutability",
                json!("readOnly"),
            ),
        ],
    );
    schema(
        ENTERPRISE_USER,
        "EnterpriseUser",
        "Enterprise User",
        vec![
            attr("employeeNumber", "string"),
            attr("costCenter", "string"),
            attr("organization", "string"),
            attr("division", "string"),
            attr("department", "string"),
            manager,
        ],
        base,
    )
}

pub fn idflow_user(base: &str) -> Value {
    let role = with(
        with(
            attr("role", "string"),
            "canonicalValues",
            // Unassigned User is the absence of a role, not a value to set.
            json!(
                Role::ALL
                    .iter()
                    .filter(|r| **r != Role::UnassignedUser)
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
            ),
        ),
        "description",
        json!("The user's idflow console role; without one the user is an Unassigned User."),
    );
    schema(
        IDFLOW_USER,
        "IdflowUser",
        "idflow console role",
        vec![role],
        base,
    )
}

pub fn group(base: &str) -> Value {
    let display_name = with(
        with(attr("displayName", "string"), "required", json!(true)),
        "uniqueness",
        json!("server"),
    );
    let members = multi(complex(
        "members",
        vec![
            with(attr("value", "string"), "mutability", json!("immutable")),
            with(
                reference("$ref", &["User"]),
                "mutability",
                json!("immutable"),
            ),
            with(attr("display", "string"), "mutability", json!("readOnly")),
            with(
                with(attr("type", "string"), "canonicalValues", json!(["User"])),
                "mutability",
                json!("immutable"),
            ),
        ],
    ));
    schema(
        CORE_GROUP,
        "Group",
        "Group",
        vec![display_name, members],
        base,
    )
}

pub fn all(base: &str) -> Vec<Value> {
    vec![
        user(base),
        enterprise_user(base),
        idflow_user(base),
        group(base),
    ]
}
