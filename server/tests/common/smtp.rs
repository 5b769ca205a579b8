//! A real SMTP server for the tests (aiosmtpd, from PyPI, set up by `make test` in
//! `target/smtp-venv`): STARTTLS with a self-signed certificate, a user name and
//! password, and every message it takes saved to a folder to read back.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const PASSWORD_MARKER: &str = "smtp-pw-MARKER-93";

/// The SMTP server, stopped when dropped (its standard input closes).
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    /// Its certificate (PEM), for the connection to trust.
    pub certificate: String,
    mail: tempfile::TempDir,
    _certs: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/smtp-venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{} is missing under CI=true: scripts/setup.sh test makes it",
        python.display()
    );
    eprintln!(
        "SKIPPED: no SMTP test server ({} is missing; scripts/setup.sh test makes it)",
        python.display()
    );
    None
}

pub async fn smtp_server() -> Option<SmtpServer> {
    let python = python()?;
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        // A server's own certificate, not an authority's (rustls refuses a CA certificate
        // presented by a server).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl makes the test certificate");
    assert!(made.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mail = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp_server.py");
    let mut child = Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .arg(&cert)
        .arg(&key)
        .args(["it-bot", PASSWORD_MARKER])
        .arg(mail.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the SMTP server");
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    Some(SmtpServer {
        child,
        port,
        certificate: std::fs::read_to_string(&cert).unwrap(),
        mail,
        _certs: certs,
    })
}

impl SmtpServer {
    /// The messages the server took, each as saved.
    pub fn received(&self) -> Vec<String> {
        std::fs::read_dir(self.mail.path())
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    }
}
