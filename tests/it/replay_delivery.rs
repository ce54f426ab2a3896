//! `codex-otel replay` uses the same delivery stage as live tracing: the spans stream through
//! a durable spool and a courier that retries, each arrives once, and the replay waits
//! (bounded) until its destinations acknowledged everything.

use crate::support::fake_otlp::{FakeOtlp, HttpReply};
use crate::support::fixtures::{hooks, replay_with, scenario_dir};
use codex_otel::replay::{replay_each, HookSource, ReplayError};
use codex_otel::session::SessionConfig;
use codex_otel::span::{SpanId, SpanRecord};
use std::collections::HashSet;
use std::process::Output;

#[test]
fn spans_are_emitted_while_the_session_is_read_not_all_at_its_end() {
    let rollouts = scenario_dir("subagent").join("rollouts");
    let mut groups: Vec<Vec<SpanRecord>> = Vec::new();
    let count = replay_each(
        HookSource::Events(&hooks("subagent")),
        Some(&rollouts),
        &SessionConfig::default(),
        |session, spans| {
            assert!(!session.is_empty() && !spans.is_empty());
            groups.push(spans);
            Ok::<(), ReplayError>(())
        },
    )
    .expect("replay");
    let all: Vec<SpanRecord> = groups.iter().flatten().cloned().collect();
    assert_eq!(all, replay_with("subagent", &SessionConfig::default()));
    assert_eq!(count, all.len() as u64);
    assert!(
        groups.len() > 2 && groups.iter().all(|g| g.len() < all.len() / 2),
        "spans come out as the machine completes them: {:?}",
        groups.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

/// Runs `codex-otel replay` of the `shell` scenario with `endpoint` as the OTLP destination.
async fn replay_to(endpoint: String, home: &std::path::Path, extra: &[&str]) -> Output {
    let scenario = scenario_dir("shell");
    let home = home.to_owned();
    let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    // The receiver runs on this test's runtime, so the blocking child waits on another thread.
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_codex-otel"))
            .arg("replay")
            .arg(scenario.join("hooks.ndjson"))
            .arg("--transcripts")
            .arg(scenario.join("rollouts"))
            .args(extra)
            .env("CODEX_OTEL_HOME", home)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("CODEX_OTEL_RETRY_MAX_BACKOFF_MS", "100")
            .output()
    })
    .await
    .unwrap()
    .unwrap()
}

#[tokio::test]
async fn a_replay_retries_a_failing_destination_and_delivers_each_span_once() {
    let replies = vec![
        HttpReply::status(503),
        HttpReply::status(503),
        HttpReply::status(200),
    ];
    let receiver = FakeOtlp::http_replies(replies).await;
    let home = tempfile::tempdir().unwrap();
    let output = replay_to(receiver.url(""), home.path(), &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let expected: HashSet<SpanId> = replay_with("shell", &SessionConfig::default())
        .iter()
        .map(|s| s.span_id)
        .collect();
    let requests = receiver.received();
    assert_eq!(
        requests.len(),
        3,
        "two refused attempts, one accepted, nothing after it: {stderr}"
    );
    for request in &requests {
        let ids: Vec<SpanId> = request.spans().iter().map(|s| s.span_id).collect();
        assert_eq!(ids.len(), expected.len(), "each span once per request");
        assert_eq!(ids.into_iter().collect::<HashSet<_>>(), expected);
    }
    assert!(stderr.contains("5 spans delivered, 0 dropped"), "{stderr}");
    let spool = home.path().join("replay-spool");
    let left: Vec<_> = walk(&spool).into_iter().filter(|p| p.is_file()).collect();
    assert!(
        left.is_empty(),
        "the spool is empty once delivered: {left:?}"
    );
}

#[tokio::test]
async fn a_replay_gives_up_after_its_timeout_and_leaves_the_spans_spooled() {
    let receiver = FakeOtlp::http_scripted(HttpReply::status(503)).await;
    let home = tempfile::tempdir().unwrap();
    let output = replay_to(receiver.url(""), home.path(), &["--timeout", "1.5"]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("still waiting after 1s") && stderr.contains("5 spans queued"),
        "progress notes while waiting: {stderr}"
    );
    assert!(
        stderr.contains("5 spans not delivered") && stderr.contains("replay-spool"),
        "{stderr}"
    );
    let spooled = walk(&home.path().join("replay-spool"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "batch"))
        .count();
    assert!(spooled >= 1, "{stderr}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(path) = todo.pop() {
        match std::fs::read_dir(&path) {
            Ok(entries) => todo.extend(entries.flatten().map(|e| e.path())),
            Err(_) => found.push(path),
        }
    }
    found
}
