//! The `idflow` server: configuration, the HTTP router and start-up.
//!
//! [`router`] builds the whole HTTP surface from an [`AppState`], apart from [`serve`],
//! so tests drive the real router.
#![forbid(unsafe_code)]
// The console's typed views nest deeply; without `--cfg erase_components` (release
// builds) proving them `Send` needs a deeper limit than the default.
#![recursion_limit = "256"]

pub mod api;
pub mod assets;
pub mod assignments;
pub mod auth;
pub mod config;
pub mod connections;
pub mod directory;
pub mod engine;
pub mod executions;
pub mod flows;
pub mod folders;
pub mod forms;
pub mod health;
pub mod hooks;
pub mod hygiene;
pub mod invoke;
pub mod metrics;
pub mod oidc;
pub mod preferences;
pub mod request;
pub mod scim;
pub mod sessions;
pub mod settings;
pub mod system_log;
pub mod tables;

use app::{App, shell};
use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::store::Store;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use sessions::DbSessionStore;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// What every handler can reach: [`Services`] behind one `Arc`, since every middleware
/// and handler of every request takes a copy (cloning the fields themselves was about a
/// tenth of the CPU of a synchronous API call).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl From<Services> for AppState {
    fn from(services: Services) -> AppState {
        AppState(Arc::new(services))
    }
}

/// The store, settings and helpers of the running server (see [`AppState`]).
pub struct Services {
    pub store: Store,
    pub leptos_options: LeptosOptions,
    /// A session ends this long after sign-in, however active.
    pub session_max_age: chrono::Duration,
    pub trust_forwarded_for: bool,
    /// Proxies whose addresses X-Forwarded-For may hold (besides the connecting one).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Rate limits per client address (see `hygiene`).
    pub limiters: Arc<hygiene::Limiters>,
    /// Where people and identity providers reach idflow, without a trailing slash
    /// (SCIM's `meta.location`).
    pub public_url: String,
    /// Sign-in with the company's identity provider (OpenID Connect).
    pub sso: Arc<oidc::Sso>,
    /// Runs synchronous API calls' executions as they arrive, when this process runs the
    /// execution engine (see `engine::Engine::inline_runner`).
    pub inline: Option<Arc<domain::engine::runner::Runner>>,
    /// `/metrics` answers with this bearer token (`IDFLOW_METRICS_TOKEN`); none: it does not.
    pub metrics_token: Option<secrecy::SecretString>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// How sessions behave.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    pub idle: Duration,
    pub secure: bool,
}

pub const SESSION_COOKIE: &str = "idflow_session";

