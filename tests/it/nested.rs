//! Nested agents, live with the real Codex CLI: a `codex exec` that a tool command of a traced
//! session runs (the mock's NEST script) lands in that session's trace, its root under the
//! tool call's `execute_tool` span, with its own turn and exact usage; a second level lands in
//! the top session's trace too (the daemon reads where the parent went from its route record);
//! a `TRACEPARENT` the parent passes down is the trace of every level.

use crate::support::codex::CodexVersion;
use crate::support::live::{assert_exact_usage, attr, calls_of, named, outline, session_of, Live};
use anyhow::{ensure, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;

/// The tree of a session with one shell call: the NEST script's parent and the nested SHELL.
const ONE_SHELL_CALL: &str =
    "invoke_agent codex\n  turn 1\n    chat mock-model\n    execute_tool exec_command\n    chat mock-model\n";

/// Runs `NEST` on the top session with `env` added, flushes, and returns the top session's id.
fn run_nested(live: &Live, env: &[(&str, &str)]) -> Result<String> {
    let mut exec = live
        .exec("NEST a codex run please")
        .env("NESTED_CODEX", live.sandbox.codex());
    for (name, value) in env {
        exec = exec.env(name, value);
    }
    let run = exec.run()?.expect_success()?;
    live.flush()?;
    session_of(&run)
}

/// The spans of one trace by the session they belong to (`gen_ai.conversation.id`, or on a
/// turn `codex.session.id`).
fn by_session(spans: &[Value]) -> Result<BTreeMap<String, Vec<Value>>> {
    let mut sessions: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for span in spans {
        let session = ["gen_ai.conversation.id", "codex.session.id"]
            .into_iter()
            .find_map(|key| attr(span, key).as_str());
        let session = session.with_context(|| format!("no session on {}", span["name"]))?;
        sessions
            .entry(session.to_owned())
            .or_default()
            .push(span.clone());
    }
    Ok(sessions)
}

/// Checks that `spans` (one trace) hold `top` and `levels` sessions nested below it, each
/// session's root under the one tool call of the session before, each session's own tree
/// unchanged and its usage exact, and every model call of the mock once: the trace's usage is
/// the true total. Returns the sessions from the top down.
fn assert_nested(live: &Live, spans: &[Value], top: &str, levels: usize) -> Result<Vec<String>> {
    let sessions = by_session(spans)?;
    let mut chain = vec![top.to_owned()];
    for _ in 0..levels {
        let parent = chain.last().context("a parent")?;
        let own = sessions.get(parent).context("the parent's spans")?;
        let tools = named(own, "execute_tool");
        ensure!(
            tools.len() == 1,
            "one tool call in {parent}:\n{}",
            outline(own)
        );
        let tool = tools[0];
        let root = spans
            .iter()
            .find(|s| s["parent_span_id"] == tool["span_id"])
            .with_context(|| format!("no span under {parent}'s tool call:\n{}", outline(spans)))?;
        assert_eq!(root["name"], "invoke_agent codex");
        assert_eq!(attr(root, "codex.parent.session_id"), parent.as_str());
        assert_eq!(
            attr(root, "codex.parent.tool_call_id"),
            attr(tool, "gen_ai.tool.call.id")
        );
        let child = attr(root, "gen_ai.conversation.id")
            .as_str()
            .context("the child's id")?;
        ensure!(child != parent, "a session under its own tool call");
        chain.push(child.to_owned());
    }
    assert_eq!(
        sessions.len(),
        chain.len(),
        "only the chain's sessions in the trace"
    );
    for (session, own) in &sessions {
        assert_eq!(outline(own), ONE_SHELL_CALL, "{session}");
        assert_exact_usage(own, &calls_of(live, own)?);
        if session != top {
            assert!(
                live.received(session)?.is_empty(),
                "nothing in {session}'s own trace"
            );
        }
    }
    assert_exact_usage(spans, &live.sandbox.mock().model_calls()?);
    Ok(chain)
}

#[test]
fn a_nested_codex_exec_lands_under_its_tool_call_in_the_parents_trace() -> Result<()> {
    nested_once(CodexVersion::V0171)
}

#[test]
fn on_codex_0169_a_nested_codex_exec_lands_under_its_tool_call_in_the_parents_trace() -> Result<()>
{
    nested_once(CodexVersion::V0169)
}

fn nested_once(version: CodexVersion) -> Result<()> {
    let Some(live) = Live::start_on(version)? else {
        return Ok(());
    };
    let top = run_nested(&live, &[])?;
    let spans = live.received(&top)?;
    assert_nested(&live, &spans, &top, 1)?;
    let root = named(&spans, "invoke_agent codex")
        .into_iter()
        .find(|s| attr(s, "gen_ai.conversation.id") == top.as_str())
        .context("the top root")?;
    assert_eq!(attr(root, "codex.parent.session_id"), &Value::Null);
    assert!(
        root["parent_span_id"].as_str().is_none_or(str::is_empty),
        "{root:#}"
    );
    Ok(())
}

#[test]
fn a_codex_exec_nested_two_deep_lands_in_the_top_sessions_trace() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let top = run_nested(&live, &[("NEST_NEXT", "NEST again")])?;
    let spans = live.received(&top)?;
    let chain = assert_nested(&live, &spans, &top, 2)?;
    assert_eq!(chain.len(), 3);
    Ok(())
}

#[test]
fn with_a_traceparent_a_nested_codex_exec_lands_in_that_trace_under_its_tool_call() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let top = run_nested(&live, &[("TRACEPARENT", traceparent)])?;
    let spans = live.received_in("4bf92f3577b34da6a3ce929d0e0e4736")?;
    assert_nested(&live, &spans, &top, 1)?;
    let under_traceparent: Vec<&Value> = spans
        .iter()
        .filter(|s| s["parent_span_id"] == "00f067aa0ba902b7")
        .collect();
    assert_eq!(under_traceparent.len(), 1, "only the top root");
    assert_eq!(
        attr(under_traceparent[0], "gen_ai.conversation.id"),
        top.as_str()
    );
    assert!(
        live.received(&top)?.is_empty(),
        "nothing in the top session's own trace"
    );
    Ok(())
}
