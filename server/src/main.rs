//! The `idflow` binary.

use clap::Parser;
use domain::auth::Bootstrap;
use idflow::config::{
    AdminCommand, ApiTokenCommand, Cli, Command, Config, FlowCommand, LogFormat, ScimTokenCommand,
};
use secrecy::{ExposeSecret, SecretString};
use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;

/// mimalloc rather than the system allocator: a flow's run makes many small, short-lived
/// allocations (JSON values, card records, SQL rows), and glibc's malloc and free were
/// about a sixth of a synchronous API call's CPU (`perf`, bench/engine).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match &cli.command {
        // Needs no configuration, nor logging.
        Command::PrepareAssets { pkg } => {
            return match prepare_assets(pkg) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("error: {err:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Serve(c) | Command::CheckConfig(c) | Command::Migrate(c) => c.clone(),
        Command::Backup { config, .. }
        | Command::Export { config, .. }
        | Command::Import { config, .. } => config.clone(),
        Command::Admin {
            command: AdminCommand::ResetPassword { config, .. },
        }
        | Command::Admin {
            command:
                AdminCommand::ScimToken {
                    command: ScimTokenCommand::Create { config, .. },
                },
        }
        | Command::Admin {
            command: AdminCommand::RotateKey { config },
        }
        | Command::Flow {
            command: FlowCommand::Secret { config, .. },
        }
        | Command::Admin {
            command:
                AdminCommand::ApiToken {
                    command: ApiTokenCommand::Create { config, .. },
                },
        } => config.clone(),
    };
    init_logging(&config);
    let result = match cli.command {
        Command::Serve(config) => serve(config).await,
        Command::PrepareAssets { pkg } => prepare_assets(&pkg),
        Command::CheckConfig(config) => check_config(config).await,
        Command::Migrate(config) => migrate(config).await,
        Command::Backup { file, config } => backup(config, file).await,
        Command::Export {
            file,
            without_secrets,
            config,
        } => export(config, file, !without_secrets).await,
        Command::Import { file, config } => import(config, file).await,
        Command::Admin {
            command:
                AdminCommand::ResetPassword {
                    email,
                    password_stdin,
                    config,
                },
        } => reset_password(config, email, password_stdin).await,
        Command::Admin {
            command:
                AdminCommand::ScimToken {
                    command: ScimTokenCommand::Create { name, config },
                },
        } => create_scim_token(config, name).await,
        Command::Admin {
            command: AdminCommand::RotateKey { config },
        } => rotate_key(config).await,
        Command::Admin {
            command:
                AdminCommand::ApiToken {
                    command:
                        ApiTokenCommand::Create {
                            name,
                            user,
                            scopes,
                            days,
                            config,
                        },
                },
        } => create_api_token(config, name, user, scopes, days).await,
        Command::Flow {
            command:
                FlowCommand::Secret {
                    flow,
                    grace_hours,
                    revoke,
                    config,
                },
        } => flow_secret(config, flow, grace_hours, revoke).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("idflow: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn refuse_problems(config: &Config) -> anyhow::Result<()> {
    let problems = config.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "the configuration has problems:\n  - {}",
            problems.join("\n  - ")
        )
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    refuse_problems(&config)?;
    // Before anything records a metric.
    idflow::metrics::handle();
    let prepared = idflow::prepare(&config).await?;
    let store = prepared.state.store.clone();
    tracing::info!(
        database = %domain::store::redact_url(config.database_url().expose_secret()),
        backend = store.kind().name(),
        "database ready"
    );

    match domain::auth::ensure_bootstrap_admin(
        &store,
        &config.admin_email,
        config.admin_password.clone(),
    )
    .await?
    {
        Bootstrap::NotNeeded => {}
        Bootstrap::Created { user } => {
            println!(
                "Created the bootstrap Super Admin {} with the password from IDFLOW_ADMIN_PASSWORD.",
                user.user_name
            );
        }
        Bootstrap::CreatedWithGeneratedPassword { user, password } => {
            println!();
            println!("  Created the bootstrap Super Admin: {}", user.user_name);
            println!(
                "  One-time password:                 {}",
                password.expose_secret()
            );
            println!(
                "  It is shown only this once. Change it with: idflow admin reset-password {}",
                user.user_name
            );
            println!();
        }
    }

    prepared
        .session_store
        .spawn_cleanup(std::time::Duration::from_secs(300));
    let retention =
        (config.history_days > 0).then(|| chrono::Duration::days(i64::from(config.history_days)));
    let guard = domain::engine::BlastRadius {
        max_users: config.blast_radius_users,
        max_percent: config.blast_radius_percent,
        window: chrono::Duration::hours(1),
    };
    let engine = idflow::engine::spawn_with(store.clone(), config.workers, retention, guard);
    let state = idflow::AppState::from(idflow::Services {
        inline: engine.inline_runner(),
        ..prepared.state
    });
    if let Some(address) = config.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(address).await.map_err(|e| {
            anyhow::anyhow!("cannot listen on {address} (IDFLOW_METRICS_LISTEN): {e}")
        })?;
        let router = idflow::metrics::listener_router(state.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(metrics, router).await {
                tracing::error!(error = %err, "the metrics address stopped");
            }
        });
        tracing::info!(%address, "serving /metrics on its own address");
    }
    let app = idflow::router(state, prepared.session_store, prepared.settings);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (IDFLOW_LISTEN): {e}", config.listen))?;
    // With port 0 the system picks the port: show the one it picked.
    let public = match (&config.public_url, listener.local_addr()) {
        (None, Ok(bound)) => format!("http://{bound}/"),
        _ => config.public_url().to_string(),
    };
    println!("idflow is running at {public}");
    tracing::info!(listen = %config.listen, public_url = %public, "listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    drop(engine);
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

async fn check_config(config: Config) -> anyhow::Result<()> {
    println!("{config:#?}");
    println!(
        "database: {}",
        domain::store::redact_url(config.database_url().expose_secret())
    );
    println!("public URL: {}", config.public_url());
    refuse_problems(&config)?;
    let site = config.site_dir.join("pkg");
    if !site.join("idflow.js").exists() {
        println!(
            "warning: {} has no built console (idflow.js); pages will not hydrate. Build with `make build`.",
            site.display()
        );
    }
    let store = domain::store::Store::connect(config.database_url().expose_secret()).await?;
    let readiness = store.readiness().await;
    if !readiness.pending_migrations.is_empty() {
        println!(
            "pending migrations (applied at start): {}",
            readiness.pending_migrations.join(", ")
        );
    }
    println!("configuration OK");
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    refuse_problems(&config)?;
    if config.uses_default_database() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let store = domain::store::Store::open(config.database_url().expose_secret()).await?;
    println!("migrations applied on {}", store.kind().name());
    Ok(())
}

async fn reset_password(config: Config, email: String, password_stdin: bool) -> anyhow::Result<()> {
    let store = domain::store::Store::open(config.database_url().expose_secret()).await?;
    let (password, generated) = if password_stdin {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input)?;
        (
            SecretString::from(input.trim_end_matches(['\r', '\n']).to_string()),
            false,
        )
    } else {
        (domain::auth::generate_password(), true)
    };
    let user = domain::auth::reset_password(&store, &email, password.clone()).await?;
    if generated {
        println!(
            "New password for {}: {}",
            user.user_name,
            password.expose_secret()
        );
    } else {
        println!("Password set for {}.", user.user_name);
    }
    println!("Their existing sessions have ended.");
    Ok(())
}

