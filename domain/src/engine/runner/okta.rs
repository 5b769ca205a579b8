//! The Okta app's cards (`crate::okta::CARDS`): each one request to the org's API through
//! the connection (`crate::connectors::okta`), its record carrying Okta's request id.
//! A 429 waits until Okta's budget resets (the execution sleeps without holding a
//! worker); a 403 names the scope the card needs; a 5xx is worth another try.

use super::{Context, Runner, input_text as text};
use crate::connectors::Opened;
use crate::connectors::okta::{OktaAnswer, describe_refusal};
use crate::engine::control::{CardError, Done, MAX_PAUSE};
use crate::engine::{Progress, Status, Waiting, stream_key};
use crate::flows::Card;
use crate::okta::{Gives, OktaCard, okta_card, stream_mode, system_log_filter};
use chrono::Utc;
use serde_json::{Map, Value, json};

/// At most this many records per page, as Okta Workflows' "First 200".
const FIRST: u64 = 200;

fn needed<'i>(inputs: &'i Map<String, Value>, name: &str) -> Result<&'i str, CardError> {
    Some(text(inputs, name).trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CardError::fatal(format!("{name}: has no value")))
}

/// A path segment from an input: percent-encoded, so a login with `@` or `/` stays one.
fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

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

fn limit(inputs: &Map<String, Value>) -> u64 {
    inputs
        .get("limit")
        .and_then(Value::as_f64)
        .filter(|n| *n >= 1.0)
        .map_or(FIRST, |n| (n as u64).min(FIRST))
}

/// Whether a card with these inputs runs in Stream mode (and so starts helper flows).
pub(super) fn streams(inputs: &Map<String, Value>) -> bool {
    stream_mode(text(inputs, "mode")).unwrap_or(false)
}

/// An Okta user as cards give it.
fn user(okta: &Value) -> Value {
    let profile = &okta["profile"];
    json!({
        "id": okta["id"],
        "status": okta["status"],
        "login": profile["login"],
        "email": profile["email"],
        "first_name": profile["firstName"],
        "last_name": profile["lastName"],
        "manager_id": profile["managerId"],
        "profile": profile,
    })
}

