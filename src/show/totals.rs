//! What a session cost: token usage read from its model calls (`chat` spans) only, the one
//! place usage is exported, summed per model and per subtree. Agent and turn spans' own
//! `codex.usage.*` totals are never read, so nothing is counted twice.

use crate::span::genai as key;
use crate::span::SpanRecord;
use std::collections::BTreeMap;
use std::ops::AddAssign;

/// Token counts of one or more model calls.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Model calls counted.
    pub(crate) calls: u64,
    pub(crate) input: i64,
    pub(crate) cached: i64,
    pub(crate) output: i64,
    pub(crate) reasoning: i64,
}

impl AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.calls += other.calls;
        self.input += other.input;
        self.cached += other.cached;
        self.output += other.output;
        self.reasoning += other.reasoning;
    }
}

impl Usage {
    /// The usage of `span` when it is a model call; `None` for every other span.
    pub(crate) fn of_call(span: &SpanRecord) -> Option<Usage> {
        // A request that failed or was cancelled (`codex.request.status`) is no model call.
        let failed = span.str_attr(key::CODEX_REQUEST_STATUS).is_some();
        if span.str_attr(key::OPERATION_NAME) != Some("chat") || failed {
            return None;
        }
        let count = |k| span.int_attr(k).unwrap_or(0);
        Some(Usage {
            calls: 1,
            input: count(key::USAGE_INPUT_TOKENS),
            cached: count(key::USAGE_CACHE_READ_INPUT_TOKENS),
            output: count(key::USAGE_OUTPUT_TOKENS),
            reasoning: count(key::USAGE_REASONING_OUTPUT_TOKENS),
        })
    }

    /// `in=… cached=… out=… reasoning=…`.
    pub(crate) fn counts(&self) -> String {
        format!(
            "in={} cached={} out={} reasoning={}",
            self.input, self.cached, self.output, self.reasoning
        )
    }
}

/// The model a call used: the response's, else the request's.
pub(crate) fn model_of(span: &SpanRecord) -> &str {
    span.str_attr(key::RESPONSE_MODEL)
        .or_else(|| span.str_attr(key::REQUEST_MODEL))
        .unwrap_or("unknown model")
}

/// Usage of every model call in `spans`, per model.
pub(crate) fn by_model(spans: &[SpanRecord]) -> BTreeMap<String, Usage> {
    let mut totals: BTreeMap<String, Usage> = BTreeMap::new();
    for span in spans {
        if let Some(usage) = Usage::of_call(span) {
            *totals.entry(model_of(span).to_owned()).or_default() += usage;
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{AttrValue, SpanId, SpanKind, SpanStatus, TraceId};
    use std::time::UNIX_EPOCH;

    fn span(operation: &str, model: &str, input: i64, output: i64) -> SpanRecord {
        let str = |v: &str| AttrValue::Str(v.into());
        SpanRecord {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([input as u8; 8]),
            parent_span_id: None,
            name: format!("{operation} {model}"),
            kind: SpanKind::Internal,
            start: UNIX_EPOCH,
            end: UNIX_EPOCH,
            attributes: vec![
                (key::OPERATION_NAME.into(), str(operation)),
                (key::REQUEST_MODEL.into(), str(model)),
                (key::USAGE_INPUT_TOKENS.into(), AttrValue::Int(input)),
                (key::USAGE_OUTPUT_TOKENS.into(), AttrValue::Int(output)),
            ],
            events: Vec::new(),
            status: SpanStatus::Unset,
        }
    }

    #[test]
    fn totals_per_model_count_model_calls_only() {
        let spans = vec![
            span("chat", "gpt-5", 100, 10),
            span("chat", "gpt-5-mini", 7, 1),
            span("chat", "gpt-5", 200, 20),
            // An agent span carrying usage must never be added to what its calls already say.
            span("invoke_agent", "gpt-5", 300, 30),
        ];
        let totals = by_model(&spans);
        assert_eq!(totals.len(), 2);
        let gpt5 = totals["gpt-5"];
        assert_eq!((gpt5.calls, gpt5.input, gpt5.output), (2, 300, 30));
        assert_eq!(totals["gpt-5-mini"].input, 7);
    }
}
