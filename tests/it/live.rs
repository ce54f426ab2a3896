//! Live tracing of the real Codex CLI: the codex-otel plugin installed from this checkout as a
//! user would (or the hooks `codex-otel install` writes), the daemon the hook starts, and the
//! spans it delivers to a real receiver, checked against the mock's ground truth for every
//! scenario the issue names. Every scenario runs on Codex 0.171; the `on_codex_0169_` tests
//! run a cheap smoke set (shell, sub-agent, `install` into hooks.json) on 0.169.

use crate::support::codex::{CodexSandbox, CodexVersion};
use crate::support::live::{
    assert_exact_usage, attr, calls_of, named, outline, session_of, traced, Live,
};
use crate::support::receivers::Phoenix;
use anyhow::{Context, Result};
use codex_otel::export::file::{list_sessions, read_session};
use codex_otel::journal::decode_line;
use codex_otel::paths::StateDir;
use serde_json::Value;
use std::process::Command;
use std::time::UNIX_EPOCH;

#[test]
fn installed_in_hooks_json_with_nothing_configured_a_session_lands_in_the_local_store() -> Result<()>
{
    session_lands_in_the_local_store(CodexVersion::V0171)
}

#[test]
fn on_codex_0169_installed_in_hooks_json_a_session_lands_in_the_local_store() -> Result<()> {
    session_lands_in_the_local_store(CodexVersion::V0169)
}

fn session_lands_in_the_local_store(version: CodexVersion) -> Result<()> {
    let Some(sandbox) = CodexSandbox::start_on(version)? else {
        return Ok(());
    };
    let state = tempfile::tempdir()?;
    let installed = Command::new(env!("CARGO_BIN_EXE_codex-otel"))
        .args(["install", "--codex-home"])
        .arg(sandbox.home())
        .output()?;
    let said = String::from_utf8_lossy(&installed.stderr);
    assert!(installed.status.success(), "{said}");
    let run = sandbox
        .exec("please run echo hello")
        .env("CODEX_OTEL_HOME", state.path())
        .run()?
        .expect_success()?;
    let codex_otel = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_codex-otel"))
            .args(args)
            .env("CODEX_OTEL_HOME", state.path())
            .output()
    };
    assert!(codex_otel(&["flush", "--timeout", "30"])?.status.success());
    let stored = list_sessions(&StateDir::new(state.path()).store_dir())?;
    let session = session_of(&run)?;
    let file = stored
        .iter()
        .find(|s| s.id == session)
        .context("session not in the local store")?;
    assert_eq!(read_session(&file.path)?.spans.len(), 5);
    let shown = codex_otel(&["show", "--last"])?;
    let text = String::from_utf8(shown.stdout)?;
    assert!(
        text.contains("execute_tool exec_command") && text.contains("in=1348"),
        "{text}"
    );
    let _ = codex_otel(&["stop"]);
    Ok(())
}

#[test]
fn a_shell_call_is_one_exact_trace_at_the_braintrust_endpoint() -> Result<()> {
    shell_call_trace(CodexVersion::V0171)
}

#[test]
fn on_codex_0169_a_shell_call_is_one_exact_trace_at_the_braintrust_endpoint() -> Result<()> {
    shell_call_trace(CodexVersion::V0169)
}

fn shell_call_trace(version: CodexVersion) -> Result<()> {
    let Some(live) = Live::start_on(version)? else {
        return Ok(());
    };
    let (session, spans) = traced(&live, live.exec("please run echo hello"))?;
    assert_eq!(
        outline(&spans),
        "invoke_agent codex\n  turn 1\n    chat mock-model\n    execute_tool exec_command\n    chat mock-model\n"
    );
    assert_exact_usage(&spans, &calls_of(&live, &spans)?);
    let root = named(&spans, "invoke_agent")[0];
    assert_eq!(attr(root, "gen_ai.conversation.id"), session.as_str());
    assert_eq!(
        attr(named(&spans, "execute_tool")[0], "codex.tool.hook_name"),
        "Bash"
    );
    Ok(())
}

#[test]
fn a_resumed_session_continues_its_trace_without_duplicates() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let (session, _) = traced(&live, live.exec("please run echo hello"))?;
    let (resumed, spans) = traced(&live, live.exec_resume(&session, "NOTOOL second turn"))?;
    assert_eq!(resumed, session);
    assert_eq!(
        outline(&spans),
        "invoke_agent codex\n  turn 1\n    chat mock-model\n    execute_tool exec_command\n    chat mock-model\n  invoke_agent codex\n    turn 2\n      chat mock-model\n"
    );
    assert_exact_usage(&spans, &calls_of(&live, &spans)?);
    Ok(())
}

#[test]
fn a_sub_agent_is_traced_under_its_spawn_call() -> Result<()> {
    sub_agent_trace(CodexVersion::V0171)
}

