//! Checks that Codex's PreModelRequest and PostModelRequest hooks reached codex-otel for every
//! model request, parsed as the typed [`HookKind`] variants.

use super::codex_version::CodexVersion;
use super::fixtures::ModelCall;
use codex_otel::codex::hook_event::{HookEvent, HookKind, ModelRequest, ModelRequestResult};
use serde_json::Value;

/// Payloads of one kind, each with its position among all payloads.
type Positioned<T> = Vec<(usize, T)>;

/// The Pre and Post payloads among `payloads` (hook stdin objects in journal order).
fn model_requests(
    payloads: &[Value],
) -> (Positioned<ModelRequest>, Positioned<ModelRequestResult>) {
    let (mut pres, mut posts) = (Vec::new(), Vec::new());
    for (at, payload) in payloads.iter().enumerate() {
        let event = HookEvent::from_value(payload.clone()).expect("a Codex hook payload");
        match event.kind {
            HookKind::PreModelRequest(pre) => pres.push((at, pre)),
            HookKind::PostModelRequest(post) => posts.push((at, post)),
            _ => {}
        }
    }
    (pres, posts)
}

/// Asserts one PreModelRequest and one later PostModelRequest per model call in `calls` (the
/// mock's ground truth), each Post completed with exactly the call's usage; on 0.171 the Post
/// also names the call's response id and thread, and its Pre has the same request id.
pub(crate) fn assert_every_model_request_journaled(
    payloads: &[Value],
    calls: &[ModelCall],
    version: CodexVersion,
) {
    let (pres, posts) = model_requests(payloads);
    assert_eq!(
        pres.len(),
        calls.len(),
        "one PreModelRequest per model call"
    );
    assert_eq!(
        posts.len(),
        calls.len(),
        "one PostModelRequest per model call"
    );
    let usage = |input, cached, output, reasoning| (input, cached, output, reasoning);
    let mut journaled: Vec<_> = posts
        .iter()
        .map(|(_, post)| {
            assert_eq!(post.status.as_deref(), Some("completed"), "{post:?}");
            let u = post.token_usage.expect("a completed request has usage");
            usage(
                u.input_tokens,
                u.cached_input_tokens,
                u.output_tokens,
                u.reasoning_output_tokens,
            )
        })
        .collect();
    let mut truth: Vec<_> = calls
        .iter()
        .map(|c| {
            usage(
                c.input_tokens,
                c.cached_tokens,
                c.output_tokens,
                c.reasoning_tokens,
            )
        })
        .collect();
    journaled.sort_unstable();
    truth.sort_unstable();
    assert_eq!(journaled, truth, "the Posts carry the mock's usage");
    for (i, (post_at, post)) in posts.iter().enumerate() {
        let (pre_at, pre) = if version.has_request_ids() {
            let id = post
                .request
                .request_id
                .as_deref()
                .expect("0.171 sends request_id");
            let call = calls
                .iter()
                .find(|c| post.response_id.as_deref() == Some(c.response_id.as_str()))
                .unwrap_or_else(|| panic!("no model call answered {post:?}"));
            assert_eq!(post.request.thread_id, call.thread_id);
            assert_eq!(post.request.kind.as_deref(), Some("sampling"));
            pres.iter()
                .find(|(_, pre)| pre.request_id.as_deref() == Some(id))
                .unwrap_or_else(|| panic!("no PreModelRequest for {id}"))
        } else {
            assert_eq!(
                (&post.request, &post.response_id),
                (&ModelRequest::default(), &None)
            );
            &pres[i]
        };
        assert!(pre_at < post_at, "the Pre of {pre:?} comes before its Post");
        assert_eq!(pre, &post.request);
    }
}
