//! The `idflow` server as its own process, for tests that kill it (SIGKILL) and start it
//! again on the same database.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts `idflow serve` on database `url` with data folder `data`, two workers, on a
/// free loopback port, with `env` added (none of the caller's own IDFLOW_ settings).
pub fn start_server(url: &str, data: &std::path::Path, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_idflow"));
    for (key, _) in std::env::vars() {
        if key.starts_with("IDFLOW_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("IDFLOW_LISTEN", "127.0.0.1:0")
        .env("IDFLOW_DATA_DIR", data)
        .env("IDFLOW_ADMIN_PASSWORD", "durability test password")
        .env("IDFLOW_WORKERS", "2")
        .env("IDFLOW_LOG", "error")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the idflow binary starts")
}

/// Waits (at most 30 seconds) until the server says it is running, so each kill lands
/// while it works rather than while it starts; its address.
pub fn wait_until_running(server: &mut Child) -> String {
    use std::io::BufRead;
    let stdout = server.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some((_, address)) = line.split_once("idflow is running at ") {
                let _ = tx.send(address.trim().to_string());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the server started within 30 seconds")
}
