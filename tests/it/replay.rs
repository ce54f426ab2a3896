//! Replaying real Codex 0.169 recordings gives the expected span tree, the exact token
//! numbers Codex recorded, and the same spans whatever order hooks and records arrive in.

use crate::support::fixtures::{hooks, model_calls, replay_with, scenario_dir};
use crate::support::span_tree::{assert_golden, span_tree, tree_diff, Timing};
use codex_otel::codex::rollout::{RolloutLine, RolloutRecord};
use codex_otel::replay::{replay, resolve_transcript};
use codex_otel::session::{SessionConfig, SessionMachine};
use codex_otel::span::content::{ContentPolicy, CONTENT_KEYS};
use codex_otel::span::{genai as key, SpanRecord};

const SCENARIOS: [&str; 3] = ["shell", "resume", "subagent"];

fn golden(name: &str) -> std::path::PathBuf {
    scenario_dir(name).join("expected-spans.json")
}

#[test]
fn each_recorded_session_replays_to_its_golden_span_tree() {
    for name in SCENARIOS {
        let spans = replay_with(name, &SessionConfig::default());
        assert_golden(&golden(name), &span_tree(&spans, Timing::Exact));
    }
}

#[test]
fn chat_spans_carry_exactly_the_token_numbers_codex_recorded() {
    for name in SCENARIOS {
        let spans = replay_with(name, &SessionConfig::default());
        let mut chats: Vec<&SpanRecord> = spans
            .iter()
            .filter(|s| s.str_attr(key::OPERATION_NAME) == Some("chat"))
            .collect();
        chats.sort_by_key(|s| s.start);
        let truth = model_calls(name);
        assert_eq!(
            chats.len(),
            truth.len(),
            "{name}: one chat span per model call"
        );
        for (span, call) in chats.iter().zip(&truth) {
            assert_eq!(
                span.str_attr(key::RESPONSE_ID),
                Some(call.response_id.as_str()),
                "{name}"
            );
            assert_eq!(span.str_attr(key::REQUEST_MODEL), Some(call.model.as_str()));
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
            assert_eq!(
                span.str_attr(key::CODEX_TURN_ID),
                Some(call.turn_id.as_str())
            );
            assert_eq!(
                span.str_attr(key::CODEX_THREAD_ID),
                Some(call.thread_id.as_str())
            );
        }
    }
}

#[test]
fn the_session_root_sums_every_call_of_its_run_including_sub_agents() {
    let spans = replay_with("subagent", &SessionConfig::default());
    let root = spans.iter().find(|s| s.parent_span_id.is_none()).unwrap();
    let truth = model_calls("subagent");
    let input: i64 = truth.iter().map(|c| c.input_tokens).sum();
    let output: i64 = truth.iter().map(|c| c.output_tokens).sum();
    assert_eq!(root.int_attr(key::USAGE_INPUT_TOKENS), Some(input));
    assert_eq!(root.int_attr(key::USAGE_OUTPUT_TOKENS), Some(output));
}

#[test]
fn the_comparator_fails_when_a_parent_and_child_are_swapped() {
    let spans = replay_with("shell", &SessionConfig::default());
    let expected = span_tree(&spans, Timing::Exact);
    let mut swapped = spans.clone();
    let turn = swapped.iter().position(|s| s.name == "turn 1").unwrap();
    let chat = swapped
        .iter()
        .position(|s| s.name.starts_with("chat"))
        .unwrap();
    let (turn_id, turn_parent) = (swapped[turn].span_id, swapped[turn].parent_span_id);
    let chat_id = swapped[chat].span_id;
    swapped[chat].parent_span_id = turn_parent;
    swapped[turn].parent_span_id = Some(chat_id);
    for span in swapped.iter_mut() {
        if span.parent_span_id == Some(turn_id) && span.span_id != chat_id {
            span.parent_span_id = Some(chat_id);
        }
    }
    let diff = tree_diff(&expected, &span_tree(&swapped, Timing::Exact));
    assert!(
        diff.is_some_and(|d| d.contains("turn 1")),
        "the swap went unnoticed"
    );
}

#[test]
fn replaying_twice_gives_identical_spans() {
    for name in SCENARIOS {
        let first = replay_with(name, &SessionConfig::default());
        assert_eq!(
            first,
            replay_with(name, &SessionConfig::default()),
            "{name}"
        );
    }
}

