//! Connections: the accounts flows use to reach services outside idflow. Each kind of
//! connection is described once here — its fields, which of them are secret, which are
//! needed when — and the console's forms, the checks and the cards read that description.
//! Adding a kind is adding its description here and its cards' module to the engine.
//!
//! Pure: secrets are sealed by the store (`crate::secrets`), and never leave it except
//! to a card that uses them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Text,
    /// An http or https address.
    Url,
    /// One of `(value, label)`, the first the default.
    Choice(&'static [(&'static str, &'static str)]),
    /// Text of several lines (a certificate).
    LongText,
    /// Write-only: kept sealed, never shown again.
    Secret,
}

/// One field of a kind of connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub input: Input,
    pub hint: &'static str,
    /// Needed (and shown) only when the field `.0` holds one of `.1`; `None`: always.
    pub when: Option<(&'static str, &'static [&'static str])>,
    /// Must hold a value whenever it is needed.
    pub required: bool,
}

impl Field {
    pub fn is_secret(&self) -> bool {
        self.input == Input::Secret
    }

    /// Whether the field applies, given the connection's other (non-secret) values.
    pub fn applies(&self, values: &BTreeMap<String, String>) -> bool {
        match self.when {
            None => true,
            Some((field, among)) => {
                let value = values.get(field).map(String::as_str).unwrap_or_default();
                among.contains(&value)
            }
        }
    }
}

/// A kind of connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub fields: &'static [Field],
}

const HTTP_AUTH: &[(&str, &str)] = &[
    ("none", "None"),
    ("bearer", "Bearer token"),
    ("basic", "Basic (user name and password)"),
    ("api_key", "API key in a header"),
    ("oauth2", "OAuth 2.0 client credentials"),
];

/// The HTTP connection: a base URL and how requests authenticate.
pub const HTTP: Kind = Kind {
    key: "http",
    name: "HTTP",
    description: "Any HTTP API: a base URL and how requests authenticate. HTTP Request cards send to it.",
    fields: &[
        Field {
            name: "base_url",
            label: "Base URL",
            input: Input::Url,
            hint: "Requests name a path under it (https://api.example.com/v2).",
            when: None,
            required: true,
        },
        Field {
            name: "auth",
            label: "Authentication",
            input: Input::Choice(HTTP_AUTH),
            hint: "",
            when: None,
            required: true,
        },
        Field {
            name: "token",
            label: "Token",
            input: Input::Secret,
            hint: "Sent as Authorization: Bearer ….",
            when: Some(("auth", &["bearer"])),
            required: true,
        },
        Field {
            name: "username",
            label: "User name",
            input: Input::Text,
            hint: "",
            when: Some(("auth", &["basic"])),
            required: true,
        },
        Field {
            name: "password",
            label: "Password",
            input: Input::Secret,
            hint: "",
            when: Some(("auth", &["basic"])),
            required: true,
        },
        Field {
            name: "header",
            label: "Header name",
            input: Input::Text,
            hint: "For example X-API-Key.",
            when: Some(("auth", &["api_key"])),
            required: true,
        },
        Field {
            name: "api_key",
            label: "API key",
            input: Input::Secret,
            hint: "",
            when: Some(("auth", &["api_key"])),
            required: true,
        },
        Field {
            name: "token_url",
            label: "Token URL",
            input: Input::Url,
            hint: "Where the client credentials are exchanged for an access token.",
            when: Some(("auth", &["oauth2"])),
            required: true,
        },
        Field {
            name: "client_id",
            label: "Client id",
            input: Input::Text,
            hint: "",
            when: Some(("auth", &["oauth2"])),
            required: true,
        },
        Field {
            name: "client_secret",
            label: "Client secret",
            input: Input::Secret,
            hint: "",
            when: Some(("auth", &["oauth2"])),
            required: true,
        },
        Field {
            name: "scope",
            label: "Scope",
            input: Input::Text,
            hint: "Space-separated; leave empty for the service's default.",
            when: Some(("auth", &["oauth2"])),
            required: false,
        },
    ],
};