#[test]
fn on_codex_0169_a_sub_agent_is_traced_under_its_spawn_call() -> Result<()> {
    sub_agent_trace(CodexVersion::V0169)
}

fn sub_agent_trace(version: CodexVersion) -> Result<()> {
    let Some(live) = Live::start_on(version)? else {
        return Ok(());
    };
    let (_, spans) = traced(&live, live.exec("SPAWN a helper agent please"))?;
    let spawn = named(&spans, "execute_tool spawn_agent")[0];
    let child = spans
        .iter()
        .find(|s| attr(s, "codex.source") == "subagent")
        .context("no sub-agent span")?;
    assert_eq!(child["parent_span_id"], spawn["span_id"]);
    assert_eq!(named(&spans, "turn").len(), 2, "{}", outline(&spans));
    assert_exact_usage(&spans, &calls_of(&live, &spans)?);
    Ok(())
}

#[test]
fn a_live_sub_agent_session_in_phoenix_shows_the_model_apis_totals_and_no_turn_as_llm() -> Result<()>
{
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let Some(mut phoenix) = live.runtime.block_on(Phoenix::start())? else {
        return Ok(());
    };
    let prompt = "SPAWN a helper agent please";
    let exec = live
        .exec(prompt)
        .env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", phoenix.traces_url())
        .env(
            "OTEL_RESOURCE_ATTRIBUTES",
            "openinference.project.name=codex-live",
        );
    let (session, spans) = traced(&live, exec)?;
    let calls = calls_of(&live, &spans)?;
    let trace = session.replace('-', "");
    let stored =
        live.runtime
            .block_on(phoenix.wait_for_spans("codex-live", &trace, spans.len()))?;
    let phoenix_sum = |key: &str| -> i64 {
        stored
            .iter()
            .filter_map(|s| s["attributes"][key].as_i64())
            .sum()
    };
    let input: i64 = calls.iter().map(|c| c.input_tokens).sum();
    let output: i64 = calls.iter().map(|c| c.output_tokens).sum();
    assert_eq!(phoenix_sum("llm.token_count.prompt"), input);
    assert_eq!(phoenix_sum("llm.token_count.completion"), output);
    for span in &stored {
        let name = span["name"].as_str().unwrap_or_default();
        assert_eq!(
            span["span_kind"] == "LLM",
            name.starts_with("chat"),
            "{name} is {} in Phoenix",
            span["span_kind"]
        );
    }
    let root = stored
        .iter()
        .find(|s| s["parent_id"].is_null())
        .context("no root span in Phoenix")?;
    assert_eq!(root["attributes"]["input.value"], prompt);
    assert!(root["attributes"]["output.value"]
        .as_str()
        .is_some_and(|answer| !answer.is_empty()));
    Ok(())
}

#[test]
fn auto_compaction_marks_its_summary_call_and_the_turn_goes_on() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let exec = live
        .exec("COMPACT: please run echo hello")
        .arg("-c")
        .arg("model_auto_compact_token_limit=20000");
    let (_, spans) = traced(&live, exec)?;
    let compacted: Vec<_> = spans
        .iter()
        .filter(|s| attr(s, "gen_ai.conversation.compacted") == true)
        .collect();
    assert_eq!(compacted.len(), 1, "{}", outline(&spans));
    assert_eq!(named(&spans, "turn").len(), 1);
    assert_exact_usage(&spans, &calls_of(&live, &spans)?);
    Ok(())
}

#[test]
fn an_interrupted_turn_is_closed_and_marked() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let hanging = |sandbox: &CodexSandbox| {
        let requests = sandbox.mock().requests()?;
        Ok(requests.iter().any(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/responses"))
        }))
    };
    let run = live.exec("HANG forever").run_interrupting(hanging)?;
    assert!(
        !run.status.success(),
        "codex exits non-zero when interrupted"
    );
    let session = session_of(&run)?;
    live.flush()?;
    let spans = live.received(&session)?;
    // The request the interrupt cut off is a chat span of its own, cancelled, with no usage.
    assert_eq!(
        outline(&spans),
        "invoke_agent codex\n  turn 1\n    chat mock-model\n"
    );
    assert_eq!(
        attr(named(&spans, "turn")[0], "codex.turn.interrupted"),
        true
    );
    let cancelled = named(&spans, "chat")[0];
    assert_eq!(attr(cancelled, "codex.request.status"), "cancelled");
    assert_eq!(attr(cancelled, "gen_ai.usage.input_tokens"), &Value::Null);
    Ok(())
}

