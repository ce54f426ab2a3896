//! Nothing lost, nothing doubled: the real daemon SIGKILLed at several points of delivery (with
//! recorded sessions, and mid-turn during a real Codex run), a destination answering 503, 429
//! with `Retry-After` or 413 before it recovers, a full spool, torn journal and checkpoint
//! writes, and journal retention. Spans are checked at in-process OTLP receivers reached
//! through a TCP relay that can switch receivers or withhold their answers. Outages are
//! scripted failures with a short backoff cap (`CODEX_OTEL_RETRY_MAX_BACKOFF_MS`), never
//! real waits; every wait polls with a deadline.

use crate::support::bin::Home;
use crate::support::codex::{CodexSandbox, HOOK_EVENTS};
use crate::support::daemon::{assert_usage, distinct, wait_for, Daemon, Feed};
use crate::support::fake_otlp::{FakeOtlp, GrpcReply, HttpReply};
use crate::support::fixtures::replay_with;
use crate::support::relay::{Relay, Target};
use codex_otel::journal::{encode_line, Checkpoint, SpooledLog};
use codex_otel::paths::StateDir;
use codex_otel::session::SessionConfig;
use codex_otel::span::{SpanId, SpanRecord, TraceId};
use codex_otel::wire::{self, DeliveryState, DestinationStatus, Request, Response};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message as _;
use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

/// Recorded sessions fed in most tests: a shell call, parallel tools, a sub-agent, a compaction.
const FIXTURES: [&str; 4] = ["shell", "parallel-tools", "subagent", "compaction"];
/// Generous bound for anything the daemon does here (a healthy run needs well under a second).
const TIMEOUT: Duration = Duration::from_secs(60);
/// The backoff cap every test daemon runs with, in milliseconds.
const MAX_BACKOFF_MS: u64 = 100;

/// A state directory, receivers (healthy `up`, `down` answering 503) and a relay to them.
struct Rig {
    home: Home,
    relay: Relay,
    up: FakeOtlp,
    down: FakeOtlp,
    /// Environment added to [`Rig::env`] (later values win).
    extra: Vec<(&'static str, String)>,
    /// Serves the receivers and the relay; dropped last.
    _runtime: tokio::runtime::Runtime,
}

impl Rig {
    /// A rig whose relay first leads to `down` when `outage`, else to `up`.
    fn new(outage: bool) -> Rig {
        Self::with_down(HttpReply::status(503), outage)
    }

    /// A rig whose `down` receiver answers `reply`.
    fn with_down(reply: HttpReply, outage: bool) -> Rig {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let up = runtime.block_on(FakeOtlp::http());
        let down = runtime.block_on(FakeOtlp::http_scripted(reply));
        let first = if outage { &down } else { &up };
        let relay = runtime.block_on(Relay::start(Target::To(addr(first))));
        Rig {
            home: Home::new(),
            relay,
            up,
            down,
            extra: Vec::new(),
            _runtime: runtime,
        }
    }

    /// The environment of Codex, its hooks and the daemon: export to the relay.
    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.relay.url()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000".to_owned()),
            (
                "CODEX_OTEL_RETRY_MAX_BACKOFF_MS",
                MAX_BACKOFF_MS.to_string(),
            ),
            ("CODEX_OTEL_DAEMON_QUIET_SECS", "600".to_owned()),
        ];
        env.extend(self.extra.iter().cloned());
        env
    }

    /// A daemon with [`Rig::env`].
    fn daemon(&self) -> Daemon {
        Daemon::start(&self.home, &self.env())
    }

    /// Feeds `range` (of each feed's steps) of every feed with [`Rig::env`], then pokes the
    /// daemon.
    fn feed(&self, feeds: &[Feed], range: impl Fn(&Feed) -> std::ops::Range<usize>) {
        feed_all(&self.home, &self.env(), feeds, range);
    }

    /// The recorded sessions `names`, with their rollouts under this rig's directory.
    fn feeds(&self, names: &[&str]) -> Vec<Feed> {
        let feeds = names
            .iter()
            .map(|name| Feed::fixture(name, &self.home.outer().join(name)));
        feeds.collect()
    }

    fn switch(&self, to: &FakeOtlp) {
        self.relay.switch(Target::To(addr(to)));
    }
}

