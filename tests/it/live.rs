//! Live tracing of the real Codex CLI: the codex-otel hook registered for all 12 events, the
//! daemon it starts, and the spans it delivers, checked against the mock's ground truth.

use crate::support::codex::{CodexRun, CodexSandbox, HOOK_EVENTS};
use crate::support::fixtures::ModelCall;
use anyhow::{Context, Result};
use codex_otel::export::file::{list_sessions, read_session};
use codex_otel::paths::StateDir;
use codex_otel::span::{genai as key, SpanRecord};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// Generous bound for one `codex exec` (about a second when healthy).
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// A Codex sandbox whose hooks run the real codex-otel binary with a private state directory.
struct Live {
    sandbox: CodexSandbox,
    state: TempDir,
}

impl Live {
    fn start() -> Result<Option<Self>> {
        let Some(sandbox) = CodexSandbox::start()? else {
            return Ok(None);
        };
        let command = format!("'{}' hook", env!("CARGO_BIN_EXE_codex-otel"));
        for (event, tool_event) in HOOK_EVENTS {
            sandbox.add_hook(event, tool_event.then_some("*"), &command)?;
        }
        Ok(Some(Live {
            sandbox,
            state: tempfile::tempdir()?,
        }))
    }

    fn exec(&self, prompt: &str) -> Result<CodexRun> {
        self.sandbox
            .exec(prompt)
            .env("CODEX_OTEL_HOME", self.state.path())
            .timeout(EXEC_TIMEOUT)
            .run()?
            .expect_success()
    }

    /// Runs a codex-otel command against this state directory.
    fn codex_otel(&self, args: &[&str]) -> Result<std::process::Output> {
        Command::new(env!("CARGO_BIN_EXE_codex-otel"))
            .args(args)
            .env("CODEX_OTEL_HOME", self.state.path())
            .output()
            .context("running codex-otel")
    }

    /// Waits until the daemon delivered everything, then reads the session's spans.
    fn spans(&self, session_id: &str) -> Result<Vec<SpanRecord>> {
        let flush = self.codex_otel(&["flush", "--timeout", "30"])?;
        anyhow::ensure!(
            flush.status.success(),
            "flush failed: {}",
            String::from_utf8_lossy(&flush.stderr)
        );
        let store = StateDir::new(self.state.path()).store_dir();
        let stored = list_sessions(&store)?;
        let session = stored
            .iter()
            .find(|s| s.id == session_id)
            .with_context(|| format!("session {session_id} not in the local store"))?;
        Ok(read_session(&session.path)?.spans)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.codex_otel(&["stop"]);
    }
}

/// The span names as an indented outline, children in start order.
fn outline(spans: &[SpanRecord]) -> String {
    fn walk(
        spans: &[SpanRecord],
        parent: Option<codex_otel::span::SpanId>,
        depth: usize,
        out: &mut String,
    ) {
        let mut children: Vec<&SpanRecord> = spans
            .iter()
            .filter(|s| s.parent_span_id == parent)
            .collect();
        children.sort_by_key(|s| (s.start, s.name.clone()));
        for child in children {
            out.push_str(&format!("{}{}\n", "  ".repeat(depth), child.name));
            walk(spans, Some(child.span_id), depth + 1, out);
        }
    }
    let mut out = String::new();
    walk(spans, None, 0, &mut out);
    out
}

/// Every chat span carries exactly the usage the mock reported for its response id.
fn assert_exact_usage(spans: &[SpanRecord], calls: &[ModelCall]) {
    let chats: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.str_attr(key::OPERATION_NAME) == Some("chat"))
        .collect();
    assert_eq!(chats.len(), calls.len(), "one chat span per model call");
    for call in calls {
        let span = chats
            .iter()
            .find(|s| s.str_attr(key::RESPONSE_ID) == Some(call.response_id.as_str()))
            .unwrap_or_else(|| panic!("no chat span for {}", call.response_id));
        assert_eq!(
            span.int_attr(key::USAGE_INPUT_TOKENS),
            Some(call.input_tokens)
        );
        assert_eq!(
            span.int_attr(key::USAGE_CACHE_READ_INPUT_TOKENS),
            Some(call.cached_tokens)
        );
        assert_eq!(
            span.int_attr(key::USAGE_OUTPUT_TOKENS),
            Some(call.output_tokens)
        );
        assert_eq!(
            span.int_attr(key::USAGE_REASONING_OUTPUT_TOKENS),
            Some(call.reasoning_tokens)
        );
    }
}

fn session_of(run: &CodexRun) -> Result<&str> {
    run.session_id
        .as_deref()
        .context("codex printed no session id")
}

#[test]
fn a_live_shell_session_becomes_one_exact_trace() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let run = live.exec("please run echo hello")?;
    let spans = live.spans(session_of(&run)?)?;
    assert_eq!(
        outline(&spans),
        "invoke_agent codex\n  turn 1\n    chat mock-model\n    execute_tool exec_command\n    chat mock-model\n"
    );
    assert_exact_usage(&spans, &live.sandbox.mock().model_calls()?);
    let trace = session_of(&run)?.replace('-', "");
    assert!(spans.iter().all(|s| s.trace_id.to_string() == trace));
    Ok(())
}
