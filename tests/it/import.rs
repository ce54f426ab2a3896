//! `codex-otel import` on a Codex home built from the recordings: every scenario of both
//! Codex versions three times (as recorded; with new ids, zstd-compressed; with new ids, in
//! `archived_sessions`), one of them traced live through the daemon first. What reaches the
//! fake OTLP receiver has exactly the spans replay gives with the hooks (ids and usage), once.

use crate::support::bin::{run, Home};
use crate::support::daemon::{assert_usage, distinct, Daemon, Feed};
use crate::support::fake_otlp::FakeOtlp;
use crate::support::fixtures::{model_calls, records_usage, scenario_dir, scenarios};
use codex_otel::codex::discover::sessions;
use codex_otel::replay::{read_hooks, replay};
use codex_otel::session::ids::trace_id_for_session;
use codex_otel::session::SessionConfig;
use codex_otel::span::{genai as key, SpanId, SpanRecord, TraceId};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The scenario traced live through the daemon before the import.
const LIVE: &str = "codex-0.171/shell";
/// The scenario whose resumed run only hooks tell (see the README's import section).
const RESUME: &str = "codex-0.169/resume";

/// One recorded session placed in the Codex home.
struct Placed {
    scenario: String,
    session_id: String,
    /// The spans replay gives for it with its hooks.
    expected: Vec<SpanRecord>,
}

/// Every rollout file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match entry.path().is_dir() {
            true => files.extend(files_under(&entry.path())),
            false => files.push(entry.path()),
        }
    }
    files
}

/// The thread ids (UUIDs at the end of the rollout file names) of a scenario.
fn thread_ids(rollouts: &Path) -> Vec<String> {
    let uuid = |p: &PathBuf| {
        let name = p.file_name().unwrap().to_string_lossy();
        let stem = name.trim_end_matches(".jsonl");
        stem[stem.len() - 36..].to_owned()
    };
    files_under(rollouts).iter().map(uuid).collect()
}