async fn export(config: Config, file: std::path::PathBuf, secrets: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let store = domain::store::Store::open(config.database_url().expose_secret()).await?;
    let export = store.export_all(secrets).await?;
    store.close().await;
    // It holds password hashes and sealed secrets: readable by this user only.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(&file)
        .map_err(|e| anyhow::anyhow!("cannot make {}: {e}", file.display()))?;
    serde_json::to_writer(&mut out, &export)?;
    out.flush()?;
    for (table, rows) in export.counts() {
        println!("{table}: {rows}");
    }
    println!("Exported to {}.", file.display());
    if secrets {
        println!(
            "Its secrets are sealed: start the new idflow with the same key ({} or IDFLOW_SECRET_KEY).",
            config.data_dir.join(domain::secrets::KEY_FILE).display()
        );
    } else {
        println!("Connections' secrets were left out: enter them again on each connection's page.");
    }
    Ok(())
}

async fn import(config: Config, file: std::path::PathBuf) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let export: domain::store::Export = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not an idflow export: {e}", file.display()))?;
    let store = domain::store::Store::open(config.database_url().expose_secret()).await?;
    let counts = store.import_all(&export).await?;
    store.close().await;
    for (table, rows) in counts {
        println!("{table}: {rows}");
    }
    println!(
        "Imported {} into the {} database.",
        file.display(),
        store.kind().name()
    );
    Ok(())
}

