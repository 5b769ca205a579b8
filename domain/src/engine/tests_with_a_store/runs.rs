//! The engine over a real store, on both backends: executions run card by card,
//! records, retries, lanes, waits, limits, the blast-radius guard.

use super::*;
use crate::engine::runner::Runner;
use crate::engine::{ExecutionId, Status};
use crate::flows::{Lane, OnError};
use crate::store::{ExecutionFilter, NewExecution};
use crate::tables::{Column, ColumnType, Schema};
use serde_json::{Value, json};

/// Eleven cards, ten of which run: text functions, an object built for a table row, a
/// table write and read, a comparison, an If/Else whose Else lane is skipped, Return.
fn ten_cards() -> Flow {
    let mut flow = Flow::new("Ten cards", "trigger.manual");
    let mut branch = card(8, "flow.if_else", &[("condition", from(7, "output"))]);
    branch.lanes = vec![
        Lane {
            name: "Then".into(),
            condition: None,
            cards: vec![card(
                9,
                "text.trim",
                &[("text", Binding::literal(" long "))],
            )],
        },
        Lane {
            name: "Else".into(),
            condition: None,
            cards: vec![card(
                10,
                "text.trim",
                &[("text", Binding::literal(" short "))],
            )],
        },
    ];
    flow.cards = vec![
        card(
            1,
            "text.compose",
            &[(
                "template",
                Binding::template("{{ trigger.input.name }}@Example.com"),
            )],
        ),
        card(
            2,
            "text.change_case",
            &[
                ("text", from(1, "output")),
                ("case", Binding::literal("lower")),
            ],
        ),
        card(
            3,
            "object.set",
            &[
                ("object", Binding::literal(json!({}))),
                ("path", Binding::literal("email")),
                ("value", from(2, "output")),
            ],
        ),
        card(
            4,
            "tables.create_row",
            &[
                ("table", Binding::literal("people")),
                ("row", from(3, "output")),
            ],
        ),
        card(
            5,
            "tables.read_row",
            &[
                ("table", Binding::literal("people")),
                ("key", from(2, "output")),
            ],
        ),
        card(6, "text.length", &[("text", from(2, "output"))]),
        card(
            7,
            "number.compare",
            &[
                ("a", from(6, "output")),
                ("operator", Binding::literal(">")),
                ("b", Binding::literal(5)),
            ],
        ),
        branch,
        card(11, "flow.return", &[("output", from(5, "row"))]),
    ];
    flow
}

/// The record of a Compose card `card_id` that succeeded just now, keeping no data.
fn compose_record(card_id: u32) -> crate::store::StepRecord {
    let now = chrono::Utc::now();
    crate::store::StepRecord {
        card_id,
        card_kind: "text.compose".into(),
        status: "succeeded".into(),
        attempt: 1,
        inputs: None,
        outputs: None,
        error: None,
        started_at: now,
        finished_at: now,
    }
}

async fn setup(store: &Store, flow: &Flow) -> FlowId {
    let people = Schema {
        name: "people".into(),
        columns: vec![Column {
            name: "email".into(),
            ty: ColumnType::Text,
        }],
        key: Some("email".into()),
    };
    if store.table_by_name("people").await.unwrap().is_none() {
        store
            .create_table(&people, None, &entry(Action::TableCreate))
            .await
            .unwrap();
    }
    assert_eq!(
        crate::flows::validate::validate(flow, crate::flows::catalog::catalog()),
        vec![]
    );
    store.test_flow(flow, None, "ada@example.com").await.id
}