fn addr(receiver: &FakeOtlp) -> SocketAddr {
    receiver.authority().parse().expect("receiver address")
}

/// The generic OTLP destination in `daemon`'s status.
fn otlp(daemon: &Daemon) -> DestinationStatus {
    destination(daemon, "otlp")
}

fn destination(daemon: &Daemon, name: &str) -> DestinationStatus {
    let status = daemon.status();
    let found = status.destinations.into_iter().find(|d| d.name == name);
    found.unwrap_or_else(|| panic!("no destination {name} in the status"))
}

/// How many spans replay gives for `names`.
fn expected_count(names: &[&str]) -> usize {
    names
        .iter()
        .map(|name| replay_with(name, &SessionConfig::default()).len())
        .sum()
}

/// Checks that `received` holds the complete trace of every session in `names`, span for span
/// as replay builds it (same ids and names), and that no span id arrived twice with different
/// content. Returns how many of their spans arrived again with identical content.
fn check_complete(received: &[SpanRecord], names: &[&str]) -> usize {
    let replayed: Vec<SpanRecord> = names
        .iter()
        .flat_map(|name| replay_with(name, &SessionConfig::default()))
        .collect();
    let traces: HashSet<TraceId> = replayed.iter().map(|s| s.trace_id).collect();
    let (unique, repeats) = distinct(received.iter().filter(|s| traces.contains(&s.trace_id)));
    let got: BTreeMap<SpanId, String> = unique.into_values().map(|s| (s.span_id, s.name)).collect();
    let expected: BTreeMap<SpanId, String> =
        replayed.into_iter().map(|s| (s.span_id, s.name)).collect();
    assert_eq!(
        got, expected,
        "the received traces differ from the recorded sessions"
    );
    repeats
}

/// Feeds `range` (of each feed's steps) of every feed, hooks with `env`, then pokes the daemon.
fn feed_all(
    home: &Home,
    env: &[(&str, String)],
    feeds: &[Feed],
    range: impl Fn(&Feed) -> std::ops::Range<usize>,
) {
    for feed in feeds {
        feed.feed(home, env, range(feed));
        feed.poke(home);
    }
}

#[test]
fn sigkill_at_four_points_of_delivery_loses_nothing_and_changes_nothing() {
    let rig = Rig::new(true);
    let feeds = rig.feeds(&FIXTURES);
    let total = expected_count(&FIXTURES);
    // The last three steps of each session: two rollout lines (its turn still open before
    // them) and the SessionEnd hook.
    let cut = |feed: &Feed, back: usize| feed.steps.len() - back;
    // Spans at the receiver after each daemon's life.
    let mut lives = Vec::new();

    // 1. The destination is down: spans are spooled, not delivered.
    let daemon = rig.daemon();
    rig.feed(&feeds, |f| 0..cut(f, 3));
    wait_for("spooled spans", TIMEOUT, || {
        (otlp(&daemon).queued_spans > 0 && !rig.down.received().is_empty()).then_some(())
    });
    daemon.kill();
    lives.push(rig.up.spans().len());

    // 2. The receiver gets requests but the daemon never hears back (killed in flight).
    rig.relay.switch(Target::Withhold(addr(&rig.up)));
    let daemon = rig.daemon();
    rig.feed(&feeds, |f| cut(f, 3)..cut(f, 2));
    wait_for("a request in flight", TIMEOUT, || {
        (!rig.up.received().is_empty()).then_some(())
    });
    daemon.kill();
    lives.push(rig.up.spans().len());

    // 3. Killed while delivering.
    rig.switch(&rig.up);
    let seen = rig.up.received().len();
    let daemon = rig.daemon();
    rig.feed(&feeds, |f| cut(f, 2)..cut(f, 1));
    wait_for("a delivery", TIMEOUT, || {
        (rig.up.received().len() > seen).then_some(())
    });
    daemon.kill();
    lives.push(rig.up.spans().len());

    // 4. Killed during start-up, with the sessions' last hooks journaled.
    rig.feed(&feeds, |f| cut(f, 1)..f.steps.len());
    let daemon = rig.daemon();
    daemon.kill();
    lives.push(rig.up.spans().len());

    let daemon = rig.daemon();
    assert!(daemon.flush(TIMEOUT), "everything is delivered in the end");
    let received = rig.up.spans();
    let repeats = check_complete(&received, &FIXTURES);
    lives.push(received.len());
    eprintln!(
        "4 SIGKILLs survived: {total} spans in {} sessions complete; {} spans received \
         (running totals after each life: {lives:?}), {repeats} identical repeats (requests \
         whose answer a kill cut off)",
        FIXTURES.len(),
        received.len()
    );
    let otlp = otlp(&daemon);
    assert_eq!((otlp.queued_spans, otlp.dropped_spans), (0, 0));
}

