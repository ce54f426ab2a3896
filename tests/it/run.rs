//! `codex-otel run -- codex exec …` with the real Codex CLI (0.171, and a smoke run on 0.169),
//! always with the codex-otel plugin installed too (and its hooks allowed to run by the trust
//! bypass `run` adds), exporting to the header-checking sink: the trace is complete at the
//! sink when `run` returns (no `flush`), each event is journaled once, Codex's output and exit
//! code pass through, `TRACEPARENT` is joined, and `--json` matches the mock's ground truth.

use crate::support::codex::{CodexRun, CodexVersion, Exec};
use crate::support::fixtures::ModelCall;
use crate::support::live::{outline, Live};
use anyhow::{ensure, Context, Result};
use codex_otel::journal::decode_line;
use codex_otel::paths::StateDir;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The codex-otel binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_codex-otel");
/// The spans a shell call gives, as an outline.
const SHELL_OUTLINE: &str =
    "invoke_agent codex\n  turn 1\n    chat mock-model\n    execute_tool exec_command\n    chat mock-model\n";
/// The hooks a `codex exec` with one shell call fires, besides the model-request pairs.
const SHELL_EVENTS: [&str; 6] = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Stop",
    "SessionEnd",
];

/// `prompt` through `codex-otel run <options> --`, without the trust bypass of the test
/// harness (`run` must add it), with the environment a Braintrust user would set.
fn run_exec<'a>(live: &'a Live, prompt: &str, options: &[&str]) -> Exec<'a> {
    let mut wrapper = vec![BIN, "run"];
    wrapper.extend_from_slice(options);
    wrapper.push("--");
    live.exec(prompt)
        .without_hook_trust_bypass()
        .wrapped_in(&wrapper)
}

/// The `--json` summary `run` printed after Codex's output on stdout.
fn stdout_summary(run: &CodexRun) -> Result<Value> {
    let start = run.stdout.rfind("\n{\n").map_or(0, |at| at + 1);
    serde_json::from_str(&run.stdout[start..]).context("no JSON summary at the end of stdout")
}

/// The summary's token figures per model, as the mock's calls of the session add up.
fn models_of(calls: &[ModelCall]) -> Value {
    let mut models: BTreeMap<&str, [i64; 5]> = BTreeMap::new();
    for call in calls {
        let sums = models.entry(&call.model).or_default();
        let figures = [
            1,
            call.input_tokens,
            call.cached_tokens,
            call.output_tokens,
            call.reasoning_tokens,
        ];
        for (sum, figure) in sums.iter_mut().zip(figures) {
            *sum += figure;
        }
    }
    let entry = |[calls, input, cached, output, reasoning]: [i64; 5]| {
        json!({"calls": calls, "input_tokens": input, "cached_input_tokens": cached,
               "output_tokens": output, "reasoning_output_tokens": reasoning})
    };
    models
        .into_iter()
        .map(|(m, s)| (m.to_owned(), entry(s)))
        .collect()
}

/// The mock's model calls of `session`'s threads.
fn session_calls(live: &Live, session: &str) -> Result<Vec<ModelCall>> {
    let calls = live.sandbox.mock().model_calls()?;
    Ok(calls
        .into_iter()
        .filter(|c| c.thread_id.as_deref() == Some(session))
        .collect())
}

/// The names of the events journaled for `session`, model requests left out.
fn journaled(live: &Live, session: &str) -> Result<Vec<String>> {
    let path = StateDir::new(live.state.path()).journal_file(session);
    let bytes = std::fs::read(&path).with_context(|| path.display().to_string())?;
    let mut names = Vec::new();
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let entry = decode_line(line).context("a corrupt journal line")?;
        let event: Value = serde_json::from_str(&entry.event)?;
        let name = event["hook_event_name"].as_str().unwrap_or("?").to_owned();
        if !name.ends_with("ModelRequest") {
            names.push(name);
        }
    }
    Ok(names)
}

/// `run`'s closing line on stderr.
fn closing_line(run: &CodexRun) -> &str {
    let line = run
        .stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("codex-otel: "));
    line.unwrap_or_default()
}

