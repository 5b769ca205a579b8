//! Every way a callback can be wrong ends with no session and a message.

use super::*;

/// One way a callback can be wrong.
struct Case {
    name: &'static str,
    /// Changes the good claims.
    claims: fn(&mut Value),
    signing: Signing,
    /// Changes the callback's query (code and state are set first).
    query: fn(&mut Vec<(String, String)>),
    code: &'static str,
    /// Part of the System Log's reason.
    reason: &'static str,
}

fn keep(_: &mut Value) {}
fn keep_query(_: &mut Vec<(String, String)>) {}

const CASES: &[Case] = &[
    Case {
        name: "state missing",
        claims: keep,
        signing: Signing::Good,
        query: |q| q.retain(|(k, _)| k != "state"),
        code: "sso-state",
        reason: "no state",
    },
    Case {
        name: "state wrong",
        claims: keep,
        signing: Signing::Good,
        query: |q| q[1].1 = "not-the-state-idflow-made".into(),
        code: "sso-state",
        reason: "matches no sign-in",
    },
    Case {
        name: "nonce mismatch",
        claims: |c| c["nonce"] = json!("another-nonce"),
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "nonce mismatch",
    },
    Case {
        name: "wrong aud",
        claims: |c| c["aud"] = json!("some-other-client"),
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "audience",
    },
    Case {
        name: "azp of another client",
        claims: |c| c["azp"] = json!("some-other-client"),
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "authorized party",
    },
    Case {
        name: "wrong iss",
        claims: |c| c["iss"] = json!("https://evil.example"),
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "issuer",
    },
    Case {
        name: "callback iss of another provider",
        claims: keep,
        signing: Signing::Good,
        query: |q| q.push(("iss".into(), "https://evil.example".into())),
        code: "sso-rejected",
        reason: "iss",
    },
    Case {
        name: "alg none",
        claims: keep,
        signing: Signing::None,
        query: keep_query,
        code: "sso-rejected",
        reason: "No signature",
    },
    Case {
        name: "HS256 signed with the public key",
        claims: keep,
        signing: Signing::HmacWithPublicKey,
        query: keep_query,
        code: "sso-rejected",
        reason: "`HS256` is not one of",
    },
    Case {
        name: "expired",
        claims: |c| {
            let past = chrono::Utc::now().timestamp() - 600;
            c["exp"] = json!(past);
            c["iat"] = json!(past - 300);
        },
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "ID token expired",
    },
    Case {
        name: "issued in the future",
        claims: |c| c["iat"] = json!(chrono::Utc::now().timestamp() + 3600),
        signing: Signing::Good,
        query: keep_query,
        code: "sso-rejected",
        reason: "future",
    },
    Case {
        name: "unknown kid",
        claims: keep,
        signing: Signing::UnknownKey,
        query: keep_query,
        code: "sso-rejected",
        reason: "No matching key",
    },
    Case {
        name: "provider error",
        claims: keep,
        signing: Signing::Good,
        query: |q| {
            q.retain(|(k, _)| k != "code");
            q.push(("error".into(), "access_denied".into()));
        },
        code: "sso-denied",
        reason: "access_denied",
    },
];