/// The whole HTTP surface of idflow.
pub fn router(state: AppState, session_store: DbSessionStore, settings: SessionSettings) -> Router {
    metrics::handle();
    let routes = generate_route_list(App);
    let store = state.store.clone();
    let public_url = app::session::PublicUrl(state.public_url.clone());
    let sso = sso_context(&state);
    let api_doc = api_document();
    let context = move || {
        provide_context(store.clone());
        provide_context(api_doc.clone());
        provide_context(public_url.clone());
        provide_context(sso.clone());
        provide_context(app::session::NewSecretOnce::default());
    };

    let sessions = SessionManagerLayer::new(session_store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure)
        .with_path("/")
        // Saving on every request slides the idle expiry forward while the user is active.
        .with_always_save(true)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::try_from(settings.idle)
                .unwrap_or(tower_sessions::cookie::time::Duration::hours(1)),
        ));

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::scrape))
        .route("/readyz", get(health::readyz))
        .route("/auth/sign-in", post(auth::sign_in))
        .route("/auth/sign-out", post(auth::sign_out))
        .route("/auth/oidc/start", get(oidc::start))
        .route(oidc::CALLBACK_PATH, get(oidc::callback))
        .route(oidc::LINK_PATH, post(oidc::confirm_link))
        .route(oidc::SIGNED_OUT_PATH, get(oidc::signed_out))
        .route("/settings/scim-tokens", post(settings::create_scim_token))
        .route("/settings/scim-tokens/{id}/revoke", post(settings::revoke_scim_token))
        .route("/settings/scim-self-check", post(settings::run_scim_self_check))
        .route(app::theme::THEME_PATH, post(preferences::set_theme))
        .route("/settings/api-tokens", post(settings::create_api_token))
        .route("/settings/api-tokens/{id}/revoke", post(settings::revoke_api_token))
        .route("/settings/sso", post(settings::save_sso))
        .route("/settings/sso/remove", post(settings::remove_sso))
        .route("/settings/outbound", post(settings::save_outbound))
        .route("/system-log/retention", post(system_log::save_retention))
        .route("/system-log/export", get(system_log::export))
        .route("/connections", post(connections::create))
        .route("/connections/{id}", post(connections::update))
        .route("/connections/{id}/test", post(connections::test))
        .route("/connections/{id}/sharing", post(connections::share))
        .route("/connections/{id}/delete", post(connections::delete))
        .route("/connections/{id}/okta/authorize", post(connections::okta_authorize))
        .route(connections::OKTA_CALLBACK_PATH, get(connections::okta_callback))
        .route("/assignments/users", post(assignments::assign_user))
        .route("/assignments/users/{id}/role", post(assignments::change_user_role))
        .route("/assignments/users/{id}/unassign", post(assignments::unassign_user))
        .route("/assignments/users/{id}/provision", post(assignments::provision_user))
        .route("/assignments/groups", post(assignments::map_group_role))
        .route("/assignments/groups/{id}/unmap", post(assignments::unmap_group_role))
        .route("/assignments/convert", post(assignments::convert_assignments))
        .route("/assignments/access-review.csv", get(assignments::access_review_csv))
        .route("/flows/import", post(flows::import))
        .route("/flows/templates/{key}", post(flows::install_template))
        .route("/flows/{id}/enabled", post(flows::set_enabled))
        .route("/flows/{id}/run", post(flows::run))
        .route("/flows/{id}/delete", post(flows::delete))
        .route("/flows/{id}/secret", post(flows::make_secret))
        .route("/flows/{id}/secret/revoke", post(flows::revoke_secret))
        .route("/flows/{id}/export", get(flows::export))
        .route("/flows/{id}/versions", post(flows::save))
        .route("/flows/{id}/versions/{version}/restore", post(flows::restore))
        .route("/tables", post(tables::create))
        .route("/tables/{id}/delete", post(tables::delete))
        .route("/tables/{id}/rows", post(tables::add_row))
        .route("/tables/{id}/rows/{row}", post(tables::update_row))
        .route("/tables/{id}/rows/{row}/delete", post(tables::delete_row))
        .route("/tables/{id}/import", post(tables::import))
        .route("/tables/{id}/export", get(tables::export))
        .route("/executions/{id}/cancel", post(executions::cancel))
        .route("/executions/{id}/rerun", post(executions::rerun))
        .route("/executions/{id}/approve", post(executions::approve))
        .route("/executions/{id}/export", get(executions::export))
        .route("/flows/{id}/clone", post(flows::clone))
        .route("/flows/{id}/test", post(flows::test))
        .route("/flows/{id}/move", post(folders::move_flow))
        .route("/folders", post(folders::create))
        .route("/folders/{id}/rename", post(folders::rename))
        .route("/folders/{id}/export", get(folders::export))
        .route("/folders/{id}/grants", post(folders::share))
        .route("/directory/users", post(directory::create_user))
        .route("/directory/users/{id}", post(directory::update_user))
        .route("/directory/users/{id}/status", post(directory::set_user_status))
        .route("/directory/groups", post(directory::create_group))
        .route("/directory/groups/{id}/members", post(directory::add_member))
        .route("/directory/groups/{id}/members/{user}/remove", post(directory::remove_member))
        .route("/hooks/okta/{id}", get(hooks::verify).post(hooks::deliver))
        .route("/api/v1/flows/{id}/invoke", post(invoke::invoke))
        .route("/api/v1/executions/{id}/resume", post(invoke::resume))
        .route("/api/v1/openapi.json", get(api::openapi::serve))
        .merge(api::router().route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::authorize,
        )))
        .route("/api/{*fn_name}", get(server_fn).post(server_fn))
        .nest("/scim/v2", scim::routes(state.clone()))
        .nest_service(
            "/pkg",
            assets::service(std::path::Path::new(state.leptos_options.site_root.as_ref())),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::guard))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(state.clone(), hygiene::same_origin))
        .layer(axum::middleware::from_fn_with_state(state.clone(), hygiene::rate_limit))
        .layer(axum::middleware::from_fn(hygiene::limit_body))
        .layer(axum::middleware::from_fn(metrics::count_requests))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(state.clone(), hygiene::security_headers))
        // Pages and API answers compressed for clients that ask (brotli, gzip), at a level
        // quick enough to do per request.
        .layer(
            CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Precise(4)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The REST API's OpenAPI document, made once per process.
fn api_document() -> app::session::ApiDocument {
    static DOCUMENT: std::sync::OnceLock<std::sync::Arc<String>> = std::sync::OnceLock::new();
    app::session::ApiDocument(
        DOCUMENT
            .get_or_init(|| std::sync::Arc::new(api::openapi::document()))
            .clone(),
    )
}

async fn server_fn(State(state): State<AppState>, request: Request) -> impl IntoResponse {
    let store = state.store.clone();
    let public_url = app::session::PublicUrl(state.public_url.clone());
    let sso = sso_context(&state);
    let api_doc = api_document();
    handle_server_fns_with_context(
        move || {
            provide_context(store.clone());
            provide_context(api_doc.clone());
            provide_context(public_url.clone());
            provide_context(sso.clone());
        },
        request,
    )
    .await
}

/// What the console's pages need to know about single sign-on configured by the
/// environment (Settings' own configuration is read from the database).
fn sso_context(state: &AppState) -> app::session::SsoEnvironment {
    app::session::SsoEnvironment {
        provider: state
            .sso
            .environment()
            .map(|p| app::session::SsoProviderView {
                display_name: p.display_name.clone(),
                issuer: p.issuer.clone(),
                client_id: p.client_id.clone(),
            }),
        redirect_uri: state.sso.redirect_uri().to_string(),
        signed_out_uri: state.sso.signed_out_uri().to_string(),
    }
}

/// A panic never shows its message: the person gets a plain page, the log gets the rest.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "a request panicked");
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ),
        ],
        "<!DOCTYPE html><title>Something went wrong · idflow</title><h1>Something went wrong</h1>\
         <p>idflow could not finish this request. Try again; if it keeps happening, tell your administrator.</p>",
    )
        .into_response()
}

