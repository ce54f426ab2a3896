//! The payloads of PreModelRequest and PostModelRequest: Codex fires them around every request
//! to the model API (sampling and compaction requests, in sub-agent threads too).
//!
//! Codex 0.169 sends only the common fields plus, on Post, `status`, `error` and
//! `token_usage`; 0.171 adds `kind`, `request_id`, `attempt_number`, `thread_id` and, on Post,
//! `response_id`. Every field is therefore an `Option`, and a field of the wrong type is
//! dropped like any other hook field (see [`super::hook_event`]).

use super::rollout::TokenUsage;
use serde::Deserialize;

/// What a PreModelRequest says about the request about to be sent (Post repeats it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ModelRequest {
    /// `sampling` (a model turn step) or `foreground_compaction` (the summary request of a
    /// compaction). Since 0.171.
    #[serde(default)]
    pub kind: Option<String>,
    /// Codex's id of the request: the same on its Pre and its Post. Since 0.171.
    #[serde(default)]
    pub request_id: Option<String>,
    /// 1 for the first attempt, higher for retries. Since 0.171.
    #[serde(default)]
    pub attempt_number: Option<u32>,
    /// The thread making the request: the child's inside a sub-agent, where `session_id` is
    /// the root's. Since 0.171.
    #[serde(default)]
    pub thread_id: Option<String>,
}

