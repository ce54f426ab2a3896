//! The live test harness: a Codex sandbox with the codex-otel plugin installed from this
//! checkout, its private state directory and the header-checking OTLP sink on Braintrust's
//! path ([`Live`]), and the checks every live test shares: span outlines, attributes, and exact
//! usage against the mock's ground truth.

use super::codex::{CodexRun, CodexSandbox, CodexVersion, Exec};
use super::fixtures::ModelCall;
use super::receivers::{Sink, SinkSpec, BT_API_KEY, BT_PROJECT};
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// Generous bound for one `codex exec` (about a second when healthy).
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// A Codex sandbox with the codex-otel plugin installed from this checkout, running the built
/// binary with a private state directory and exporting to a header-checking OTLP sink on
/// Braintrust's path.
pub(crate) struct Live {
    pub(crate) sandbox: CodexSandbox,
    pub(crate) state: TempDir,
    pub(crate) sink: Sink,
    pub(crate) runtime: tokio::runtime::Runtime,
}

impl Live {
    /// A live setup on the newest Codex.
    pub(crate) fn start() -> Result<Option<Self>> {
        Self::start_on(CodexVersion::V0171)
    }

    /// A live setup on Codex `version`; `Ok(None)` when the test must skip.
    pub(crate) fn start_on(version: CodexVersion) -> Result<Option<Self>> {
        let runtime = tokio::runtime::Runtime::new()?;
        let Some(sink) = runtime.block_on(Sink::start(&SinkSpec::braintrust()))? else {
            return Ok(None);
        };
        let Some(sandbox) = CodexSandbox::start_on(version)? else {
            return Ok(None);
        };
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
        sandbox.install_plugin(checkout, "codex-otel", "codex-otel")?;
        let state = tempfile::tempdir()?;
        Ok(Some(Live {
            sandbox,
            state,
            sink,
            runtime,
        }))
    }

    /// `codex exec` with the environment a Braintrust user would set.
    pub(crate) fn exec(&self, prompt: &str) -> Exec<'_> {
        self.configure(self.sandbox.exec(prompt))
    }

    pub(crate) fn exec_resume(&self, session_id: &str, prompt: &str) -> Exec<'_> {
        self.configure(self.sandbox.exec_resume(session_id, prompt))
    }

    pub(crate) fn configure<'a>(&self, exec: Exec<'a>) -> Exec<'a> {
        exec.env("CODEX_OTEL_BIN", env!("CARGO_BIN_EXE_codex-otel"))
            .env("CODEX_OTEL_HOME", self.state.path())
            .env("TRACE_TO_BRAINTRUST", "true")
            .env("BRAINTRUST_API_KEY", BT_API_KEY)
            .env("BRAINTRUST_PROJECT", BT_PROJECT)
            .env("BRAINTRUST_API_URL", self.sink.base_url())
            .timeout(EXEC_TIMEOUT)
    }

    /// Runs a codex-otel command against this state directory.
    pub(crate) fn codex_otel(&self, args: &[&str]) -> Result<std::process::Output> {
        Command::new(env!("CARGO_BIN_EXE_codex-otel"))
            .args(args)
            .env("CODEX_OTEL_HOME", self.state.path())
            .output()
            .context("running codex-otel")
    }

    /// Waits until the daemon delivered everything.
    pub(crate) fn flush(&self) -> Result<()> {
        let flush = self.codex_otel(&["flush", "--timeout", "30"])?;
        let stderr = String::from_utf8_lossy(&flush.stderr);
        anyhow::ensure!(flush.status.success(), "flush failed: {stderr}");
        Ok(())
    }

    /// The spans the sink accepted for `session_id`'s own trace ([`Self::received_in`]).
    pub(crate) fn received(&self, session_id: &str) -> Result<Vec<Value>> {
        self.received_in(&session_id.replace('-', ""))
    }

    /// The spans the sink accepted for `trace` (32 hex digits), each once; fails when a span
    /// id arrived twice with different content.
    pub(crate) fn received_in(&self, trace: &str) -> Result<Vec<Value>> {
        let requests = self.runtime.block_on(self.sink.requests())?;
        let mut spans: Vec<Value> = Vec::new();
        for request in requests.iter().filter(|r| r["rejected"] == false) {
            assert_eq!(
                request["headers"]["authorization"],
                format!("Bearer {BT_API_KEY}")
            );
            assert_eq!(
                request["headers"]["x-bt-parent"],
                format!("project_name:{BT_PROJECT}")
            );
            for span in request["spans"].as_array().context("spans")? {
                if span["trace_id"] != trace {
                    continue;
                }
                match spans.iter().find(|s| s["span_id"] == span["span_id"]) {
                    Some(seen) => {
                        assert_eq!(seen, span, "a span was sent twice with different content")
                    }
                    None => spans.push(span.clone()),
                }
            }
        }
        Ok(spans)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.codex_otel(&["stop"]);
    }
}