#[test]
fn a_sigkill_mid_turn_during_a_real_codex_run_loses_nothing() -> anyhow::Result<()> {
    let Some(sandbox) = traced_sandbox()? else {
        return Ok(());
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let receiver = runtime.block_on(FakeOtlp::http());
    let home = Home::new();
    let _stop = StopOnDrop(&home);
    let state = home.state();
    // Once the turn's PreToolUse is journaled, the daemon the first hook started is killed;
    // the PostToolUse hook then finds no daemon and starts a new one.
    let killed = Cell::new(None);
    let run = sandbox
        .exec("please run echo hello")
        .env("CODEX_OTEL_HOME", state.root())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url(""))
        .env(
            "CODEX_OTEL_RETRY_MAX_BACKOFF_MS",
            MAX_BACKOFF_MS.to_string(),
        )
        .timeout(TIMEOUT)
        .run_interrupting(|_| {
            if killed.get().is_none() && journaled(&state, "\"PreToolUse\"") {
                killed.set(daemon_pid(&state).inspect(|&pid| sigkill(pid)));
            }
            Ok(false)
        })?
        .expect_success()?;
    let killed = killed.get().expect("the daemon was killed mid-turn");
    let flush = home.command(&["flush", "--timeout", "30"]).output()?;
    assert!(flush.status.success(), "flush: {flush:?}");
    let after = daemon_pid(&state).expect("a daemon runs");
    assert_ne!(after, killed, "a new daemon took over");
    let trace = run
        .session_id
        .as_deref()
        .expect("session id")
        .replace('-', "");
    let received = receiver.spans();
    let (spans, repeats) = distinct(received.iter().filter(|s| s.trace_id.to_string() == trace));
    let mut names: Vec<&str> = spans.values().map(|s| s.name.as_str()).collect();
    names.sort();
    let expected = [
        "chat mock-model",
        "chat mock-model",
        "execute_tool exec_command",
    ];
    assert_eq!(
        names,
        [&expected[..], &["invoke_agent codex", "turn 1"]].concat()
    );
    assert_usage(&spans, &sandbox.mock().model_calls()?);
    eprintln!(
        "daemon {killed} SIGKILLed mid-turn; daemon {after} finished the trace: {} spans, \
         {repeats} identical repeats",
        spans.len()
    );
    Ok(())
}

/// A Codex sandbox running the codex-otel hook for every event (`None`: skip the test).
fn traced_sandbox() -> anyhow::Result<Option<CodexSandbox>> {
    let Some(sandbox) = CodexSandbox::start()? else {
        return Ok(None);
    };
    let command = format!("'{}' hook", env!("CARGO_BIN_EXE_codex-otel"));
    for (event, tool_event) in HOOK_EVENTS {
        sandbox.add_hook(event, tool_event.then_some("*"), &command)?;
    }
    Ok(Some(sandbox))
}

/// The pid of the daemon answering on `state`'s socket.
fn daemon_pid(state: &StateDir) -> Option<u32> {
    match wire::request(&state.socket(), &Request::Status, Duration::from_secs(5)) {
        Ok(Response::Status(status)) => Some(status.pid),
        _ => None,
    }
}

fn sigkill(pid: u32) {
    // SAFETY: kill(2) on the pid of a daemon this test's hooks started.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
}

/// Stops the daemon the hooks started on a home, when the test ends however it ends.
struct StopOnDrop<'a>(&'a Home);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.command(&["stop"]).output();
    }
}

/// True when a journal of `state` holds `needle`.
fn journaled(state: &StateDir, needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(state.journal_dir()) else {
        return false;
    };
    entries
        .flatten()
        .any(|entry| std::fs::read_to_string(entry.path()).is_ok_and(|text| text.contains(needle)))
}

