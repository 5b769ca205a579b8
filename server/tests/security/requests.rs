//! Every request bounded, same-origin and rate-limited: body limits, Fetch Metadata,
//! rate limits per address, the sign-in lockout, X-Forwarded-For.

use super::*;

/// Sends `head` (a request's line and headers) on a new connection; the start of the
/// answer.
async fn raw(address: &str, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).to_string()
}

async fn body_limits_on_every_endpoint(store: domain::store::Store) {
    use app::entry_points::{ENTRY_POINTS, Kind};
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    // Declared too large: refused at once, before a byte of the body is read.
    let address = server.base.trim_start_matches("http://").to_string();
    for entry in ENTRY_POINTS.iter().filter(|e| e.method != "GET") {
        let path = entry
            .path
            .replace(":id", "00000000-0000-0000-0000-000000000000")
            .replace(":version", "1")
            .replace(":row", "1")
            .replace(":user", "1")
            .replace(":key", "x");
        let limit = idflow::hygiene::body_limit(&path);
        let kind = if entry.kind == Kind::Route {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let answer = raw(&address, &format!(
            "{} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
            entry.method,
            limit + 1
        ))
        .await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{} {}: {answer}",
            entry.method,
            entry.path
        );
    }
    // Sent too large (the client said nothing of its length beforehand, or lied): refused
    // as soon as the body passes the limit.
    let big = admin
        .post(server.url("/api/flows/list"))
        .header("content-type", "application/json")
        .body(vec![b'a'; (1 << 20) + 1])
        .send()
        .await;
    if let Ok(response) = big {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // A body without a declared length is cut off at the limit too, not read to its end.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    socket
        .write_all(format!("POST /api/flows/list HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0usize;
    while sent < 64 << 20 {
        let head = format!("{:x}\r\n", chunk.len());
        if socket.write_all(head.as_bytes()).await.is_err()
            || socket.write_all(&chunk).await.is_err()
            || socket.write_all(b"\r\n").await.is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let mut answer = vec![0u8; 256];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(sent < 64 << 20, "the server read all {sent} bytes");
}

async fn same_origin_form_posts_only(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    let make = |site: Option<&str>, origin: Option<&str>, name: &str| {
        let mut request = admin.post(server.url("/folders")).form(&[("name", name)]);
        if let Some(site) = site {
            request = request
                .header("sec-fetch-site", site)
                .header("sec-fetch-mode", "navigate")
                .header("sec-fetch-dest", "document");
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(
        make(Some("same-site"), None, "A").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        make(Some("cross-site"), None, "B").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        make(None, Some("https://evil.example.com"), "C").await,
        StatusCode::FORBIDDEN
    );
    assert!(server.store.folders().await.unwrap().is_empty());
    assert_eq!(
        make(Some("same-origin"), None, "D").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        make(None, Some(&server.base), "E").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(make(None, None, "F").await, StatusCode::SEE_OTHER);
    assert_eq!(server.store.folders().await.unwrap().len(), 3);
}

async fn rate_limits_per_client_address(store: domain::store::Store) {
    let options = Options {
        rate_limits: idflow::hygiene::RateLimits {
            sign_in_per_minute: 5,
            refused_per_minute: 3,
        },
        ..Options::default()
    };
    let server = start(store, options).await;
    server.add_user("ada@example.com", Role::SuperAdmin).await;
    let anonymous = client();
    for _ in 0..5 {
        let response = server
            .sign_in(&anonymous, "ada@example.com", "wrong password", "/")
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let refused = server
        .sign_in(&anonymous, "ada@example.com", PASSWORD, "/")
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let oidc = anonymous
        .get(server.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(oidc.status(), StatusCode::TOO_MANY_REQUESTS);

    // Refused SCIM calls: a few are logged, then the address waits and nothing more is.
    let count = |store: domain::store::Store| async move {
        store
            .recent_audit(500)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.action == "scim.auth.failure")
            .count()
    };
    for _ in 0..3 {
        let response = anonymous
            .get(server.url("/scim/v2/Users"))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    for _ in 0..20 {
        let response = anonymous
            .get(server.url("/scim/v2/Users"))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(count(server.store.clone()).await, 3);
}

async fn the_sign_in_lockout_counts_attempts_before_hashing(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    server.add_user("ada@example.com", Role::SuperAdmin).await;
    let mut attempts = Vec::new();
    for _ in 0..60 {
        let server_url = server.url("/auth/sign-in");
        attempts.push(tokio::spawn(async move {
            client()
                .post(server_url)
                .form(&[
                    ("email", "ada@example.com"),
                    ("password", "wrong password"),
                    ("next", "/"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for attempt in attempts {
        assert_eq!(attempt.await.unwrap(), StatusCode::SEE_OTHER);
    }
    let log = server.store.recent_audit(500).await.unwrap();
    let wrong = log
        .iter()
        .filter(|e| e.reason.as_deref() == Some("wrong password"))
        .count();
    let locked = log
        .iter()
        .filter(|e| e.reason.as_deref() == Some("too many failed sign-ins"))
        .count();
    assert!((1..=5).contains(&wrong), "{wrong} wrong-password entries");
    assert_eq!(wrong + locked, 60);
    // The right password is refused too, until the lock ends.
    let response = server
        .sign_in(&client(), "ada@example.com", PASSWORD, "/")
        .await;
    assert!(
        location(&response).starts_with("/sign-in?error=locked"),
        "{}",
        location(&response)
    );
}

async fn forwarded_for_takes_the_right_most_untrusted_address(store: domain::store::Store) {
    for (proxies, expected) in [(&["10.0.0.0/8"][..], "198.51.100.7"), (&[][..], "10.1.2.3")] {
        let options = Options {
            trust_forwarded_for: true,
            trusted_proxies: proxies,
            ..Options::default()
        };
        let server = start(store.clone(), options).await;
        if server
            .store
            .user_by_name("ada@example.com")
            .await
            .unwrap()
            .is_none()
        {
            server.add_user("ada@example.com", Role::SuperAdmin).await;
        }
        let response = client()
            .post(server.url("/auth/sign-in"))
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.1.2.3")
            .form(&[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&response), "/");
        let log = server.store.recent_audit(1).await.unwrap();
        assert_eq!(
            log[0].client_address.as_deref(),
            Some(expected),
            "{proxies:?}"
        );
    }
}

domain::backend_tests! {
    async fn security_body_limits_on_every_endpoint(store) {
        body_limits_on_every_endpoint(store).await;
    }
    async fn security_same_origin_form_posts_only(store) {
        same_origin_form_posts_only(store).await;
    }
    async fn security_rate_limits_per_client_address(store) {
        rate_limits_per_client_address(store).await;
    }
    async fn security_the_sign_in_lockout_counts_attempts_before_hashing(store) {
        the_sign_in_lockout_counts_attempts_before_hashing(store).await;
    }
    async fn security_forwarded_for_takes_the_right_most_untrusted_address(store) {
        forwarded_for_takes_the_right_most_untrusted_address(store).await;
    }
}
