//! The `idflow` binary as an operator uses it.

use domain::store::Store;
use std::io::Write;
use std::process::{Command, Stdio};

fn idflow() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_idflow"));
    // Only what each test sets counts.
    for (key, _) in std::env::vars() {
        if key.starts_with("IDFLOW_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command.env("IDFLOW_LOG", "warn");
    command
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/idflow.db", dir.path().display())
}

#[test]
fn check_config_never_prints_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let output = idflow()
        .arg("check-config")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/x.db", dir.path().display()),
        )
        .env(
            "IDFLOW_ADMIN_PASSWORD",
            "an admin secret that must not show",
        )
        .output()
        .unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!shown.contains("an admin secret"), "{shown}");
    assert!(shown.contains("REDACTED"), "{shown}");
    assert!(shown.contains("listen"), "{shown}");
}

#[test]
fn check_config_names_what_is_wrong() {
    let output = idflow()
        .arg("check-config")
        .env("DATABASE_URL", "mysql://root:hunter2@localhost/x")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DATABASE_URL must start with sqlite: or postgres:"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn a_failed_migration_stops_the_server_and_names_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = Store::connect(&url).await.unwrap();
        // Something in the way of the first migration.
        drop(store);
        let pool = sqlx_pool(&url).await;
        sqlx::query("CREATE TABLE users (x INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
    });
    let output = idflow()
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("IDFLOW_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SQLite migration 20261122000001_foundation failed"),
        "{stderr}"
    );
}

async fn sqlx_pool(url: &str) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(url).await.unwrap()
}

#[test]
fn reset_password_sets_a_password_that_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        domain::auth::ensure_bootstrap_admin(&store, "root@example.com", None)
            .await
            .unwrap();
        store.close().await;
    });

    let mut child = idflow()
        .args([
            "admin",
            "reset-password",
            "ROOT@example.com",
            "--password-stdin",
        ])
        .env("DATABASE_URL", &url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a brand new password\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Password set for root@example.com"),
        "{stdout}"
    );

    runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let origin = domain::auth::Origin::default();
        domain::auth::sign_in(
            &store,
            "root@example.com",
            "a brand new password".to_string().into(),
            &origin,
        )
        .await
        .expect("the new password signs in");
        let log = store.recent_audit(5).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "user.account.reset_password")
        );
    });

    // Without --password-stdin a password is generated and printed once.
    let output = idflow()
        .args(["admin", "reset-password", "root@example.com"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("New password for root@example.com: "),
        "{stdout}"
    );

    let output = idflow()
        .args(["admin", "reset-password", "nobody@example.com"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("No user is named"));
}

/// Starts `idflow serve` on `data_dir`, returns what it printed up to "running at", and
/// stops it.
fn serve_until_running(data_dir: &std::path::Path, admin_email: &str) -> String {
    use std::io::Read;
    let mut child = idflow()
        .arg("serve")
        .env("IDFLOW_DATA_DIR", data_dir)
        .env("IDFLOW_LISTEN", "127.0.0.1:0")
        .env("IDFLOW_ADMIN_EMAIL", admin_email)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 1024];
    while !seen.contains("idflow is running at") {
        let n = stdout.read(&mut buffer).unwrap();
        assert!(n > 0, "serve stopped early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    child.kill().unwrap();
    let _ = child.wait();
    seen
}

#[test]
fn serve_prints_a_generated_one_time_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let seen = serve_until_running(dir.path(), "first@example.com");
    assert!(
        seen.contains("Created the bootstrap Super Admin: first@example.com"),
        "{seen}"
    );
    let password = seen
        .lines()
        .find_map(|l| l.trim().strip_prefix("One-time password:"))
        .map(str::trim)
        .expect("a printed password")
        .to_string();
    assert_eq!(password.len(), 20);
    assert!(dir.path().join("idflow.db").exists());

    // A second start on the same database creates nobody and prints no password.
    let seen = serve_until_running(dir.path(), "admin@example.com");
    assert!(!seen.contains("One-time password"), "{seen}");
    assert!(!seen.contains(&password), "{seen}");
}

#[test]
fn scim_token_create_prints_the_token_alone_and_it_works() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let output = idflow()
        .args(["admin", "scim-token", "create", "Okta production"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(token.starts_with("idf_scim_"), "{stdout}");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = Store::open(&url).await.unwrap();
        let found = store
            .authenticate_scim_token(token)
            .await
            .unwrap()
            .expect("the printed token works");
        assert_eq!(found.name, "Okta production");
    });
}

