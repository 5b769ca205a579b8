//! The execution history each caller may see, and running, cancelling, re-running
//! by those allowed.

use super::*;

/// A user whose only access is the Runner grant on `folder`, signed in.
async fn runner_in(server: &TestServer, folder: uuid::Uuid) -> reqwest::Client {
    use domain::access::FolderRole;
    use domain::assignments::Grantee;
    server
        .add_user("runner@example.com", Role::UnassignedUser)
        .await;
    let runner = server
        .store
        .user_by_name("runner@example.com")
        .await
        .unwrap()
        .unwrap();
    server
        .store
        .set_folder_grant(
            folder,
            &Grantee::User(runner.id),
            Some(FolderRole::Runner),
            &entry(Action::FolderGrant),
        )
        .await
        .unwrap();
    server.client_of("runner@example.com").await
}

async fn the_history_shows_each_caller_the_executions_they_may_see(store: Store) {
    use domain::engine::runner::Runner;
    use domain::store::NewExecution;
    let server = start(store, Options::default()).await;
    // Before anything has run, the tab says where executions come from.
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let empty = admin
        .get(server.url("/executions"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(empty.contains("No executions yet") && empty.contains("each time a flow runs"));
    let hr = server
        .store
        .create_folder(
            "HR",
            &NewEntry::new(Action::FolderCreate, Outcome::Success, Actor::System),
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (name, folder) in [("In HR", Some(hr)), ("Elsewhere", None)] {
        let mut flow = Flow::new(name, "trigger.manual");
        flow.cards = vec![Card {
            id: CardId(1),
            kind: "text.trim".into(),
            inputs: [(
                "text".to_string(),
                Binding::template(" {{ trigger.input.email }} "),
            )]
            .into(),
            on_error: OnError::Stop,
            timeout_seconds: None,
            note: String::new(),
            lanes: vec![],
        }];
        let made = server
            .store
            .test_flow(&flow, folder, "admin@example.com")
            .await;
        let id = server
            .store
            .enqueue_execution(&NewExecution::new(made.id, 1, "trigger.manual", serde_json::json!({"input": {"email": format!("{}@example.com", name.replace(' ', "."))}})))
            .await
            .unwrap()
            .unwrap();
        ids.push(id);
    }
    Runner::new(server.store.clone(), "w")
        .drain()
        .await
        .unwrap();

    let folder_runner = runner_in(&server, hr).await;
    let list = |client: reqwest::Client, form: Vec<(&'static str, String)>| {
        let url = server.url("/api/executions/list");
        async move {
            let response = client.post(url).form(&form).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let page: serde_json::Value = response.json().await.unwrap();
            let items = page["items"].as_array().unwrap();
            assert_eq!(
                page["total"],
                items.len(),
                "everything fits one page: {page}"
            );
            items
                .iter()
                .map(|e| e["flow_name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let mut all = list(auditor.clone(), vec![]).await;
    all.sort();
    assert_eq!(all, ["Elsewhere", "In HR"]);
    assert_eq!(
        list(auditor.clone(), vec![("carried", "in.hr@example".into())]).await,
        ["In HR"]
    );
    assert_eq!(
        list(auditor.clone(), vec![("status", "failed".into())]).await,
        Vec::<String>::new()
    );
    assert_eq!(list(folder_runner.clone(), vec![]).await, ["In HR"]);

    // The detail: every card's record; outside the caller's folders it does not exist.
    let detail = |client: &reqwest::Client, id: &domain::engine::ExecutionId| {
        client
            .post(server.url("/api/executions/detail"))
            .form(&[("id", id.to_string())])
            .send()
    };
    let seen = detail(&folder_runner, &ids[0]).await.unwrap();
    assert_eq!(seen.status(), StatusCode::OK);
    let seen: serde_json::Value = seen.json().await.unwrap();
    assert_eq!(seen["cards"][0]["card_name"], "Trim");
    assert_eq!(seen["cards"][0]["outputs"]["output"], "In.HR@example.com");
    let hidden = detail(&folder_runner, &ids[1]).await.unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let bad = server
        .post_form(&auditor, "/api/executions/list", &[("status", "sleeping")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

async fn flows_are_run_cancelled_and_rerun_by_those_allowed(store: Store) {
    let server = start(store, Options::default()).await;
    let mut flow = Flow::new("By hand", "trigger.manual");
    flow.cards = vec![Card::new(1, "flow.wait").with_inputs(&[("seconds", Binding::literal(600))])];
    let made = server
        .store
        .test_flow(&flow, None, "admin@example.com")
        .await;
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let post = |client: &reqwest::Client, path: String, form: Vec<(&str, String)>| {
        let request = client.post(server.url(&path)).form(&form);
        async move { location(&request.send().await.unwrap()) }
    };
    let to = post(
        &admin,
        format!("/flows/{}/run", made.id),
        vec![("input", "{\"n\": 1}".into())],
    )
    .await;
    assert!(to.ends_with("?notice=flow-started"), "{to}");
    let id = to["/executions/".len()..to.find('?').unwrap()].to_string();
    let bad = post(
        &admin,
        format!("/flows/{}/run", made.id),
        vec![("input", "{n".into())],
    )
    .await;
    assert_eq!(bad, "/flows?error=input-not-json");
    let page = format!("/executions/{id}");

    // Auditors read history but run nothing.
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let refused = auditor
        .post(server.url(&format!("{page}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let cancelled = post(&admin, format!("{page}/cancel"), vec![]).await;
    assert_eq!(cancelled, format!("{page}?notice=execution-cancelled"));
    let again = post(&admin, format!("{page}/cancel"), vec![]).await;
    assert_eq!(again, format!("{page}?error=execution-ended"));
    let not_paused = post(&admin, format!("{page}/approve"), vec![]).await;
    assert_eq!(not_paused, format!("{page}?error=not-paused"));

    let rerun = post(&admin, format!("{page}/rerun"), vec![]).await;
    assert!(rerun.ends_with("?notice=execution-rerun"), "{rerun}");
    let new_id = &rerun["/executions/".len()..rerun.find('?').unwrap()];
    let new = server
        .store
        .execution(domain::engine::ExecutionId(new_id.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (new.status, new.input),
        (Status::Queued, serde_json::json!({"input": {"n": 1}}))
    );
    let gone = post(
        &admin,
        format!("/executions/{}/rerun", uuid::Uuid::nil()),
        vec![],
    )
    .await;
    assert_eq!(gone, "/executions?error=no-execution");
    // Each is in the System Log.
    let log = server.store.recent_audit(10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for action in ["flow.run", "execution.cancel", "execution.rerun"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

/// The history pages by 50, newest first, with the total and links that keep the search;
/// a caller who sees one folder pages through that folder's executions only.
async fn the_history_pages_through_every_execution(store: Store) {
    use domain::store::NewExecution;
    let server = start(store, Options::default()).await;
    let hr = server
        .store
        .create_folder(
            "HR",
            &NewEntry::new(Action::FolderCreate, Outcome::Success, Actor::System),
        )
        .await
        .unwrap();
    let mut made = Vec::new();
    for (name, folder, runs) in [("In HR", Some(hr), 130), ("Elsewhere", None, 20)] {
        let flow = server
            .store
            .test_flow(
                &Flow::new(name, "trigger.manual"),
                folder,
                "admin@example.com",
            )
            .await;
        for n in 0..runs {
            let input = serde_json::json!({"input": {"n": n}});
            server
                .store
                .enqueue_execution(&NewExecution::new(flow.id, 1, "trigger.manual", input))
                .await
                .unwrap()
                .unwrap();
        }
        made.push(flow);
    }
    let folder_runner = runner_in(&server, hr).await;

    // Every page through the server function, following its cursor.
    let walk = |client: reqwest::Client, search: Vec<(&'static str, String)>| {
        let url = server.url("/api/executions/list");
        async move {
            let (mut ids, mut sizes, mut cursor, mut first) =
                (Vec::new(), Vec::new(), None::<String>, 1);
            loop {
                let mut form = search.clone();
                if let Some(c) = &cursor {
                    form.push(("before", c.clone()));
                    form.push(("first", first.to_string()));
                }
                let response = client.post(&url).form(&form).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let page: serde_json::Value = response.json().await.unwrap();
                assert_eq!(page["first"], first, "{page}");
                let items = page["items"].as_array().unwrap();
                sizes.push(items.len());
                ids.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_string()));
                first += items.len() as i64;
                match page["older"].as_str() {
                    Some(next) => cursor = Some(next.to_string()),
                    None => return (ids, sizes, page["total"].as_i64().unwrap()),
                }
            }
        }
    };
    let auditor = server.client_as(Role::WorkflowsAuditor).await;
    let (ids, sizes, total) = walk(auditor.clone(), vec![]).await;
    assert_eq!((sizes, total), (vec![50, 50, 50], 150));
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 150, "no execution twice, none missed");
    let (ids, sizes, total) = walk(auditor.clone(), vec![("flow", made[1].id.to_string())]).await;
    assert_eq!((ids.len(), sizes, total), (20, vec![20], 20));
    let (ids, sizes, total) = walk(folder_runner, vec![]).await;
    assert_eq!(
        (sizes, total),
        (vec![50, 50, 30], 130),
        "only the HR folder's"
    );
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        130
    );
    let bad = server
        .post_form(&auditor, "/api/executions/list", &[("before", "yesterday")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // The page: where it stands, and a link to the next that keeps the search.
    let page = |path: String| {
        let client = auditor.clone();
        let url = server.url(&path);
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let in_hr = made[0].id;
    let newest = page(format!("/executions?flow={in_hr}")).await;
    assert!(
        newest.contains("1–50 of 130"),
        "the range and total are shown"
    );
    let older = newest
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
        .find(|href| href.contains("before="))
        .expect("a link to older executions");
    assert!(
        older.starts_with(&format!("/executions?flow={in_hr}&before=")),
        "{older}"
    );
    let second = page(older).await;
    assert!(second.contains("51–100 of 130") && second.contains("« Newest"));
}

/// A user's timeline after three flows changed them: each execution (linked to its
/// page), each directory event the flows caused and each System Log entry about them,
/// newest first, filtered by kind.
async fn a_users_timeline_shows_what_flows_did_to_them(store: Store) {
    let server = start(store, Options::default()).await;
    server
        .add_user("ada@example.com", Role::UnassignedUser)
        .await;
    let ada = server
        .store
        .user_by_name("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    let names = ["Step one", "Step two", "Step three"];
    let mut executions = Vec::new();
    for name in names {
        let mut flow = Flow::new(name, "trigger.manual");
        flow.cards = vec![Card::new(1, "directory.update_profile").with_inputs(&[
            ("user", Binding::literal(ada.id.to_string())),
            (
                "attributes",
                Binding::literal(serde_json::json!({"title": name})),
            ),
        ])];
        let ran = run_by_hand(&server.store, &flow).await;
        assert_eq!(ran.status, Status::Succeeded, "{name}: {:?}", ran.error);
        executions.push(ran.id.to_string());
    }
    let admin = server.client_as(Role::WorkflowsAdministrator).await;
    let timeline = |kind: &str| {
        let request = admin
            .post(server.url("/api/directory/timeline"))
            .form(&[("id", ada.id.to_string()), ("kind", kind.to_string())]);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (
                status,
                response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
            )
        }
    };
    let entries = |v: &serde_json::Value| v["entries"].as_array().cloned().unwrap_or_default();

    let (status, runs) = timeline("execution").await;
    assert_eq!(status, StatusCode::OK, "{runs}");
    let runs = entries(&runs);
    let titles: Vec<&str> = runs.iter().map(|e| e["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        ["Step three", "Step two", "Step one"],
        "newest first"
    );
    for (entry, id) in runs.iter().zip(executions.iter().rev()) {
        assert_eq!(entry["link"], format!("/executions/{id}"));
        assert_eq!(entry["status"], "succeeded");
    }

    let (_, events) = timeline("event").await;
    let events = entries(&events);
    let by_flows: Vec<&str> = events
        .iter()
        .filter(|e| e["detail"].as_str().unwrap().starts_with("by Flow: Step"))
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(by_flows.len(), 3, "{events:?}");
    assert!(
        by_flows[0].contains("title: Step two → Step three"),
        "{by_flows:?}"
    );

    let (_, log) = timeline("log").await;
    let log = entries(&log);
    assert_eq!(
        log.iter()
            .filter(|e| e["title"] == "User changed by a flow")
            .count(),
        3,
        "{log:?}"
    );
    assert!(
        log[0]["link"]
            .as_str()
            .unwrap()
            .starts_with("/system-log?filter=target.id")
    );

    // Everything, in one line, newest first.
    let (_, all) = timeline("").await;
    let all = entries(&all);
    assert_eq!(all.len(), runs.len() + events.len() + log.len());
    // Compared as instants: RFC 3339 text drops trailing zeros of the fraction
    // (".945Z" and ".945605Z"), so the strings do not sort as the times do.
    let times: Vec<chrono::DateTime<chrono::Utc>> = all
        .iter()
        .map(|e| e["at"].as_str().unwrap().parse().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    let (status, refused) = timeline("gossip").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");

    // The user's page shows it, with the filter.
    let page = admin
        .get(server.url(&format!("/directory/users/{}?kind=execution", ada.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Timeline") && page.contains(&format!("/executions/{}", executions[0])));
}

domain::backend_tests! {
    async fn engine_a_users_timeline_shows_what_flows_did_to_them(store) {
        a_users_timeline_shows_what_flows_did_to_them(store).await;
    }
    async fn engine_the_history_pages_through_every_execution(store) {
        the_history_pages_through_every_execution(store).await;
    }
    async fn engine_flows_are_run_cancelled_and_rerun_by_those_allowed(store) {
        flows_are_run_cancelled_and_rerun_by_those_allowed(store).await;
    }
    async fn engine_the_history_shows_each_caller_the_executions_they_may_see(store) {
        the_history_shows_each_caller_the_executions_they_may_see(store).await;
    }
}
