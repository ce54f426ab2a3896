//! A panic in one session is not silent: the daemon catches it, logs it with the session id,
//! counts it in `status`, skips exactly the input that caused it, and traces the rest of that
//! session and every other session as before. The panic is made on demand with the daemon's
//! test-only failpoint (`CODEX_OTEL_TEST_PANIC_ON`, debug builds only).

use crate::support::bin::Home;
use crate::support::daemon::{wait_for, Daemon, Feed, Step};
use crate::support::fake_otlp::FakeOtlp;
use crate::support::fixtures::replay_with;
use codex_otel::session::SessionConfig;
use codex_otel::span::SpanId;
use std::collections::HashSet;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const MARKER: &str = "PANIC-ON-THIS-PROMPT";

/// The `shell` session with `MARKER` in its prompt (the second hook, UserPromptSubmit).
fn poisoned_shell(home: &Home) -> Feed {
    let mut feed = Feed::fixture("shell", &home.outer().join("shell"));
    let Step::Hook(payload) = &mut feed.steps[1] else {
        panic!("the second step is a hook");
    };
    let mut event: serde_json::Value = serde_json::from_slice(payload).expect("a payload");
    assert_eq!(event["hook_event_name"], "UserPromptSubmit");
    event["prompt"] = format!("please run echo hello {MARKER}").into();
    *payload = serde_json::to_vec(&event).expect("json");
    feed
}

fn ids_named(spans: &[codex_otel::span::SpanRecord], prefixes: &[&str]) -> HashSet<SpanId> {
    spans
        .iter()
        .filter(|s| prefixes.iter().any(|p| s.name.starts_with(p)))
        .map(|s| s.span_id)
        .collect()
}

#[test]
fn a_panicking_input_is_counted_skipped_and_the_session_goes_on() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let receiver = runtime.block_on(FakeOtlp::http());
    let home = Home::new();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url("")),
        ("CODEX_OTEL_TEST_PANIC_ON", MARKER.to_owned()),
        ("CODEX_OTEL_DAEMON_QUIET_SECS", "600".to_owned()),
    ];
    let daemon = Daemon::start(&home, &env);
    let shell = poisoned_shell(&home);
    let other = Feed::fixture("parallel-tools", &home.outer().join("parallel-tools"));

    shell.feed(&home, &env, 0..2);
    let status = wait_for("the panic in status", TIMEOUT, || {
        Some(daemon.try_status()?).filter(|s| s.panics > 0)
    });
    assert_eq!(status.panics, 1, "{status:?}");
    let session = status
        .sessions
        .iter()
        .find(|s| s.session_id == shell.session_id);
    assert_eq!(session.map(|s| s.panics), Some(1), "{status:?}");

    shell.feed(&home, &env, 2..shell.steps.len());
    other.feed(&home, &env, 0..other.steps.len());
    assert!(daemon.flush(TIMEOUT), "both sessions delivered");
    let received = receiver.spans();
    let received_ids: HashSet<SpanId> = received.iter().map(|s| s.span_id).collect();
    let shell_spans = replay_with("shell", &SessionConfig::default());
    let later = ids_named(&shell_spans, &["invoke_agent", "chat", "execute_tool"]);
    assert_eq!(
        later.len(),
        4,
        "the session, two model calls and a tool call"
    );
    assert!(
        later.is_subset(&received_ids),
        "the events after the panicking one are traced"
    );
    let other_spans = replay_with("parallel-tools", &SessionConfig::default());
    let other_trace = other_spans[0].trace_id;
    let other_received: HashSet<SpanId> = received
        .iter()
        .filter(|s| s.trace_id == other_trace)
        .map(|s| s.span_id)
        .collect();
    assert_eq!(
        other_received,
        other_spans.iter().map(|s| s.span_id).collect(),
        "another session is unaffected"
    );
    assert_eq!(
        daemon.status().panics,
        1,
        "the skipped input panics no more"
    );

    let shown = home.command(&["status"]).output().expect("runs");
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("panics caught: 1"), "{shown}");
    assert!(shown.contains("1 panics caught"), "{shown}");
    let log = std::fs::read_to_string(home.state().log_file()).expect("the log");
    let logged: Vec<&str> = log.lines().filter(|l| l.contains("panicked")).collect();
    assert_eq!(logged.len(), 1, "logged once: {log}");
    assert!(
        logged[0].contains(&shell.session_id) && logged[0].contains("journal event"),
        "{log}"
    );
    assert!(log.contains("skipped the journal event"), "{log}");
}