/// The request a card makes: method, path with query, body.
fn request(
    card: &OktaCard,
    inputs: &Map<String, Value>,
) -> Result<(String, String, Option<Value>), CardError> {
    let mut path = card.path.to_string();
    for name in ["user", "group", "app"] {
        let placeholder = format!("{{{name}}}");
        if path.contains(&placeholder) {
            path = path.replace(&placeholder, &segment(needed(inputs, name)?));
        }
    }
    let mut query: Vec<(String, String)> = Vec::new();
    let mut body = None;
    let mut method = card.method.to_string();
    match card.key {
        "okta.search_users" => {
            let search = text(inputs, "search").trim();
            let filter = text(inputs, "filter").trim();
            if search.is_empty() && filter.is_empty() {
                return Err(CardError::fatal(
                    "search or filter: one of them needs a value",
                ));
            }
            if !search.is_empty() {
                query.push(("search".into(), search.into()));
            }
            if !filter.is_empty() {
                query.push(("filter".into(), filter.into()));
            }
        }
        "okta.create_user" => {
            let profile = object(inputs, "profile")?
                .ok_or_else(|| CardError::fatal("profile: has no value"))?;
            let activate = inputs
                .get("activate")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            query.push(("activate".into(), activate.to_string()));
            body = Some(json!({ "profile": profile }));
        }
        "okta.update_profile" => {
            let profile = object(inputs, "profile")?
                .ok_or_else(|| CardError::fatal("profile: has no value"))?;
            body = Some(json!({ "profile": profile }));
        }
        "okta.assign_app" => {
            body = Some(json!({ "id": needed(inputs, "user")?, "scope": "USER" }));
        }
        "okta.search_system_log" => {
            for (input, param) in [("since", "since"), ("until", "until")] {
                let value = text(inputs, input).trim();
                if !value.is_empty() {
                    let at = chrono::DateTime::parse_from_rfc3339(value).map_err(|e| {
                        CardError::fatal(format!("{input}: {value:?} is not a time ({e})"))
                    })?;
                    let at = at
                        .with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    query.push((param.into(), at));
                }
            }
            let keyword = text(inputs, "keyword").trim();
            if !keyword.is_empty() {
                query.push(("q".into(), keyword.into()));
            }
            let pairs: Vec<(String, String)> = object(inputs, "pairs")?
                .map(|o| o.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
                .unwrap_or_default();
            if let Some(filter) = system_log_filter(&pairs, text(inputs, "custom_filter")) {
                query.push(("filter".into(), filter));
            }
            match text(inputs, "sort_order")
                .trim()
                .to_ascii_uppercase()
                .as_str()
            {
                "" => {}
                order @ ("ASCENDING" | "DESCENDING") => {
                    query.push(("sortOrder".into(), order.into()))
                }
                other => {
                    return Err(CardError::fatal(format!(
                        "sort_order: {other:?} is neither ASCENDING nor DESCENDING"
                    )));
                }
            }
        }
        "okta.custom_api_action" => {
            method = match text(inputs, "method").trim() {
                "" => "GET".into(),
                m => m.to_ascii_uppercase(),
            };
            path = needed(inputs, "path")?.to_string();
            if !path.starts_with("/api/") && !path.starts_with("/oauth2/") {
                return Err(CardError::fatal(format!(
                    "path: {path:?} must be a path under the org, such as /api/v1/users"
                )));
            }
            if let Some(extra) = object(inputs, "query")? {
                query.extend(extra.iter().map(|(k, v)| (k.clone(), plain(v))));
            }
            body = inputs.get("body").filter(|b| !b.is_null()).cloned();
        }
        _ => {}
    }
    if matches!(card.gives, Gives::Users | Gives::Groups | Gives::Events) {
        query.push(("limit".into(), limit(inputs).to_string()));
    }
    if !query.is_empty() {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&query)
            .finish();
        path = format!(
            "{path}{}{encoded}",
            if path.contains('?') { '&' } else { '?' }
        );
    }
    Ok((method, path, body))
}

/// What the card gives from Okta's (successful) answer.
fn output(card: &OktaCard, answer: &OktaAnswer) -> Value {
    let mut out = match card.gives {
        Gives::User => json!({ "user": user(&answer.body) }),
        Gives::Users => {
            let users: Vec<Value> = answer
                .body
                .as_array()
                .map(|a| a.iter().map(user).collect())
                .unwrap_or_default();
            json!({ "count": users.len(), "users": users, "next": answer.next })
        }
        Gives::Group => json!({ "group": {
            "id": answer.body["id"],
            "name": answer.body["profile"]["name"],
            "description": answer.body["profile"]["description"],
        }}),
        Gives::Groups => {
            let groups: Vec<Value> = answer
                .body
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|g| json!({ "id": g["id"], "name": g["profile"]["name"] }))
                        .collect()
                })
                .unwrap_or_default();
            json!({ "count": groups.len(), "groups": groups, "next": answer.next })
        }
        Gives::Events => {
            let events = answer.body.as_array().cloned().unwrap_or_default();
            json!({ "count": events.len(), "events": events, "next": answer.next })
        }
        Gives::Done => json!({ "done": true }),
        Gives::Answer => json!({ "status": answer.status, "body": answer.body }),
    };
    out["request_id"] = json!(answer.request_id);
    out
}