#[test]
fn a_destination_down_for_many_attempts_gets_everything_once_and_delays_no_other() {
    let mut rig = Rig::new(true);
    rig.extra
        .push(("CODEX_OTEL_LOCAL_STORE", "true".to_owned()));
    let feeds = rig.feeds(&FIXTURES);
    let total = expected_count(&FIXTURES) as u64;
    let daemon = rig.daemon();
    rig.feed(&feeds, |f| 0..f.steps.len());
    // 40 failed attempts: with the default 30 s backoff cap, about 17 minutes of outage.
    let down = wait_for("40 failed attempts", TIMEOUT, || {
        let otlp = otlp(&daemon);
        (otlp.retries >= 40 && otlp.queued_spans == total).then_some(otlp)
    });
    assert_eq!(down.state, DeliveryState::Retrying);
    assert!(
        down.last_error
            .as_deref()
            .is_some_and(|e| e.contains("503")),
        "{down:?}"
    );
    let local = destination(&daemon, "local");
    assert_eq!(
        (local.delivered_spans, local.queued_spans),
        (total, 0),
        "not held up"
    );

    rig.switch(&rig.up);
    assert!(daemon.flush(TIMEOUT));
    let repeats = check_complete(&rig.up.spans(), &FIXTURES);
    assert_eq!(repeats, 0, "nothing is sent twice");
    let back = otlp(&daemon);
    assert_eq!((back.delivered_spans, back.queued_spans), (total, 0));
    assert_eq!(back.state, DeliveryState::Ok);
    eprintln!(
        "outage: {} failed attempts (503) with {total} spans spooled, then delivered once",
        back.retries
    );
}

#[test]
fn retry_after_of_a_429_is_honoured() {
    let throttled = HttpReply::status(429).header("retry-after", "1");
    let mut rig = Rig::with_down(throttled, true);
    rig.extra
        .push(("CODEX_OTEL_RETRY_MAX_BACKOFF_MS", "150".to_owned()));
    let feeds = rig.feeds(&["shell"]);
    let daemon = rig.daemon();
    rig.feed(&feeds, |f| 0..f.steps.len());
    let gaps = arrival_gaps(&rig.down, 3);
    // The backoff alone would wait at most 150 ms.
    assert!(
        gaps.iter().all(|gap| *gap >= Duration::from_millis(900)),
        "{gaps:?}"
    );
    let throttled = otlp(&daemon);
    assert!(throttled.last_error.is_some_and(|e| e.contains("429")));
    rig.switch(&rig.up);
    assert!(daemon.flush(TIMEOUT));
    assert_eq!(check_complete(&rig.up.spans(), &["shell"]), 0);
    eprintln!("429 with Retry-After: 1 → retried after {gaps:?}");
}

#[test]
fn a_refusing_destination_keeps_the_spans_and_is_retried_at_the_long_interval() {
    let rig = Rig::with_down(HttpReply::status(401), true);
    let feeds = rig.feeds(&["shell"]);
    let daemon = rig.daemon();
    rig.feed(&feeds, |f| 0..f.steps.len());
    let gaps = arrival_gaps(&rig.down, 3);
    // Ten backoff caps: 1 s, where a retryable failure waits at most 100 ms.
    assert!(
        gaps.iter().all(|gap| *gap >= Duration::from_millis(900)),
        "{gaps:?}"
    );
    let refused = otlp(&daemon);
    assert_eq!(refused.state, DeliveryState::Failing);
    assert_eq!(refused.queued_spans, expected_count(&["shell"]) as u64);
    assert!(refused.last_error.is_some_and(|e| e.contains("401")));
    rig.switch(&rig.up);
    assert!(daemon.flush(TIMEOUT));
    assert_eq!(check_complete(&rig.up.spans(), &["shell"]), 0);
}

