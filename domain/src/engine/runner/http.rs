//! The HTTP app's card: HTTP Request, through the outbound guard, with a connection's
//! base URL and credentials when it names one. 429 and 5xx answers are worth another try
//! (the card's retry policy decides); other 4xx answers fail it. A write carries an
//! `Idempotency-Key` made from the execution and the card, so the other side can tell a
//! retry after a crash from a new request.

use super::{Context, Runner, input_text as text};
use crate::connectors::{BODY_CAP, DEFAULT_TIMEOUT, MAX_TIMEOUT, Opened};
use crate::engine::control::{CardError, Done};
use crate::engine::dry_run::Note;
use crate::outbound;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// How much of a body a failed try's message quotes.
const QUOTED: usize = 300;

fn object<'i>(
    inputs: &'i Map<String, Value>,
    name: &str,
) -> Result<Option<&'i Map<String, Value>>, CardError> {
    match inputs.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(CardError::fatal(format!(
            "{name}: expects an object, got {other}"
        ))),
    }
}

/// A JSON value as a header or query value: text as it is, anything else as JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The URL without anything that could be a credential: its query is left out.
fn shown(url: &url::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// Whether `url` is at or below `base`: the same scheme, host and port, and a path
/// that continues the base's at a `/`.
fn under(url: &url::Url, base: &str) -> bool {
    let Ok(base) = url::Url::parse(base) else {
        return false;
    };
    let prefix = base.path().trim_end_matches('/');
    url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default()
        && (url.path() == prefix
            || url.path().starts_with(&format!("{prefix}/"))
            || prefix.is_empty())
}

impl Runner {
    pub(super) async fn http_card(
        &self,
        context: &Context<'_>,
        card_id: u32,
        inputs: &Map<String, Value>,
    ) -> Result<Done, CardError> {
        let connectors = self.store.connectors();
        let connection = match text(inputs, "connection") {
            "" => None,
            _ => Some(self.connection_of(context, inputs, "http").await?),
        };
        let method = match text(inputs, "method") {
            "" => "GET".to_string(),
            m => m.to_ascii_uppercase(),
        };
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| CardError::fatal(format!("method: {method:?} is not an HTTP method")))?;
        let target = text(inputs, "url");
        let mut url = match &connection {
            Some(c) => {
                let base = c.settings.get("base_url").map(String::as_str).unwrap_or_default();
                if target.is_empty() {
                    url::Url::parse(base)
                } else if target.starts_with("http://") || target.starts_with("https://") {
                    let full = url::Url::parse(target).map_err(|e| {
                        CardError::fatal(format!("url: {target:?} is not an address ({e})"))
                    })?;
                    if !under(&full, base) {
                        return Err(CardError::fatal(format!(
                            "url: {} is not under the connection's base URL {base}; its credentials are sent only there",
                            shown(&full)
                        )));
                    }
                    Ok(full)
                } else {
                    url::Url::parse(&format!(
                        "{}/{}",
                        base.trim_end_matches('/'),
                        target.trim_start_matches('/')
                    ))
                }
            }
            None => url::Url::parse(target),
        }
        .map_err(|e| CardError::fatal(format!("url: {target:?} is not an address ({e})")))?;
        if let Some(query) = object(inputs, "query")? {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, &plain(value));
            }
        }
        outbound::check_url(&connectors.allowed(), &url)
            .map_err(|e| CardError::fatal(e.to_string()))?;
        let timeout = inputs
            .get("timeout_seconds")
            .and_then(Value::as_f64)
            .filter(|s| *s > 0.0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64)
            .min(MAX_TIMEOUT);
        let mut request = connectors
            .client()
            .request(method.clone(), url.clone())
            .timeout(timeout);
        if let Some(headers) = object(inputs, "headers")? {
            for (name, value) in headers {
                request = request.header(name.as_str(), plain(value));
            }
        }
        if !matches!(method, reqwest::Method::GET | reqwest::Method::HEAD) {
            request = request.header(
                "Idempotency-Key",
                format!("idflow-{}-{card_id}", context.execution.id.0),
            );
        }
        request = match (inputs.get("body"), text(inputs, "body_type")) {
            (None | Some(Value::Null), _) => request,
            (Some(body), "" | "json") => request.json(body),
            (Some(Value::Object(fields)), "form") => {
                let pairs: Vec<(String, String)> =
                    fields.iter().map(|(k, v)| (k.clone(), plain(v))).collect();
                request.form(&pairs)
            }
            (Some(_), "form") => {
                return Err(CardError::fatal("body: a form body must be an object"));
            }
            (Some(body), "raw") => request.body(plain(body)),
            (_, other) => {
                return Err(CardError::fatal(format!(
                    "body_type: {other:?} is not json, form or raw"
                )));
            }
        };
        if context.execution.dry_run {
            // Checked as it would be sent (address, outbound guard, body), then not sent.
            let note = Note::new(format!("Would send {method} {}", shown(&url))).request(json!({
                "method": method.as_str(),
                "url": shown(&url),
                "query": object(inputs, "query")?,
                "headers": object(inputs, "headers")?,
                "body": inputs.get("body"),
                "connection": connection.as_ref().map(|c| format!("{} (its credentials are added when sent)", c.name)),
            }));
            return Ok(Done::Output(note.on(json!({
                "status": null,
                "headers": {},
                "body": null,
                "request": { "method": method.as_str(), "url": shown(&url) },
            }))));
        }
        if let Some(connection) = &connection {
            let secrets = self.store.connection_secrets(connection.id).await?;
            let opened = Opened {
                connection,
                secrets,
            };
            request = connectors
                .authorize(request, &opened)
                .await
                .map_err(CardError::fatal)?;
        }

        let started = Instant::now();
        let tried = |what: String| format!("{method} {} {what}", shown(&url));
        let answer = request.send().await.map_err(|e| {
            let why = outbound::describe(e);
            CardError {
                // The guard's refusal stands however often it is asked again.
                retryable: !why.starts_with("refused by the outbound guard"),
                retry_after_ms: None,
                message: tried(why),
            }
        })?;
        let status = answer.status();
        let retry_after_ms = answer
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after_ms(v, chrono::Utc::now()));
        let headers: Map<String, Value> = answer
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    Value::String(v.to_str().unwrap_or_default().to_string()),
                )
            })
            .collect();
        let json_body = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("json"));
        let (bytes, cut) =
            outbound::read_capped(answer, BODY_CAP)
                .await
                .map_err(|e| CardError {
                    message: tried(outbound::describe(e)),
                    retryable: true,
                    retry_after_ms: None,
                })?;
        let took = started.elapsed().as_millis();
        let text_body = String::from_utf8_lossy(&bytes).to_string();
        if status.as_u16() == 429 || status.is_server_error() || status.is_client_error() {
            let quoted: String = text_body.chars().take(QUOTED).collect();
            let retryable = status.as_u16() == 429 || status.is_server_error();
            let asked = match retry_after_ms.filter(|_| retryable) {
                Some(ms) => format!(" (asked to retry after {} s)", ms.div_ceil(1000)),
                None => String::new(),
            };
            return Err(CardError {
                message: tried(format!("answered {status} in {took} ms{asked}: {quoted}")),
                retryable,
                retry_after_ms: retry_after_ms.filter(|_| retryable),
            });
        }
        let body = if json_body && !cut {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(text_body))
        } else {
            Value::String(text_body)
        };
        Ok(Done::Output(json!({
            "status": status.as_u16(),
            "headers": headers,
            "body": body,
            "request": {
                "method": method.as_str(),
                "url": shown(&url),
                "took_ms": took,
                "body_cut": cut,
            },
        })))
    }
}