/// The records of a page a Stream card hands to helper flows, each with the key that
/// makes it start once: its Okta id (a user's `id`, an event's `uuid`).
fn records(card: &OktaCard, answer: &OktaAnswer) -> Vec<(Option<String>, Value)> {
    let page = answer.body.as_array().cloned().unwrap_or_default();
    page.into_iter()
        .map(|record| {
            let id = record
                .get(if card.gives == Gives::Events {
                    "uuid"
                } else {
                    "id"
                })
                .and_then(Value::as_str)
                .map(str::to_string);
            let given = if card.gives == Gives::Users {
                user(&record)
            } else {
                record
            };
            (id, given)
        })
        .collect()
}

/// Where a Stream card is: what it read and started so far.
#[derive(Debug, Clone, Default)]
struct Stream {
    next: Option<String>,
    started: usize,
    page_from: usize,
    pages: usize,
    failed: usize,
    failures: Vec<String>,
}

impl Stream {
    fn waiting(&self, card: &Card) -> Waiting {
        Waiting::Stream {
            card: card.id.0,
            next: self.next.clone(),
            started: self.started,
            page_from: self.page_from,
            pages: self.pages,
            failed: self.failed,
            failures: self.failures.clone(),
        }
    }
}

impl Runner {
    pub(super) async fn okta_card(
        &self,
        kind: &str,
        context: &Context<'_>,
        card_here: &Card,
        inputs: &Map<String, Value>,
        progress: &Progress,
    ) -> Result<Done, CardError> {
        let card = okta_card(kind)
            .ok_or_else(|| CardError::fatal(format!("the {kind:?} card does not exist")))?;
        if context.execution.dry_run {
            // Checked as it would be sent (its inputs, the connection), then not sent:
            // reads too, as a dry run calls no service.
            let (method, path, body) = request(card, inputs)?;
            let connection = self.connection_of(context, inputs, "okta").await?;
            let note = crate::engine::dry_run::Note::new(format!(
                "Would send {method} {path} to Okta ({})",
                connection.name
            ))
            .request(json!({ "method": method.as_str(), "path": path, "body": body }));
            return Ok(Done::Output(note.on(Value::Null)));
        }
        if card.streams() && stream_mode(text(inputs, "mode")).map_err(CardError::fatal)? {
            return self
                .okta_stream(card, context, card_here, inputs, progress)
                .await;
        }
        let (method, path, body) = request(card, inputs)?;
        let answer = match self
            .okta_request(context, inputs, &method, &path, body)
            .await
        {
            Ok(answer) => answer,
            Err(Refusal::Later(until, why)) => return Ok(Done::Later(until, why)),
            Err(Refusal::Failed(e)) => return Err(e),
        };
        match answer.status {
            200..=299 => Ok(Done::Output(output(card, &answer))),
            _ if card.gives == Gives::Answer && answer.status < 500 && answer.status != 429 => {
                Ok(Done::Output(output(card, &answer)))
            }
            _ => Err(refused(card, &answer)),
        }
    }

    /// One request to the org through the card's connection (keeping a refresh token
    /// Okta rotated); a 429 is a refusal to wait until the budget resets.
    async fn okta_request(
        &self,
        context: &Context<'_>,
        inputs: &Map<String, Value>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<OktaAnswer, Refusal> {
        let connection = self.connection_of(context, inputs, "okta").await?;
        let secrets = self.store.connection_secrets(connection.id).await?;
        let opened = Opened {
            connection: &connection,
            secrets,
        };
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| CardError::fatal(format!("method: {method:?} is not an HTTP method")))?;
        let answer = self
            .store
            .connectors()
            .okta_call(&opened, method, path, body.as_ref())
            .await;
        self.store.keep_rotated_okta_token(connection.id).await?;
        let answer = answer.map_err(CardError::from)?;
        if answer.status == 429 {
            let (until, why) = later(&answer);
            return Err(Refusal::Later(until, why));
        }
        Ok(answer)
    }