/// A SQLite store in `dir` with its key file made there and an HTTP connection `id`
/// whose token is `token`; the store and its key.
async fn with_a_connection(
    dir: &tempfile::TempDir,
    id: uuid::Uuid,
    token: &str,
) -> (Store, domain::secrets::SecretKey) {
    use domain::audit::{Action, Actor, NewEntry, Outcome};
    let store = Store::open(&sqlite_url(dir)).await.unwrap();
    let key = domain::secrets::SecretKey::load(None, dir.path()).unwrap();
    store.use_secret_key(key.clone());
    let mut values = domain::connections::Values::default();
    values
        .settings
        .insert("base_url".into(), "https://api.example.com".into());
    values.settings.insert("auth".into(), "bearer".into());
    values.secrets.insert("token".into(), token.into());
    store
        .create_connection(
            id,
            "Payroll",
            "http",
            &values,
            "root@example.com",
            &NewEntry::new(Action::ConnectionCreate, Outcome::Success, Actor::System),
        )
        .await
        .unwrap();
    (store, key)
}

/// `idflow admin rotate-key` re-seals every secret under a new key: with the key file it
/// replaces the file (the old key kept, retired); with `IDFLOW_SECRET_KEY` it prints the
/// new key once. Either way the secret opens under the new key only.
#[test]
fn rotate_key_reseals_every_secret_under_a_new_key() {
    use domain::secrets::{KEY_FILE, SecretKey};
    use secrecy::ExposeSecret;
    const MARKER: &str = "rotate-MARKER-5150";
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let id = uuid::Uuid::now_v7();
    let old = runtime.block_on(async {
        let (store, key) = with_a_connection(&dir, id, MARKER).await;
        store.close().await;
        key
    });
    let opens_under = |key: SecretKey| {
        runtime.block_on(async {
            let store = Store::open(&url).await.unwrap();
            store.use_secret_key(key);
            let opened = store.connection_secrets(id).await;
            let log = store.recent_audit(5).await.unwrap();
            store.close().await;
            (opened.map(|s| s["token"].expose_secret().to_string()), log)
        })
    };

    // With the key file.
    let output = idflow()
        .args(["admin", "rotate-key"])
        .env("IDFLOW_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Re-sealed 1 secrets"), "{stdout}");
    let retired = dir.path().join(format!("{KEY_FILE}.{}.retired", old.id()));
    assert!(retired.exists(), "{stdout}");
    let new = SecretKey::load(None, dir.path()).unwrap();
    assert_ne!(new.id(), old.id());
    let (opened, log) = opens_under(new.clone());
    assert_eq!(opened.unwrap(), MARKER);
    assert!(log.iter().any(|e| e.action == "system.secret_key.rotate"));
    assert!(
        opens_under(old).0.is_err(),
        "the old key no longer opens it"
    );
    assert!(!stdout.contains(MARKER));

    // With IDFLOW_SECRET_KEY: the new key is printed once, the file left alone.
    let current = std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();
    let output = idflow()
        .args(["admin", "rotate-key"])
        .env("IDFLOW_DATA_DIR", dir.path())
        .env("IDFLOW_SECRET_KEY", current.trim())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let printed = stdout.lines().last().unwrap().trim().to_string();
    let from_env = SecretKey::from_hex(&printed).unwrap();
    assert_eq!(opens_under(from_env).0.unwrap(), MARKER);
    assert!(opens_under(new).0.is_err());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap(),
        current
    );
}