/// What a PostModelRequest says about a finished request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ModelRequestResult {
    /// The request's fields, as on its PreModelRequest.
    #[serde(flatten)]
    pub request: ModelRequest,
    /// `completed`, `failed` (an HTTP or stream error) or `cancelled` (the turn was
    /// interrupted).
    #[serde(default)]
    pub status: Option<String>,
    /// The error text of a failed request (the response body for an HTTP error); null otherwise.
    #[serde(default)]
    pub error: Option<String>,
    /// The request's usage as the API reported it; null unless completed.
    #[serde(default)]
    pub token_usage: Option<TokenUsage>,
    /// The Responses API id (`resp_…`) of a completed request. Since 0.171.
    #[serde(default)]
    pub response_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use crate::codex::hook_event::{HookEvent, HookKind};

    use super::*;

    // Captured from codex-cli 0.169.0 (tests/codex/capture.py shell, 2026-12-04).
    const PRE_0169: &str = r#"{"session_id":"01a23f31-2c24-77f3-baf4-5bf7dae035b6","turn_id":"01a23f31-2c39-7682-8d0d-11a3b7593ff9","cwd":"/home/dev/project","transcript_path":"/home/dev/.codex/sessions/2026/12/04/rollout-2026-12-04T03-55-16-01a23f31-2c24-77f3-baf4-5bf7dae035b6.jsonl","model":"mock-model","hook_event_name":"PreModelRequest"}"#;
    const POST_0169: &str = r#"{"session_id":"01a23f31-2c24-77f3-baf4-5bf7dae035b6","turn_id":"01a23f31-2c39-7682-8d0d-11a3b7593ff9","cwd":"/home/dev/project","transcript_path":"/home/dev/.codex/sessions/2026/12/04/rollout-2026-12-04T03-55-16-01a23f31-2c24-77f3-baf4-5bf7dae035b6.jsonl","model":"mock-model","hook_event_name":"PostModelRequest","status":"completed","error":null,"token_usage":{"input_tokens":1348,"cached_input_tokens":674,"cache_write_input_tokens":0,"output_tokens":42,"reasoning_output_tokens":16,"total_tokens":1390}}"#;
    /// The 0.171 captures (tests/fixtures/codex-0.171/<scenario>/hooks.ndjson).
    const SCENARIOS_0171: [&str; 6] = [
        "shell",
        "parallel-tools",
        "compaction",
        "interrupt",
        "subagent",
        "model-error",
    ];

    fn parse(line: &str) -> HookEvent {
        HookEvent::parse(line.as_bytes()).expect("a real payload parses")
    }

    /// The model-request events of the 0.171 captures, in capture order.
    fn captured_0171() -> Vec<HookEvent> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/codex-0.171");
        SCENARIOS_0171
            .iter()
            .map(|name| std::fs::read_to_string(format!("{dir}/{name}/hooks.ndjson")).unwrap())
            .flat_map(|text| text.lines().map(parse).collect::<Vec<_>>())
            .filter(|event| event.name().ends_with("ModelRequest"))
            .collect()
    }

    #[test]
    fn a_0169_pre_and_post_parse_with_only_the_fields_0169_sends() {
        let pre = parse(PRE_0169);
        assert_eq!(pre.name(), "PreModelRequest");
        assert_eq!(pre.kind, HookKind::PreModelRequest(ModelRequest::default()));
        assert_eq!(
            pre.common.turn_id.as_deref(),
            Some("01a23f31-2c39-7682-8d0d-11a3b7593ff9")
        );
        let post = parse(POST_0169);
        assert_eq!(post.name(), "PostModelRequest");
        let HookKind::PostModelRequest(result) = post.kind else {
            panic!("not a PostModelRequest: {:?}", post.kind)
        };
        assert_eq!(result.request, ModelRequest::default());
        assert_eq!(result.status.as_deref(), Some("completed"));
        assert_eq!(result.error, None);
        assert_eq!(result.response_id, None);
        assert_eq!(
            result.token_usage,
            Some(TokenUsage {
                input_tokens: 1348,
                cached_input_tokens: 674,
                cache_write_input_tokens: 0,
                output_tokens: 42,
                reasoning_output_tokens: 16,
                total_tokens: 1390,
            })
        );
    }

    #[test]
    fn a_0171_post_repeats_its_pre_and_adds_the_result() {
        let events = captured_0171();
        let (HookKind::PreModelRequest(pre), HookKind::PostModelRequest(post)) =
            (&events[0].kind, &events[1].kind)
        else {
            panic!("the shell capture starts with a Pre then a Post: {events:?}")
        };
        assert_eq!(pre.kind.as_deref(), Some("sampling"));
        assert_eq!(
            pre.request_id.as_deref(),
            Some("f9d3a59d-2c11-4566-8c75-9315ef0eba20")
        );
        assert_eq!(pre.attempt_number, Some(1));
        assert_eq!(
            pre.thread_id.as_deref(),
            Some("01a23f30-dbab-7853-a1b9-6ed35dc1d444")
        );
        assert_eq!(&post.request, pre);
        assert_eq!(post.response_id.as_deref(), Some("resp_0004_bc3e92bb"));
        assert_eq!(post.token_usage.map(|u| u.total_tokens), Some(1390));
    }

    #[test]
    fn every_0171_request_has_a_pre_and_a_post_with_its_status() {
        let events = captured_0171();
        let mut statuses = Vec::new();
        let mut kinds = Vec::new();
        for event in &events {
            let HookKind::PostModelRequest(post) = &event.kind else {
                continue;
            };
            let id = post.request.request_id.as_deref().expect("a request id");
            let pres = events.iter().filter(|e| {
                matches!(&e.kind, HookKind::PreModelRequest(pre) if pre.request_id.as_deref() == Some(id))
            });
            assert_eq!(pres.count(), 1, "{id}");
            assert_eq!(post.response_id.is_some(), post.token_usage.is_some());
            statuses.push(post.status.clone().unwrap_or_default());
            kinds.push(post.request.kind.clone().unwrap_or_default());
        }
        statuses.sort();
        statuses.dedup();
        assert_eq!(statuses, ["cancelled", "completed", "failed"]);
        assert!(kinds.iter().any(|k| k == "foreground_compaction"));
    }

    #[test]
    fn a_failed_request_carries_the_error_and_no_usage() {
        let failed = captured_0171()
            .into_iter()
            .find_map(|e| match e.kind {
                HookKind::PostModelRequest(post) if post.status.as_deref() == Some("failed") => {
                    Some(post)
                }
                _ => None,
            })
            .expect("the model-error capture has a failed request");
        assert!(failed
            .error
            .as_deref()
            .is_some_and(|e| e.contains("mock_scripted_error")));
        assert_eq!((failed.token_usage, failed.response_id), (None, None));
    }

    #[test]
    fn a_sub_agent_request_names_the_child_thread() {
        let child = captured_0171()
            .into_iter()
            .find(|e| e.common.agent_id.is_some())
            .expect("the subagent capture has a child request");
        let HookKind::PreModelRequest(pre) = &child.kind else {
            panic!("the child's first model event is a Pre: {child:?}")
        };
        assert_eq!(pre.thread_id, child.common.agent_id);
        assert_ne!(
            pre.thread_id.as_deref(),
            Some(child.common.session_id.as_str())
        );
    }

    #[test]
    fn fields_of_the_wrong_type_are_dropped() {
        let event = parse(
            r#"{"session_id":"s","hook_event_name":"PostModelRequest","attempt_number":"one","status":"completed","token_usage":7}"#,
        );
        let HookKind::PostModelRequest(post) = event.kind else {
            panic!("wrong kind")
        };
        assert_eq!(post.request.attempt_number, None);
        assert_eq!(post.token_usage, None);
        assert_eq!(post.status.as_deref(), Some("completed"));
    }
}
