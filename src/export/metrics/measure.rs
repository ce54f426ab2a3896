//! Finished spans → metric measurements: the pure half of GenAI metrics.
//!
//! Instruments (names, units and bucket boundaries of the GenAI semantic conventions where one
//! exists, `codex.*` where none does):
//! - `gen_ai.client.token.usage` (histogram, `{token}`): per `chat` span, its input tokens and
//!   its output tokens, with `gen_ai.token.type` = `input` / `output`.
//! - `gen_ai.client.operation.duration` (histogram, `s`): per `chat` span, its duration, with
//!   `error.type` when the call failed.
//! - `codex.tool.calls` (counter, `{call}`): one per `execute_tool` span.
//! - `codex.tool.duration` (histogram, `s`, the duration boundaries): per `execute_tool` span.
//!
//! Attributes are low-cardinality only: `gen_ai.operation.name`, `gen_ai.provider.name`,
//! `gen_ai.request.model`, `gen_ai.response.model` on model calls; `gen_ai.tool.name`,
//! `gen_ai.tool.type` on tool calls; `error.type` on failures. No ids, no content.

use crate::span::{genai, SpanRecord, SpanStatus};

/// `gen_ai.token.type`: `input` or `output`.
pub const TOKEN_TYPE: &str = "gen_ai.token.type";

/// The `error.type` of a failed span that does not name its error class.
const OTHER_ERROR: &str = "_OTHER";

/// Bucket boundaries of `gen_ai.client.token.usage`, as the conventions specify.
pub const TOKEN_BUCKETS: [f64; 14] = [
    1.0,
    4.0,
    16.0,
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

/// Bucket boundaries of `gen_ai.client.operation.duration` (and `codex.tool.duration`), in
/// seconds, as the conventions specify.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// An instrument codex-otel records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Instrument {
    /// `gen_ai.client.token.usage`.
    TokenUsage,
    /// `gen_ai.client.operation.duration`.
    OperationDuration,
    /// `codex.tool.calls`.
    ToolCalls,
    /// `codex.tool.duration`.
    ToolDuration,
}

impl Instrument {
    /// The metric name.
    pub fn name(self) -> &'static str {
        match self {
            Instrument::TokenUsage => "gen_ai.client.token.usage",
            Instrument::OperationDuration => "gen_ai.client.operation.duration",
            Instrument::ToolCalls => "codex.tool.calls",
            Instrument::ToolDuration => "codex.tool.duration",
        }
    }

    /// The UCUM unit.
    pub fn unit(self) -> &'static str {
        match self {
            Instrument::TokenUsage => "{token}",
            Instrument::ToolCalls => "{call}",
            Instrument::OperationDuration | Instrument::ToolDuration => "s",
        }
    }

    /// The metric description.
    pub fn description(self) -> &'static str {
        match self {
            Instrument::TokenUsage => "Number of input and output tokens used.",
            Instrument::OperationDuration => "GenAI operation duration.",
            Instrument::ToolCalls => "Number of tool calls Codex executed.",
            Instrument::ToolDuration => "Duration of tool calls Codex executed.",
        }
    }

    /// Histogram bucket boundaries; `None` for the counter.
    pub fn buckets(self) -> Option<&'static [f64]> {
        match self {
            Instrument::TokenUsage => Some(&TOKEN_BUCKETS),
            Instrument::OperationDuration | Instrument::ToolDuration => Some(&DURATION_BUCKETS),
            Instrument::ToolCalls => None,
        }
    }
}

/// One value recorded on an instrument, with its attributes in a fixed order.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The instrument.
    pub instrument: Instrument,
    /// The value: tokens, seconds, or 1 call.
    pub value: f64,
    /// Attribute keys and values.
    pub attributes: Vec<(&'static str, String)>,
}

/// Every measurement `spans` yield, in span order. Spans other than `chat` and
/// `execute_tool` yield none; a token count that is absent or negative is not recorded.
pub fn measurements(spans: &[SpanRecord]) -> Vec<Measurement> {
    let mut out = Vec::new();
    for span in spans {
        match span.str_attr(genai::OPERATION_NAME) {
            Some("chat") => chat(span, &mut out),
            Some("execute_tool") => tool(span, &mut out),
            _ => {}
        }
    }
    out
}

fn chat(span: &SpanRecord, out: &mut Vec<Measurement>) {
    let mut attributes = copied(
        span,
        &[
            genai::OPERATION_NAME,
            genai::PROVIDER_NAME,
            genai::REQUEST_MODEL,
            genai::RESPONSE_MODEL,
        ],
    );
    for (key, token_type) in [
        (genai::USAGE_INPUT_TOKENS, "input"),
        (genai::USAGE_OUTPUT_TOKENS, "output"),
    ] {
        if let Some(tokens) = span.int_attr(key).filter(|tokens| *tokens >= 0) {
            let mut attributes = attributes.clone();
            attributes.push((TOKEN_TYPE, token_type.to_owned()));
            out.push(Measurement {
                instrument: Instrument::TokenUsage,
                value: tokens as f64,
                attributes,
            });
        }
    }
    attributes.extend(error_type(span));
    out.push(Measurement {
        instrument: Instrument::OperationDuration,
        value: seconds(span),
        attributes,
    });
}

fn tool(span: &SpanRecord, out: &mut Vec<Measurement>) {
    let mut attributes = copied(
        span,
        &[genai::OPERATION_NAME, genai::TOOL_NAME, genai::TOOL_TYPE],
    );
    attributes.extend(error_type(span));
    out.push(Measurement {
        instrument: Instrument::ToolCalls,
        value: 1.0,
        attributes: attributes.clone(),
    });
    out.push(Measurement {
        instrument: Instrument::ToolDuration,
        value: seconds(span),
        attributes,
    });
}