crate::backend_tests! {
    async fn a_ten_card_flow_records_every_card(store) {
        let flow = setup(&store, &ten_cards()).await;
        let id = start(&store, flow, json!({"name": "Grace"})).await;
        let runner = Runner::new(store.clone(), "worker-1");
        assert_eq!(runner.drain().await.unwrap(), 1);

        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
        assert_eq!(done.output, Some(json!({"email": "grace@example.com"})));
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.iter().map(|s| s.card_id).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
        assert!(steps.iter().all(|s| s.status == "succeeded" && s.attempt == 1 && s.inputs.is_some()));
        assert_eq!(steps[1].inputs, Some(json!({"text": "Grace@Example.com", "case": "lower"})));
        assert_eq!(steps[1].outputs, Some(json!({"output": "grace@example.com"})));
        assert_eq!(steps[7].outputs, Some(json!({"lane": "Then"})));
        let table = store.table_by_name("people").await.unwrap().unwrap();
        assert!(store.row_by_key(table.id, "grace@example.com").await.unwrap().is_some());

        // Without "save all data", only status and timing are kept.
        let mut quiet = ten_cards();
        quiet.settings.save_all_data = false;
        quiet.name = "Quiet".into();
        let quiet = setup(&store, &quiet).await;
        let id = start(&store, quiet, json!({"name": "Alan"})).await;
        runner.drain().await.unwrap();
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.len(), 10);
        assert!(steps.iter().all(|s| s.inputs.is_none() && s.outputs.is_none() || s.card_kind == "flow.if_else"));

        // Found in the history by flow, status and a value it carried.
        let carrying = |text: &str| ExecutionFilter { carried: Some(text.into()), limit: 10, ..ExecutionFilter::default() };
        let found = store.executions(&carrying("alan@example")).await.unwrap();
        assert_eq!(found.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);
        // What an execution carried is kept in an index as it ends, so the background
        // keeper has nothing left; searches answer from the index: any value of the
        // input or of a card's outputs that starts with the text, in any case.
        assert_eq!(store.keep_carried(100).await.unwrap(), 0);
        // One ended another way (cancelled while queued) is kept by the keeper, a batch
        // at a time, and found before and after.
        let cancelled = start(&store, quiet, json!({"name": "Linus"})).await;
        assert!(store.cancel_execution(cancelled, "cancelled by ada@example.com").await.unwrap());
        let found = store.executions(&carrying("linus")).await.unwrap();
        assert_eq!(found.iter().map(|e| e.id).collect::<Vec<_>>(), vec![cancelled]);
        assert_eq!(store.keep_carried(1).await.unwrap(), 1);
        assert_eq!(store.keep_carried(100).await.unwrap(), 0);
        let found = store.executions(&carrying("LINUS")).await.unwrap();
        assert_eq!(found.iter().map(|e| e.id).collect::<Vec<_>>(), vec![cancelled]);
        let first = store.executions(&ExecutionFilter { flow: Some(flow), limit: 10, ..ExecutionFilter::default() }).await.unwrap()[0].id;
        for (text, expected) in [
            ("alan@example", vec![id]),
            ("ALAN@Example.COM", vec![id]),
            ("Grace", vec![first]),
            ("grace@example.com", vec![first]),
            ("lan@example", vec![]),
            ("nobody", vec![]),
        ] {
            let found = store.executions(&carrying(text)).await.unwrap();
            assert_eq!(found.iter().map(|e| e.id).collect::<Vec<_>>(), expected, "{text}");
            assert_eq!(store.count_executions(&carrying(text), 100).await.unwrap(), expected.len() as i64);
        }
        let by_flow = store.executions(&ExecutionFilter { flow: Some(flow), status: Some(Status::Succeeded), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
        assert_eq!(by_flow.len(), 1);
    }

    async fn an_execution_run_at_once_is_stored_before_its_first_change(store) {
        use crate::store::ExecutionRecord;
        let runner = Runner::new(store.clone(), "inline");
        // As the API begins one: acting for the flow's owner.
        let owner = store.test_author("ada@example.com").await.id;
        let begin = |flow: FlowId, input: Value| async move {
            let new = NewExecution { acting_for: owner, ..NewExecution::by_hand(flow, 1, input) };
            ExecutionRecord::starting(ExecutionId::new(), new)
        };

        // Cards that change nothing, then a return: stored once, at its end, whole.
        let mut pure = Flow::new("Pure", "trigger.manual");
        pure.settings.save_all_data = true;
        pure.cards = vec![
            card(1, "text.compose", &[("template", Binding::template("Hello {{ trigger.input.name }}"))]),
            card(2, "text.change_case", &[("text", from(1, "output")), ("case", Binding::literal("upper"))]),
            card(3, "flow.return", &[("output", from(2, "output"))]),
        ];
        let pure = setup(&store, &pure).await;
        let record = begin(pure, json!({"name": "Ada"})).await;
        let id = record.id;
        let watch = store.signals().watch(id);
        assert!(store.execution(id).await.unwrap().is_none());
        runner.run_unstored(record).await.unwrap();
        let ended = watch.ended_within(std::time::Duration::ZERO).await.unwrap();
        store.signals().forget(id);
        assert_eq!((ended.status, ended.output), (Status::Succeeded, Some(json!("HELLO ADA"))));
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!((done.status, done.output.clone(), done.steps), (Status::Succeeded, Some(json!("HELLO ADA")), 3));
        assert!(done.started_at.is_some() && done.finished_at.is_some());
        assert_eq!(done.input, json!({"input": {"name": "Ada"}}));
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.iter().map(|s| s.card_id).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(steps[1].outputs, Some(json!({"output": "HELLO ADA"})));
        // It is in the history like any other.
        let listed = store.executions(&ExecutionFilter { flow: Some(pure), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
        assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);
        // What it carried is kept in the same transaction: the keeper finds nothing left,
        // and a value of a card's output finds it (through the index, as it is kept).
        assert_eq!(store.keep_carried(100).await.unwrap(), 0);
        let carrying = ExecutionFilter { carried: Some("Hello ADA".into()), limit: 10, ..ExecutionFilter::default() };
        let found = store.executions(&carrying).await.unwrap();
        assert_eq!(found.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);

        // Executions that end together are written together; one that cannot be
        // written (its flow is gone) fails alone.
        let ended = crate::store::Ended { status: Status::Succeeded, output: Some(json!(1)), error: None };
        let mut calls = Vec::new();
        for n in 0..20 {
            let flow = if n == 7 { FlowId(uuid::Uuid::now_v7()) } else { pure };
            let record = begin(flow, json!({ "n": n })).await;
            let (store, ended) = (store.clone(), ended.clone());
            calls.push(tokio::spawn(async move {
                store.accept_finished(&record, Vec::new(), &record.progress, ended).await
            }));
        }
        let mut stored = Vec::new();
        for call in calls {
            stored.push(call.await.unwrap().ok());
        }
        assert_eq!(stored.iter().filter(|s| **s == Some(true)).count(), 19, "{stored:?}");
        assert_eq!(stored[7], None);
        let listed = store.executions(&ExecutionFilter { flow: Some(pure), limit: 100, ..ExecutionFilter::default() }).await.unwrap();
        assert_eq!(listed.len(), 20);

        // The ten-card flow adds a table row: stored, held by this runner, with that
        // card's record and the row, in one transaction; the card after it reads the
        // row; the records and the answer are the same as a queued run's.
        let ten = setup(&store, &ten_cards()).await;
        let record = begin(ten, json!({"name": "Grace"})).await;
        let id = record.id;
        runner.run_unstored(record).await.unwrap();
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
        assert_eq!(done.output, Some(json!({"email": "grace@example.com"})));
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.iter().map(|s| s.card_id).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
        assert_eq!(done.steps, 10);
        assert_eq!(steps[3].outputs, Some(json!({"row": {"email": "grace@example.com"}})));
        // Its key taken, the card fails as it would alone: the execution is stored with
        // the cards before it and the failure, and nothing else is added.
        let record = begin(ten, json!({"name": "Grace"})).await;
        let id = record.id;
        runner.run_unstored(record).await.unwrap();
        let failed = store.execution(id).await.unwrap().unwrap();
        assert_eq!(failed.status, Status::Failed);
        let error = failed.error.unwrap_or_default();
        assert!(error.starts_with("card 4") && error.contains("\"grace@example.com\" already exists"), "{error}");
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.iter().map(|s| (s.card_id, s.status.as_str())).collect::<Vec<_>>(), [(1, "succeeded"), (2, "succeeded"), (3, "succeeded"), (4, "failed")]);
        let people = store.table_by_name("people").await.unwrap().unwrap();
        let (_, rows) = store.rows(&people, &crate::store::RowQuery::default()).await.unwrap();
        assert_eq!(rows, 1, "one row for Grace");

        // A Wait stores it (with the cards before) and leaves it to the workers, who
        // go on after the last recorded card.
        let mut waits = Flow::new("Waits", "trigger.manual");
        waits.cards = vec![
            card(1, "text.trim", &[("text", Binding::literal(" a "))]),
            card(2, "flow.wait", &[("seconds", Binding::literal(3600))]),
            card(3, "text.trim", &[("text", Binding::literal(" b "))]),
        ];
        let waits = setup(&store, &waits).await;
        let record = begin(waits, json!({})).await;
        let id = record.id;
        runner.run_unstored(record).await.unwrap();
        let waiting = store.execution(id).await.unwrap().unwrap();
        assert_eq!((waiting.status, waiting.steps), (Status::Queued, 2));
        assert_eq!(Runner::new(store.clone(), "worker-1").run_one().await.unwrap(), None, "not due for an hour");
        assert!(store.run_now(id).await.unwrap());
        assert_eq!(Runner::new(store.clone(), "worker-1").drain().await.unwrap(), 1);
        let done = store.execution(id).await.unwrap().unwrap();
        assert_eq!((done.status, done.steps), (Status::Succeeded, 3));
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.iter().map(|s| s.card_id).collect::<Vec<_>>(), [1, 2, 3]);

        // A failure in a card that changes nothing is stored with the failure.
        let mut fails = Flow::new("Fails", "trigger.manual");
        fails.cards = vec![card(1, "number.add", &[("a", Binding::mapping(Source::Trigger, "input.a")), ("b", Binding::literal(1))])];
        let fails = setup(&store, &fails).await;
        let record = begin(fails, json!({"a": "not a number"})).await;
        let id = record.id;
        runner.run_unstored(record).await.unwrap();
        let failed = store.execution(id).await.unwrap().unwrap();
        assert_eq!(failed.status, Status::Failed);
        assert!(failed.error.as_deref().unwrap().starts_with("card 1"), "{:?}", failed.error);
        assert_eq!(store.execution_steps(id).await.unwrap().len(), 1);
    }

    async fn retries_follow_the_policy_and_a_failure_names_its_card(store) {
        // A card with no time to run times out: a retryable error.
        let mut flow = Flow::new("Retries", "trigger.manual");
        let mut slow = card(1, "tables.read_row", &[("table", Binding::literal("people")), ("key", Binding::literal("x"))]);
        slow.timeout_seconds = Some(0);
        slow.on_error = OnError::Retry { times: 2 };
        flow.cards = vec![slow];
        let flow = setup(&store, &flow).await;
        let id = start(&store, flow, json!({})).await;
        let runner = Runner::new(store.clone(), "worker-1");
        for _ in 0..3 {
            runner.run_one().await.unwrap();
            let now = store.execution(id).await.unwrap().unwrap();
            if now.status == Status::Queued {
                // Backing off: not due yet, so nothing to claim until an admin says "now".
                assert_eq!(runner.run_one().await.unwrap(), None);
                assert!(store.run_now(id).await.unwrap());
            }
        }
        let failed = store.execution(id).await.unwrap().unwrap();
        assert_eq!(failed.status, Status::Failed);
        assert!(failed.error.as_deref().unwrap().starts_with("card 1 \"Read Row\" failed: timed out"), "{:?}", failed.error);
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.iter().map(|s| (s.attempt, s.status.as_str())).collect::<Vec<_>>(), [(1, "failed"), (2, "failed"), (3, "failed")]);

        // A fatal error is not retried; "continue" goes on past it.
        let mut flow = Flow::new("Continue", "trigger.manual");
        let mut raise = card(1, "flow.raise_error", &[("message", Binding::literal("not today"))]);
        raise.on_error = OnError::Continue;
        flow.cards = vec![raise, card(2, "text.trim", &[("text", Binding::literal(" ok "))])];
        let flow = setup(&store, &flow).await;
        let id = start(&store, flow, json!({})).await;
        runner.drain().await.unwrap();
        assert_eq!(store.execution(id).await.unwrap().unwrap().status, Status::Succeeded);
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.iter().map(|s| s.status.as_str()).collect::<Vec<_>>(), ["failed", "succeeded"]);
        assert_eq!(steps[0].error.as_deref(), Some("not today"));
    }

    async fn the_error_lane_runs_once_then_the_execution_fails(store) {
        let mut flow = Flow::new("Error lane", "trigger.manual");
        let mut risky = card(1, "flow.raise_error", &[("message", Binding::literal("the HR system said no"))]);
        risky.on_error = OnError::ErrorLane {
            cards: vec![
                card(2, "text.compose", &[("template", Binding::template("alert: {{ card_1.error }}"))]),
                card(3, "object.set", &[
                    ("object", Binding::literal(json!({}))),
                    ("path", Binding::literal("email")),
                    ("value", from(2, "output")),
                ]),
                card(4, "tables.create_row", &[("table", Binding::literal("people")), ("row", from(3, "output"))]),
            ],
        };
        flow.cards = vec![risky, card(5, "text.trim", &[("text", Binding::literal("never"))])];
        let flow = setup(&store, &flow).await;
        let id = start(&store, flow, json!({})).await;
        let runner = Runner::new(store.clone(), "worker-1");
        runner.drain().await.unwrap();

        let failed = store.execution(id).await.unwrap().unwrap();
        assert_eq!(failed.status, Status::Failed);
        assert_eq!(failed.error.as_deref(), Some("card 1 \"Raise Error\" failed: the HR system said no"));
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.iter().map(|s| (s.card_id, s.status.as_str())).collect::<Vec<_>>(), [(1, "failed"), (2, "succeeded"), (3, "succeeded"), (4, "succeeded")]);
        assert_eq!(steps[1].outputs, Some(json!({"output": "alert: the HR system said no"})));
        let table = store.table_by_name("people").await.unwrap().unwrap();
        assert!(store.row_by_key(table.id, "alert: the HR system said no").await.unwrap().is_some());
        // Nothing is left to run: the lane ran once.
        assert_eq!(runner.drain().await.unwrap(), 0);
    }

    async fn a_flow_runs_no_more_executions_at_once_than_it_allows(store) {
        let mut flow = Flow::new("One at a time", "trigger.manual");
        flow.settings.max_concurrent = Some(1);
        flow.cards = vec![card(1, "text.trim", &[("text", Binding::literal(" x "))])];
        let flow = setup(&store, &flow).await;
        let first = start(&store, flow, json!({"n": 1})).await;
        let second = start(&store, flow, json!({"n": 2})).await;
        let lease = chrono::Utc::now() + chrono::Duration::seconds(30);
        let claimed = store.claim_execution("worker-a", lease).await.unwrap().unwrap();
        assert_eq!(claimed.id, first);
        // The flow's one slot is taken: the second waits.
        assert!(store.claim_execution("worker-b", lease).await.unwrap().is_none());
        store.finish_execution(first, "worker-a", Status::Succeeded, None, None).await.unwrap();
        assert_eq!(store.claim_execution("worker-b", lease).await.unwrap().map(|e| e.id), Some(second));
    }

    async fn timeouts_cancel_rerun_and_dedupe(store) {
        // An execution past its flow's time limit fails.
        let mut flow = Flow::new("No time", "trigger.manual");
        flow.settings.timeout_seconds = 0;
        flow.cards = vec![card(1, "flow.wait", &[("seconds", Binding::literal(1))]), card(2, "text.trim", &[("text", Binding::literal("x"))])];
        let flow = setup(&store, &flow).await;
        let id = start(&store, flow, json!({})).await;
        let runner = Runner::new(store.clone(), "worker-1");
        runner.run_one().await.unwrap();
        store.run_now(id).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        runner.run_one().await.unwrap();
        let timed_out = store.execution(id).await.unwrap().unwrap();
        assert_eq!(timed_out.status, Status::Failed);
        assert!(timed_out.error.unwrap().starts_with("timed out"));

        // Cancel: a waiting execution never runs its next card.
        let mut waits = Flow::new("Waits", "trigger.manual");
        waits.cards = vec![card(1, "flow.wait", &[("seconds", Binding::literal(600))]), card(2, "text.trim", &[("text", Binding::literal("x"))])];
        let waits = setup(&store, &waits).await;
        let id = start(&store, waits, json!({"n": 1})).await;
        runner.run_one().await.unwrap();
        assert!(store.cancel_execution(id, "cancelled by ada@example.com").await.unwrap());
        assert!(!store.cancel_execution(id, "again").await.unwrap());
        assert!(!store.run_now(id).await.unwrap());
        assert_eq!(runner.run_one().await.unwrap(), None);
        let cancelled = store.execution(id).await.unwrap().unwrap();
        assert_eq!((cancelled.status, cancelled.steps), (Status::Cancelled, 1));

        // Re-run: the same input, the flow's current version, a new execution.
        let again = store.rerun_execution(id).await.unwrap().unwrap();
        let rerun = store.execution(again).await.unwrap().unwrap();
        assert_eq!((rerun.status, rerun.input.clone()), (Status::Queued, json!({"input": {"n": 1}})));

        // Retention: executions that ended before the cutoff go, with their records;
        // running and queued ones stay.
        let before = store.executions(&ExecutionFilter { limit: 100, ..ExecutionFilter::default() }).await.unwrap().len();
        let gone = store.prune_executions(chrono::Utc::now() + chrono::Duration::seconds(1)).await.unwrap();
        assert_eq!(gone, 2, "the timed-out and the cancelled execution");
        let left = store.executions(&ExecutionFilter { limit: 100, ..ExecutionFilter::default() }).await.unwrap();
        assert_eq!(left.len(), before - 2);
        assert!(left.iter().all(|e| !e.status.is_final()));
        assert!(store.execution_steps(id).await.unwrap().is_empty());

        // The same event twice starts the flow once.
        let event = NewExecution {
            flow: waits,
            flow_version: 1,
            trigger_kind: "trigger.manual".into(),
            input: json!({}),
            subject: Some("ada@example.com".into()),
            dedupe_key: Some("event-1".into()),
            causal_chain: vec![],
            parent: None,
            test: false,
            dry_run: false,
            acting_for: None,
        };
        assert!(store.enqueue_execution(&event).await.unwrap().is_some());
        assert!(store.enqueue_execution(&event).await.unwrap().is_none());
    }

    async fn card_records_written_again_are_not_recorded_twice(store) {
        let flow = setup(&store, &ten_cards()).await;
        let id = start(&store, flow, json!({"name": "Barbara"})).await;
        let lease = chrono::Utc::now() + chrono::Duration::minutes(5);
        let claimed = store.claim_execution("worker-a", lease).await.unwrap().unwrap();
        let progress = claimed.progress.clone();
        assert!(store.record_steps(id, "worker-a", (0, vec![compose_record(1), compose_record(2)], None), &progress, lease).await.unwrap());
        // The same write again, as after a commit whose outcome was unclear: refused.
        assert!(!store.record_steps(id, "worker-a", (0, vec![compose_record(1), compose_record(2)], None), &progress, lease).await.unwrap());
        assert!(store.record_steps(id, "worker-a", (2, vec![compose_record(3)], None), &progress, lease).await.unwrap());
        let cards: Vec<u32> = store.execution_steps(id).await.unwrap().iter().map(|s| s.card_id).collect();
        assert_eq!(cards, [1, 2, 3]);
        assert_eq!(store.execution(id).await.unwrap().unwrap().steps, 3);
    }

    async fn a_cards_row_is_written_with_its_record_or_not_at_all(store) {
        let flow = setup(&store, &ten_cards()).await;
        let people = store.table_by_name("people").await.unwrap().unwrap();
        let row = |email: &str| {
            let mut row = crate::tables::Row::new();
            row.insert("email".into(), json!(email));
            crate::store::NewRow::new(&people, row)
        };
        let id = start(&store, flow, json!({"name": "Ada"})).await;
        let lease = chrono::Utc::now() + chrono::Duration::minutes(5);
        let claimed = store.claim_execution("worker-a", lease).await.unwrap().unwrap();
        let mut progress = claimed.progress.clone();
        progress.outputs.insert(1, json!("after card 1"));
        let written = store.record_steps(id, "worker-a", (0, vec![compose_record(1)], Some(row("ada@example.com"))), &progress, lease).await;
        assert!(written.unwrap());
        assert!(store.row_by_key(people.id, "ada@example.com").await.unwrap().is_some());
        assert_eq!(store.execution(id).await.unwrap().unwrap().progress, progress);

        // Its key taken: refused, and neither the record nor the progress is written.
        let mut later = progress.clone();
        later.outputs.insert(2, json!("after card 2"));
        let taken = store.record_steps(id, "worker-a", (1, vec![compose_record(2)], Some(row("ada@example.com"))), &later, lease).await;
        assert!(matches!(taken, Err(StoreError::Conflict { ref what }) if what.contains("ada@example.com")), "{taken:?}");
        let stored = store.execution(id).await.unwrap().unwrap();
        assert_eq!((stored.steps, stored.progress), (1, progress.clone()));

        // Two at once, written together or not: the taken one is refused alone.
        let (taken, fine) = tokio::join!(
            store.record_steps(id, "worker-a", (1, vec![compose_record(2)], Some(row("ada@example.com"))), &later, lease),
            store.record_steps(id, "worker-a", (1, vec![compose_record(2)], Some(row("grace@example.com"))), &later, lease),
        );
        assert!(matches!(taken, Err(StoreError::Conflict { .. })), "{taken:?}");
        assert!(fine.unwrap());
        assert!(store.row_by_key(people.id, "grace@example.com").await.unwrap().is_some());
        assert_eq!(store.execution(id).await.unwrap().unwrap().steps, 2);

        // A worker that no longer holds the execution adds no row.
        let late = store.record_steps(id, "worker-b", (2, vec![compose_record(3)], Some(row("alan@example.com"))), &later, lease).await;
        assert!(!late.unwrap());
        assert!(store.row_by_key(people.id, "alan@example.com").await.unwrap().is_none());
        assert_eq!(store.execution(id).await.unwrap().unwrap().steps, 2);

        // Its table deleted meanwhile: refused, saying so.
        assert!(store.delete_table(people.id, &entry(Action::TableDelete)).await.unwrap());
        let gone = store.record_steps(id, "worker-a", (2, vec![compose_record(3)], Some(row("edsger@example.com"))), &later, lease).await;
        assert!(matches!(gone, Err(StoreError::Gone(_))), "{gone:?}");
        assert_eq!(store.execution(id).await.unwrap().unwrap().steps, 2);
    }

    async fn a_worker_that_dies_is_replaced_and_recorded_cards_do_not_run_again(store) {
        let flow = setup(&store, &ten_cards()).await;
        let id = start(&store, flow, json!({"name": "Edsger"})).await;
        // Worker A claims it and dies at once: its lease is already over.
        let claimed = store.claim_execution("worker-a", chrono::Utc::now() - chrono::Duration::seconds(1)).await.unwrap();
        assert_eq!(claimed.map(|e| e.id), Some(id));
        // Worker B takes it over and runs it to the end; A's late writes are refused.
        let b = Runner::new(store.clone(), "worker-b");
        assert_eq!(b.run_one().await.unwrap(), Some(id));
        let progress = store.execution(id).await.unwrap().unwrap().progress;
        let late = compose_record(1);
        assert!(!store.record_steps(id, "worker-a", (0, vec![late], None), &progress, chrono::Utc::now()).await.unwrap());
        let steps = store.execution_steps(id).await.unwrap();
        assert_eq!(steps.len(), 10, "each card once");
        assert_eq!(store.execution(id).await.unwrap().unwrap().status, Status::Succeeded);
    }

    async fn tables_cards_write_only_where_the_owner_may(store) {
        use crate::access::FolderRole;
        use crate::assignments::Grantee;
        let hr = store.create_folder("HR", &entry(Action::FolderCreate)).await.unwrap();
        let hires = Schema {
            name: "hires".into(),
            columns: vec![Column { name: "email".into(), ty: ColumnType::Text }],
            key: Some("email".into()),
        };
        store.create_table(&hires, Some(hr), &entry(Action::TableCreate)).await.unwrap();
        let editor = store
            .create_user(&NewUser { user_name: "editor@example.com".into(), display_name: None, email: None, role: Role::UnassignedUser }, None, None)
            .await
            .unwrap();
        let grant = |role| {
            let store = store.clone();
            async move { store.set_folder_grant(hr, &Grantee::User(editor.id), role, &entry(Action::FolderGrant)).await.unwrap() }
        };
        grant(Some(FolderRole::Editor)).await;
        let mut flow = Flow::new("Note the hire", "trigger.manual");
        flow.cards = vec![
            card(1, "tables.create_row", &[("table", Binding::literal("hires")), ("row", Binding::template("{{ {'email': trigger.input.email} }}"))]),
            card(2, "tables.count_rows", &[("table", Binding::literal("hires"))]),
        ];
        let made = store.create_flow(&flow, Some(hr), &Author::user(&editor), &entry(Action::FlowCreate)).await.unwrap();
        let runner = Runner::new(store.clone(), "worker-1");
        let run = |email: &str| {
            let (store, runner) = (store.clone(), &runner);
            let input = json!({ "email": email });
            async move {
                let id = start(&store, made.id, input).await;
                runner.drain().await.unwrap();
                store.execution(id).await.unwrap().unwrap()
            }
        };

        // The owner is an Editor of the folder: the card writes, and the row is in the
        // execution's record, not in the System Log.
        let done = run("ada@example.com").await;
        assert_eq!(done.status, Status::Succeeded, "{:?}", done.error);
        assert_eq!(done.acting_for, Some(editor.id));
        let table = store.table_by_name("hires").await.unwrap().unwrap();
        assert!(store.row_by_key(table.id, "ada@example.com").await.unwrap().is_some());
        let log = store.recent_audit(50).await.unwrap();
        assert!(log.iter().all(|e| e.action != Action::TableRowCreate.as_str()), "a flow's rows are not System Log entries");

        // Once they only read the folder, the flow may not write there either: it fails
        // saying why, and writes nothing.
        grant(Some(FolderRole::Reader)).await;
        let refused = run("grace@example.com").await;
        assert_eq!(refused.status, Status::Failed);
        let error = refused.error.unwrap_or_default();
        assert!(error.contains("refused") && error.contains("Editor grant"), "{error}");
        assert!(store.row_by_key(table.id, "grace@example.com").await.unwrap().is_none());

        // Without any grant it may not even read the folder's tables.
        grant(None).await;
        flow.cards.remove(0);
        flow.name = "Count the hires".into();
        let counting = store.create_flow(&flow, Some(hr), &Author::user(&editor), &entry(Action::FlowCreate)).await.unwrap();
        let id = start(&store, counting.id, json!({})).await;
        runner.drain().await.unwrap();
        let refused = store.execution(id).await.unwrap().unwrap();
        assert_eq!(refused.status, Status::Failed);
        assert!(refused.error.unwrap_or_default().contains("reading this folder's tables"));
    }
}