const SLACK_MODES: &[(&str, &str)] = &[
    ("webhook", "Incoming webhook (one channel)"),
    ("bot", "Bot token (any channel, direct messages)"),
];

/// The Slack connection: an incoming webhook, or a bot token for Slack's Web API.
pub const SLACK: Kind = Kind {
    key: "slack",
    name: "Slack",
    description: "Posts to Slack: an incoming webhook for one channel, or a bot token (chat:write, users:read.email, im:write) for any channel and direct messages.",
    fields: &[
        Field {
            name: "mode",
            label: "Connect with",
            input: Input::Choice(SLACK_MODES),
            hint: "",
            when: None,
            required: true,
        },
        Field {
            name: "webhook_url",
            label: "Webhook URL",
            input: Input::Secret,
            hint: "From the Slack app's Incoming Webhooks page (https://hooks.slack.com/services/…).",
            when: Some(("mode", &["webhook"])),
            required: true,
        },
        Field {
            name: "bot_token",
            label: "Bot token",
            input: Input::Secret,
            hint: "The app's Bot User OAuth Token (xoxb-…).",
            when: Some(("mode", &["bot"])),
            required: true,
        },
        Field {
            name: "api_url",
            label: "Web API URL",
            input: Input::Url,
            hint: "Leave as it is unless you use a Slack-compatible server.",
            when: Some(("mode", &["bot"])),
            required: false,
        },
    ],
};

const SMTP_SECURITY: &[(&str, &str)] = &[
    ("starttls", "STARTTLS (usually port 587)"),
    ("tls", "Implicit TLS (usually port 465)"),
    ("none", "None (only inside your own network)"),
];

/// The SMTP connection: a mail server that sends idflow's emails.
pub const SMTP: Kind = Kind {
    key: "smtp",
    name: "Email (SMTP)",
    description: "Sends email through your mail server. Send Email cards use it.",
    fields: &[
        Field {
            name: "host",
            label: "Server",
            input: Input::Text,
            hint: "The SMTP server's name (smtp.example.com).",
            when: None,
            required: true,
        },
        Field {
            name: "security",
            label: "Security",
            input: Input::Choice(SMTP_SECURITY),
            hint: "",
            when: None,
            required: true,
        },
        Field {
            name: "port",
            label: "Port",
            input: Input::Text,
            hint: "587 for STARTTLS, 465 for implicit TLS.",
            when: None,
            required: true,
        },
        Field {
            name: "username",
            label: "User name",
            input: Input::Text,
            hint: "Leave empty for a server that takes mail without signing in.",
            when: None,
            required: false,
        },
        Field {
            name: "password",
            label: "Password",
            input: Input::Secret,
            hint: "",
            when: None,
            required: false,
        },
        Field {
            name: "from",
            label: "From address",
            input: Input::Text,
            hint: "Who emails come from: it@example.com or IT <it@example.com>.",
            when: None,
            required: true,
        },
        Field {
            name: "trust_certificate",
            label: "Certificate to trust",
            input: Input::LongText,
            hint: "Only for a server with a certificate of its own: its certificate (PEM), trusted besides the public ones.",
            when: None,
            required: false,
        },
    ],
};

const OKTA_MODES: &[(&str, &str)] = &[
    ("service", "Service app (private_key_jwt and DPoP)"),
    (
        "authorization_code",
        "An Okta admin authorizes it (authorization code)",
    ),
];

