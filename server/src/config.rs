//! Configuration: command-line flags, each also settable through an `IDFLOW_*`
//! environment variable (or `DATABASE_URL`). Secrets are held as [`SecretString`], so
//! `Debug` and logs show `[REDACTED]`, never the value.

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "idflow",
    version,
    about = "Identity automation: flows, tables and their history, provisioned over SCIM."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the console, the APIs and the execution engine.
    Serve(Config),
    /// Check the configuration and the database, print what idflow would use, and exit.
    CheckConfig(Config),
    /// Apply pending database migrations and exit.
    Migrate(Config),
    /// Write everything people made (directory, roles and grants, folders, flows with
    /// versions, tables with rows, connections, settings) to FILE, as JSON: with `import`,
    /// the way from SQLite to PostgreSQL. Secrets stay sealed under the key.
    Export {
        /// The file to write (a new file).
        file: PathBuf,
        /// Leave connections' secrets and the single sign-on client secret out.
        #[arg(long)]
        without_secrets: bool,
        #[command(flatten)]
        config: Config,
    },
    /// Load an export into this configuration's database, which must be new and empty.
    Import {
        /// The file `idflow export` wrote.
        file: PathBuf,
        #[command(flatten)]
        config: Config,
    },
    /// Copy the SQLite database, consistently, while idflow runs (PostgreSQL: pg_dump).
    /// Back up the key file (or IDFLOW_SECRET_KEY) with it: without the key, the copy's
    /// secrets cannot be opened.
    Backup {
        /// The copy to make (a new file).
        file: PathBuf,
        #[command(flatten)]
        config: Config,
    },
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Flows.
    Flow {
        #[command(subcommand)]
        command: FlowCommand,
    },
    /// Make a release build's console files ready to serve (`make build-release` runs
    /// it): a copy of the WASM, JS and CSS named after its content, cached for a year by
    /// browsers, and every file compressed with brotli and gzip beside it.
    PrepareAssets {
        /// The built console's pkg/ folder.
        #[arg(default_value = "target/site/pkg")]
        pkg: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum FlowCommand {
    /// Make a new API secret for FLOW (its id or name) and print it, alone, on standard
    /// output: shown only this once, idflow keeps only its hash. The flow's other secrets
    /// stop working at once, or after --grace-hours; --revoke revokes them all instead.
    Secret {
        /// The flow's id or its name.
        flow: String,
        /// Hours the flow's current secrets keep working (at most 720, 30 days).
        #[arg(long, conflicts_with = "revoke")]
        grace_hours: Option<u32>,
        /// Revoke every secret of the flow; print nothing.
        #[arg(long)]
        revoke: bool,
        #[command(flatten)]
        config: Config,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set a new password for a user who signs in locally, and end their sessions.
    ///
    /// Without --password-stdin a password is generated and printed once.
    ResetPassword {
        /// The user's email (userName).
        email: String,
        /// Read the new password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        config: Config,
    },
    /// SCIM bearer tokens for identity providers.
    ScimToken {
        #[command(subcommand)]
        command: ScimTokenCommand,
    },
    /// API tokens for the REST API.
    ApiToken {
        #[command(subcommand)]
        command: ApiTokenCommand,
    },
    /// Re-seal every secret (connections, the single sign-on client secret) under a new
    /// key, in one transaction. With the key file, the new key replaces it and the old one
    /// is kept as `secret.key.<id>.retired` for older backups; with IDFLOW_SECRET_KEY, the
    /// new key is printed once, to set on every server. Stop idflow first (every server),
    /// then start it with the new key.
    RotateKey {
        #[command(flatten)]
        config: Config,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScimTokenCommand {
    /// Make a SCIM bearer token and print it, alone, on standard output. It is shown
    /// only this once; idflow keeps only its hash.
    Create {
        /// A name that says which identity provider uses the token ("Okta production").
        name: String,
        #[command(flatten)]
        config: Config,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiTokenCommand {
    /// Make a personal API token for a user and print it, alone, on standard output. It
    /// acts with that user's rights, narrowed by its scopes; it is shown only this once.
    Create {
        /// A name that says what uses the token ("Nightly report").
        name: String,
        /// The user it acts as (their userName).
        #[arg(long)]
        user: String,
        /// Its scopes, separated by spaces or commas (`flows:read logs:read`), or `all`.
        #[arg(long)]
        scopes: String,
        /// Days until it expires (1 to 365).
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[command(flatten)]
        config: Config,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A proxy's address or range.
fn proxy(value: &str) -> Result<ipnet::IpNet, String> {
    let value = value.trim();
    value
        .parse::<ipnet::IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{value:?} is not an IP address or range (such as 10.0.0.0/8)"))
}

fn secret(value: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(value.to_string()))
}

fn outbound_allow(value: &str) -> Result<domain::outbound::Allowed, String> {
    domain::outbound::Allowed::parse(value)
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "IDFLOW_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Folder for idflow's files (the SQLite database by default).
    #[arg(long, env = "IDFLOW_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Database URL: sqlite:… or postgres://…; defaults to sqlite in the data folder.
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true, value_parser = secret)]
    pub database_url: Option<SecretString>,

    /// The address people reach idflow at (used for redirects and the Secure cookie
    /// flag); defaults to http://<listen>.
    #[arg(long, env = "IDFLOW_PUBLIC_URL")]
    pub public_url: Option<url::Url>,

    /// Folder with the built console (the pkg/ folder with the WASM, JS and CSS).
    #[arg(long, env = "IDFLOW_SITE_DIR", default_value = "target/site")]
    pub site_dir: PathBuf,

    /// Email of the Super Admin created on first start with an empty database.
    #[arg(long, env = "IDFLOW_ADMIN_EMAIL", default_value = "admin@example.com")]
    pub admin_email: String,

    /// Password of that first Super Admin; when unset, a one-time password is generated
    /// and printed once.
    #[arg(long, env = "IDFLOW_ADMIN_PASSWORD", hide_env_values = true, value_parser = secret)]
    pub admin_password: Option<SecretString>,

    /// A session ends after this many minutes without a request.
    #[arg(long, env = "IDFLOW_SESSION_IDLE_MINUTES", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub session_idle_minutes: u32,

    /// A session ends this many hours after sign-in, however active.
    #[arg(long, env = "IDFLOW_SESSION_MAX_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..))]
    pub session_max_hours: u32,

    /// Take the client address from X-Forwarded-For (only behind a proxy you run): the
    /// right-most address in it that is not one of the trusted proxies.
    #[arg(long, env = "IDFLOW_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Proxies in front of idflow whose addresses X-Forwarded-For may also hold, besides
    /// the one that connects (comma-separated addresses or ranges: 10.0.0.0/8,192.0.2.7).
    #[arg(long, env = "IDFLOW_TRUSTED_PROXIES", value_delimiter = ',', value_parser = proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Sign-in attempts (and single sign-on starts and returns) one client address may
    /// make per minute.
    #[arg(long, env = "IDFLOW_SIGN_IN_PER_MINUTE", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub sign_in_per_minute: u32,

    /// Refused SCIM and API calls (no token, a wrong one) one client address may make per
    /// minute before it must wait.
    #[arg(long, env = "IDFLOW_REFUSED_PER_MINUTE", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub refused_per_minute: u32,

    /// Single sign-on: the OpenID Connect issuer of the company's identity provider
    /// (https://example.okta.com). Set with the client id to turn on "Sign in with …";
    /// when unset, a Super Admin may set it up in Settings.
    #[arg(long, env = "IDFLOW_OIDC_ISSUER")]
    pub oidc_issuer: Option<url::Url>,

    /// Single sign-on: the client id of idflow's app at the identity provider.
    #[arg(long, env = "IDFLOW_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// Single sign-on: the client secret of idflow's app at the identity provider.
    #[arg(long, env = "IDFLOW_OIDC_CLIENT_SECRET", hide_env_values = true, value_parser = secret)]
    pub oidc_client_secret: Option<SecretString>,

    /// Single sign-on: the provider's name on the sign-in button ("Sign in with Okta");
    /// by default taken from the issuer.
    #[arg(long, env = "IDFLOW_OIDC_NAME")]
    pub oidc_name: Option<String>,

    /// How many executions this server runs at once; 0 leaves running flows to other
    /// servers on the same database.
    /// `/metrics` answers (Prometheus text) to this bearer token; unset, it answers 404.
    #[arg(long, env = "IDFLOW_METRICS_TOKEN", hide_env_values = true, value_parser = secret)]
    pub metrics_token: Option<SecretString>,

    /// Also serve `/metrics`, without a token, on this address (keep it private).
    #[arg(long, env = "IDFLOW_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    #[arg(long, env = "IDFLOW_WORKERS", default_value_t = 2)]
    pub workers: usize,

    /// Execution history is kept this many days after an execution ends; 0 keeps it
    /// forever.
    #[arg(long, env = "IDFLOW_HISTORY_DAYS", default_value_t = 30)]
    pub history_days: u32,

    /// Blast-radius guard: a flow that deactivates, suspends or removes more users than
    /// this within an hour pauses for an admin's approval.
    #[arg(long, env = "IDFLOW_BLAST_RADIUS_USERS", default_value_t = 25)]
    pub blast_radius_users: u32,

    /// Blast-radius guard: …or more than this percent of a directory of 100 users or more.
    #[arg(long, env = "IDFLOW_BLAST_RADIUS_PERCENT", default_value_t = 10)]
    pub blast_radius_percent: u32,

    /// The key secrets are sealed under at rest (64 hex characters, as `openssl rand
    /// -hex 32` makes); by default the key file `secret.key` in the data folder, made at
    /// first start. Back it up with the database: without it, kept secrets do not open.
    #[arg(long = "secret-key", env = "IDFLOW_SECRET_KEY", hide_env_values = true, value_parser = secret)]
    pub secret_key: Option<SecretString>,

    /// Hosts and ranges flows may call although the outbound guard refuses them (your
    /// internal services): comma-separated names, addresses or ranges (10.1.0.0/16).
    #[arg(long, env = "IDFLOW_OUTBOUND_ALLOW", default_value = "", value_parser = outbound_allow)]
    pub outbound_allow: domain::outbound::Allowed,

    /// Log format.
    #[arg(long, env = "IDFLOW_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter, as tracing's EnvFilter reads it.
    #[arg(long, env = "IDFLOW_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> SecretString {
        match &self.database_url {
            Some(url) => url.clone(),
            None => SecretString::from(format!(
                "sqlite://{}",
                self.data_dir.join("idflow.db").display()
            )),
        }
    }

    pub fn uses_default_database(&self) -> bool {
        self.database_url.is_none()
    }

    pub fn public_url(&self) -> url::Url {
        self.public_url.clone().unwrap_or_else(|| {
            url::Url::parse(&format!("http://{}", self.listen))
                .expect("a socket address makes a URL")
        })
    }

    /// Whether cookies must be marked Secure: idflow is reached over TLS.
    pub fn behind_tls(&self) -> bool {
        self.public_url().scheme() == "https"
    }

    /// The identity provider the environment configures, if it does.
    pub fn oidc_provider(&self) -> Option<crate::oidc::Provider> {
        let issuer = self.oidc_issuer.as_ref()?;
        let client_id = self
            .oidc_client_id
            .clone()
            .filter(|c| !c.trim().is_empty())?;
        // Discovery appends to the issuer as given; keep it as the provider writes it.
        let issuer = issuer.as_str().trim_end_matches('/').to_string();
        Some(crate::oidc::Provider {
            display_name: self
                .oidc_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| crate::oidc::default_display_name(&issuer)),
            issuer,
            client_id,
            client_secret: self.oidc_client_secret.clone(),
            from_environment: true,
        })
    }

    /// Problems that stop idflow from starting, each a sentence an operator can act on.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let url = self.database_url();
        let url = url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            problems.push(format!(
                "DATABASE_URL must start with sqlite: or postgres:, got {}",
                domain::store::redact_url(url)
            ));
        }
        if self.session_max_hours as u64 * 60 < self.session_idle_minutes as u64 {
            problems.push(
                "IDFLOW_SESSION_MAX_HOURS must be at least as long as IDFLOW_SESSION_IDLE_MINUTES"
                    .into(),
            );
        }
        if let Some(p) = &self.admin_password
            && p.expose_secret().chars().count() < domain::auth::MIN_PASSWORD_LENGTH
        {
            problems.push(format!(
                "IDFLOW_ADMIN_PASSWORD must be at least {} characters long",
                domain::auth::MIN_PASSWORD_LENGTH
            ));
        }
        match (&self.oidc_issuer, &self.oidc_client_id) {
            (Some(_), None) => problems.push(
                "IDFLOW_OIDC_ISSUER is set but IDFLOW_OIDC_CLIENT_ID is not: single sign-on needs both".into(),
            ),
            (None, Some(_)) => problems.push(
                "IDFLOW_OIDC_CLIENT_ID is set but IDFLOW_OIDC_ISSUER is not: single sign-on needs both".into(),
            ),
            (Some(issuer), Some(_))
                if issuer.scheme() != "https" && !crate::oidc::is_loopback(issuer) =>
            {
                problems.push(format!(
                    "IDFLOW_OIDC_ISSUER must be an https:// URL (http only for 127.0.0.1 or localhost), got {issuer}"
                ))
            }
            _ => {}
        }
        if !self.admin_email.contains('@') {
            problems.push(format!(
                "IDFLOW_ADMIN_EMAIL {:?} is not an email address",
                self.admin_email
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        let mut full = vec!["idflow", "serve"];
        full.extend_from_slice(args);
        match Cli::try_parse_from(full).unwrap().command {
            Command::Serve(config) => config,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = parse(&[
            "--admin-password",
            "very secret password",
            "--database-url",
            "postgres://idflow:hunter2@db/idflow",
        ]);
        let shown = format!("{config:?}");
        assert!(!shown.contains("very secret password"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let config = parse(&[
            "--oidc-issuer",
            "https://example.okta.com",
            "--oidc-client-id",
            "idflow",
            "--oidc-client-secret",
            "oidc client secret value",
        ]);
        let shown = format!("{config:?} {:?}", config.oidc_provider());
        assert!(!shown.contains("oidc client secret value"), "{shown}");
    }

    #[test]
    fn defaults_keep_sqlite_in_the_data_folder() {
        let config = parse(&[]);
        assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(
            config.database_url().expose_secret(),
            "sqlite://./data/idflow.db"
        );
        assert_eq!(config.public_url().as_str(), "http://127.0.0.1:3000/");
        assert!(!config.behind_tls());
        assert!(config.problems().is_empty(), "{:?}", config.problems());
    }

    #[test]
    fn a_public_https_url_means_secure_cookies() {
        assert!(parse(&["--public-url", "https://idflow.example.com"]).behind_tls());
    }

    #[test]
    fn single_sign_on_needs_issuer_and_client_and_https() {
        let provider = parse(&[
            "--oidc-issuer",
            "https://example.okta.com/",
            "--oidc-client-id",
            "0oa1",
        ])
        .oidc_provider()
        .unwrap();
        assert_eq!(provider.issuer, "https://example.okta.com");
        assert_eq!(provider.display_name, "Okta");
        assert!(provider.from_environment);
        assert!(parse(&[]).oidc_provider().is_none());

        let half = parse(&["--oidc-issuer", "https://example.okta.com"]);
        assert!(half.problems().join("\n").contains("IDFLOW_OIDC_CLIENT_ID"));
        let plain = parse(&[
            "--oidc-issuer",
            "http://idp.example.com",
            "--oidc-client-id",
            "x",
        ]);
        assert!(plain.problems().join("\n").contains("https://"));
        let local = parse(&[
            "--oidc-issuer",
            "http://127.0.0.1:9000",
            "--oidc-client-id",
            "x",
        ]);
        assert!(local.problems().is_empty(), "{:?}", local.problems());
    }

    #[test]
    fn bad_settings_are_named() {
        let config = parse(&["--database-url", "mysql://x", "--admin-password", "short"]);
        let problems = config.problems().join("\n");
        assert!(problems.contains("DATABASE_URL"), "{problems}");
        assert!(problems.contains("IDFLOW_ADMIN_PASSWORD"), "{problems}");
    }
}
