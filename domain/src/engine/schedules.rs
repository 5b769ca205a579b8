//! Scheduled flows: each flow's cron schedule in its time zone, and the ticks that fire
//! once however many servers look (a unique fire per schedule and time).

#[cfg(feature = "server")]
use crate::store::{NewExecution, Store, StoreError};
#[cfg(feature = "server")]
use chrono::Utc;
use serde_json::Value;
#[cfg(feature = "server")]
use serde_json::json;

/// At most this many fire times of one schedule are caught up in one round.
#[cfg(feature = "server")]
const MAX_FIRES_PER_ROUND: usize = 100;

/// A Scheduled flow's schedule: its cron line (five fields, or six with seconds) in its
/// time zone (UTC when none is given).
pub fn schedule_of(flow: &crate::flows::Flow) -> Result<(croner::Cron, chrono_tz::Tz), String> {
    let text = |name: &str| match flow.trigger.options.get(name) {
        Some(crate::flows::Binding::Literal {
            value: Value::String(s),
        }) => Some(s.trim().to_string()),
        _ => None,
    };
    let line = text("cron")
        .filter(|c| !c.is_empty())
        .ok_or("the schedule has no cron line")?;
    let cron: croner::Cron = line
        .parse()
        .map_err(|e| format!("the cron line {line:?} is not valid ({e})"))?;
    let zone = match text("time_zone").filter(|z| !z.is_empty()) {
        Some(zone) => zone
            .parse()
            .map_err(|_| format!("{zone:?} is not a time zone (such as Europe/Paris)"))?,
        None => chrono_tz::UTC,
    };
    Ok((cron, zone))
}

/// Fires the schedules of enabled Scheduled flows for every tick after `since` up to
/// `until`: each tick is one execution, deduplicated by its time, so several servers
/// firing the same tick start it once. Returns how many executions were started here.
#[cfg(feature = "server")]
pub async fn fire_schedules(
    store: &Store,
    since: chrono::DateTime<Utc>,
    until: chrono::DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut started = 0;
    for flow in store.enabled_flows_for("trigger.scheduled").await? {
        let (cron, zone) = match schedule_of(&flow.definition) {
            Ok(schedule) => schedule,
            Err(why) => {
                tracing::warn!(flow = %flow.flow, reason = %why, "a schedule cannot fire");
                continue;
            }
        };
        // Never a tick from before the flow was turned on (or last changed).
        let changed = store.flow_summary(flow.flow).await?.map(|f| f.updated_at);
        let since = changed.map_or(since, |c| since.max(c));
        let ticks = cron
            .iter_after(since.with_timezone(&zone))
            .take_while(|t| t.with_timezone(&Utc) <= until)
            .take(MAX_FIRES_PER_ROUND);
        for tick in ticks {
            let at = tick
                .with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            let new = NewExecution {
                flow: flow.flow,
                flow_version: flow.version,
                trigger_kind: "trigger.scheduled".into(),
                input: json!({ "fired_at": at }),
                subject: None,
                dedupe_key: Some(format!("schedule:{at}")),
                causal_chain: vec![],
                parent: None,
                test: false,
                dry_run: false,
                acting_for: None,
            };
            if store.enqueue_execution(&new).await?.is_some() {
                started += 1;
            }
        }
    }
    Ok(started)
}