/// The Okta connection: an org, the OAuth 2.0 app flows call Okta's API through, and
/// the Event Hook Okta sends its events to.
pub const OKTA: Kind = Kind {
    key: "okta",
    name: "Okta",
    description: "An Okta org: Okta cards act on it through an OAuth 2.0 app, and its Event Hook starts flows on Okta events.",
    fields: &[
        Field {
            name: "domain",
            label: "Okta domain",
            input: Input::Text,
            hint: "The org's domain without https://, not the admin console's: dev-123456.okta.com.",
            when: None,
            required: true,
        },
        Field {
            name: "mode",
            label: "Connect with",
            input: Input::Choice(OKTA_MODES),
            hint: "",
            when: None,
            required: true,
        },
        Field {
            name: "client_id",
            label: "Client ID",
            input: Input::Text,
            hint: "The Client ID of the OAuth app made for idflow in Okta.",
            when: None,
            required: true,
        },
        Field {
            name: "client_secret",
            label: "Client secret",
            input: Input::Secret,
            hint: "The app's client secret.",
            when: Some(("mode", &["authorization_code"])),
            required: true,
        },
        Field {
            name: "scopes",
            label: "Scopes",
            input: Input::Text,
            hint: "Space-separated Okta scopes the flows need (okta.users.manage okta.groups.manage …); okta.users.read and okta.groups.read are always asked for.",
            when: None,
            required: false,
        },
        Field {
            name: "hook_header",
            label: "Event Hook header",
            input: Input::Text,
            hint: "The Event Hook's authentication field at Okta; Authorization when empty.",
            when: None,
            required: false,
        },
        Field {
            name: "hook_secret",
            label: "Event Hook secret",
            input: Input::Secret,
            hint: "The Event Hook's authentication secret: the same value as at Okta. Deliveries are refused until it is set.",
            when: None,
            required: false,
        },
    ],
};

/// Every kind of connection idflow has, in the order the console offers them.
pub const KINDS: &[Kind] = &[HTTP, SLACK, SMTP, OKTA];

pub fn kind(key: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.key == key)
}

/// The kind of connection a card of `card_kind` names in its `connection` input, if it
/// uses one: each app's cards use their app's kind.
pub fn kind_for_card(card_kind: &str) -> Option<&'static Kind> {
    let app = card_kind.split('.').next().unwrap_or_default();
    let key = match app {
        "http" => HTTP.key,
        "slack" => SLACK.key,
        "email" => SMTP.key,
        "okta" => OKTA.key,
        _ => return None,
    };
    kind(key)
}

/// What a person sends to create or change a connection: the non-secret values, and the
/// secrets they typed (a secret left empty when changing one keeps the one kept).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Values {
    pub settings: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
}

impl std::fmt::Display for Values {
    /// Never shows a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} with secrets {:?}",
            self.settings,
            self.secrets.keys()
        )
    }
}