/// The span names as an indented outline, children in start order.
pub(crate) fn outline(spans: &[Value]) -> String {
    fn walk(spans: &[Value], parent: &str, depth: usize, out: &mut String) {
        let mut children: Vec<&Value> = spans
            .iter()
            .filter(|s| s["parent_span_id"] == parent)
            .collect();
        children.sort_by_key(|s| {
            (
                s["start_time_unix_nano"].as_u64(),
                s["name"].as_str().map(str::to_owned),
            )
        });
        for child in children {
            out.push_str(&format!(
                "{}{}\n",
                "  ".repeat(depth),
                child["name"].as_str().unwrap_or("?")
            ));
            walk(
                spans,
                child["span_id"].as_str().unwrap_or_default(),
                depth + 1,
                out,
            );
        }
    }
    let ids: HashSet<&str> = spans.iter().filter_map(|s| s["span_id"].as_str()).collect();
    let mut out = String::new();
    let roots: Vec<&str> = spans
        .iter()
        .filter_map(|s| s["parent_span_id"].as_str())
        .filter(|p| !ids.contains(p))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for root in roots {
        walk(spans, root, 0, &mut out);
    }
    out
}

pub(crate) fn attr<'a>(span: &'a Value, key: &str) -> &'a Value {
    &span["attributes"][key]
}

pub(crate) fn named<'a>(spans: &'a [Value], prefix: &str) -> Vec<&'a Value> {
    spans
        .iter()
        .filter(|s| s["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .collect()
}

/// The sum of integer attribute `key` over every span.
fn sum_attr(spans: &[Value], key: &str) -> i64 {
    spans.iter().filter_map(|s| attr(s, key).as_i64()).sum()
}

/// The sum of `braintrust.metrics` field `field` over every span, as Braintrust adds it up.
fn sum_metric(spans: &[Value], field: &str) -> i64 {
    spans
        .iter()
        .filter_map(|s| attr(s, "braintrust.metrics").as_str())
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter_map(|metrics| metrics[field].as_i64())
        .sum()
}

/// Every model call of the session is one chat span carrying exactly the mock's usage, and
/// usage summed over every span (as backends sum it) equals the mock's totals.
pub(crate) fn assert_exact_usage(spans: &[Value], calls: &[ModelCall]) {
    let input: i64 = calls.iter().map(|c| c.input_tokens).sum();
    let output: i64 = calls.iter().map(|c| c.output_tokens).sum();
    assert_eq!(sum_attr(spans, "gen_ai.usage.input_tokens"), input);
    assert_eq!(sum_attr(spans, "gen_ai.usage.output_tokens"), output);
    assert_eq!(sum_metric(spans, "prompt_tokens"), input);
    assert_eq!(sum_metric(spans, "completion_tokens"), output);
    let chats = named(spans, "chat ");
    assert_eq!(
        chats.len(),
        calls.len(),
        "one chat span per model call:\n{}",
        outline(spans)
    );
    for call in calls {
        let span = chats
            .iter()
            .find(|s| attr(s, "gen_ai.response.id") == call.response_id.as_str())
            .unwrap_or_else(|| panic!("no chat span for {}", call.response_id));
        assert_eq!(attr(span, "gen_ai.usage.input_tokens"), call.input_tokens);
        assert_eq!(
            attr(span, "gen_ai.usage.cache_read.input_tokens"),
            call.cached_tokens
        );
        assert_eq!(attr(span, "gen_ai.usage.output_tokens"), call.output_tokens);
        assert_eq!(
            attr(span, "gen_ai.usage.reasoning.output_tokens"),
            call.reasoning_tokens
        );
    }
}

/// The mock's calls that belong to `session_id` (thread ids of its threads).
pub(crate) fn calls_of(live: &Live, spans: &[Value]) -> Result<Vec<ModelCall>> {
    let threads: HashSet<&str> = spans
        .iter()
        .filter_map(|s| attr(s, "codex.thread.id").as_str())
        .collect();
    let calls = live.sandbox.mock().model_calls()?;
    Ok(calls
        .into_iter()
        .filter(|c| c.thread_id.as_deref().is_some_and(|t| threads.contains(t)))
        .collect())
}

pub(crate) fn session_of(run: &CodexRun) -> Result<String> {
    run.session_id
        .clone()
        .context("codex printed no session id")
}

/// Runs `prompt`, flushes, and returns the session id and its received spans.
pub(crate) fn traced(live: &Live, exec: Exec<'_>) -> Result<(String, Vec<Value>)> {
    let run = exec.run()?;
    let session = session_of(&run)?;
    live.flush()?;
    let spans = live.received(&session)?;
    Ok((session, spans))
}