async fn every_rejection_ends_with_no_session_and_a_message(store: Store) {
    let idp = FakeIdp::start(false).await;
    let server = start_with_sso(store, idp.provider()).await;
    for case in CASES {
        let client = client();
        let auth = begin(&server, &idp, &client).await;
        let mut claims = claims(&idp, &auth, "sub-case");
        (case.claims)(&mut claims);
        let code = grant(
            &idp,
            &auth,
            sign(&claims, case.signing),
            profile("sub-case", "case@example.com", true),
        );
        let mut query = vec![
            ("code".to_string(), code),
            ("state".to_string(), auth.state.clone()),
        ];
        (case.query)(&mut query);
        let query: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = callback(&server, &client, &query).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", case.name);
        assert_eq!(
            location(&response),
            format!("/sign-in?error={}", case.code),
            "{}",
            case.name
        );
        assert!(
            !signed_in(&server, &client).await,
            "{}: signed in",
            case.name
        );
        let entry = last_log(&server.store).await;
        assert_eq!(
            (entry.action.as_str(), entry.outcome.as_str()),
            ("user.session.start", "failure"),
            "{}",
            case.name
        );
        let reason = entry.reason.unwrap_or_default();
        assert!(reason.contains(case.reason), "{}: {reason}", case.name);
        // The attempt is spent: the same callback again is refused as unknown.
        if case.code != "sso-state" {
            let again = callback(&server, &client, &query).await;
            assert_eq!(
                location(&again),
                "/sign-in?error=sso-state",
                "{}",
                case.name
            );
        }
    }
    assert_eq!(
        server.store.count_users().await.unwrap(),
        0,
        "nobody was created"
    );

    // A replayed callback: the first use signs in, the second finds no attempt and ends
    // the session.
    let client = client();
    let auth = begin(&server, &idp, &client).await;
    let code = grant(
        &idp,
        &auth,
        sign(&claims(&idp, &auth, "sub-replay"), Signing::Good),
        profile("sub-replay", "replay@example.com", true),
    );
    let first = callback(&server, &client, &[("code", &code), ("state", &auth.state)]).await;
    assert_eq!(location(&first), "/system-log");
    assert!(signed_in(&server, &client).await);
    let replay = callback(&server, &client, &[("code", &code), ("state", &auth.state)]).await;
    assert_eq!(location(&replay), "/sign-in?error=sso-state");
    assert!(!signed_in(&server, &client).await);

    // Post-sign-in addresses must be paths on this site.
    for next in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
    ] {
        let client = common::client();
        let url = format!("/auth/oidc/start?next={}", urlencoding::encode(next));
        let response = client.get(server.url(&url)).send().await.unwrap();
        assert_eq!(location(&response), "/sign-in?error=sso-next", "{next}");
        assert!(
            session_cookie(&response).is_none_or(|c| c.contains("Max-Age=0")),
            "{next}"
        );
        assert!(
            last_log(&server.store)
                .await
                .reason
                .unwrap()
                .contains("not a path on this site")
        );
    }

    // Each code reads as a sentence on the sign-in page.
    for code in [
        "sso-state",
        "sso-rejected",
        "sso-next",
        "sso-unverified",
        "sso-denied",
    ] {
        let html = common::client()
            .get(server.url(&format!("/sign-in?error={code}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("data-testid=\"sign-in-error\""), "{code}");
    }
}

async fn a_promised_iss_parameter_is_required(store: Store) {
    let idp = FakeIdp::start(true).await;
    let server = start_with_sso(store, idp.provider()).await;
    let client = client();
    let auth = begin(&server, &idp, &client).await;
    let code = grant(
        &idp,
        &auth,
        sign(&claims(&idp, &auth, "sub-iss"), Signing::Good),
        profile("sub-iss", "iss@example.com", true),
    );
    let response = callback(&server, &client, &[("code", &code), ("state", &auth.state)]).await;
    assert_eq!(location(&response), "/sign-in?error=sso-rejected");
    assert!(
        last_log(&server.store)
            .await
            .reason
            .unwrap()
            .contains("iss parameter")
    );

    let auth = begin(&server, &idp, &client).await;
    let code = grant(
        &idp,
        &auth,
        sign(&claims(&idp, &auth, "sub-iss"), Signing::Good),
        profile("sub-iss", "iss@example.com", true),
    );
    let issuer = idp.issuer();
    let response = callback(
        &server,
        &client,
        &[("code", &code), ("state", &auth.state), ("iss", &issuer)],
    )
    .await;
    assert_eq!(location(&response), "/system-log");
    assert!(signed_in(&server, &client).await);
}

domain::backend_tests! {
    async fn oidc_every_rejection_ends_with_no_session_and_a_message(store) {
        every_rejection_ends_with_no_session_and_a_message(store).await;
    }
    async fn oidc_a_promised_iss_parameter_is_required(store) {
        a_promised_iss_parameter_is_required(store).await;
    }
}