/// The string attributes `keys` the span has, in the order of `keys`.
fn copied(span: &SpanRecord, keys: &[&'static str]) -> Vec<(&'static str, String)> {
    keys.iter()
        .filter_map(|key| Some((*key, span.str_attr(key)?.to_owned())))
        .collect()
}

/// `error.type` for a failed span: its own `error.type`, else `_OTHER`.
fn error_type(span: &SpanRecord) -> Option<(&'static str, String)> {
    match span.status {
        SpanStatus::Unset => None,
        SpanStatus::Error(_) => Some((
            genai::ERROR_TYPE,
            span.str_attr(genai::ERROR_TYPE)
                .unwrap_or(OTHER_ERROR)
                .to_owned(),
        )),
    }
}

/// The span's duration in seconds.
fn seconds(span: &SpanRecord) -> f64 {
    span.end
        .duration_since(span.start)
        .unwrap_or_default()
        .as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{AttrValue, SpanId, SpanKind, TraceId};
    use std::time::{Duration, UNIX_EPOCH};

    fn span(operation: &str, millis: u64, attributes: &[(&str, AttrValue)]) -> SpanRecord {
        let mut all = vec![(
            genai::OPERATION_NAME.to_owned(),
            AttrValue::Str(operation.into()),
        )];
        all.extend(attributes.iter().map(|(k, v)| (k.to_string(), v.clone())));
        SpanRecord {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            parent_span_id: None,
            name: operation.into(),
            kind: SpanKind::Internal,
            start: UNIX_EPOCH + Duration::from_secs(100),
            end: UNIX_EPOCH + Duration::from_secs(100) + Duration::from_millis(millis),
            attributes: all,
            events: Vec::new(),
            status: SpanStatus::Unset,
        }
    }

    fn text(value: &str) -> AttrValue {
        AttrValue::Str(value.into())
    }

    #[test]
    fn a_chat_span_yields_input_and_output_tokens_and_its_duration() {
        let chat = span(
            "chat",
            1500,
            &[
                (genai::PROVIDER_NAME, text("openai")),
                (genai::REQUEST_MODEL, text("gpt-5")),
                (genai::USAGE_INPUT_TOKENS, AttrValue::Int(2807)),
                (genai::USAGE_OUTPUT_TOKENS, AttrValue::Int(84)),
                (genai::RESPONSE_ID, text("resp_1")),
            ],
        );
        let base = vec![
            (genai::OPERATION_NAME, "chat".to_owned()),
            (genai::PROVIDER_NAME, "openai".to_owned()),
            (genai::REQUEST_MODEL, "gpt-5".to_owned()),
        ];
        let with = |extra: (&'static str, &str)| {
            let mut attributes = base.clone();
            attributes.push((extra.0, extra.1.to_owned()));
            attributes
        };
        assert_eq!(
            measurements(&[chat]),
            vec![
                Measurement {
                    instrument: Instrument::TokenUsage,
                    value: 2807.0,
                    attributes: with((TOKEN_TYPE, "input")),
                },
                Measurement {
                    instrument: Instrument::TokenUsage,
                    value: 84.0,
                    attributes: with((TOKEN_TYPE, "output")),
                },
                Measurement {
                    instrument: Instrument::OperationDuration,
                    value: 1.5,
                    attributes: base.clone(),
                },
            ]
        );
    }

    #[test]
    fn a_failed_tool_call_is_counted_and_timed_with_its_error_type() {
        let mut call = span(
            "execute_tool",
            250,
            &[
                (genai::TOOL_NAME, text("exec_command")),
                (genai::TOOL_TYPE, text("function")),
                (genai::TOOL_CALL_ID, text("call_1")),
            ],
        );
        call.status = SpanStatus::Error("exit status 2".into());
        let found = measurements(&[call]);
        let instruments: Vec<(Instrument, f64)> =
            found.iter().map(|m| (m.instrument, m.value)).collect();
        assert_eq!(
            instruments,
            [
                (Instrument::ToolCalls, 1.0),
                (Instrument::ToolDuration, 0.25)
            ]
        );
        assert_eq!(
            found[0].attributes,
            vec![
                (genai::OPERATION_NAME, "execute_tool".to_owned()),
                (genai::TOOL_NAME, "exec_command".to_owned()),
                (genai::TOOL_TYPE, "function".to_owned()),
                (genai::ERROR_TYPE, "_OTHER".to_owned()),
            ]
        );
    }

    #[test]
    fn other_spans_and_missing_or_negative_tokens_yield_nothing_extra() {
        let root = span(
            "invoke_agent",
            10,
            &[(genai::USAGE_INPUT_TOKENS, AttrValue::Int(5))],
        );
        let chat = span(
            "chat",
            10,
            &[(genai::USAGE_INPUT_TOKENS, AttrValue::Int(-1))],
        );
        let found = measurements(&[root, chat]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].instrument, Instrument::OperationDuration);
    }

    #[test]
    fn buckets_are_the_conventions_boundaries() {
        assert_eq!(TOKEN_BUCKETS[0], 1.0);
        assert!(TOKEN_BUCKETS.windows(2).all(|w| w[1] == w[0] * 4.0));
        assert_eq!(DURATION_BUCKETS[0], 0.01);
        assert!(DURATION_BUCKETS
            .windows(2)
            .all(|w| (w[1] - w[0] * 2.0).abs() < 1e-9));
        assert_eq!(Instrument::ToolCalls.buckets(), None);
    }
}
