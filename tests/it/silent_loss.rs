//! No record is lost without a trace: model calls without a time, without a known turn or
//! without a response id are still exported with their exact usage, a rollout read twice is
//! counted once, and whatever the machine cannot place is reported as a notice.

use crate::support::edited::{replay_edited, without_field};
use crate::support::fixtures::model_calls;
use codex_otel::session::Notice;
use codex_otel::span::{genai as key, AttrValue, SpanRecord};
use serde_json::Value;
use std::collections::BTreeSet;

fn int(span: &SpanRecord, name: &str) -> i64 {
    match span.attributes.iter().find(|(k, _)| k == name) {
        Some((_, AttrValue::Int(v))) => *v,
        _ => 0,
    }
}

fn chats(spans: &[SpanRecord]) -> Vec<&SpanRecord> {
    spans
        .iter()
        .filter(|s| s.name.starts_with("chat "))
        .collect()
}

/// Input tokens summed over every span, the way Braintrust and Phoenix add them up.
fn summed_input(spans: &[SpanRecord]) -> i64 {
    spans.iter().map(|s| int(s, key::USAGE_INPUT_TOKENS)).sum()
}

fn truth(name: &str) -> (usize, i64) {
    let calls = model_calls(name);
    (calls.len(), calls.iter().map(|c| c.input_tokens).sum())
}

fn root(spans: &[SpanRecord]) -> &SpanRecord {
    spans.iter().find(|s| s.parent_span_id.is_none()).unwrap()
}

#[test]
fn model_calls_recorded_without_any_time_are_still_exported() {
    let outcome = replay_edited("shell", 1, |line| without_field(line, "", "timestamp"));
    let (calls, input) = truth("shell");
    assert_eq!(chats(&outcome.spans).len(), calls);
    assert_eq!(summed_input(&outcome.spans), input);
    assert!(
        outcome
            .notices
            .iter()
            .any(|n| matches!(n, Notice::CallWithoutTime(_))),
        "{:?}",
        outcome.notices
    );
}

#[test]
fn model_calls_whose_turn_is_unknown_hang_under_the_session_with_their_usage() {
    let outcome = replay_edited("shell", 1, |line| {
        let started = line.pointer("/payload/type") == Some(&Value::from("task_started"));
        (!started).then_some(line)
    });
    let (calls, input) = truth("shell");
    let chats = chats(&outcome.spans);
    assert_eq!(chats.len(), calls);
    assert_eq!(summed_input(&outcome.spans), input);
    let root = root(&outcome.spans);
    assert!(chats.iter().all(|c| c.parent_span_id == Some(root.span_id)));
    assert_eq!(int(root, key::CODEX_USAGE_INPUT_TOKENS), input);
    let unplaced = outcome
        .notices
        .iter()
        .filter(|n| matches!(n, Notice::CallWithoutTurn(_)))
        .count();
    assert_eq!(unplaced, calls);
}

#[test]
fn model_calls_without_response_ids_get_distinct_spans() {
    let outcome = replay_edited("subagent", 1, |line| {
        without_field(line, "/payload", "response_id")
    });
    let (calls, input) = truth("subagent");
    let chats = chats(&outcome.spans);
    let ids: BTreeSet<_> = chats.iter().map(|s| s.span_id).collect();
    assert_eq!((chats.len(), ids.len()), (calls, calls));
    assert_eq!(summed_input(&outcome.spans), input);
    assert!(chats.iter().all(|c| int(c, key::USAGE_INPUT_TOKENS) > 0));
}

#[test]
fn a_rollout_read_twice_is_counted_once() {
    let outcome = replay_edited("subagent", 2, Some);
    let (calls, input) = truth("subagent");
    let ids: BTreeSet<_> = chats(&outcome.spans).iter().map(|s| s.span_id).collect();
    assert_eq!(ids.len(), calls);
    assert_eq!(
        int(root(&outcome.spans), key::CODEX_USAGE_INPUT_TOKENS),
        input
    );
    let mut unique: Vec<&SpanRecord> = chats(&outcome.spans);
    unique.sort_by_key(|s| s.span_id);
    unique.dedup_by_key(|s| s.span_id);
    for turn in outcome.spans.iter().filter(|s| s.name.starts_with("turn ")) {
        let under: i64 = unique
            .iter()
            .filter(|c| c.parent_span_id == Some(turn.span_id))
            .map(|c| int(c, key::USAGE_INPUT_TOKENS))
            .sum();
        assert_eq!(
            int(turn, key::CODEX_USAGE_INPUT_TOKENS),
            under,
            "{}",
            turn.name
        );
    }
    assert!(outcome
        .notices
        .iter()
        .any(|n| matches!(n, Notice::Duplicate(_))));
}