/// Waits for `count` requests at `receiver`; returns the time between consecutive ones.
fn arrival_gaps(receiver: &FakeOtlp, count: usize) -> Vec<Duration> {
    let mut arrivals = Vec::new();
    wait_for("requests", TIMEOUT, || {
        let seen = receiver.received().len();
        while arrivals.len() < seen {
            arrivals.push(Instant::now());
        }
        (seen >= count).then_some(())
    });
    arrivals.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

#[test]
fn a_partial_success_is_counted_and_its_request_not_resent() {
    let response = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 1,
            error_message: "one span was malformed".to_owned(),
        }),
    };
    let reply = HttpReply::status(200).body("application/x-protobuf", response.encode_to_vec());
    let rig = Rig::with_down(reply, true);
    let feeds = rig.feeds(&["shell"]);
    rig.feed(&feeds, |f| 0..f.steps.len());
    let daemon = rig.daemon();
    assert!(daemon.flush(TIMEOUT));
    assert_eq!(
        check_complete(&rig.down.spans(), &["shell"]),
        0,
        "nothing resent"
    );
    let requests = rig.down.received().len() as u64;
    let status = otlp(&daemon);
    let total = expected_count(&["shell"]) as u64;
    assert_eq!((status.dropped_spans, status.retries), (requests, 0));
    assert_eq!(status.delivered_spans, total - requests);
}

#[test]
fn a_413_halves_requests_down_to_single_spans_then_drops_and_counts_them() {
    let rig = Rig::with_down(HttpReply::status(413), true);
    let feeds = rig.feeds(&["shell"]);
    let total = expected_count(&["shell"]);
    // Journaled before the daemon starts, so its first request carries every span.
    rig.feed(&feeds, |f| 0..f.steps.len());
    let daemon = rig.daemon();
    assert!(daemon.flush(TIMEOUT), "given-up spans settle the session");
    let sizes: Vec<usize> = rig
        .down
        .received()
        .iter()
        .map(|r| r.spans().len())
        .collect();
    assert_eq!(sizes.first(), Some(&total), "{sizes:?}");
    assert_eq!(sizes.len(), 2 * total - 1, "a full halving: {sizes:?}");
    let mut singles: Vec<SpanId> = rig
        .down
        .received()
        .iter()
        .map(|r| r.spans())
        .filter(|spans| spans.len() == 1)
        .map(|spans| spans[0].span_id)
        .collect();
    singles.sort();
    singles.dedup();
    assert_eq!(singles.len(), total, "every span tried alone once");
    let otlp = otlp(&daemon);
    assert_eq!((otlp.dropped_spans, otlp.queued_spans), (total as u64, 0));
}

#[test]
fn requests_over_a_grpc_size_limit_are_split_until_everything_fits() {
    const LIMIT: usize = 4096;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ok = GrpcReply::Ok(ExportTraceServiceResponse::default());
    let receiver = runtime.block_on(FakeOtlp::grpc_scripted(ok, Some(LIMIT)));
    let home = Home::new();
    let feeds: Vec<Feed> = FIXTURES
        .iter()
        .map(|name| Feed::fixture(name, &home.outer().join(name)))
        .collect();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url("")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
        ("CODEX_OTEL_CAPTURE_CONTENT", "false".to_owned()),
        (
            "CODEX_OTEL_RETRY_MAX_BACKOFF_MS",
            MAX_BACKOFF_MS.to_string(),
        ),
    ];
    feed_all(&home, &env, &feeds, |f| 0..f.steps.len());
    let daemon = Daemon::start(&home, &env);
    assert!(daemon.flush(TIMEOUT));
    let requests = receiver.received();
    assert!(requests.iter().all(|r| r.body_len <= LIMIT));
    let sent: usize = requests.iter().map(|r| r.body_len).sum();
    assert!(
        sent > LIMIT && requests.len() > 1,
        "the spans needed splitting"
    );
    assert_eq!(check_complete(&receiver.spans(), &FIXTURES), 0);
    assert_eq!(otlp(&daemon).dropped_spans, 0);
}

#[test]
fn a_full_spool_refuses_spans_that_are_rebuilt_from_the_journal_later() {
    let mut rig = Rig::new(true);
    rig.extra
        .push(("CODEX_OTEL_SPOOL_MAX_BYTES", "1".to_owned()));
    let feeds = rig.feeds(&FIXTURES);
    // One batch fits; every other one is refused while the destination is down.
    let daemon = rig.daemon();
    rig.feed(&feeds, |f| 0..f.steps.len());
    wait_for("refused spans", TIMEOUT, || {
        let status = daemon.status();
        let refused = status.destinations.iter().any(|d| d.refused_spans > 0);
        (refused && status.sessions.iter().any(|s| s.deferred)).then_some(())
    });
    rig.switch(&rig.up);
    assert!(daemon.flush(TIMEOUT));
    assert_eq!(check_complete(&rig.up.spans(), &FIXTURES), 0);
    let otlp = otlp(&daemon);
    assert_eq!((otlp.queued_spans, otlp.dropped_spans), (0, 0));
    eprintln!(
        "spool bound: {} spans refused, then rebuilt",
        otlp.refused_spans
    );
}

