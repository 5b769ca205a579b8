//! The Email app's card: Send Email, through an SMTP connection.

use super::{Context, Runner};
use crate::connectors::{Email, Opened};
use crate::engine::control::{CardError, Done};
use crate::engine::dry_run::Note;
use serde_json::{Map, Value, json};

/// The addresses of a field: a list, or text separated by commas or semicolons.
fn addresses(inputs: &Map<String, Value>, name: &str) -> Vec<String> {
    let split = |text: &str| -> Vec<String> {
        text.split([',', ';'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect()
    };
    match inputs.get(name) {
        Some(Value::String(text)) => split(text),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(split)
            .collect(),
        _ => Vec::new(),
    }
}

fn text<'i>(inputs: &'i Map<String, Value>, name: &str) -> &'i str {
    inputs.get(name).and_then(Value::as_str).unwrap_or_default()
}

impl Runner {
    pub(super) async fn email_card(
        &self,
        context: &Context<'_>,
        inputs: &Map<String, Value>,
    ) -> Result<Done, CardError> {
        let connection = self.connection_of(context, inputs, "smtp").await?;
        let to = addresses(inputs, "to");
        if to.is_empty() {
            return Err(CardError::fatal("to: has no address"));
        }
        let subject = text(inputs, "subject").trim();
        if subject.is_empty() {
            return Err(CardError::fatal("subject: has no value"));
        }
        let html = Some(text(inputs, "html")).filter(|h| !h.trim().is_empty());
        let email = Email {
            cc: addresses(inputs, "cc"),
            subject,
            text: text(inputs, "text"),
            html,
            to,
        };
        if context.execution.dry_run {
            let note = Note::new(format!(
                "Would email {}: {}",
                email.to.join(", "),
                email.subject
            ))
            .request(json!({
                "via": connection.name,
                "to": email.to,
                "cc": email.cc,
                "subject": email.subject,
                "text": email.text,
                "html": email.html,
            }));
            return Ok(Done::Output(note.on(json!({
                "sent": false,
                "to": email.to,
                "cc": email.cc,
                "server": null,
            }))));
        }
        let secrets = self.store.connection_secrets(connection.id).await?;
        let opened = Opened {
            connection: &connection,
            secrets,
        };
        let answer = self.store.connectors().send_email(&opened, &email).await?;
        Ok(Done::Output(json!({
            "sent": true,
            "to": email.to,
            "cc": email.cc,
            "server": answer,
        })))
    }
}
