//! The REST API's reference, read from its OpenAPI document (which the server generates
//! from the handlers) into what the API reference page shows: operations by tag, their
//! parameters, bodies and answers, and the shapes of what they send back.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const REFERENCE_PATH: &str = "/api/api-reference";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiReference {
    pub title: String,
    pub description: String,
    pub sections: Vec<RefSection>,
    pub schemas: Vec<RefSchema>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefSection {
    pub tag: String,
    pub description: String,
    pub operations: Vec<RefOperation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefOperation {
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    /// name, where (path, query), type, required, description
    pub params: Vec<(String, String, String, bool, String)>,
    /// What the body holds, when it takes one.
    pub body: Option<String>,
    /// status, description, what it holds
    pub responses: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefSchema {
    pub name: String,
    /// name, type, required, description
    pub properties: Vec<(String, String, bool, String)>,
}

/// A schema as people read it: a component's name, an array of one, or its type.
#[cfg(feature = "ssr")]
fn shape(schema: &serde_json::Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(|r| r.as_str()) {
        return reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string();
    }
    if let Some(one_of) = schema.get("oneOf").and_then(|o| o.as_array()) {
        let kinds: Vec<String> = one_of.iter().map(shape).filter(|k| k != "null").collect();
        return format!("{} or null", kinds.join(" or "));
    }
    match schema.get("type") {
        Some(serde_json::Value::String(kind)) if kind == "array" => {
            format!(
                "array of {}",
                schema.get("items").map(shape).unwrap_or_default()
            )
        }
        Some(serde_json::Value::String(kind)) => {
            let format = schema.get("format").and_then(|f| f.as_str());
            format.map_or_else(|| kind.clone(), |f| format!("{kind} ({f})"))
        }
        Some(serde_json::Value::Array(kinds)) => kinds
            .iter()
            .filter_map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any JSON".to_string(),
    }
}

/// The reference, from the OpenAPI document `doc`.
#[cfg(feature = "ssr")]
pub fn reference(doc: &serde_json::Value) -> ApiReference {
    let text =
        |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let tags: Vec<(String, String)> = doc["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| (text(t.get("name")), text(t.get("description"))))
                .collect()
        })
        .unwrap_or_default();
    let mut sections: Vec<RefSection> = tags
        .iter()
        .map(|(tag, description)| RefSection {
            tag: tag.clone(),
            description: description.clone(),
            operations: Vec::new(),
        })
        .collect();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "post", "put", "delete", "patch"] {
                let Some(op) = item.get(method) else { continue };
                let params = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                (
                                    text(p.get("name")),
                                    text(p.get("in")),
                                    p.get("schema").map(shape).unwrap_or_default(),
                                    p["required"].as_bool().unwrap_or(false),
                                    text(p.get("description")),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let body = op.get("requestBody").map(|b| {
                    let content = b["content"].as_object();
                    let kinds = content
                        .map(|c| {
                            c.iter()
                                .map(|(kind, media)| {
                                    format!(
                                        "{} ({kind})",
                                        media.get("schema").map(shape).unwrap_or_default()
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    let description = text(b.get("description"));
                    if description.is_empty() {
                        kinds
                    } else {
                        format!("{description}: {kinds}")
                    }
                });
                let responses = op["responses"]
                    .as_object()
                    .map(|rs| {
                        rs.iter()
                            .map(|(status, r)| {
                                let holds = r["content"]
                                    .as_object()
                                    .map(|c| {
                                        c.iter()
                                            .map(|(kind, media)| {
                                                format!(
                                                    "{} ({kind})",
                                                    media
                                                        .get("schema")
                                                        .map(shape)
                                                        .unwrap_or_default()
                                                )
                                            })
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    })
                                    .unwrap_or_default();
                                (status.clone(), text(r.get("description")), holds)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let operation = RefOperation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: text(op.get("summary")),
                    description: text(op.get("description")),
                    params,
                    body,
                    responses,
                };
                let tag = op["tags"][0].as_str().unwrap_or("other").to_string();
                match sections.iter_mut().find(|s| s.tag == tag) {
                    Some(section) => section.operations.push(operation),
                    None => sections.push(RefSection {
                        tag,
                        description: String::new(),
                        operations: vec![operation],
                    }),
                }
            }
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .map(|schemas| {
            schemas
                .iter()
                .map(|(name, schema)| {
                    let required: Vec<&str> = schema["required"]
                        .as_array()
                        .map(|r| r.iter().filter_map(|n| n.as_str()).collect())
                        .unwrap_or_default();
                    RefSchema {
                        name: name.clone(),
                        properties: schema["properties"]
                            .as_object()
                            .map(|ps| {
                                ps.iter()
                                    .map(|(p, s)| {
                                        (
                                            p.clone(),
                                            shape(s),
                                            required.contains(&p.as_str()),
                                            text(s.get("description")),
                                        )
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    ApiReference {
        title: text(doc["info"].get("title")),
        description: text(doc["info"].get("description")),
        sections,
        schemas,
    }
}

#[server(endpoint = "api-reference")]
pub async fn load_api_reference() -> Result<ApiReference, AppError> {
    crate::session::request_caller().ok_or(AppError::SignInRequired)?;
    let doc = use_context::<crate::session::ApiDocument>()
        .ok_or_else(|| AppError::internal("no API document in the request"))?;
    let doc: serde_json::Value = serde_json::from_str(&doc.0).map_err(AppError::internal)?;
    Ok(reference(&doc))
}