/// Copy `copy` (> 0) of `scenario` into `home`: its rollouts under `sessions/`, or flat in
/// `archived_sessions/`, compressed or not; every thread id rewritten.
/// Its hooks (rewritten likewise) and plain rollouts go to `recordings/` for the replay that
/// gives the expected spans.
fn place(scenario: &str, copy: u16, home: &Path, archived: bool, zstd: bool) -> Placed {
    let source = scenario_dir(scenario);
    let rollouts = source.join("rollouts");
    let rename = |text: &str| {
        let mut text = text.to_owned();
        for id in thread_ids(&rollouts) {
            text = text.replace(&id, &format!("{}{copy:04x}{}", &id[..24], &id[28..]));
        }
        text
    };
    let recording = home.join(format!("recordings/{scenario}-{copy}"));
    for file in files_under(&rollouts) {
        let relative = rename(&file.strip_prefix(&rollouts).unwrap().to_string_lossy());
        let text = rename(&std::fs::read_to_string(&file).unwrap());
        let plain = recording.join("rollouts").join(&relative);
        std::fs::create_dir_all(plain.parent().unwrap()).unwrap();
        std::fs::write(&plain, &text).unwrap();
        let name = plain.file_name().unwrap().to_string_lossy().into_owned();
        let mut target = match archived {
            true => home.join("archived_sessions").join(&name),
            false => home.join("sessions").join(&relative),
        };
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        if zstd {
            target.set_file_name(format!("{name}.zst"));
            std::fs::write(&target, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
        } else {
            std::fs::write(&target, &text).unwrap();
        }
    }
    let hooks_text = rename(&std::fs::read_to_string(source.join("hooks.ndjson")).unwrap());
    std::fs::write(recording.join("hooks.ndjson"), hooks_text).unwrap();
    let hooks = read_hooks(&[recording.join("hooks.ndjson")]).unwrap();
    let expected = replay(
        &hooks,
        Some(&recording.join("rollouts")),
        &SessionConfig::default(),
    )
    .unwrap();
    // Releases that fire no hooks were recorded without any: their session is the rollout's.
    let session_id = match hooks.first() {
        Some(hook) => hook.event.common.session_id.clone(),
        None => sessions(&recording.join("rollouts"), 3).remove(0),
    };
    Placed {
        scenario: scenario.to_owned(),
        session_id,
        expected,
    }
}

/// A Codex home with every scenario three times, each copy with its own ids (two recordings
/// share a session id: `resume` continues `shell`); `LIVE` as recorded is not placed (the
/// daemon's feed writes it).
fn codex_home(home: &Path) -> Vec<Placed> {
    let mut placed = Vec::new();
    for (n, scenario) in (0u16..).zip(scenarios()) {
        placed.push(place(&scenario, 3 * n + 1, home, false, false));
        placed.push(place(&scenario, 3 * n + 2, home, false, true));
        placed.push(place(&scenario, 3 * n + 3, home, true, false));
    }
    placed
}

/// The environment Codex gives a tool command: `import` run from one must not hang the
/// sessions it sends under that session's call.
fn in_a_tool_call(command: &mut Command) -> &mut Command {
    command
        .env("CODEX_SESSION_ID", "019de0a1-7c3a-7d42-9a51-2f6e8b1c0d34")
        .env("CODEX_TOOL_CALL_ID", "call_0002_9e74711f")
}

/// `codex-otel import <args>` on `home`'s state directory, exporting to `endpoint`, run from a
/// Codex tool command ([`in_a_tool_call`]).
fn import(home: &Home, codex_home: &Path, endpoint: &str, args: &[&str]) -> Output {
    let mut command = home.command(&["import", "--codex-home"]);
    in_a_tool_call(&mut command)
        .arg(codex_home)
        .args(args)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("CODEX_OTEL_RETRY_MAX_BACKOFF_MS", "100");
    let output = run(command, b"");
    assert!(output.status.success(), "{}", text(&output.stderr));
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn by_trace(spans: &[SpanRecord]) -> BTreeMap<TraceId, Vec<SpanRecord>> {
    let mut traces: BTreeMap<TraceId, Vec<SpanRecord>> = BTreeMap::new();
    for span in spans {
        traces.entry(span.trace_id).or_default().push(span.clone());
    }
    traces
}

fn ids(spans: &[SpanRecord]) -> BTreeSet<SpanId> {
    spans.iter().map(|s| s.span_id).collect()
}

#[test]
fn import_sends_every_session_once_with_the_span_ids_of_a_live_trace() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (live_receiver, receiver) = runtime.block_on(async {
        let live = FakeOtlp::http().await;
        (live, FakeOtlp::http().await)
    });
    let home = Home::new();
    let codex = home.outer().join("codex");
    let feed = Feed::fixture(LIVE, &codex.join("sessions"));
    let live_env = [("OTEL_EXPORTER_OTLP_ENDPOINT", live_receiver.url(""))];
    feed.feed(&home, &live_env, 0..feed.steps.len());
    let daemon = Daemon::start(&home, &live_env);
    assert!(daemon.flush(Duration::from_secs(30)));
    drop(daemon);
    assert!(!live_receiver.spans().is_empty());
    let placed = codex_home(&codex);
    assert_eq!(placed.len(), 3 * scenarios().len(), "dozens of sessions");

    let dry = import(&home, &codex, &receiver.url(""), &["--dry-run"]);
    let listed: BTreeSet<String> = text(&dry.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect();
    let placed_ids: BTreeSet<String> = placed.iter().map(|p| p.session_id.clone()).collect();
    assert_eq!(listed, placed_ids, "the live session is not listed");
    assert!(receiver.received().is_empty(), "a dry run sends nothing");

    let first = import(&home, &codex, &receiver.url(""), &[]);
    let stderr = text(&first.stderr);
    let summary = format!("imported {} sessions (", placed.len());
    assert!(stderr.contains(&summary), "{stderr}");
    assert!(
        stderr.contains("skipped 1 (traced live 1, imported before 0)"),
        "{stderr}"
    );
    let (unique, repeats) = distinct(&receiver.spans());
    assert_eq!(repeats, 0, "each span once");
    let received: Vec<SpanRecord> = unique.into_values().collect();
    let traces = by_trace(&received);
    assert_eq!(traces.len(), placed.len());
    let live_trace = trace_id_for_session(&feed.session_id);
    assert!(
        !traces.contains_key(&live_trace),
        "the live session is not sent again"
    );
    for session in &placed {
        let got = &traces[&trace_id_for_session(&session.session_id)];
        let want = ids(&session.expected);
        // A request that failed or was cancelled is known only from its PostModelRequest hook:
        // rollouts alone cannot give its span.
        let missing: Vec<&SpanRecord> = session
            .expected
            .iter()
            .filter(|s| !ids(got).contains(&s.span_id))
            .filter(|s| s.str_attr(key::CODEX_REQUEST_STATUS).is_none())
            .collect();
        assert!(
            ids(got).is_subset(&want),
            "{}: ids not in a live trace",
            session.scenario
        );
        if session.scenario == RESUME {
            let names: Vec<&str> = missing.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(names, ["invoke_agent codex"], "only the resumed run's span");
            assert!(missing[0].parent_span_id.is_some());
        } else {
            assert!(missing.is_empty(), "{}: {missing:?}", session.scenario);
            let calls = model_calls(&session.scenario);
            if records_usage(&session.scenario) {
                let trace = got.iter().map(|s| (s.span_id, s.clone())).collect();
                assert_usage(&trace, &calls);
            } else {
                // Releases before 0.160 record no response id to pair a call by: the sum.
                let summed: i64 = got
                    .iter()
                    .filter_map(|s| s.int_attr(key::USAGE_INPUT_TOKENS))
                    .sum();
                let truth: i64 = calls.iter().map(|c| c.input_tokens).sum();
                assert_eq!(summed, truth, "{}: input tokens", session.scenario);
            }
        }
    }

    let before = receiver.received().len();
    let again = import(&home, &codex, &receiver.url(""), &[]);
    let summary = format!(
        "skipped {} (traced live 1, imported before {})",
        placed.len() + 1,
        placed.len()
    );
    assert!(
        text(&again.stderr).contains(&summary),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(
        receiver.received().len(),
        before,
        "a second import sends nothing"
    );
}

#[test]
fn since_and_until_select_sessions_by_their_start_day() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = runtime.block_on(FakeOtlp::http());
    let home = Home::new();
    let codex = home.outer().join("codex");
    let placed: Vec<Placed> = [
        "codex-0.169/shell",
        "codex-0.171/shell",
        "codex-0.171/subagent",
    ]
    .iter()
    .zip(1..)
    .map(|(name, copy)| place(name, copy, &codex, false, false))
    .collect();
    let until = import(
        &home,
        &codex,
        &receiver.url(""),
        &["--until", "2026-11-24", "--dry-run"],
    );
    let stdout = text(&until.stdout);
    let listed: BTreeSet<&str> = stdout.lines().map(|l| &l[..36]).collect();
    assert_eq!(listed, BTreeSet::from([placed[0].session_id.as_str()]));
    import(&home, &codex, &receiver.url(""), &["--since", "2026-12-01"]);
    let traces: BTreeSet<TraceId> = receiver.spans().iter().map(|s| s.trace_id).collect();
    let want: BTreeSet<TraceId> = placed[1..]
        .iter()
        .map(|p| trace_id_for_session(&p.session_id))
        .collect();
    assert_eq!(traces, want);
}

#[test]
fn attach_follows_a_growing_session_and_sends_spans_as_they_complete() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = runtime.block_on(FakeOtlp::http());
    let home = Home::new();
    let scratch = home.outer().join("scratch");
    let session = place("codex-0.171/subagent", 1, &scratch, false, false);
    let codex = home.outer().join("codex");
    let mut lines: Vec<(PathBuf, String, String)> = Vec::new();
    for file in files_under(&scratch.join("sessions")) {
        let target = codex.join(file.strip_prefix(&scratch).unwrap());
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let at = record["timestamp"].as_str().unwrap().to_owned();
            lines.push((target.clone(), at, line.to_owned()));
        }
    }
    lines.sort_by(|a, b| a.1.cmp(&b.1));
    let root = lines[0].0.clone();
    let subagent_starts = lines.iter().position(|l| l.0 != root).unwrap();
    let append = |lines: &[(PathBuf, String, String)]| {
        for (path, _, line) in lines {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
            std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes()).unwrap();
        }
    };
    append(&lines[..subagent_starts]);
    let mut command = home.command(&[
        "import",
        "--attach",
        &session.session_id,
        "--quiet",
        "2",
        "--codex-home",
    ]);
    let stderr = home.outer().join("attach.stderr");
    let mut child = in_a_tool_call(&mut command)
        .arg(&codex)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url(""))
        .env("CODEX_OTEL_RETRY_MAX_BACKOFF_MS", "100")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    crate::support::daemon::wait_for("the first spans", Duration::from_secs(20), || {
        (!receiver.spans().is_empty()).then_some(())
    });
    assert!(child.try_wait().unwrap().is_none(), "still following");
    let early = ids(&receiver.spans());
    append(&lines[subagent_starts..]);
    let status = child.wait().unwrap();
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert!(status.success(), "{log}");
    let (unique, repeats) = distinct(&receiver.spans());
    assert_eq!(repeats, 0, "{log}");
    let got: BTreeSet<SpanId> = unique.keys().copied().collect();
    assert_eq!(got, ids(&session.expected), "{log}");
    assert!(early.len() < got.len(), "spans came while the session ran");
    let again = import(&home, &codex, &receiver.url(""), &[]);
    assert!(text(&again.stderr).contains("skipped 1 (traced live 0, imported before 1)"));
}
