//! What `codex-otel run --json` writes: one JSON object about the traced invocation, built
//! from the session's spans (rebuilt from its journal by the same session machine the daemon
//! runs, so the figures are the exported ones) and the final flush.
//!
//! Fields: `session_id` and `trace_id` (null when Codex recorded no session), `exit_code` (the
//! one `run` exits with), `duration_ms` (Codex's wall time), `models` (per model: `calls`,
//! `input_tokens`, `cached_input_tokens`, `output_tokens`, `reasoning_output_tokens`, from the
//! `chat` spans only), `tool_calls` (the `execute_tool` spans of the model's tool calls, those with
//! a `gen_ai.tool.call.id`: a skill Codex loaded itself is not one), `errors` (every span with an error
//! status: its `span` name and `message`), `spans` (how many the session has), `flushed`
//! (the final flush finished in time), `delivered_spans` and `queued_spans` (after a finished
//! flush every span is delivered; after a timed-out one `delivered_spans` is null and
//! `queued_spans` counts the spans the daemon's spools hold unacknowledged for the session).

use crate::show::totals::{by_model, Usage};
use crate::span::{genai as key, SpanRecord, SpanStatus};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `--json` summary (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    /// The Codex session id.
    pub(crate) session_id: Option<String>,
    /// The trace the session was exported in.
    pub(crate) trace_id: Option<String>,
    /// The exit code `run` passes on.
    pub(crate) exit_code: i32,
    /// Codex's wall time, in milliseconds.
    pub(crate) duration_ms: u64,
    /// Token usage per model.
    pub(crate) models: BTreeMap<String, ModelTokens>,
    /// Tool calls made.
    pub(crate) tool_calls: u64,
    /// Spans that ended in error.
    pub(crate) errors: Vec<SpanError>,
    /// Spans of the session.
    pub(crate) spans: u64,
    /// Whether the final flush finished in time.
    pub(crate) flushed: bool,
    /// Spans acknowledged by every destination; unknown after a timed-out flush.
    pub(crate) delivered_spans: Option<u64>,
    /// Spans still waiting in a spool.
    pub(crate) queued_spans: u64,
}

/// Token usage of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct ModelTokens {
    /// Model calls.
    pub(crate) calls: u64,
    /// Input tokens, cached ones included.
    pub(crate) input_tokens: i64,
    /// Input tokens read from the cache.
    pub(crate) cached_input_tokens: i64,
    /// Output tokens, reasoning included.
    pub(crate) output_tokens: i64,
    /// Reasoning output tokens.
    pub(crate) reasoning_output_tokens: i64,
}

impl From<Usage> for ModelTokens {
    fn from(usage: Usage) -> Self {
        ModelTokens {
            calls: usage.calls,
            input_tokens: usage.input,
            cached_input_tokens: usage.cached,
            output_tokens: usage.output,
            reasoning_output_tokens: usage.reasoning,
        }
    }
}

/// A span that ended in error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SpanError {
    /// The span's name.
    pub(crate) span: String,
    /// Its status message.
    pub(crate) message: String,
}

/// The traced session, when Codex recorded one.
#[derive(Debug, Clone)]
pub(crate) struct Traced {
    /// The session id.
    pub(crate) session_id: String,
    /// Its trace id (hex).
    pub(crate) trace_id: String,
    /// Its spans.
    pub(crate) spans: Vec<SpanRecord>,
    /// Whether the final flush finished.
    pub(crate) flushed: bool,
    /// Spans of the session the daemon's spools still hold.
    pub(crate) queued: u64,
}

