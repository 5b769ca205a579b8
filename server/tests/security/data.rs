//! What comes in and goes out: SCIM passwords are never kept, CSV cells are not
//! formulas, hostile input gets a short error and no panic.

use super::*;

async fn scim_password_is_never_stored(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    let (_, token) = server
        .store
        .create_scim_token(
            "Okta",
            TokenMaker::Operator,
            &entry(Action::ScimTokenCreate),
        )
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let marker = "Pa55word-marker-7731";
    let response = http
        .post(server.url("/scim/v2/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "pw@example.com", "password": marker }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert!(created.get("password").is_none());
    let id = created["id"].as_str().unwrap();
    let patched = http
        .patch(server.url(&format!("/scim/v2/Users/{id}")))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "path": "password", "value": marker }] }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let read = http
        .get(server.url(&format!("/scim/v2/Users/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!read.contains(marker));
    let stored = user(&server, "pw@example.com").await;
    assert!(
        !serde_json::to_string(&stored.attributes)
            .unwrap()
            .contains(marker)
    );
    let events = server
        .store
        .directory_events_about(stored.id.0)
        .await
        .unwrap();
    assert!(!serde_json::to_string(&events).unwrap().contains(marker));
}

async fn csv_exports_neutralise_formulas(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::SuperAdmin).await;
    let created = post(
        &server,
        &admin,
        "/directory/users",
        &[
            ("user_name", "=cmd@example.com"),
            ("display_name", "=HYPERLINK(\"http://evil\")"),
        ],
    )
    .await;
    assert!(created.contains("notice=user-created"), "{created}");
    let evil = user(&server, "=cmd@example.com").await;
    post(
        &server,
        &admin,
        &format!("/assignments/users/{}/role", evil.id),
        &[("role", "workflows_auditor")],
    )
    .await;
    let csv = admin
        .get(server.url("/assignments/access-review.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("'=cmd@example.com"), "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.lines().any(|l| l.starts_with('=')));

    let table = server
        .store
        .create_table(
            &domain::tables::Schema {
                name: "cells".into(),
                columns: vec![
                    domain::tables::Column {
                        name: "text".into(),
                        ty: domain::tables::ColumnType::Text,
                    },
                    domain::tables::Column {
                        name: "n".into(),
                        ty: domain::tables::ColumnType::Number,
                    },
                ],
                key: None,
            },
            None,
            &entry(Action::TableCreate),
        )
        .await
        .unwrap();
    for text in ["@SUM(1+1)", "+1", "\tx", "plain"] {
        let row: domain::tables::Row =
            serde_json::from_value(json!({ "text": text, "n": -5 })).unwrap();
        server.store.insert_row(&table, &row, None).await.unwrap();
    }
    let csv = admin
        .get(server.url(&format!("/tables/{}/export", table.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("'@SUM(1+1)") && csv.contains("'\tx") && csv.contains("plain"),
        "{csv}"
    );
    assert!(csv.contains(",-5"), "numbers stay numbers: {csv}");
}

async fn no_panic_from_input_and_short_scim_errors(store: domain::store::Store) {
    let server = start(store, Options::default()).await;
    let (_, token) = server
        .store
        .create_scim_token(
            "Okta",
            TokenMaker::Operator,
            &entry(Action::ScimTokenCreate),
        )
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let response = http
        .get(server.url("/scim/v2/Users?attributes=aaaaaaaé.x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let deep = format!(
        "{}userName eq \"a\"{}",
        "(".repeat(30_000),
        ")".repeat(30_000)
    );
    let response = http
        .post(server.url("/scim/v2/Users/.search"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": deep }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().await.unwrap();
    assert!(body.len() < 1000, "the error is {} bytes", body.len());
    assert!(body.contains("invalidFilter"), "{body}");
}

domain::backend_tests! {
    async fn security_scim_password_is_never_stored(store) {
        scim_password_is_never_stored(store).await;
    }
    async fn security_csv_exports_neutralise_formulas(store) {
        csv_exports_neutralise_formulas(store).await;
    }
    async fn security_no_panic_from_input_and_short_scim_errors(store) {
        no_panic_from_input_and_short_scim_errors(store).await;
    }
}
