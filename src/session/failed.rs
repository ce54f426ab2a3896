//! The span of a model request that never completed (PostModelRequest with `status` `failed`
//! or `cancelled`): a `chat` span with an error, under its turn, so failed requests and
//! retries (`codex.request.attempt`) are visible. It has no usage: none was ever reported.

use super::attrs::TurnRef;
use super::build::{Builder, SpanParts};
use super::ids::SpanKey;
use super::units::FailedRequest;
use crate::span::genai as key;
use crate::span::{SpanKind, SpanRecord, SpanStatus};
use serde_json::{json, Value};
use std::time::SystemTime;

/// Longest error text kept in the span's status.
const MAX_ERROR_CHARS: usize = 512;

impl Builder<'_> {
    /// The span of `request`, which failed in `turn`; without hook times it lies at `fallback`.
    pub(crate) fn failed_request_span(
        &self,
        turn: TurnRef<'_>,
        request: &FailedRequest,
        fallback: SystemTime,
    ) -> SpanRecord {
        let model = request.model.as_deref().unwrap_or("unknown");
        let compaction = request.kind.as_deref() == Some("foreground_compaction");
        let thread_id = request.thread_id.as_deref();
        let mut attrs = self.chat_request(model, thread_id, Some(turn), compaction);
        attrs
            .str(key::CODEX_REQUEST_STATUS, request.status.clone())
            .io(
                Some(json!([])),
                Some(json!([{"role": "assistant", "content": null}])),
            );
        if let Some(attempt) = request.attempt {
            attrs.int(key::CODEX_REQUEST_ATTEMPT, i64::from(attempt));
        }
        let (error_type, message) = error_of(request);
        attrs.str(key::ERROR_TYPE, error_type);
        let start = request
            .times
            .sent
            .or(request.times.answered)
            .unwrap_or(fallback);
        let end = request.times.answered.unwrap_or(start);
        self.span(SpanParts {
            key: SpanKey::Request(&request.key),
            parent: Some(self.id(SpanKey::Turn(turn.id))),
            name: format!("chat {model}"),
            kind: SpanKind::Client,
            start,
            end,
            attrs,
            events: Vec::new(),
            status: SpanStatus::Error(message),
        })
    }
}

/// The error class and message of a failed request: the provider's error code and message when
/// the error text is a provider's JSON body, else the request's status and the text (capped).
fn error_of(request: &FailedRequest) -> (String, String) {
    let text = request.error.as_deref().unwrap_or_default();
    let body: Option<Value> = serde_json::from_str(text).ok();
    let provider = body.as_ref().and_then(|b| b.get("error"));
    let field = |name: &str| provider?.get(name)?.as_str().map(str::to_owned);
    let kind = field("code").or_else(|| field("type"));
    let message = field("message").unwrap_or_else(|| match text {
        "" => format!("model request {}", request.status),
        text => text.chars().take(MAX_ERROR_CHARS).collect(),
    });
    (kind.unwrap_or_else(|| request.status.clone()), message)
}