#[cfg(feature = "server")]
/// `values` for `kind` as they are kept (choices defaulted, text trimmed, fields that do
/// not apply dropped), or every problem, each a sentence; `kept` names the secrets the
/// connection already holds.
pub fn checked(kind: &Kind, values: &Values, kept: &[String]) -> Result<Values, Vec<String>> {
    let mut settings = BTreeMap::new();
    for field in kind.fields.iter().filter(|f| !f.is_secret()) {
        let mut value = values
            .settings
            .get(field.name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default();
        if let Input::Choice(choices) = field.input
            && value.is_empty()
        {
            value = choices[0].0.to_string();
        }
        settings.insert(field.name.to_string(), value);
    }
    let mut problems = Vec::new();
    let mut out = Values::default();
    for field in kind.fields {
        if !field.applies(&settings) {
            continue;
        }
        if field.is_secret() {
            let typed = values
                .secrets
                .get(field.name)
                .filter(|s| !s.is_empty())
                .cloned();
            if typed.is_none() && field.required && !kept.iter().any(|k| k == field.name) {
                problems.push(format!("{} is needed.", field.label));
            }
            if let Some(secret) = typed {
                out.secrets.insert(field.name.to_string(), secret);
            }
            continue;
        }
        let value = settings.get(field.name).cloned().unwrap_or_default();
        match field.input {
            _ if value.is_empty() && field.required => {
                problems.push(format!("{} is needed.", field.label));
            }
            Input::Url if !value.is_empty() => match url::Url::parse(&value) {
                Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                    problems.push(format!(
                        "{} must not hold a user name or password: choose them under Authentication, where they are kept sealed.",
                        field.label
                    ));
                }
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
                _ => problems.push(format!(
                    "{} must be an http or https address, like https://api.example.com.",
                    field.label
                )),
            },
            Input::Choice(choices) if !choices.iter().any(|(v, _)| *v == value) => {
                problems.push(format!("{} must be one of the choices.", field.label));
            }
            _ => {}
        }
        if field.name == "port" && !value.is_empty() && value.parse::<u16>().is_err() {
            problems.push(format!("{value:?} is not a port number (1 to 65535)."));
        }
        let value = match (kind.key, field.name) {
            ("okta", "domain") if !value.is_empty() => match crate::okta::check_domain(&value) {
                Ok(domain) => domain,
                Err(problem) => {
                    problems.push(problem);
                    value
                }
            },
            _ => value,
        };
        if matches!(field.name, "header" | "hook_header")
            && !value.is_empty()
            && !is_header_name(&value)
        {
            problems.push(format!("{value:?} is not a header name."));
        }
        out.settings.insert(field.name.to_string(), value);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(feature = "server")]
fn is_header_name(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A connection's name: 1 to 100 characters, kept trimmed.
pub fn name_problem(name: &str) -> Option<String> {
    let count = name.trim().chars().count();
    (count == 0 || count > 100).then(|| "A connection needs a name of 1 to 100 characters.".into())
}

/// How a secret is shown: never its value.
pub const REDACTED: &str = "••••";

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::*;

    fn values(settings: &[(&str, &str)], secrets: &[(&str, &str)]) -> Values {
        Values {
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            secrets: secrets
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn an_http_connection_needs_what_its_authentication_needs() {
        let ok = checked(
            &HTTP,
            &values(&[("base_url", " https://api.example.com ")], &[]),
            &[],
        )
        .unwrap();
        assert_eq!(ok.settings["base_url"], "https://api.example.com");
        assert_eq!(
            ok.settings["auth"], "none",
            "the first choice is the default"
        );
        assert!(
            !ok.settings.contains_key("username"),
            "fields that do not apply are dropped"
        );

        let problems = checked(
            &HTTP,
            &values(&[("base_url", "ftp://x"), ("auth", "basic")], &[]),
            &[],
        )
        .unwrap_err();
        assert_eq!(
            problems,
            vec![
                "Base URL must be an http or https address, like https://api.example.com."
                    .to_string(),
                "User name is needed.".to_string(),
                "Password is needed.".to_string(),
            ]
        );

        // A secret already kept need not be typed again.
        let bearer = values(
            &[("base_url", "https://a.example"), ("auth", "bearer")],
            &[],
        );
        assert!(checked(&HTTP, &bearer, &[]).is_err());
        assert!(checked(&HTTP, &bearer, &["token".into()]).is_ok());

        let bad_header = values(
            &[
                ("base_url", "https://a.example"),
                ("auth", "api_key"),
                ("header", "X Key"),
            ],
            &[("api_key", "k")],
        );
        assert_eq!(
            checked(&HTTP, &bad_header, &[]).unwrap_err(),
            vec!["\"X Key\" is not a header name.".to_string()]
        );
        assert!(
            checked(
                &HTTP,
                &values(
                    &[("base_url", "https://a.example"), ("auth", "sideways")],
                    &[]
                ),
                &[]
            )
            .is_err()
        );
    }

    #[test]
    fn values_never_show_their_secrets() {
        let shown = values(&[("auth", "bearer")], &[("token", "s3cr3t-marker")]).to_string();
        assert!(!shown.contains("s3cr3t-marker"), "{shown}");
    }
}