/// A shell call through `run --json FILE` on `version`: complete at the sink on return, each
/// event journaled once though the plugin's handlers ran too, stdout only Codex's answer, and
/// the summary exact.
fn a_shell_call_is_delivered_once_before_run_returns(version: CodexVersion) -> Result<()> {
    let Some(live) = Live::start_on(version)? else {
        return Ok(());
    };
    let out = tempfile::tempdir()?;
    let file = out.path().join("summary.json");
    let file_arg = file.to_str().context("a UTF-8 temp path")?;
    let run = run_exec(&live, "please run echo hello", &["--json", file_arg]).run()?;
    let run = run.expect_success()?;
    let session = run.session_id.clone().context("no session id")?;
    // No flush: `run` returned only once its final flush was done.
    let spans = live.received(&session)?;
    assert_eq!(outline(&spans), SHELL_OUTLINE, "stderr:\n{}", run.stderr);

    assert_eq!(journaled(&live, &session)?, SHELL_EVENTS);
    let stop_lines = run.stderr.matches("hook: Stop Completed").count();
    assert_eq!(stop_lines, 2, "the plugin's and run's handlers both ran");
    ensure!(
        !run.stdout.contains('{'),
        "stdout is Codex's alone: {}",
        run.stdout
    );

    let trace = session.replace('-', "");
    let expected = format!("codex-otel: session {session} · trace {trace} · 5 spans delivered");
    assert_eq!(closing_line(&run), expected);
    let mut summary: Value = serde_json::from_slice(&std::fs::read(&file)?)?;
    ensure!(summary["duration_ms"].as_u64().is_some_and(|ms| ms > 0));
    summary["duration_ms"] = json!("checked");
    let calls = session_calls(&live, &session)?;
    assert_eq!(calls.len(), 2);
    assert_eq!(
        summary,
        json!({
            "session_id": session, "trace_id": trace, "exit_code": 0, "duration_ms": "checked",
            "models": models_of(&calls), "tool_calls": 1, "errors": [],
            "spans": 5, "flushed": true, "delivered_spans": 5, "queued_spans": 0,
        })
    );
    Ok(())
}

#[test]
fn run_delivers_a_shell_call_once_before_it_returns_with_an_exact_summary() -> Result<()> {
    a_shell_call_is_delivered_once_before_run_returns(CodexVersion::V0171)
}

#[test]
fn on_codex_0169_run_delivers_a_shell_call_once_before_it_returns() -> Result<()> {
    a_shell_call_is_delivered_once_before_run_returns(CodexVersion::V0169)
}

#[test]
fn a_failing_codex_exit_code_and_its_error_pass_through() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let direct = live.exec("ERROR please").run()?;
    let direct_code = direct.status.code();
    ensure!(direct_code.is_some_and(|c| c != 0), "{:?}", direct.status);

    let run = run_exec(&live, "ERROR please", &["--json"]).run()?;
    assert_eq!(run.status.code(), direct_code, "stderr:\n{}", run.stderr);
    let session = run.session_id.clone().context("no session id")?;
    let summary = stdout_summary(&run)?;
    assert_eq!(summary["exit_code"], json!(direct_code));
    assert_eq!(summary["session_id"], json!(session));
    assert_eq!(summary["models"], json!({}), "the mock completed no call");
    // The failed request is a chat span with the provider's message, and so is its turn.
    let message = "mock: the ERROR script always fails this request";
    assert_eq!(
        summary["errors"],
        json!([
            {"span": "chat mock-model", "message": message},
            {"span": "turn 1", "message": message}
        ])
    );
    let spans = live.received(&session)?;
    assert_eq!(
        spans.len() as u64,
        summary["delivered_spans"].as_u64().unwrap()
    );
    Ok(())
}

#[test]
fn a_command_that_is_not_codex_exec_is_refused_before_anything_runs() -> Result<()> {
    let out = std::process::Command::new(BIN)
        .args(["run", "--", "codex", "resume", "--last"])
        .output()?;
    assert_eq!(out.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("traces `codex exec …`"), "{stderr}");
    Ok(())
}

#[test]
fn the_session_joins_the_jobs_traceparent() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let (trace, parent) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let run = run_exec(&live, "please run echo hello", &["--json"])
        .env("TRACEPARENT", format!("00-{trace}-{parent}-01"))
        .run()?
        .expect_success()?;
    let session = run.session_id.clone().context("no session id")?;
    let spans = live.received(trace)?;
    assert_eq!(outline(&spans), SHELL_OUTLINE);
    let root = spans.iter().find(|s| s["name"] == "invoke_agent codex");
    assert_eq!(root.context("no root")?["parent_span_id"], parent);
    assert!(
        live.received(&session)?.is_empty(),
        "nothing in the session's own trace"
    );
    assert_eq!(stdout_summary(&run)?["trace_id"], trace);
    assert!(closing_line(&run).contains(&format!("· trace {trace} ·")));
    Ok(())
}

#[test]
fn the_summary_counts_the_auto_reviewers_model_call_too() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let prompt = "ESCALATE: write escalated.txt outside the sandbox";
    let run = run_exec(&live, prompt, &["--json"])
        .arg("--approve-for-me")
        .run()?
        .expect_success()?;
    let session = run.session_id.clone().context("no session id")?;
    // A fresh sandbox: every call the mock completed is this session's, the reviewer's too.
    let calls = live.sandbox.mock().model_calls()?;
    let reviewer = calls
        .iter()
        .filter(|c| c.thread_id.as_deref() != Some(&session));
    assert_eq!(reviewer.count(), 1, "one auto-review call: {calls:#?}");
    let summary = stdout_summary(&run)?;
    assert_eq!(
        summary["models"],
        models_of(&calls),
        "stderr:\n{}",
        run.stderr
    );
    let spans = live.received(&session)?;
    let chats = spans
        .iter()
        .filter(|s| s["name"] == "chat mock-model")
        .count();
    assert_eq!(chats, calls.len());
    Ok(())
}