async fn backup(config: Config, file: std::path::PathBuf) -> anyhow::Result<()> {
    let store = domain::store::Store::open(config.database_url().expose_secret()).await?;
    store.backup_to(&file).await?;
    store.close().await;
    // Like the database, the copy holds password hashes and sealed secrets.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
    }
    println!("Copied the database to {}.", file.display());
    if config.secret_key.is_none() {
        println!(
            "Keep {} with it: the copy's secrets open only with that key.",
            config.data_dir.join(domain::secrets::KEY_FILE).display()
        );
    } else {
        println!("Keep IDFLOW_SECRET_KEY with it: the copy's secrets open only with that key.");
    }
    Ok(())
}

async fn rotate_key(config: Config) -> anyhow::Result<()> {
    use domain::audit::{Action, Actor, NewEntry, Outcome};
    use domain::secrets::{KeyFileRotation, SecretKey};
    let store = domain::store::Store::open(config.database_url().expose_secret()).await?;
    let from_env = config.secret_key.as_ref();
    if from_env.is_none() && !config.data_dir.join(domain::secrets::KEY_FILE).exists() {
        anyhow::bail!(
            "there is no key file in {} and IDFLOW_SECRET_KEY is not set: nothing was ever sealed here",
            config.data_dir.display()
        );
    }
    let current = SecretKey::load(from_env, &config.data_dir)?;
    let old_id = current.id().to_string();
    store.use_secret_key(current);
    let entry = |new_id: &str| {
        NewEntry::new(Action::SecretKeyRotate, Outcome::Success, Actor::System)
            .reason(format!("from key {old_id} to key {new_id}"))
    };
    if from_env.is_some() {
        let (new, text) = SecretKey::generate_with_text();
        let count = store.reseal_secrets(&new, &entry(new.id())).await?;
        println!(
            "Re-sealed {count} secrets under the new key {}. Set IDFLOW_SECRET_KEY to it on every server before starting them (it is shown only this once):",
            new.id()
        );
        println!("{}", text.expose_secret());
    } else {
        let rotation = KeyFileRotation::begin(&config.data_dir)?;
        let new_id = rotation.new_key.id().to_string();
        let count = store
            .reseal_secrets(&rotation.new_key, &entry(&new_id))
            .await?;
        let retired = rotation.finish(&old_id)?;
        println!(
            "Re-sealed {count} secrets under the new key {new_id}, now in {}.",
            config.data_dir.join(domain::secrets::KEY_FILE).display()
        );
        println!(
            "The old key is kept as {}: it opens only backups made before now; delete it once they are gone.",
            retired.display()
        );
    }
    store.close().await;
    Ok(())
}

/// `idflow admin api-token create NAME --user EMAIL --scopes …`: a personal API token
/// for that user, printed alone. The operator makes it; it acts as the user.
async fn create_api_token(
    config: Config,
    name: String,
    user: String,
    scopes: String,
    days: u32,
) -> anyhow::Result<()> {
    use domain::api_tokens::{LONGEST_DAYS, Scope, TokenKind, parse_scopes};
    use domain::audit::{Action, Actor, NewEntry, Outcome, Target};
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        anyhow::bail!("the token name must be 1 to 100 characters long");
    }
    if !(1..=LONGEST_DAYS).contains(&days) {
        anyhow::bail!("--days is 1 to {LONGEST_DAYS}");
    }
    let scopes = if scopes.trim() == "all" {
        Scope::all()
    } else {
        parse_scopes(&scopes).map_err(|why| anyhow::anyhow!("--scopes: {why}"))?
    };
    if scopes.is_empty() {
        anyhow::bail!("--scopes names at least one scope, or all");
    }
    if config.uses_default_database() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let store = domain::store::Store::open(config.database_url().expose_secret()).await?;
    let person = store
        .user_by_name(user.trim())
        .await?
        .filter(|u| u.status == domain::directory::UserStatus::Active)
        .ok_or_else(|| anyhow::anyhow!("there is no active user {user:?}"))?;
    let new = domain::store::NewApiToken {
        name: name.to_string(),
        kind: TokenKind::Personal,
        owner: person.id,
        owner_name: person.user_name.clone(),
        role: None,
        scopes: scopes.clone(),
        expires_at: chrono::Utc::now() + chrono::Duration::days(i64::from(days)),
    };
    let names: Vec<String> = scopes.iter().map(|s| s.name()).collect();
    let entry = NewEntry::new(Action::ApiTokenCreate, Outcome::Success, Actor::Operator)
        .target(Target {
            kind: "api_token".into(),
            id: String::new(),
            display: name.to_string(),
        })
        .reason(format!(
            "personal token for {}; scopes {}; {days} days",
            person.user_name,
            names.join(" ")
        ));
    let (_, secret) = store.create_api_token(&new, &entry).await?;
    // The token alone, so scripts can capture it.
    println!("{secret}");
    Ok(())
}

