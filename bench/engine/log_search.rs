//! bench/log-search: how fast the System Log is searched over 1,000,000 entries.
//!
//! Seeds a fresh SQLite database and a fresh PostgreSQL database (on the machine's
//! server, 127.0.0.1) with BENCH_ENTRIES entries (1,000,000 by default) spread over a
//! year — 5,000 actors, 40 event types, 20,000 targets, one in ten a failure — through
//! the store, then runs each search below BENCH_REPEATS times (20) and prints p50, p99
//! and max in milliseconds, with how many entries the first page held. Figures only:
//! nothing here passes or fails.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use domain::audit::Entry;
use domain::audit::search::{Search, SearchInput};
use domain::store::Store;
use std::time::Instant;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const ACTIONS: [&str; 8] = [
    "user.session.start",
    "flow.save",
    "flow.activate",
    "scim.user.update",
    "console.user.update",
    "table.row.update",
    "flow.run",
    "scim.group.update",
];

/// A cheap, repeatable pseudo-random sequence.
struct Mix(u64);

impl Mix {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn entry(n: u64, start: DateTime<Utc>, spacing_ms: i64, mix: &mut Mix) -> Entry {
    let actor = mix.next(5_000);
    let target = mix.next(20_000);
    let kind = mix.next(40) as usize;
    let failed = mix.next(10) == 0;
    let action = match kind {
        k if k < ACTIONS.len() => ACTIONS[k].to_string(),
        k => format!("app.event.{k}"),
    };
    Entry {
        id: uuid::Uuid::now_v7(),
        occurred_at: start + Duration::milliseconds(n as i64 * spacing_ms),
        action,
        outcome: if failed { "failure" } else { "success" }.into(),
        actor_kind: "user".into(),
        actor_id: Some(format!("00u{actor:08}")),
        actor_display: Some(format!("user{actor}@example.com")),
        target_kind: Some("user".into()),
        target_id: Some(format!("00t{target:08}")),
        target_display: Some(format!("target{target}@example.com")),
        client_address: Some(format!("10.{}.{}.{}", actor % 250, target % 250, kind)),
        request_id: Some(format!("req-{n}")),
        reason: failed.then(|| "refused: wrong password".to_string()),
    }
}

async fn seed(store: &Store, total: u64) -> Result<f64> {
    let start: DateTime<Utc> = Utc::now() - Duration::days(365);
    let spacing_ms = (365 * 24 * 3600 * 1000) / total as i64;
    let mut mix = Mix(0x9E37_79B9_7F4A_7C15);
    let began = Instant::now();
    let mut n = 0;
    while n < total {
        let batch: Vec<Entry> = (n..(n + 10_000).min(total))
            .map(|i| entry(i, start, spacing_ms, &mut mix))
            .collect();
        n += batch.len() as u64;
        store.insert_audit_entries(&batch).await?;
    }
    Ok(began.elapsed().as_secs_f64())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// The searches measured: a name and the search as the page or the API takes it.
fn searches() -> Vec<(&'static str, SearchInput)> {
    let filter = |f: &str| SearchInput {
        filter: f.into(),
        ..SearchInput::default()
    };
    let yesterday = (Utc::now() - Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let today = Utc::now().format("%Y-%m-%d").to_string();
    vec![
        ("newest page (no search)", SearchInput::default()),
        (
            "filter eventType eq (common)",
            filter(r#"eventType eq "flow.save""#),
        ),
        (
            "filter eventType eq (rare)",
            filter(r#"eventType eq "app.event.39""#),
        ),
        ("filter actor.id eq", filter(r#"actor.id eq "00u00001234""#)),
        (
            "filter target.displayName eq",
            filter(r#"target.displayName eq "target777@example.com""#),
        ),
        (
            "filter eq and outcome, or, not",
            filter(
                r#"(eventType eq "user.session.start" or eventType eq "scim.user.update") and outcome.result eq "FAILURE" and not (actor sw "user1")"#,
            ),
        ),
        ("filter actor co", filter(r#"actor co "r4242@""#)),
        (
            "q one keyword (common)",
            SearchInput {
                q: "session".into(),
                ..SearchInput::default()
            },
        ),
        (
            "q two keywords (one actor's failures)",
            SearchInput {
                q: "user1234@example.com failure".into(),
                ..SearchInput::default()
            },
        ),
        (
            "since/until one day",
            SearchInput {
                since: yesterday,
                until: today,
                ..SearchInput::default()
            },
        ),
        (
            "oldest first",
            SearchInput {
                sort_order: "ASCENDING".into(),
                ..SearchInput::default()
            },
        ),
    ]
}

async fn measure(name: &str, store: &Store, repeats: usize) -> Result<()> {
    for (label, input) in searches() {
        let search = Search::parse(&input).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
        let mut times = Vec::with_capacity(repeats);
        let mut found = 0;
        for _ in 0..repeats {
            let began = Instant::now();
            let page = store.search_audit(&search).await?;
            times.push(began.elapsed().as_secs_f64() * 1000.0);
            found = page.entries.len();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name:<10} {label:<40} p50 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms  ({found} on the page)",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1],
        );
    }
    // The tenth page of a search, reached by its cursor.
    let mut search = Search::parse(&SearchInput::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let began = Instant::now();
    for _ in 0..10 {
        let page = store.search_audit(&search).await?;
        search.after = page.next;
    }
    println!(
        "{name:<10} {:<40} {:>8.1} ms for all ten pages",
        "ten pages by cursor",
        began.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let total: u64 = env_or("BENCH_ENTRIES", 1_000_000);
    let repeats: usize = env_or("BENCH_REPEATS", 20);

    let sqlite = domain::store::testing::sqlite().await;
    println!("==> SQLite: seeding {total} entries");
    let took = seed(&sqlite.store, total).await?;
    println!("SQLite     seeded in {took:.1} s");
    sqlite.store.analyze().await?;
    measure("SQLite", &sqlite.store, repeats).await?;
    drop(sqlite);

    let postgres = domain::store::testing::postgres()
        .await
        .context("PostgreSQL on 127.0.0.1:5432 is needed for the second half")?;
    println!("==> PostgreSQL: seeding {total} entries");
    let took = seed(&postgres.store, total).await?;
    println!("PostgreSQL seeded in {took:.1} s");
    postgres.store.analyze().await?;
    measure("PostgreSQL", &postgres.store, repeats).await?;
    Ok(())
}