/// The Leptos settings for the built console in `site_dir`: its files under their hashed
/// names when a release build made them ([`assets`]).
pub fn leptos_options(site_dir: &std::path::Path, listen: std::net::SocketAddr) -> LeptosOptions {
    let hash_file = assets::hash_file(site_dir);
    LeptosOptions::builder()
        .output_name(Arc::<str>::from("idflow"))
        .site_root(Arc::<str>::from(site_dir.to_string_lossy().as_ref()))
        .site_pkg_dir(Arc::<str>::from("pkg"))
        .site_addr(listen)
        .hash_files(hash_file.is_some())
        .hash_file(Arc::<str>::from(
            hash_file
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|| assets::HASH_FILE.to_string()),
        ))
        .build()
}

/// Everything `serve` sets up before it listens: the store (migrated), the session store.
pub struct Prepared {
    pub state: Services,
    pub session_store: DbSessionStore,
    pub settings: SessionSettings,
}

pub async fn prepare(config: &config::Config) -> anyhow::Result<Prepared> {
    use secrecy::ExposeSecret;
    if config.uses_default_database() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the data folder {}: {e}",
                config.data_dir.display()
            )
        })?;
    }
    let url = config.database_url();
    let store = Store::open(url.expose_secret()).await?;
    if config.secret_key.is_none() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the data folder {} for the key file: {e}",
                config.data_dir.display()
            )
        })?;
    }
    let key = domain::secrets::SecretKey::load(config.secret_key.as_ref(), &config.data_dir)?;
    tracing::info!(key = key.id(), "secrets at rest are sealed under this key");
    store.use_secret_key(key);
    store.allow_outbound(config.outbound_allow.clone());
    store.refresh_outbound().await?;
    if store.seal_plain_secrets().await? {
        tracing::info!("sealed the single sign-on client secret that was kept in the clear");
    }
    let session_store = DbSessionStore::for_store(&store).await?;
    let public_url = config
        .public_url()
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let state = Services {
        store,
        leptos_options: leptos_options(&config.site_dir, config.listen),
        session_max_age: chrono::Duration::hours(config.session_max_hours as i64),
        trust_forwarded_for: config.trust_forwarded_for,
        trusted_proxies: config.trusted_proxies.clone(),
        limiters: Arc::new(hygiene::Limiters::new(hygiene::RateLimits {
            sign_in_per_minute: config.sign_in_per_minute,
            refused_per_minute: config.refused_per_minute,
        })),
        sso: oidc::Sso::new(&public_url, config.oidc_provider()),
        public_url,
        inline: None,
        metrics_token: config.metrics_token.clone(),
    };
    let settings = SessionSettings {
        idle: Duration::from_secs(config.session_idle_minutes as u64 * 60),
        secure: config.behind_tls(),
    };
    Ok(Prepared {
        state,
        session_store,
        settings,
    })
}