/// `idflow flow secret FLOW`: a new API secret for the flow, printed alone (or, with
/// `revoke`, every secret of it revoked). The operator acts, as with `admin scim-token`.
async fn flow_secret(
    config: Config,
    flow: String,
    grace_hours: Option<u32>,
    revoke: bool,
) -> anyhow::Result<()> {
    use domain::audit::{Action, Actor, NewEntry, Outcome};
    if config.uses_default_database() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let store = domain::store::Store::open(config.database_url().expose_secret()).await?;
    let by_id = match uuid::Uuid::parse_str(flow.trim()) {
        Ok(id) => store.flow_summary(domain::flows::FlowId(id)).await?,
        Err(_) => None,
    };
    let summary = match by_id {
        Some(summary) => summary,
        None => store
            .flow_by_name(&flow.trim().to_lowercase())
            .await?
            .ok_or_else(|| anyhow::anyhow!("there is no flow with the id or name {flow:?}"))?,
    };
    let target = domain::actions::flows::flow_target(summary.id, &summary.name);
    if revoke {
        let entry = NewEntry::new(Action::FlowTokenRevoke, Outcome::Success, Actor::Operator)
            .target(target);
        if !store.revoke_flow_secrets(summary.id, &entry).await? {
            anyhow::bail!("the flow {:?} has no secret to revoke", summary.name);
        }
        eprintln!("Every secret of {:?} is revoked.", summary.name);
        return Ok(());
    }
    let grace = grace_hours.map(|hours| chrono::Duration::hours(i64::from(hours)));
    if grace.is_some_and(|g| g > domain::actions::flows::LONGEST_SECRET_GRACE) {
        anyhow::bail!("--grace-hours is at most 720 (30 days)");
    }
    let mut entry =
        NewEntry::new(Action::FlowTokenCreate, Outcome::Success, Actor::Operator).target(target);
    if let Some(hours) = grace_hours.filter(|h| *h > 0) {
        entry = entry.reason(format!(
            "the previous secret keeps working for {hours} hours"
        ));
    }
    let secret = store
        .new_flow_secret(summary.id, "operator", grace, &entry)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the flow {:?} is gone", summary.name))?;
    // The secret alone, so scripts can capture it.
    println!("{secret}");
    Ok(())
}

async fn create_scim_token(config: Config, name: String) -> anyhow::Result<()> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        anyhow::bail!("the token name must be 1 to 100 characters long");
    }
    if config.uses_default_database() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let store = domain::store::Store::open(config.database_url().expose_secret()).await?;
    let entry = domain::audit::NewEntry::new(
        domain::audit::Action::ScimTokenCreate,
        domain::audit::Outcome::Success,
        domain::audit::Actor::Operator,
    )
    .target(domain::audit::Target {
        kind: "scim_token".into(),
        id: String::new(),
        display: name.to_string(),
    });
    let (_, secret) = store
        .create_scim_token(name, domain::store::TokenMaker::Operator, &entry)
        .await?;
    // The token alone, so scripts can capture it.
    println!("{}", secret);
    Ok(())
}

/// `idflow prepare-assets`: see [`idflow::assets::prepare`].
fn prepare_assets(pkg: &std::path::Path) -> anyhow::Result<()> {
    let prepared = idflow::assets::prepare(pkg, "idflow")?;
    let kb = |bytes: u64| bytes as f64 / 1024.0;
    // The files pages load, by their hashed names; the pages' own parts in one line.
    let (mut parts, mut sizes) = (0, (0, 0, 0));
    for (name, raw, br, gz) in prepared.files {
        if !idflow::assets::hashed(&name) {
            continue;
        }
        if name.starts_with("split_") || name.starts_with("chunk_") {
            parts += 1;
            sizes = (sizes.0 + raw, sizes.1 + br, sizes.2 + gz);
            continue;
        }
        println!(
            "{name}: {:.1} KB, brotli {:.1} KB, gzip {:.1} KB",
            kb(raw),
            kb(br),
            kb(gz)
        );
    }
    if parts > 0 {
        println!(
            "{parts} parts of 1 KB or more, loaded when a page first needs them (split_*, chunk_*): {:.1} KB, brotli {:.1} KB, gzip {:.1} KB",
            kb(sizes.0),
            kb(sizes.1),
            kb(sizes.2)
        );
    }
    Ok(())
}