#[test]
fn a_torn_journal_line_a_torn_checkpoint_and_a_torn_spooled_log_are_survived() {
    let rig = Rig::new(false);
    let feed = rig.feeds(&["shell"]).remove(0);
    let daemon = rig.daemon();
    let last = feed.steps.len() - 1;
    feed.feed(&rig.home, &rig.env(), 0..last);
    // A hook killed in the middle of its write leaves half a line without a newline; the next
    // hook's line (SessionEnd, without which the root span never comes) continues it.
    let journal = rig.home.state().journal_file(&feed.session_id);
    let torn = encode_line(
        SystemTime::now(),
        br#"{"session_id":"lost","hook_event_name":"Stop"}"#,
    );
    let mut bytes = std::fs::read(&journal).expect("journal");
    bytes.extend_from_slice(&torn[..torn.len() / 2]);
    std::fs::write(&journal, bytes).expect("tear the journal");
    feed.feed(&rig.home, &rig.env(), last..feed.steps.len());
    assert!(daemon.flush(TIMEOUT));
    assert_eq!(check_complete(&rig.up.spans(), &["shell"]), 0);
    daemon.kill();

    // A checkpoint cut mid-write (only possible through outside damage: it is replaced
    // atomically) reads as "start from zero": the session is read again, and its spooled log
    // keeps every span from being handed over again.
    let state = rig.home.state();
    let tear = |path: &std::path::Path| {
        let text = std::fs::read(path).expect("a file to tear");
        std::fs::write(path, &text[..text.len() / 2]).expect("tear it");
    };
    tear(&Checkpoint::path(&state, &feed.session_id));
    let daemon = rig.daemon();
    assert!(daemon.flush(TIMEOUT));
    assert_eq!(
        check_complete(&rig.up.spans(), &["shell"]),
        0,
        "nothing resent"
    );
    daemon.kill();

    // With the spooled log cut mid-line too, the spans of the lost lines are sent again,
    // identically, and the others not.
    tear(&Checkpoint::path(&state, &feed.session_id));
    tear(&SpooledLog::path(&state, &feed.session_id));
    let daemon = rig.daemon();
    assert!(daemon.flush(TIMEOUT));
    let repeats = check_complete(&rig.up.spans(), &["shell"]);
    assert!(
        repeats > 0 && repeats <= expected_count(&["shell"]),
        "resent at most once, identical: {repeats}"
    );
}

#[test]
fn journals_of_delivered_sessions_go_after_the_retention_and_open_ones_stay() {
    let mut rig = Rig::new(false);
    rig.extra
        .push(("CODEX_OTEL_RETENTION_HOURS", "0".to_owned()));
    let feeds = rig.feeds(&["shell", "parallel-tools"]);
    let daemon = rig.daemon();
    feeds[0].feed(&rig.home, &rig.env(), 0..feeds[0].steps.len());
    // The second session stays open: its SessionEnd never comes.
    feeds[1].feed(&rig.home, &rig.env(), 0..feeds[1].steps.len() - 1);
    assert!(daemon.flush(TIMEOUT));
    let state = rig.home.state();
    let files = |id: &str| {
        let journal = state.journal_file(id).exists();
        let route = format!("routes/{}.json", StateDir::session_file_stem(id));
        let route = state.root().join(route).exists();
        (journal, Checkpoint::path(&state, id).exists(), route)
    };
    wait_for("the delivered session's journal to go", TIMEOUT, || {
        (files(&feeds[0].session_id) == (false, false, false)).then_some(())
    });
    assert_eq!(files(&feeds[1].session_id), (true, true, true));
    assert_eq!(check_complete(&rig.up.spans(), &["shell"]), 0);
}