/// `idflow backup FILE` copies the running SQLite database; the copy, with the key file,
/// restores to a working idflow: it serves, and its secrets open.
#[test]
fn a_backup_restores_to_a_working_instance() {
    use domain::secrets::{KEY_FILE, SecretKey};
    use secrecy::ExposeSecret;
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let id = uuid::Uuid::now_v7();
    let (store, _) = runtime.block_on(with_a_connection(&dir, id, "backed-up-token"));

    // Copied while the database is open (and could be written).
    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("idflow-backup.db");
    let output = idflow()
        .arg("backup")
        .arg(&copy)
        .env("IDFLOW_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Keep") && stdout.contains(KEY_FILE),
        "{stdout}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the copy is readable by its owner only"
        );
    }
    // A file that exists is not overwritten.
    let again = idflow()
        .arg("backup")
        .arg(&copy)
        .env("IDFLOW_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    runtime.block_on(store.close());

    // Restored: the copy and the key file in a new data folder serve, and open secrets.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&copy, restored.path().join("idflow.db")).unwrap();
    std::fs::copy(dir.path().join(KEY_FILE), restored.path().join(KEY_FILE)).unwrap();
    let seen = serve_until_running(restored.path(), "admin@example.com");
    assert!(seen.contains("idflow is running at"), "{seen}");
    runtime.block_on(async {
        let store = Store::open(&sqlite_url(&restored)).await.unwrap();
        store.use_secret_key(SecretKey::load(None, restored.path()).unwrap());
        let secrets = store.connection_secrets(id).await.unwrap();
        assert_eq!(secrets["token"].expose_secret(), "backed-up-token");
        store.close().await;
    });
}

