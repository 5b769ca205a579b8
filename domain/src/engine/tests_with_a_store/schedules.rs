//! Scheduled flows fire once a tick, however many schedulers look, on both backends.

use super::*;
use crate::engine::schedules::fire_schedules;
use crate::flows::{Binding, Flow};
use crate::store::ExecutionFilter;
use chrono::{TimeZone, Utc};

crate::backend_tests! {
    async fn each_tick_fires_once_however_many_schedulers_look(store) {
        let mut flow = Flow::new("Every second", "trigger.scheduled");
        flow.trigger.options.insert("cron".into(), Binding::literal("* * * * * *"));
        let entry = NewEntry::new(Action::FlowCreate, Outcome::Success, Actor::System);
        let made = store.create_flow(&flow, None, &store.test_author("ada@example.com").await, &entry).await.unwrap();
        store.set_flow_enabled(made.id, true, &store.test_author("ada@example.com").await, &entry).await.unwrap();

        // Ticks before the flow was turned on never fire.
        assert_eq!(fire_schedules(&store, Utc::now() - chrono::Duration::minutes(5), Utc::now() - chrono::Duration::minutes(1)).await.unwrap(), 0);
        // Ticks to come: two schedulers at once over the same five seconds, then one
        // over an overlapping window.
        let t0 = Utc.timestamp_opt(Utc::now().timestamp() + 60, 0).unwrap();
        let (a, b) = tokio::join!(
            fire_schedules(&store, t0, t0 + chrono::Duration::seconds(5)),
            fire_schedules(&store, t0, t0 + chrono::Duration::seconds(5)),
        );
        assert_eq!(a.unwrap() + b.unwrap(), 5);
        assert_eq!(fire_schedules(&store, t0 - chrono::Duration::seconds(2), t0 + chrono::Duration::seconds(6)).await.unwrap(), 3);
        let runs = store.executions(&ExecutionFilter { flow: Some(made.id), limit: 100, ..ExecutionFilter::default() }).await.unwrap();
        let mut fired: Vec<chrono::DateTime<Utc>> = runs.iter().map(|r| r.input["fired_at"].as_str().unwrap().parse().unwrap()).collect();
        fired.sort();
        assert_eq!(fired.first(), Some(&(t0 - chrono::Duration::seconds(1))));
        assert_eq!(fired.len(), 8);
        fired.dedup();
        assert_eq!(fired.len(), 8, "no tick twice");

        // A schedule in a time zone fires at that zone's wall-clock time.
        let mut daily = Flow::new("Daily in Paris", "trigger.scheduled");
        daily.trigger.options.insert("cron".into(), Binding::literal("0 9 * * *"));
        daily.trigger.options.insert("time_zone".into(), Binding::literal("Europe/Paris"));
        let made = store.create_flow(&daily, None, &store.test_author("ada@example.com").await, &entry).await.unwrap();
        store.set_flow_enabled(made.id, true, &store.test_author("ada@example.com").await, &entry).await.unwrap();
        let tomorrow = (Utc::now() + chrono::Duration::days(1)).date_naive();
        let day = tomorrow.and_hms_opt(0, 0, 0).unwrap().and_utc();
        fire_schedules(&store, day, day + chrono::Duration::days(1)).await.unwrap();
        let paris_nine = chrono_tz::Europe::Paris
            .from_local_datetime(&tomorrow.and_hms_opt(9, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc);
        let runs = store.executions(&ExecutionFilter { flow: Some(made.id), limit: 10, ..ExecutionFilter::default() }).await.unwrap();
        let fired: Vec<chrono::DateTime<Utc>> = runs.iter().map(|r| r.input["fired_at"].as_str().unwrap().parse().unwrap()).collect();
        assert_eq!(fired, vec![paris_nine]);
    }
}
