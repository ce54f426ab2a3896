//! Load: 50 concurrent sessions of 202 events each (the recorded `shell` turn repeated 50
//! times, every id rewritten per session and turn, rollouts written as Codex writes them)
//! through the real hook binary and one daemon. Every trace must be exact (span count, token
//! usage per model call and in total, nothing twice) and the daemon's peak RSS bounded.

use crate::support::bin::Home;
use crate::support::daemon::{assert_usage, distinct, Daemon, Feed, Step};
use crate::support::fake_otlp::FakeOtlp;
use std::time::{Duration, Instant};

/// Concurrent sessions.
const SESSIONS: u16 = 50;
/// Turns per session: four hooks each, plus SessionStart and SessionEnd: 202 events.
const TURNS: u16 = 50;
/// Spans per session: the root, then a turn, two model calls and a tool call per turn.
const SPANS_PER_SESSION: usize = 1 + 4 * TURNS as usize;
/// Peak RSS the daemon must stay under (generous: it needs a fraction of it).
const RSS_BOUND_KB: u64 = 256 * 1024;
/// How long delivery may take once every event is journaled.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn fifty_concurrent_sessions_of_two_hundred_events_are_traced_exactly() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let receiver = runtime.block_on(FakeOtlp::http());
    let home = Home::new();
    let feeds: Vec<Feed> = (0..SESSIONS)
        .map(|n| Feed::repeated_shell(n, TURNS, &home.outer().join(format!("s{n}"))))
        .collect();
    let events: usize = feeds.iter().map(hooks).sum();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url("")),
        ("CODEX_OTEL_DAEMON_QUIET_SECS", "600".to_owned()),
    ];
    let daemon = Daemon::start(&home, &env);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for feed in &feeds {
            scope.spawn(|| feed.feed(&home, &env, 0..feed.steps.len()));
        }
    });
    let fed = started.elapsed();
    assert!(
        daemon.flush(FLUSH_TIMEOUT),
        "delivered within {FLUSH_TIMEOUT:?}"
    );
    let delivered = started.elapsed();
    let rss = daemon.peak_rss_kb();

    let received = receiver.spans();
    let mut repeats = 0;
    for feed in &feeds {
        let id = feed.session_id.replace('-', "");
        let (trace, again) = distinct(received.iter().filter(|s| s.trace_id.to_string() == id));
        assert_eq!(trace.len(), SPANS_PER_SESSION, "{}", feed.session_id);
        assert_usage(&trace, &feed.calls);
        repeats += again;
    }
    let sessions = usize::from(SESSIONS);
    assert_eq!(
        received.len() - repeats,
        sessions * SPANS_PER_SESSION,
        "no stray spans"
    );
    eprintln!(
        "load: {SESSIONS} sessions × {} events = {events} hooks journaled in {:.1} s, {} spans \
         delivered ({} requests, {} repeats) after {:.1} s; daemon peak RSS {} MiB",
        events / usize::from(SESSIONS),
        fed.as_secs_f64(),
        received.len() - repeats,
        receiver.received().len(),
        repeats,
        delivered.as_secs_f64(),
        rss / 1024
    );
    assert!(rss < RSS_BOUND_KB, "peak RSS {rss} kB");
}

fn hooks(feed: &Feed) -> usize {
    feed.steps
        .iter()
        .filter(|s| matches!(s, Step::Hook(_)))
        .count()
}
