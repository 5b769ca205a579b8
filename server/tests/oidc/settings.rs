//! Single sign-on set up by the environment or in Settings.

use super::*;

async fn without_a_provider_the_local_form_stays(store: Store) {
    let server = start(store, Options::default()).await;
    let html = client()
        .get(server.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Sign in with"), "no provider button");
    let response = client()
        .get(server.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/sign-in?error=sso-off");
}

async fn a_super_admin_sets_it_up_in_settings(store: Store) {
    use secrecy::ExposeSecret;
    let idp = FakeIdp::start(false).await;
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    let save = |issuer: String, secret: &'static str| {
        let admin = admin.clone();
        let url = server.url("/settings/sso");
        async move {
            let response = admin
                .post(url)
                .form(&[
                    ("issuer", issuer.as_str()),
                    ("client_id", CLIENT_ID),
                    ("client_secret", secret),
                    ("display_name", "Test IdP"),
                ])
                .send()
                .await
                .unwrap();
            location(&response)
        }
    };

    // Refused, saving nothing: not a URL, plain http elsewhere, no OpenID configuration.
    assert_eq!(
        save("not a url".into(), CLIENT_SECRET).await,
        "/settings?error=sso-issuer"
    );
    assert_eq!(
        save("http://idp.example.com".into(), CLIENT_SECRET).await,
        "/settings?error=sso-issuer"
    );
    let nowhere = format!("{}/nothing-here", idp.issuer());
    assert_eq!(
        save(nowhere, CLIENT_SECRET).await,
        "/settings?error=sso-discovery"
    );
    // The back channel does not follow redirects.
    let moved = format!("{}/moved", idp.issuer());
    assert_eq!(
        save(moved, CLIENT_SECRET).await,
        "/settings?error=sso-discovery"
    );
    assert!(server.store.sso_settings().await.unwrap().is_none());

    // Saved: the sign-in page offers it and people sign on with it.
    assert_eq!(
        save(idp.issuer(), CLIENT_SECRET).await,
        "/settings?notice=sso-saved"
    );
    let entry = last_log(&server.store).await;
    assert_eq!(entry.action, "system.sso.update");
    assert!(
        !entry.reason.unwrap_or_default().contains(CLIENT_SECRET),
        "never the secret"
    );
    let html = client()
        .get(server.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sign in with Test IdP"));
    let page = admin
        .get(server.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&server.url("/auth/oidc/callback")),
        "the redirect URI to register"
    );
    assert!(!page.contains(CLIENT_SECRET), "the secret is never shown");
    let person = client();
    let response = sign_on(
        &server,
        &idp,
        &person,
        "sub-lin",
        profile("sub-lin", "lin@example.com", true),
    )
    .await;
    assert_eq!(location(&response), "/system-log");

    // An empty secret keeps the saved one.
    assert_eq!(save(idp.issuer(), "").await, "/settings?notice=sso-saved");
    let saved = server.store.sso_settings().await.unwrap().unwrap();
    assert_eq!(saved.client_secret.expose_secret(), CLIENT_SECRET);

    // Only a Super Admin may change it.
    let administrator = server.client_as(Role::WorkflowsAdministrator).await;
    let refused = administrator
        .post(server.url("/settings/sso/remove"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Removed: the sign-in page no longer offers it.
    let removed = admin
        .post(server.url("/settings/sso/remove"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&removed), "/settings?notice=sso-removed");
    let html = client()
        .get(server.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Sign in with"));
    assert_eq!(
        last_log(&server.store).await.reason.as_deref(),
        Some("removed")
    );
}

async fn the_environment_wins_over_settings(store: Store) {
    let idp = FakeIdp::start(false).await;
    let server = start_with_sso(store, idp.provider()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    let response = server
        .post_form(
            &admin,
            "/settings/sso",
            &[("issuer", "https://other.example"), ("client_id", "x")],
        )
        .await;
    assert_eq!(location(&response), "/settings?error=sso-environment");
    let page = admin
        .get(server.url("/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("IDFLOW_OIDC_ISSUER"), "says where it is set");
}

domain::backend_tests! {
    async fn oidc_a_super_admin_sets_it_up_in_settings(store) {
        a_super_admin_sets_it_up_in_settings(store).await;
    }
    async fn oidc_the_environment_wins_over_settings(store) {
        the_environment_wins_over_settings(store).await;
    }
    async fn oidc_without_a_provider_the_local_form_stays(store) {
        without_a_provider_the_local_form_stays(store).await;
    }
}
