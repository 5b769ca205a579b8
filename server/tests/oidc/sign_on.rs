//! Signing on through the provider: first sign-on, linking by verified email, linking an
//! administrator only with their password, sign-out.

use super::*;

async fn first_sign_on_then_role_then_sign_out(store: Store) {
    let idp = FakeIdp::start(false).await;
    let server = start_with_sso(store, idp.provider()).await;

    // The sign-in page offers the provider, and still the local form.
    let page = client().get(server.url("/sign-in")).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in with Test IdP"), "{html}");
    assert!(html.contains("action=\"/auth/sign-in\""));

    // Start: PKCE S256, state, nonce, the scopes, our redirect URI.
    let client = client();
    let auth = begin(&server, &idp, &client).await;
    assert_eq!(auth.params["code_challenge_method"], "S256");
    assert_eq!(auth.params["response_type"], "code");
    assert_eq!(auth.params["client_id"], CLIENT_ID);
    assert_eq!(
        auth.params["redirect_uri"],
        server.url("/auth/oidc/callback")
    );
    let scopes: Vec<&str> = auth.params["scope"].split(' ').collect();
    for scope in ["openid", "email", "profile"] {
        assert!(scopes.contains(&scope), "{scopes:?}");
    }
    assert!(auth.state.len() >= 16 && auth.nonce.len() >= 16);

    // Back from the provider: a new user with no role, a new session id.
    let code = grant(
        &idp,
        &auth,
        sign(&claims(&idp, &auth, "sub-grace"), Signing::Good),
        profile("sub-grace", "grace@example.com", true),
    );
    let response = callback(&server, &client, &[("code", &code), ("state", &auth.state)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/system-log",
        "{:?}",
        last_log(&server.store).await.reason
    );
    let new_cookie = cookie_value(&session_cookie(&response).expect("a new session id"));
    assert_ne!(
        new_cookie, auth.cookie,
        "the session id is cycled at sign-in"
    );
    let old = with_cookie(&server, &auth.cookie, "/").await;
    assert_eq!(
        old.status(),
        StatusCode::SEE_OTHER,
        "the pre-sign-in id is dead"
    );

    let home = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("no role in idflow yet"));
    let system_log = client.get(server.url("/system-log")).send().await.unwrap();
    assert_eq!(system_log.status(), StatusCode::FORBIDDEN);

    let user = server
        .store
        .user_by_name("grace@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::UnassignedUser);
    assert_eq!(
        user.display_name.as_deref(),
        Some("Grace Hopper"),
        "userinfo's name"
    );
    assert!(user.last_sign_in_at.is_some());
    let log = server.store.recent_audit(2).await.unwrap();
    assert_eq!(log[0].action, "user.session.start");
    assert_eq!(log[0].outcome, "success");
    assert_eq!(
        log[0].reason.as_deref(),
        Some("single sign-on with Test IdP")
    );
    assert_eq!(log[1].action, "user.sso.create");

    // An admin assigns a role; the next sign-on (same account, even with a changed
    // email) finds the same user by issuer and subject and opens the console.
    server
        .store
        .set_user_role(user.id, Role::WorkflowsAuditor)
        .await
        .unwrap();
    let client = common::client();
    let response = sign_on(
        &server,
        &idp,
        &client,
        "sub-grace",
        profile("sub-grace", "g.hopper@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/system-log");
    let system_log = client.get(server.url("/system-log")).send().await.unwrap();
    assert_eq!(system_log.status(), StatusCode::OK);
    assert_eq!(server.store.count_users().await.unwrap(), 1);
    let session = cookie_value(&session_cookie(&response).unwrap());

    // Sign-out ends the session here and sends the browser to the provider's
    // end-session endpoint with the ID token as hint, to come back to sign-in.
    let out = client
        .post(server.url("/auth/sign-out"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let to = url::Url::parse(&location(&out)).unwrap();
    assert_eq!(
        format!("{}{}", idp.issuer(), to.path()),
        format!("{}/session/end", idp.issuer())
    );
    let params: HashMap<String, String> = to.query_pairs().into_owned().collect();
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(
        params["post_logout_redirect_uri"],
        server.url("/auth/oidc/signed-out")
    );
    assert_eq!(params["id_token_hint"].split('.').count(), 3);
    let old = with_cookie(&server, &session, "/").await;
    assert_eq!(old.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&old).starts_with("/sign-in"),
        "the old cookie gets the sign-in page"
    );
    let back = client
        .get(server.url("/auth/oidc/signed-out"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&back), "/sign-in?notice=signed-out");
    assert_eq!(last_log(&server.store).await.action, "user.session.end");
}

async fn links_directory_users_by_verified_email_only(store: Store) {
    let idp = FakeIdp::start(false).await;
    let server = start_with_sso(store, idp.provider()).await;
    server
        .add_user("ada@example.com", Role::WorkflowsAuditor)
        .await;

    // An unverified email names nobody.
    let client = client();
    let response = sign_on(
        &server,
        &idp,
        &client,
        "sub-ada",
        profile("sub-ada", "ada@example.com", false),
    )
    .await;
    assert_eq!(location(&response), "/sign-in?error=sso-unverified");
    assert!(!signed_in(&server, &client).await);
    let ada = server
        .store
        .user_by_name("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        server
            .store
            .sso_identities_of(ada.id)
            .await
            .unwrap()
            .is_empty()
    );
    let entry = last_log(&server.store).await;
    assert_eq!(entry.outcome, "failure");
    assert!(entry.reason.unwrap().contains("verified"));

    // A verified one links the account to the directory user, once.
    let response = sign_on(
        &server,
        &idp,
        &client,
        "sub-ada",
        profile("sub-ada", "ADA@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/system-log");
    assert!(signed_in(&server, &client).await);
    assert_eq!(
        server.store.sso_identities_of(ada.id).await.unwrap(),
        vec![SsoIdentity {
            issuer: idp.issuer(),
            subject: "sub-ada".into()
        }]
    );
    let log = server.store.recent_audit(2).await.unwrap();
    assert_eq!(log[1].action, "user.sso.link");
    assert_eq!(server.store.count_users().await.unwrap(), 1);

    // Another account at the same provider with the same email does not take her over.
    let other = common::client();
    let response = sign_on(
        &server,
        &idp,
        &other,
        "sub-impostor",
        profile("sub-impostor", "ada@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/sign-in?error=sso-linked");
    assert!(!signed_in(&server, &other).await);

    // A suspended user cannot sign on.
    server
        .store
        .set_user_status(ada.id, UserStatus::Suspended)
        .await
        .unwrap();
    let client = common::client();
    let response = sign_on(
        &server,
        &idp,
        &client,
        "sub-ada",
        profile("sub-ada", "ada@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/sign-in?error=inactive");
    assert!(!signed_in(&server, &client).await);
}

/// A first single sign-on naming an administrator's local account links it only once that
/// account's own password confirms it.
async fn linking_an_administrator_needs_their_password_once(store: Store) {
    let idp = FakeIdp::start(false).await;
    let server = start_with_sso(store, idp.provider()).await;
    server
        .add_user("boss@example.com", Role::WorkflowsAdministrator)
        .await;
    let boss = server
        .store
        .user_by_name("boss@example.com")
        .await
        .unwrap()
        .unwrap();
    let client = client();
    let response = sign_on(
        &server,
        &idp,
        &client,
        "sub-boss",
        profile("sub-boss", "boss@example.com", true),
    )
    .await;
    let to = location(&response);
    assert!(
        to.starts_with("/sign-in?link=confirm&account=boss%40example.com&provider="),
        "{to}"
    );
    assert!(!signed_in(&server, &client).await);
    assert!(
        server
            .store
            .sso_identities_of(boss.id)
            .await
            .unwrap()
            .is_empty()
    );
    let page = client
        .get(server.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Confirm and sign in"),
        "the page asks for the password"
    );

    // A wrong password links nothing (and counts as a failed sign-in).
    let wrong = server
        .post_form(&client, "/auth/oidc/link", &[("password", "not it")])
        .await;
    assert!(
        location(&wrong).contains("link=confirm&error=invalid"),
        "{}",
        location(&wrong)
    );
    assert!(!signed_in(&server, &client).await);
    assert!(
        server
            .store
            .sso_identities_of(boss.id)
            .await
            .unwrap()
            .is_empty()
    );
    let log = server.store.recent_audit(1).await.unwrap();
    assert_eq!(log[0].reason.as_deref(), Some("wrong password"));

    // The right one links the account and signs in, where the sign-on was going.
    let right = server
        .post_form(&client, "/auth/oidc/link", &[("password", PASSWORD)])
        .await;
    assert_eq!(location(&right), "/system-log");
    assert!(signed_in(&server, &client).await);
    assert_eq!(
        server.store.sso_identities_of(boss.id).await.unwrap().len(),
        1
    );
    let log = server.store.recent_audit(2).await.unwrap();
    assert_eq!(log[1].action, "user.sso.link");
    // The link is used once: a second post finds nothing to confirm.
    let again = server
        .post_form(&client, "/auth/oidc/link", &[("password", PASSWORD)])
        .await;
    assert_eq!(location(&again), "/sign-in?error=sso-link-expired");
    // From now on the provider alone signs them in.
    let later = common::client();
    let response = sign_on(
        &server,
        &idp,
        &later,
        "sub-boss",
        profile("sub-boss", "boss@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/system-log");

    // An administrator without a local password is not linked by email at all.
    server
        .store
        .create_user(
            &domain::store::NewUser {
                user_name: "nopw@example.com".into(),
                display_name: None,
                email: Some("nopw@example.com".into()),
                role: Role::SuperAdmin,
            },
            None,
            None,
        )
        .await
        .unwrap();
    let response = sign_on(
        &server,
        &idp,
        &common::client(),
        "sub-nopw",
        profile("sub-nopw", "nopw@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/sign-in?error=sso-privileged");
}

domain::backend_tests! {
    async fn oidc_linking_an_administrator_needs_their_password_once(store) {
        linking_an_administrator_needs_their_password_once(store).await;
    }
    async fn oidc_first_sign_on_then_role_then_sign_out(store) {
        first_sign_on_then_role_then_sign_out(store).await;
    }
    async fn oidc_links_directory_users_by_verified_email_only(store) {
        links_directory_users_by_verified_email_only(store).await;
    }
}