    /// Stream mode: reads a page, starts the helper flow once per record on it, and waits
    /// until they have all ended; then the next page, until the last. Where it is stays
    /// in the execution's progress, so after a crash it reads the page it reached again,
    /// and the keys of the helpers it started ([`stream_key`]) start none twice.
    async fn okta_stream(
        &self,
        card: &OktaCard,
        context: &Context<'_>,
        here: &Card,
        inputs: &Map<String, Value>,
        progress: &Progress,
    ) -> Result<Done, CardError> {
        let parent = context.execution.id;
        let prefix = format!("stream:{parent}:{}:", here.id.0);
        let helper = self.helper_flow(context, inputs).await?;
        let shared = inputs.get("input").cloned().unwrap_or(Value::Null);
        let mut stream = match &progress.waiting {
            Some(Waiting::Stream {
                card,
                next,
                started,
                page_from,
                pages,
                failed,
                failures,
            }) if *card == here.id.0 => Stream {
                next: next.clone(),
                started: *started,
                page_from: *page_from,
                pages: *pages,
                failed: *failed,
                failures: failures.clone(),
            },
            _ => {
                self.check_call_depth(context).await?;
                Stream::default()
            }
        };
        let target = if stream.pages == 0 {
            let (_, path, _) = request(card, inputs)?;
            path
        } else {
            // The helpers of the page read last: wait on until they have all ended.
            let children = self
                .store
                .child_executions_from(parent, here.id.0, &prefix, stream.page_from)
                .await?;
            if children.iter().any(|c| !c.status.is_final()) {
                return Ok(Done::Await(stream.waiting(here), Utc::now() + MAX_PAUSE));
            }
            for child in children.iter().filter(|c| c.status != Status::Succeeded) {
                stream.failed += 1;
                if stream.failures.len() < 3 {
                    let why = child.error.as_deref().unwrap_or("no reason given");
                    let index = child.parent.map_or(0, |p| p.index) + 1;
                    stream.failures.push(format!("record {index}: {why}"));
                }
            }
            stream.page_from = stream.started;
            match stream.next.take() {
                Some(next) => next,
                None => return finish(&stream),
            }
        };
        let answer = match self
            .okta_request(context, inputs, "GET", &target, None)
            .await
        {
            Ok(answer) => answer,
            // The engine keeps where the stream was (not what this run added), so the
            // same page is read again once the budget resets, or on the next attempt.
            Err(Refusal::Later(until, why)) => return Ok(Done::Later(until, why)),
            Err(Refusal::Failed(e)) => return Err(e),
        };
        if !(200..=299).contains(&answer.status) {
            return Err(refused(card, &answer));
        }
        let page = records(card, &answer);
        stream.pages += 1;
        if page.is_empty() {
            // The last page (a System Log read without `until` always offers a next one:
            // an empty page ends the stream).
            return finish(&stream);
        }
        for (id, record) in page {
            let index = stream.started;
            let key = stream_key(
                parent,
                here.id.0,
                id.as_deref().unwrap_or(&format!("#{index}")),
            );
            let input = json!({ "input": shared, "item": record, "index": index });
            self.start_helper(context, &helper, here, index, key, input)
                .await?;
            stream.started += 1;
        }
        stream.next = answer.next.clone();
        Ok(Done::Await(stream.waiting(here), Utc::now() + MAX_PAUSE))
    }
}

/// A Stream card's output once every page was read and its helpers ended.
fn finish(stream: &Stream) -> Result<Done, CardError> {
    if stream.failed > 0 {
        let more = if stream.failed > stream.failures.len() {
            "; …"
        } else {
            ""
        };
        return Err(CardError::fatal(format!(
            "{} of {} helper executions failed: {}{more}",
            stream.failed,
            stream.started,
            stream.failures.join("; ")
        )));
    }
    Ok(Done::Output(json!({
        "count": stream.started,
        "pages": stream.pages,
    })))
}

/// Why a request did not give an answer to use: wait for Okta's budget, or fail.
enum Refusal {
    Later(chrono::DateTime<Utc>, String),
    Failed(CardError),
}