/// The wait an HTTP `Retry-After` value asks for, in milliseconds: a number of seconds,
/// or an HTTP date (a date already past asks for none). `None` when it is neither.
pub(crate) fn retry_after_ms(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(u64::try_from((at.with_timezone(&chrono::Utc) - now).num_milliseconds()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_after_is_seconds_or_a_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(super::retry_after_ms("120", now), Some(120_000));
        assert_eq!(
            super::retry_after_ms("Sun, 06 Dec 2026 12:00:30 GMT", now),
            Some(30_000)
        );
        assert_eq!(
            super::retry_after_ms("Sun, 06 Dec 2026 11:00:00 GMT", now),
            Some(0)
        );
        assert_eq!(super::retry_after_ms("soon", now), None);
    }

    use super::under;

    #[test]
    fn credentials_go_only_under_the_base_url() {
        let url = |u: &str| url::Url::parse(u).unwrap();
        let base = "https://api.example.com/v2";
        assert!(under(&url("https://api.example.com/v2"), base));
        assert!(under(&url("https://api.example.com/v2/users?x=1"), base));
        assert!(under(&url("https://api.example.com:443/v2/users"), base));
        for elsewhere in [
            "https://api.example.com.evil.example/v2",
            "https://api.example.com/v20",
            "https://api.example.com/v1",
            "http://api.example.com/v2",
            "https://api.example.com:8443/v2",
            "https://evil.example/https://api.example.com/v2",
        ] {
            assert!(!under(&url(elsewhere), base), "{elsewhere}");
        }
        assert!(under(
            &url("https://api.example.com/anything"),
            "https://api.example.com"
        ));
    }
}