#[test]
fn a_resumed_session_continues_the_same_trace_without_duplicating_spans() {
    let dir = scenario_dir("resume");
    let mut journal = hooks("shell");
    journal.extend(hooks("resume"));
    let both = replay(
        &journal,
        Some(&dir.join("rollouts")),
        &SessionConfig::default(),
    )
    .unwrap();
    let shell = replay_with("shell", &SessionConfig::default());
    assert!(both.iter().all(|s| s.trace_id == shell[0].trace_id));
    for span in &shell {
        let again: Vec<_> = both.iter().filter(|s| s.span_id == span.span_id).collect();
        assert_eq!(
            again,
            vec![span],
            "{} must be sent once, unchanged",
            span.name
        );
    }
    let resumed_run = both
        .iter()
        .find(|s| s.str_attr(key::CODEX_SOURCE) == Some("resume"))
        .expect("a span for the resumed run");
    assert_eq!(
        resumed_run.parent_span_id,
        Some(
            shell
                .iter()
                .find(|s| s.parent_span_id.is_none())
                .unwrap()
                .span_id
        )
    );
}

/// Feeds a scenario record by record, handing each hook over as late as Codex allows: just
/// before the first rollout record written after it (the end of the turn it belongs to).
fn replay_with_late_hooks(name: &str) -> Vec<SpanRecord> {
    let dir = scenario_dir(name);
    let hooks = hooks(name);
    let session = hooks[0].event.common.session_id.clone();
    let mut machine = SessionMachine::new(&session, SessionConfig::default());
    let mut files: Vec<String> = Vec::new();
    for hook in &hooks {
        for path in [&hook.event.common.transcript_path].into_iter().flatten() {
            if !files.contains(path) {
                files.push(path.clone());
            }
        }
    }
    let mut lines: Vec<(String, RolloutLine)> = Vec::new();
    for recorded in &files {
        let text =
            std::fs::read(resolve_transcript(recorded, Some(&dir.join("rollouts")))).unwrap();
        for raw in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            lines.push((recorded.clone(), RolloutLine::parse(raw).unwrap()));
        }
    }
    lines.sort_by_key(|(_, line)| line.timestamp);
    let mut spans = Vec::new();
    let mut pending = hooks.iter().peekable();
    for (path, line) in &lines {
        let ends_turn = matches!(&line.record, RolloutRecord::Event(e) if format!("{e:?}").starts_with("TaskComplete"));
        if ends_turn {
            while let Some(hook) = pending.next_if(|h| h.event.name() != "SessionEnd") {
                spans.extend(machine.push_hook(&hook.event, hook.received_at));
            }
        }
        spans.extend(machine.push_rollout(path, line));
    }
    for hook in pending {
        spans.extend(machine.push_hook(&hook.event, hook.received_at));
    }
    spans.extend(machine.finish());
    spans
}

#[test]
fn late_hooks_and_interleaved_files_give_the_same_spans_as_hooks_first() {
    for name in ["shell", "subagent"] {
        let mut early = replay_with(name, &SessionConfig::default());
        let mut late = replay_with_late_hooks(name);
        early.sort_by_key(|s| s.span_id);
        late.sort_by_key(|s| s.span_id);
        let diff = tree_diff(
            &span_tree(&early, Timing::Exact),
            &span_tree(&late, Timing::Exact),
        );
        assert!(diff.is_none(), "{name}:\n{}", diff.unwrap_or_default());
    }
}

#[test]
fn switching_content_capture_off_removes_all_content_and_nothing_else() {
    for name in SCENARIOS {
        let full = replay_with(name, &SessionConfig::default());
        let config = SessionConfig {
            content: ContentPolicy {
                capture: false,
                ..ContentPolicy::default()
            },
            ..SessionConfig::default()
        };
        let bare = replay_with(name, &config);
        assert_eq!(full.len(), bare.len());
        for (with, without) in full.iter().zip(&bare) {
            assert!(without
                .attributes
                .iter()
                .all(|(k, _)| !CONTENT_KEYS.contains(&k.as_str())));
            let kept: Vec<_> = with
                .attributes
                .iter()
                .filter(|(k, _)| !CONTENT_KEYS.contains(&k.as_str()))
                .collect();
            assert_eq!(
                kept,
                without.attributes.iter().collect::<Vec<_>>(),
                "{}",
                with.name
            );
        }
        let prompt = &hooks(name)[1];
        let text = serde_json::to_string(&bare).unwrap();
        if let codex_otel::codex::hook_event::HookKind::UserPromptSubmit { prompt: Some(p) } =
            &prompt.event.kind
        {
            assert!(!text.contains(p.as_str()), "{name}: the prompt leaked");
        }
    }
}