impl Summary {
    /// The summary of an invocation that exited with `exit_code` after `duration`.
    pub(crate) fn new(exit_code: i32, duration: Duration, traced: Option<&Traced>) -> Self {
        let spans = traced.map_or(&[][..], |t| &t.spans);
        let total = spans.len() as u64;
        let flushed = traced.is_none_or(|t| t.flushed);
        let queued = if flushed {
            0
        } else {
            traced.map_or(0, |t| t.queued)
        };
        Summary {
            session_id: traced.map(|t| t.session_id.clone()),
            trace_id: traced.map(|t| t.trace_id.clone()),
            exit_code,
            duration_ms: duration.as_millis() as u64,
            models: by_model(spans)
                .into_iter()
                .map(|(model, usage)| (model, usage.into()))
                .collect(),
            tool_calls: spans
                .iter()
                .filter(|s| s.str_attr(key::OPERATION_NAME) == Some("execute_tool"))
                .filter(|s| s.str_attr(key::TOOL_CALL_ID).is_some())
                .count() as u64,
            errors: spans
                .iter()
                .filter_map(|s| match &s.status {
                    SpanStatus::Error(message) => Some(SpanError {
                        span: s.name.clone(),
                        message: message.clone(),
                    }),
                    SpanStatus::Unset => None,
                })
                .collect(),
            spans: total,
            flushed,
            delivered_spans: flushed.then_some(total),
            queued_spans: queued,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{AttrValue, SpanId, SpanKind, TraceId};
    use std::time::UNIX_EPOCH;

    fn span(name: &str, operation: &str, status: SpanStatus) -> SpanRecord {
        let str = |v: &str| AttrValue::Str(v.into());
        SpanRecord {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            parent_span_id: None,
            name: name.into(),
            kind: SpanKind::Internal,
            start: UNIX_EPOCH,
            end: UNIX_EPOCH,
            attributes: vec![
                (key::OPERATION_NAME.into(), str(operation)),
                (key::REQUEST_MODEL.into(), str("m")),
                (key::USAGE_INPUT_TOKENS.into(), AttrValue::Int(10)),
                (key::USAGE_OUTPUT_TOKENS.into(), AttrValue::Int(3)),
            ],
            events: Vec::new(),
            status,
        }
    }

    fn traced(flushed: bool) -> Traced {
        let mut tool = span("execute_tool x", "execute_tool", SpanStatus::Unset);
        let call_id = AttrValue::Str("call_1".into());
        tool.attributes.push((key::TOOL_CALL_ID.into(), call_id));
        // A skill Codex loaded itself: an `execute_tool` span, but not a tool call.
        let skill_load = span(
            "execute_tool load_skill g",
            "execute_tool",
            SpanStatus::Unset,
        );
        Traced {
            session_id: "s".into(),
            trace_id: "t".into(),
            spans: vec![
                span("chat m", "chat", SpanStatus::Unset),
                span("chat m", "chat", SpanStatus::Error("boom".into())),
                tool,
                skill_load,
            ],
            flushed,
            queued: 2,
        }
    }

    #[test]
    fn tokens_tools_and_errors_come_from_the_spans() {
        let summary = Summary::new(1, Duration::from_millis(1500), Some(&traced(true)));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "session_id": "s", "trace_id": "t", "exit_code": 1, "duration_ms": 1500,
                "models": {"m": {"calls": 2, "input_tokens": 20, "cached_input_tokens": 0,
                                 "output_tokens": 6, "reasoning_output_tokens": 0}},
                "tool_calls": 1,
                "errors": [{"span": "chat m", "message": "boom"}],
                "spans": 4, "flushed": true, "delivered_spans": 4, "queued_spans": 0,
            })
        );
    }

    #[test]
    fn after_a_timed_out_flush_delivery_is_unknown_and_the_spool_backlog_is_queued() {
        let summary = Summary::new(0, Duration::ZERO, Some(&traced(false)));
        assert_eq!(
            (
                summary.flushed,
                summary.delivered_spans,
                summary.queued_spans
            ),
            (false, None, 2)
        );
        let nothing = Summary::new(2, Duration::ZERO, None);
        assert_eq!((nothing.session_id, nothing.spans), (None, 0));
    }
}