/// When the journal received each PreModelRequest and PostModelRequest of `session`, in
/// order, in nanoseconds since the epoch.
fn model_request_hook_times(live: &Live, session: &str) -> Result<(Vec<u128>, Vec<u128>)> {
    let path = StateDir::new(live.state.path()).journal_file(session);
    let bytes = std::fs::read(&path)?;
    let (mut pre, mut post) = (Vec::new(), Vec::new());
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let entry = decode_line(line).context("a journal line")?;
        let event: Value = serde_json::from_str(&entry.event)?;
        let at = entry.received_at.duration_since(UNIX_EPOCH)?.as_nanos();
        match event["hook_event_name"].as_str() {
            Some("PreModelRequest") => pre.push(at),
            Some("PostModelRequest") => post.push(at),
            _ => {}
        }
    }
    Ok((pre, post))
}

#[test]
fn chat_spans_run_from_the_model_request_hooks_around_the_mocks_request() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let (session, spans) = traced(&live, live.exec("please run echo hello"))?;
    let mut chats = named(&spans, "chat");
    let start = |s: &Value| u128::from(s["start_time_unix_nano"].as_u64().unwrap_or_default());
    let end = |s: &Value| u128::from(s["end_time_unix_nano"].as_u64().unwrap_or_default());
    chats.sort_by_key(|s| start(s));
    let received: Vec<u128> = live
        .sandbox
        .mock()
        .requests()?
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/responses"))
        })
        .filter_map(|r| r["time"].as_f64())
        .map(|secs| (secs * 1e9) as u128)
        .collect();
    let (pre, post) = model_request_hook_times(&live, &session)?;
    assert_eq!(chats.len(), 2);
    assert_eq!((pre.len(), post.len(), received.len()), (2, 2, 2));
    for (k, chat) in chats.iter().enumerate() {
        assert_eq!(
            start(chat),
            pre[k],
            "chat {k} starts at its PreModelRequest"
        );
        assert_eq!(end(chat), post[k], "chat {k} ends at its PostModelRequest");
        assert!(
            start(chat) <= received[k] && received[k] <= end(chat),
            "the mock received request {k} inside its chat span"
        );
    }
    Ok(())
}

#[test]
fn a_permission_request_and_its_review_are_traced() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let exec = live
        .exec("ESCALATE: please write the escalated file")
        .arg("--approve-for-me");
    let (_, spans) = traced(&live, exec)?;
    let tool = named(&spans, "execute_tool")[0];
    let events = tool["events"].as_array().context("events")?;
    assert!(
        events
            .iter()
            .any(|e| e["name"] == "codex.permission_request"),
        "{tool:#}"
    );
    assert!(
        named(&spans, "invoke_agent guardian").len() == 1,
        "{}",
        outline(&spans)
    );
    assert_exact_usage(&spans, &calls_of(&live, &spans)?);
    Ok(())
}

#[test]
fn two_sessions_at_once_give_two_exact_traces() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let (first, second) = std::thread::scope(|scope| {
        let a = scope.spawn(|| live.exec("please run echo hello").run());
        let b = scope.spawn(|| live.exec("SPAWN a helper agent please").run());
        (a.join(), b.join())
    });
    let runs = [first.expect("thread")?, second.expect("thread")?];
    assert_ne!(
        session_of(&runs[0])?,
        session_of(&runs[1])?,
        "two sessions, two ids"
    );
    live.flush()?;
    let calls = live.sandbox.mock().model_calls()?;
    let mut seen = 0;
    for run in &runs {
        let spans = live.received(&session_of(run)?)?;
        let mine = calls_of(&live, &spans)?;
        seen += mine.len();
        assert_exact_usage(&spans, &mine);
    }
    assert_eq!(
        seen,
        calls.len(),
        "every model call is in exactly one trace"
    );
    Ok(())
}

#[test]
fn flush_on_turn_end_delivers_everything_before_codex_exits() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let run = live
        .exec("please run echo hello")
        .env("CODEX_OTEL_FLUSH_ON_TURN_END", "true")
        .run()?;
    let session = session_of(&run)?;
    // No `codex-otel flush` here: the Stop and SessionEnd hooks waited for delivery.
    let spans = live.received(&session)?;
    assert_eq!(outline(&spans).lines().count(), 5, "{}", outline(&spans));
    assert_exact_usage(&spans, &calls_of(&live, &spans)?);
    Ok(())
}

#[test]
fn traceparent_attaches_the_session_under_an_existing_trace() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let run = live
        .exec("please run echo hello")
        .env("TRACEPARENT", parent)
        .run()?;
    live.flush()?;
    let requests = live.runtime.block_on(live.sink.requests())?;
    let spans: Vec<Value> = requests
        .iter()
        .flat_map(|r| r["spans"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        .collect();
    let root = spans
        .iter()
        .find(|s| s["name"] == "invoke_agent codex")
        .context("no root span")?;
    assert_eq!(root["parent_span_id"], "00f067aa0ba902b7");
    assert_eq!(
        attr(root, "gen_ai.conversation.id"),
        session_of(&run)?.as_str()
    );
    assert_eq!(spans.len(), 5);
    Ok(())
}
