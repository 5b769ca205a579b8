//! The Tables tab through the real router: create a table, add, change and delete rows,
//! import a CSV file with a report of the rows it refused, export, see which flows use a
//! table, delete it; on both backends.

mod common;

use common::*;
use domain::access::Role;
use domain::audit::{Action, Actor, NewEntry, Outcome};
use domain::flows::{Binding, Card, Flow};
use domain::store::{RowQuery, Store};
use reqwest::StatusCode;

/// A `multipart/form-data` body holding one file field named `file`.
fn csv_upload(file_name: &str, text: &str) -> (String, Vec<u8>) {
    let boundary = "idflow-test-boundary-7MA4YWxkTrZu0gW";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n{text}\r\n--{boundary}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

async fn the_tables_tab_creates_fills_imports_exports_and_deletes(store: Store) {
    let server = start(store, Options::default()).await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let page = |client: &reqwest::Client, path: String| {
        let request = client.get(server.url(&path));
        // Without the hydration markers between text nodes.
        async move {
            request
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .replace("<!>", "")
        }
    };

    let empty = page(&admin, "/tables".into()).await;
    assert!(empty.contains("No tables yet") && empty.contains("Create a table"));

    let offboarded = [
        ("name", "offboarded"),
        ("column_name_0", "email"),
        ("column_type_0", "text"),
        ("column_name_1", "when"),
        ("column_type_1", "date_time"),
        ("column_name_2", "count"),
        ("column_type_2", "number"),
        ("column_name_3", "remote"),
        ("column_type_3", "boolean"),
        ("key", "email"),
    ];
    let refused = server.post_form(&auditor, "/tables", &offboarded).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let no_columns = server
        .post_form(&admin, "/tables", &[("name", "empty"), ("key", "email")])
        .await;
    let at = location(&no_columns);
    assert_eq!(query_param(&at, "error").as_deref(), Some("table-problems"));
    let why = query_param(&at, "why").unwrap();
    assert!(
        why.contains("at least one column") && why.contains("\"email\" is not one of the columns"),
        "{why}"
    );
    assert!(server.store.tables().await.unwrap().is_empty());

    let created = server.post_form(&admin, "/tables", &offboarded).await;
    let table = server
        .store
        .table_by_name("offboarded")
        .await
        .unwrap()
        .unwrap();
    let base = format!("/tables/{}", table.id);
    assert_eq!(location(&created), format!("{base}?notice=table-created"));
    let again = server.post_form(&admin, "/tables", &offboarded).await;
    assert_eq!(location(&again), "/tables?error=table-taken");

    // Add a row; values are read as their columns' types.
    let back = format!("{base}?sort=email&desc=true");
    let added = admin
        .post(server.url(&format!("{base}/rows")))
        .form(&[
            ("c0", "ada@example.com"),
            ("c1", "2026-11-23"),
            ("c2", "3"),
            ("c3", "true"),
            ("back", back.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&added), format!("{back}&notice=row-added"));
    let rows = |store: Store, table| async move {
        store
            .rows(
                &table,
                &RowQuery {
                    limit: 1000,
                    ..RowQuery::default()
                },
            )
            .await
            .unwrap()
    };
    let (stored, total) = rows(server.store.clone(), table.clone()).await;
    assert_eq!(total, 1);
    let ada = stored[0].clone();
    assert_eq!(ada.data["when"], "2026-11-23T00:00:00Z");
    assert_eq!(
        (ada.data["count"].as_i64(), ada.data["remote"].as_bool()),
        (Some(3), Some(true))
    );

    // A value that does not fit is refused with the column and the reason; nothing lands.
    let bad = server
        .post_form(
            &admin,
            &format!("{base}/rows"),
            &[("c0", "bob@example.com"), ("c2", "three")],
        )
        .await;
    let at = location(&bad);
    assert_eq!(query_param(&at, "error").as_deref(), Some("row-invalid"));
    assert!(
        query_param(&at, "why")
            .unwrap()
            .contains("count: \"three\" is not a number")
    );
    let no_key = server
        .post_form(&admin, &format!("{base}/rows"), &[("c2", "4")])
        .await;
    assert!(
        query_param(&location(&no_key), "why")
            .unwrap()
            .contains("key column needs a value")
    );
    let taken = server
        .post_form(
            &admin,
            &format!("{base}/rows"),
            &[("c0", "ada@example.com")],
        )
        .await;
    assert_eq!(
        query_param(&location(&taken), "error").as_deref(),
        Some("row-key-taken")
    );
    assert_eq!(rows(server.store.clone(), table.clone()).await.1, 1);

    // Edit in place: a refusal goes back to the row being edited.
    let row_path = format!("{base}/rows/{}", ada.id);
    let wrong = server
        .post_form(
            &admin,
            &row_path,
            &[("c0", "ada@example.com"), ("c3", "perhaps")],
        )
        .await;
    let at = location(&wrong);
    assert_eq!(query_param(&at, "edit"), Some(ada.id.to_string()));
    assert_eq!(query_param(&at, "error").as_deref(), Some("row-invalid"));
    let saved = server
        .post_form(
            &admin,
            &row_path,
            &[("c0", "ada@example.com"), ("c2", "4"), ("c3", "no")],
        )
        .await;
    assert_eq!(location(&saved), format!("{base}?notice=row-saved"));
    let ada = server.store.row(table.id, ada.id).await.unwrap().unwrap();
    assert_eq!(ada.data["count"], 4);
    assert_eq!(ada.data["remote"], false);
    assert!(
        ada.data.get("when").is_none(),
        "a cell left empty is emptied"
    );
    let editing = page(&admin, format!("{base}?edit={}", ada.id)).await;
    assert!(editing.contains("form=\"edit-row\"") && editing.contains("value=\"ada@example.com\""));
    let read_only = page(&auditor, format!("{base}?edit={}", ada.id)).await;
    assert!(read_only.contains("ada@example.com"));
    assert!(!read_only.contains("edit-row") && !read_only.contains("Add row"));
    let refused = server
        .post_form(&auditor, &row_path, &[("c0", "eve@example.com")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A CSV file: 100 rows, 3 of them bad (a number that is not, a true/false that is
    // not, a key already in the table). 97 land; the report names the 3 with reasons.
    let mut csv = String::from("email,count,remote\n");
    for i in 0..100 {
        match i {
            10 => csv.push_str("user10@example.com,ten,yes\n"),
            50 => csv.push_str("user50@example.com,50,perhaps\n"),
            90 => csv.push_str("ada@example.com,90,no\n"),
            _ => csv.push_str(&format!("user{i}@example.com,{i},no\n")),
        }
    }
    let (content_type, body) = csv_upload("leavers.csv", &csv);
    let imported = admin
        .post(server.url(&format!("{base}/import")))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let at = location(&imported);
    assert!(query_param(&at, "import").is_some(), "{at}");
    assert_eq!(rows(server.store.clone(), table.clone()).await.1, 98);
    let shown = page(&admin, at.clone()).await;
    assert!(shown.contains("97 rows imported, 3 rejected"), "{shown}");
    assert!(shown.contains("leavers.csv"));
    for (line, reason) in [
        ("12", "\"ten\" is not a number"),
        ("52", "\"perhaps\" is not true or false"),
        ("92", "the key \"ada@example.com\" is already in the table"),
    ] {
        assert!(shown.contains(&format!("<td>{line}</td>")), "line {line}");
        assert!(
            shown.contains(&reason.replace('"', "&quot;")) || shown.contains(reason),
            "{reason}"
        );
    }
    // Another table's report is not shown here.
    assert!(
        !page(&admin, format!("{base}?import={}", uuid::Uuid::now_v7()))
            .await
            .contains("rejected")
    );

    let (content_type, body) = csv_upload("wrong.csv", "email,shoe size\nx@example.com,9\n");
    let unreadable = admin
        .post(server.url(&format!("{base}/import")))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let at = location(&unreadable);
    assert_eq!(query_param(&at, "error").as_deref(), Some("csv-unreadable"));
    assert!(query_param(&at, "why").unwrap().contains("\"shoe size\""));
    let no_file = server
        .post_form(&admin, &format!("{base}/import"), &[("file", "")])
        .await;
    assert_eq!(location(&no_file), format!("{base}?error=csv-no-file"));
    assert_eq!(rows(server.store.clone(), table.clone()).await.1, 98);

    // The grid: search, sort, paging.
    let searched = page(&admin, format!("{base}?q=USER7")).await;
    assert!(searched.contains("user7@example.com") && searched.contains("user77@example.com"));
    assert!(!searched.contains("user8@example.com"));
    assert!(searched.contains("Rows 1–11 of 11"), "user7 and user70–79");
    let first = page(&admin, format!("{base}?sort=count&desc=true")).await;
    assert!(first.contains("Rows 1–50 of 98") && first.contains("Next"));
    let top = first.find("user99@example.com").unwrap();
    assert!(top < first.find("user98@example.com").unwrap());
    let second = page(&admin, format!("{base}?sort=count&desc=true&offset=50")).await;
    assert!(second.contains("Rows 51–98 of 98") && second.contains("Previous"));
    let unknown = admin
        .get(server.url(&format!("{base}?sort=shoe")))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);

    // Export: the header, then every row; an auditor may read it.
    let exported = auditor
        .get(server.url(&format!("{base}/export")))
        .send()
        .await
        .unwrap();
    assert_eq!(exported.status(), StatusCode::OK);
    assert!(
        exported.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("offboarded.csv")
    );
    let text = exported.text().await.unwrap();
    assert_eq!(text.lines().next(), Some("email,when,count,remote"));
    assert_eq!(text.lines().count(), 99);

    // Which flows use the table, on the list and in the delete confirmation.
    let mut flow = Flow::new("Offboarding", "directory.user_deactivated");
    flow.cards = vec![Card::new(1, "tables.create_row").with_inputs(&[
        ("table", Binding::literal("Offboarded")),
        (
            "row",
            Binding::template("{{ {'email': trigger.user.email} }}"),
        ),
    ])];
    server
        .store
        .create_flow(
            &flow,
            None,
            &server.store.test_author("admin").await,
            &NewEntry::new(Action::FlowCreate, Outcome::Success, Actor::System),
        )
        .await
        .unwrap();
    let list = page(&admin, "/tables".into()).await;
    assert!(list.contains("data-table=\"offboarded\""));
    assert!(list.contains("These flows use it and their Tables cards will fail: Offboarding."));
    assert!(page(&admin, base.clone()).await.contains("Offboarding"));

    let deleted = server
        .post_form(
            &admin,
            &format!("{row_path}/delete"),
            &[("back", base.as_str())],
        )
        .await;
    assert_eq!(location(&deleted), format!("{base}?notice=row-deleted"));
    let gone = admin
        .post(server.url(&format!("{row_path}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&gone), format!("{base}?error=no-row-here"));

    // Every change by a person is in the System Log, the import with what it did.
    let log = server.store.recent_audit(20).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "table.create",
        "table.row.create",
        "table.row.update",
        "table.row.delete",
        "table.import",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let import = log
        .iter()
        .find(|e| e.action.as_str() == "table.import")
        .unwrap();
    assert_eq!(
        import.reason.as_deref(),
        Some("97 rows imported, 3 rejected from leavers.csv")
    );

    let removed = admin
        .post(server.url(&format!("{base}/delete")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&removed), "/tables?notice=table-deleted");
    assert!(server.store.tables().await.unwrap().is_empty());
    let missing = admin.get(server.url(&base)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

domain::backend_tests! {
    async fn tables_tab_creates_fills_imports_exports_and_deletes(store) {
        the_tables_tab_creates_fills_imports_exports_and_deletes(store).await;
    }
}