/// The way from SQLite to PostgreSQL: `idflow export` of a populated SQLite idflow,
/// `idflow import` into a new PostgreSQL database, and the same flow runs the same way
/// there, its connection's secret opening under the same key; an import into a database
/// that holds anything is refused.
#[test]
fn an_export_from_sqlite_imports_into_postgresql_and_runs_the_same() {
    use domain::audit::{Action, Actor, NewEntry, Outcome};
    use domain::flows::{Binding, Card, Flow};
    use domain::tables::{ColumnType, Schema};
    use secrecy::ExposeSecret;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(target) = runtime.block_on(domain::store::testing::postgres()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let id = uuid::Uuid::now_v7();
    let entry = |action| NewEntry::new(action, Outcome::Success, Actor::System);
    let mut flow = Flow::new("Greet from the table", "trigger.manual");
    flow.cards = vec![
        Card::new(1, "tables.read_row").with_inputs(&[
            ("table", Binding::literal("people")),
            ("key", Binding::literal("ada")),
        ]),
        Card::new(2, "flow.return")
            .with_inputs(&[("output", Binding::template("Hello {{ card_1.row.name }}"))]),
    ];
    let run = |store: domain::store::Store, flow_id, version| async move {
        let execution = store
            .enqueue_execution(&domain::store::NewExecution::by_hand(
                flow_id,
                version,
                serde_json::json!({}),
            ))
            .await
            .unwrap()
            .unwrap();
        domain::engine::runner::Runner::new(store.clone(), "test")
            .drain()
            .await
            .unwrap();
        store.execution(execution).await.unwrap().unwrap().output
    };
    let (flow_id, version, here) = runtime.block_on(async {
        let (store, _) = with_a_connection(&dir, id, "moved-token").await;
        let people = Schema::new(
            "people",
            &[("key", ColumnType::Text), ("name", ColumnType::Text)],
            Some("key"),
        );
        let table = store
            .create_table(&people, None, &entry(Action::TableCreate))
            .await
            .unwrap();
        let row = people
            .check_row(
                serde_json::json!({ "key": "ada", "name": "Ada Lovelace" })
                    .as_object()
                    .unwrap(),
            )
            .unwrap();
        store.insert_row(&table, &row, None).await.unwrap();
        store
            .create_folder("HR", &entry(Action::FolderCreate))
            .await
            .unwrap();
        let made = store.test_flow_on(&flow).await;
        let output = run(store.clone(), made.id, made.version).await;
        store.close().await;
        (made.id, made.version, output)
    });
    assert_eq!(here, Some(serde_json::json!("Hello Ada Lovelace")));

    let moved = dir.path().join("idflow-export.json");
    let output = idflow()
        .arg("export")
        .arg(&moved)
        .env("IDFLOW_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&moved).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the export is readable by its owner only"
        );
    }
    assert!(
        !std::fs::read_to_string(&moved)
            .unwrap()
            .contains("moved-token")
    );
    let output = idflow()
        .arg("import")
        .arg(&moved)
        .env("DATABASE_URL", &target.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("flow_versions: 1") && stdout.contains("PostgreSQL"),
        "{stdout}"
    );

    runtime.block_on(async {
        let store = domain::store::Store::open(&target.url).await.unwrap();
        store.use_secret_key(domain::secrets::SecretKey::load(None, dir.path()).unwrap());
        let there = run(store.clone(), flow_id, version).await;
        assert_eq!(there, here, "the same flow runs the same way");
        let summary = store.flow_summary(flow_id).await.unwrap().unwrap();
        assert!(summary.enabled && summary.owner.is_some());
        assert_eq!(store.folders().await.unwrap()[0].name, "HR");
        let secrets = store.connection_secrets(id).await.unwrap();
        assert_eq!(secrets["token"].expose_secret(), "moved-token");
        store.close().await;
    });
    // A database that holds anything is not imported into.
    let again = idflow()
        .arg("import")
        .arg(&moved)
        .env("DATABASE_URL", &target.url)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty"));

    // And back, without secrets: PostgreSQL to a new SQLite, where the flow runs too and
    // the connection holds no secret.
    let back = dir.path().join("idflow-back.json");
    let output = idflow()
        .args(["export", "--without-secrets"])
        .arg(&back)
        .env("DATABASE_URL", &target.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let home = tempfile::tempdir().unwrap();
    let output = idflow()
        .arg("import")
        .arg(&back)
        .env("IDFLOW_DATA_DIR", home.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    runtime.block_on(async {
        let store = domain::store::Store::open(&sqlite_url(&home))
            .await
            .unwrap();
        store.use_secret_key(domain::secrets::SecretKey::load(None, home.path()).unwrap());
        assert_eq!(run(store.clone(), flow_id, version).await, here);
        assert!(store.connection_secrets(id).await.unwrap().is_empty());
        assert!(
            store
                .connection(id)
                .await
                .unwrap()
                .unwrap()
                .secret_fields
                .is_empty()
        );
        store.close().await;
    });
}

#[test]
fn flow_secret_prints_a_secret_that_calls_the_flow_and_revokes_it() {
    use domain::flows::{Binding, Card, Flow};
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let flow = runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let mut flow = Flow::new("Greeter", "trigger.api_endpoint");
        flow.cards = vec![
            Card::new(1, "flow.return")
                .with_inputs(&[("output", Binding::template("Hello {{ trigger.body.name }}"))]),
        ];
        store.test_flow_on(&flow).await
    });
    let secret_of = |args: &[&str]| {
        let output = idflow()
            .args(["flow", "secret"])
            .args(args)
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        stdout.trim().to_string()
    };
    // By name, then by id with a grace period: both work for now.
    let first = secret_of(&["greeter"]);
    assert!(first.starts_with("idf_flow_"), "{first}");
    let second = secret_of(&[&flow.id.to_string(), "--grace-hours", "2"]);
    runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        for secret in [&first, &second] {
            let found = store.flow_for_invoke_token(flow.id, secret).await.unwrap();
            assert_eq!(found.map(|f| f.name), Some("Greeter".to_string()));
        }
    });
    let revoked = idflow()
        .args(["flow", "secret", "Greeter", "--revoke"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(revoked.status.success(), "{revoked:?}");
    assert!(revoked.stdout.is_empty());
    runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        assert!(store.flow_secrets(flow.id).await.unwrap().is_empty());
        let log = store.recent_audit(10).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "flow.token.revoke" && e.actor_kind == "operator")
        );
    });
    // A flow that is not there, and a grace too long: named failures.
    let missing = idflow()
        .args(["flow", "secret", "Nobody's flow"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no flow with the id or name"));
    let long = idflow()
        .args(["flow", "secret", "Greeter", "--grace-hours", "1000"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!long.status.success());
    assert!(String::from_utf8_lossy(&long.stderr).contains("at most 720"));
}
