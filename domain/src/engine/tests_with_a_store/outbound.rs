//! The outbound guard as a flow meets it, on both backends: an HTTP Request card refuses
//! every hostile destination — addresses in every blocked range and notation, redirects
//! to them, other schemes — and a server on loopback counts no request from any of them.
//! Only `localhost` (by name) is allowed here, as `IDFLOW_OUTBOUND_ALLOW` would; nothing
//! leaves loopback: refused addresses are refused before a socket is opened.

use super::*;
use crate::engine::Status;
use crate::outbound::Allowed;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A bare HTTP server on 127.0.0.1: `/redirect?to=URL` answers 302 to URL (not counted);
/// anything else answers 200 and is counted.
async fn counting_server() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counted = Arc::new(AtomicUsize::new(0));
    let count = counted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let count = count.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                let read = socket.read(&mut buffer).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buffer[..read]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let answer = match path.strip_prefix("/redirect?to=") {
                    Some(to) => format!(
                        "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    ),
                    None => {
                        count.fetch_add(1, Ordering::SeqCst);
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".to_string()
                    }
                };
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, counted)
}

async fn call(store: &Store, name: &str, url: &str) -> crate::store::ExecutionRecord {
    let mut flow = Flow::new(name, "trigger.manual");
    flow.cards = vec![card(1, "http.request", &[("url", Binding::literal(url))])];
    let id = turn_on(store, &flow).await;
    let execution = start(store, id, serde_json::json!({})).await;
    Runner::new(store.clone(), "worker-1")
        .drain()
        .await
        .unwrap();
    store.execution(execution).await.unwrap().unwrap()
}

crate::backend_tests! {
    async fn hostile_destinations_are_refused_and_reach_nothing(store) {
        store.allow_outbound(Allowed::parse("localhost").unwrap());
        let (port, counted) = counting_server().await;
        let here = |host: &str| format!("http://{host}:{port}/count");
        let mut hostile: Vec<String> = [
            "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.0.0.1",
            "127.000.000.001", "0", "0.0.0.0", "[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]",
            "[::ffff:7f00:1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "127.0.0.2",
        ]
        .iter()
        .map(|h| here(h))
        .collect();
        hostile.extend(
            [
                "http://10.0.0.1/", "http://172.16.0.1/", "http://192.168.1.1/", "http://0xc0a80101/",
                "http://169.254.169.254/latest/meta-data/", "http://2852039166/", "http://100.64.0.1/",
                "http://224.0.0.1/", "http://255.255.255.255/", "http://[fc00::1]/", "http://[fe80::1]/",
                "http://[ff02::1]/", "http://[::ffff:169.254.169.254]/", "http://[64:ff9b:1::a00:1]/",
                "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "http://198.18.0.1/",
                "file:///etc/passwd", "gopher://localhost:70/", "ftp://localhost/",
                "http://user:pass@localhost/",
            ]
            .iter()
            .map(|u| u.to_string()),
        );
        // Redirects from the allowed name to refused places.
        for to in [here("127.0.0.1"), here("[::1]"), here("[::ffff:127.0.0.1]"), "http://169.254.169.254/".into()] {
            hostile.push(format!("http://localhost:{port}/redirect?to={to}"));
        }
        assert!(hostile.len() >= 40, "{}", hostile.len());
        for (n, url) in hostile.iter().enumerate() {
            let done = call(&store, &format!("Hostile {n}"), url).await;
            assert_eq!(done.status, Status::Failed, "{url} was not refused");
            let error = done.error.unwrap_or_default();
            assert!(
                error.contains("outbound guard") || error.contains("redirect"),
                "{url}: {error}"
            );
        }
        assert_eq!(counted.load(Ordering::SeqCst), 0, "a refused destination reached the server");

        // The allowed name itself is reached: the server was there all along.
        let done = call(&store, "Allowed", &format!("http://localhost:{port}/count")).await;
        assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
        assert_eq!(counted.load(Ordering::SeqCst), 1);
    }
}