impl<E: Into<CardError>> From<E> for Refusal {
    fn from(e: E) -> Refusal {
        Refusal::Failed(e.into())
    }
}

/// Okta's answer to a card's request that was not a success, as the card's error: a 403
/// names the scope the card needs; a 5xx is worth another try.
fn refused(card: &OktaCard, answer: &OktaAnswer) -> CardError {
    let needed = (!card.scope.is_empty()).then_some(card.scope);
    CardError {
        message: describe_refusal(answer, needed),
        retryable: answer.status >= 500,
        retry_after_ms: None,
    }
}

/// Okta's budget is spent (429): the card runs again when it resets (X-Rate-Limit-Reset),
/// without spending a retry.
fn later(answer: &OktaAnswer) -> (chrono::DateTime<Utc>, String) {
    let now = Utc::now().timestamp();
    let wait_s = answer.rate.map_or(60, |r| (r.reset - now).clamp(1, 3600));
    (
        Utc::now() + chrono::Duration::seconds(wait_s),
        format!(
            "Okta's rate limit is spent; waiting {wait_s} s until it resets{}",
            answer
                .request_id
                .as_deref()
                .map(|id| format!(" (Okta request {id})"))
                .unwrap_or_default()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(pairs: Value) -> Map<String, Value> {
        pairs.as_object().unwrap().clone()
    }

    #[test]
    fn requests_are_built_as_okta_documents_them() {
        let read = okta_card("okta.read_user").unwrap();
        let (method, path, _) = request(read, &inputs(json!({ "user": "ada@acme.com" }))).unwrap();
        assert_eq!(
            (method.as_str(), path.as_str()),
            ("GET", "/api/v1/users/ada%40acme.com")
        );

        let search = okta_card("okta.search_users").unwrap();
        let (_, path, _) = request(
            search,
            &inputs(json!({ "search": "profile.department eq \"Sales\"" })),
        )
        .unwrap();
        assert_eq!(
            path,
            "/api/v1/users?search=profile.department+eq+%22Sales%22&limit=200"
        );
        assert!(request(search, &inputs(json!({}))).is_err());

        let log = okta_card("okta.search_system_log").unwrap();
        let (_, path, _) = request(
            log,
            &inputs(json!({
                "since": "2026-12-01T00:00:00Z",
                "keyword": "deactivate",
                "pairs": { "eventType": "user.lifecycle.deactivate" },
                "custom_filter": "outcome.result eq \"SUCCESS\"",
                "sort_order": "descending",
                "limit": 50,
            })),
        )
        .unwrap();
        let query: Vec<(String, String)> =
            url::form_urlencoded::parse(path.split_once('?').unwrap().1.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(
            query,
            [
                ("since".to_string(), "2026-12-01T00:00:00.000Z".to_string()),
                ("q".into(), "deactivate".into()),
                ("filter".into(), "eventType eq \"user.lifecycle.deactivate\" and (outcome.result eq \"SUCCESS\")".into()),
                ("sortOrder".into(), "DESCENDING".into()),
                ("limit".into(), "50".into()),
            ]
        );

        let activate = okta_card("okta.activate_user").unwrap();
        let (_, path, _) = request(activate, &inputs(json!({ "user": "00u1" }))).unwrap();
        assert_eq!(
            path,
            "/api/v1/users/00u1/lifecycle/activate?sendEmail=false"
        );

        let custom = okta_card("okta.custom_api_action").unwrap();
        assert!(request(custom, &inputs(json!({ "path": "https://evil.example/x" }))).is_err());
        let (method, path, body) = request(
            custom,
            &inputs(json!({ "method": "post", "path": "/api/v1/groups", "body": { "profile": { "name": "X" } } })),
        )
        .unwrap();
        assert_eq!((method.as_str(), path.as_str()), ("POST", "/api/v1/groups"));
        assert_eq!(body.unwrap()["profile"]["name"], "X");
    }
}
