//! The Slack app's cards: Send Message (to a channel, or the webhook's channel) and Send
//! Direct Message (to a person found by email, with a bot token), as Slack's Web API
//! documents them: `chat.postMessage`, `users.lookupByEmail`, `conversations.open`.

use super::{Context, Runner, input_text as text};
use crate::connectors::{Failed, Opened};
use crate::engine::control::{CardError, Done};
use crate::engine::dry_run::Note;
use serde_json::{Map, Value, json};

impl From<Failed> for CardError {
    fn from(failed: Failed) -> CardError {
        CardError {
            message: failed.message,
            retryable: failed.retryable,
            retry_after_ms: None,
        }
    }
}

fn needed<'i>(inputs: &'i Map<String, Value>, name: &str) -> Result<&'i str, CardError> {
    Some(text(inputs, name))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CardError::fatal(format!("{name}: has no value")))
}

/// The message as Slack takes it: its text, and its blocks when the card has them.
fn message(inputs: &Map<String, Value>) -> Result<Map<String, Value>, CardError> {
    let mut message = Map::new();
    message.insert(
        "text".into(),
        Value::String(needed(inputs, "text")?.to_string()),
    );
    match inputs.get("blocks") {
        None | Some(Value::Null) => {}
        Some(Value::Array(blocks)) => {
            message.insert("blocks".into(), Value::Array(blocks.clone()));
        }
        Some(other) => {
            return Err(CardError::fatal(format!(
                "blocks: expects a list of Slack blocks, got {other}"
            )));
        }
    }
    Ok(message)
}

impl Runner {
    pub(super) async fn slack_card(
        &self,
        kind: &str,
        context: &Context<'_>,
        inputs: &Map<String, Value>,
    ) -> Result<Done, CardError> {
        let connection = self.connection_of(context, inputs, "slack").await?;
        let bot = connection.settings.get("mode").map(String::as_str) == Some("bot");
        if kind == "slack.send_direct_message" && !bot {
            return Err(CardError::fatal(format!(
                "connection: {} is a webhook, which posts to one channel; a direct message needs a bot token",
                connection.name
            )));
        }
        let mut message = message(inputs)?;
        if context.execution.dry_run {
            let to = match kind {
                "slack.send_message" if !bot => "the webhook's channel".to_string(),
                "slack.send_message" => needed(inputs, "channel")?.to_string(),
                _ => format!("{} (a direct message)", needed(inputs, "email")?),
            };
            let note = Note::new(format!("Would post to {to} in Slack")).request(json!({
                "via": connection.name,
                "to": to,
                "message": message,
            }));
            return Ok(Done::Output(note.on(json!({ "ok": false }))));
        }
        let secrets = self.store.connection_secrets(connection.id).await?;
        let opened = Opened {
            connection: &connection,
            secrets,
        };
        let connectors = self.store.connectors();
        match kind {
            "slack.send_message" if !bot => {
                let (status, body) = connectors
                    .slack_webhook(&opened, &Value::Object(message))
                    .await?;
                if !status.is_success() {
                    return Err(CardError {
                        message: format!("the Slack webhook answered {status}: {body}"),
                        retryable: status.as_u16() == 429 || status.is_server_error(),
                        retry_after_ms: None,
                    });
                }
                Ok(Done::Output(
                    json!({ "ok": true, "channel": null, "ts": null }),
                ))
            }
            "slack.send_message" => {
                message.insert(
                    "channel".into(),
                    Value::String(needed(inputs, "channel")?.to_string()),
                );
                let sent = connectors.slack_post(&opened, message).await?;
                Ok(Done::Output(
                    json!({ "ok": true, "channel": sent["channel"], "ts": sent["ts"] }),
                ))
            }
            "slack.send_direct_message" => {
                let email = needed(inputs, "email")?;
                let found = connectors
                    .slack_api(&opened, "users.lookupByEmail", None, &[("email", email)])
                    .await?;
                let user = found["user"]["id"].as_str().unwrap_or_default().to_string();
                let opened_dm = connectors
                    .slack_api(
                        &opened,
                        "conversations.open",
                        Some(&json!({ "users": user })),
                        &[],
                    )
                    .await?;
                let channel = opened_dm["channel"]["id"].clone();
                message.insert("channel".into(), channel.clone());
                let sent = connectors.slack_post(&opened, message).await?;
                Ok(Done::Output(
                    json!({ "ok": true, "user_id": user, "channel": channel, "ts": sent["ts"] }),
                ))
            }
            other => Err(CardError::fatal(format!(
                "the {other:?} card does not exist"
            ))),
        }
    }
}
