//! Replaying real Codex 0.169 recordings gives the expected span tree, the exact token
//! numbers Codex recorded, and the same spans whatever order hooks and records arrive in.

use crate::support::fixtures::{
    hooks, model_calls, records_usage, replay_with, scenario_dir, scenarios, session_id,
};
use crate::support::span_tree::{assert_golden, span_tree, tree_diff};
use codex_otel::codex::discover::session_threads;
use codex_otel::codex::rollout::{EventMsg, ResponseItem, RolloutLine, RolloutRecord};
use codex_otel::replay::{replay, resolve_transcript};
use codex_otel::session::{SessionConfig, SessionMachine};
use codex_otel::span::content::{ContentPolicy, CONTENT_KEYS};
use codex_otel::span::{genai as key, SpanRecord};

fn golden(name: &str) -> std::path::PathBuf {
    scenario_dir(name).join("expected-spans.json")
}

#[test]
fn each_recorded_session_replays_to_its_golden_span_tree() {
    for name in &scenarios() {
        let spans = replay_with(name, &SessionConfig::default());
        assert_golden(&golden(name), &span_tree(&spans));
    }
}

#[test]
fn chat_spans_carry_exactly_the_token_numbers_codex_recorded() {
    for name in &scenarios() {
        let spans = replay_with(name, &SessionConfig::default());
        // A request that failed or was cancelled has a chat span with an error and no usage.
        let mut chats: Vec<&SpanRecord> = spans
            .iter()
            .filter(|s| s.str_attr(key::OPERATION_NAME) == Some("chat"))
            .filter(|s| s.str_attr(key::ERROR_TYPE).is_none())
            .collect();
        chats.sort_by_key(|s| s.start);
        let truth = model_calls(name);
        assert_eq!(
            chats.len(),
            truth.len(),
            "{name}: one chat span per model call"
        );
        for (span, call) in chats.iter().zip(&truth) {
            // Releases before 0.160 record usage only in `token_count`, with no response id.
            let recorded = records_usage(name).then_some(call.response_id.as_str());
            assert_eq!(span.str_attr(key::RESPONSE_ID), recorded, "{name}");
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
            if let Some(thread) = &call.thread_id {
                assert_eq!(span.str_attr(key::CODEX_THREAD_ID), Some(thread.as_str()));
            }
        }
    }
}

#[test]
fn the_comparator_fails_when_a_parent_and_child_are_swapped() {
    let spans = replay_with("shell", &SessionConfig::default());
    let expected = span_tree(&spans);
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
    let diff = tree_diff(&expected, &span_tree(&swapped));
    assert!(
        diff.is_some_and(|d| d.contains("turn 1")),
        "the swap went unnoticed"
    );
}

#[test]
fn replaying_twice_gives_identical_spans() {
    for name in &scenarios() {
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

/// Feeds a scenario record by record across all of its thread files in time order, handing
/// each hook over as late as Codex allows: just before the next record that Codex writes only
/// after the hooks before it returned: a tool's output (after PreToolUse, PermissionRequest and
/// PostToolUse, which may rewrite it) or a turn's end (after Stop).
fn replay_with_late_hooks(name: &str) -> Vec<SpanRecord> {
    let dir = scenario_dir(name).join("rollouts");
    let hooks = hooks(name);
    let session = session_id(name);
    let mut machine = SessionMachine::new(&session, SessionConfig::default());
    let named: Vec<(String, std::path::PathBuf)> = hooks
        .iter()
        .filter_map(|h| h.event.common.transcript_path.clone())
        .map(|recorded| {
            let path = resolve_transcript(&recorded, Some(&dir));
            (recorded, path)
        })
        .collect();
    let mut lines: Vec<(String, RolloutLine)> = Vec::new();
    for thread in session_threads(&dir, &session, 3) {
        let key = named
            .iter()
            .find(|(_, path)| *path == thread.path)
            .map(|(recorded, _)| recorded.clone())
            .unwrap_or_else(|| thread.path.to_string_lossy().into_owned());
        let text = std::fs::read(&thread.path).unwrap();
        for raw in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            lines.push((key.clone(), RolloutLine::parse(raw).unwrap()));
        }
    }
    lines.sort_by_key(|(_, line)| line.timestamp);
    let mut spans = Vec::new();
    let mut pending = hooks.iter().peekable();
    for (path, line) in &lines {
        let waits_for_hooks = matches!(
            &line.record,
            RolloutRecord::Event(EventMsg::TaskComplete { .. } | EventMsg::TurnAborted { .. })
                | RolloutRecord::ResponseItem(ResponseItem::ToolOutput { .. })
        );
        if waits_for_hooks {
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
    for name in &scenarios() {
        let mut early = replay_with(name, &SessionConfig::default());
        let mut late = replay_with_late_hooks(name);
        early.sort_by_key(|s| s.span_id);
        late.sort_by_key(|s| s.span_id);
        let diff = tree_diff(&span_tree(&early), &span_tree(&late));
        assert!(diff.is_none(), "{name}:\n{}", diff.unwrap_or_default());
    }
}

#[test]
fn switching_content_capture_off_removes_all_content_and_nothing_else() {
    for name in &scenarios() {
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
            // The display name shows a shell call's command only with content on.
            let compared =
                |k: &str| !CONTENT_KEYS.contains(&k) && k != key::BRAINTRUST_SPAN_ATTRIBUTES;
            let kept: Vec<_> = with
                .attributes
                .iter()
                .filter(|(k, _)| compared(k))
                .collect();
            assert_eq!(
                kept,
                without
                    .attributes
                    .iter()
                    .filter(|(k, _)| compared(k))
                    .collect::<Vec<_>>(),
                "{}",
                with.name
            );
        }
        let text = serde_json::to_string(&bare).unwrap();
        for hook in hooks(name) {
            if let codex_otel::codex::hook_event::HookKind::UserPromptSubmit { prompt: Some(p) } =
                &hook.event.kind
            {
                assert!(!text.contains(p.as_str()), "{name}: the prompt leaked");
            }
        }
    }
}

fn spans_named<'a>(spans: &'a [SpanRecord], prefix: &str) -> Vec<&'a SpanRecord> {
    spans
        .iter()
        .filter(|s| s.name.starts_with(prefix))
        .collect()
}

#[test]
fn a_compaction_marks_its_summary_call_once_and_the_turn_goes_on() {
    let spans = replay_with("compaction", &SessionConfig::default());
    let summaries: Vec<_> = spans
        .iter()
        .filter(|s| s.attr(key::CONVERSATION_COMPACTED).is_some())
        .collect();
    assert_eq!(summaries.len(), 1);
    assert_eq!(
        summaries[0].str_attr(key::CODEX_REQUEST_KIND),
        Some("compaction")
    );
    let turns = spans_named(&spans, "turn");
    assert_eq!(turns.len(), 1, "the user's turn stays one turn");
    let event = &turns[0].events[0];
    assert_eq!(event.name, key::EVENT_COMPACTION);
    assert!(event
        .attributes
        .iter()
        .any(|(k, v)| k == key::CODEX_COMPACTION_TRIGGER
            && *v == codex_otel::span::AttrValue::Str("auto".into())));
    let after = spans_named(&spans, "chat")
        .into_iter()
        .filter(|c| c.start > summaries[0].end);
    assert_eq!(after.count(), 1, "the turn goes on after the compaction");
}

#[test]
fn an_interrupted_turn_is_closed_and_marked() {
    for name in ["interrupt", "interrupt-tool"] {
        let spans = replay_with(name, &SessionConfig::default());
        let turn = spans_named(&spans, "turn")[0];
        assert_eq!(
            turn.attr(key::CODEX_TURN_INTERRUPTED),
            Some(&codex_otel::span::AttrValue::Bool(true))
        );
        assert!(
            spans.iter().any(|s| s.parent_span_id.is_none()),
            "{name}: the session still closes"
        );
    }
    let spans = replay_with("interrupt-tool", &SessionConfig::default());
    let tool = spans_named(&spans, "execute_tool")[0];
    assert_eq!(tool.str_attr(key::ERROR_TYPE), Some("interrupted"));
}

#[test]
fn blocked_and_failing_tool_calls_are_errors_and_successful_ones_are_not() {
    let cases = [
        ("pretool-deny", Some("blocked_by_hook")),
        ("failing-command", Some("exit_code")),
        ("shell", None),
    ];
    for (name, error) in cases {
        let spans = replay_with(name, &SessionConfig::default());
        let tool = spans_named(&spans, "execute_tool")[0];
        assert_eq!(tool.str_attr(key::ERROR_TYPE), error, "{name}");
        assert_eq!(
            matches!(tool.status, codex_otel::span::SpanStatus::Error(_)),
            error.is_some()
        );
    }
}

#[test]
fn a_permission_request_is_an_event_on_the_tool_call_it_was_about() {
    let spans = replay_with("permission", &SessionConfig::default());
    let tool = spans_named(&spans, "execute_tool")[0];
    assert_eq!(tool.events.len(), 1);
    let attrs = &tool.events[0].attributes;
    let get = |k: &str| {
        attrs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        get("codex.permission.decision"),
        Some(codex_otel::span::AttrValue::Str("approved".into()))
    );
    assert_eq!(
        get("codex.permission.tool"),
        Some(codex_otel::span::AttrValue::Str("Bash".into()))
    );
}

#[test]
fn the_approval_reviewer_thread_is_traced_under_the_turn_it_served() {
    let spans = replay_with("permission-review", &SessionConfig::default());
    let reviewer = spans
        .iter()
        .find(|s| s.name == "invoke_agent guardian_review")
        .expect("reviewer span");
    let turn = spans
        .iter()
        .find(|s| Some(s.span_id) == reviewer.parent_span_id)
        .unwrap();
    assert!(turn.name.starts_with("turn"));
}

#[test]
fn a_failed_model_request_makes_the_turn_an_error_with_the_provider_code() {
    let spans = replay_with("model-error", &SessionConfig::default());
    let turn = spans_named(&spans, "turn")[0];
    assert_eq!(turn.str_attr(key::ERROR_TYPE), Some("mock_scripted_error"));
    let codex_otel::span::SpanStatus::Error(message) = &turn.status else {
        panic!("the turn is not an error: {:?}", turn.status)
    };
    assert!(message.contains("always fails"), "{message}");
}

#[test]
fn sampling_drops_whole_sessions_and_the_override_keeps_them() {
    use codex_otel::session::sampling::Sampling;
    let dropped = SessionConfig {
        sampling: Sampling {
            ratio: 0.0,
            always: false,
        },
        ..SessionConfig::default()
    };
    assert!(replay_with("shell", &dropped).is_empty());
    let forced = SessionConfig {
        sampling: Sampling {
            ratio: 0.0,
            always: true,
        },
        ..SessionConfig::default()
    };
    assert_eq!(
        replay_with("shell", &forced),
        replay_with("shell", &SessionConfig::default())
    );
}

/// Regression (found by the daemon benchmark): a journal that starts at `exec resume` (the hook
/// was installed between the runs) must give the whole tree without waiting for `finish`, since
/// the live daemon only calls `finish` on sessions abandoned for an hour.
#[test]
fn a_journal_that_starts_at_a_resume_closes_its_root_without_finish() {
    let dir = scenario_dir("resume");
    let hooks = hooks("resume");
    let session = hooks[0].event.common.session_id.clone();
    let mut machine = SessionMachine::new(&session, SessionConfig::default());
    let mut spans = Vec::new();
    for hook in &hooks {
        spans.extend(machine.push_hook(&hook.event, hook.received_at));
    }
    let recorded = machine.transcripts()[0].clone();
    let text = std::fs::read(resolve_transcript(&recorded, Some(&dir.join("rollouts")))).unwrap();
    for raw in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        spans.extend(machine.push_rollout(&recorded, &RolloutLine::parse(raw).unwrap()));
    }
    assert!(
        machine.is_complete(),
        "the session is complete before finish"
    );
    assert!(
        machine.finish().is_empty(),
        "finish has nothing left to close"
    );
    let with_finish = replay_with("resume", &SessionConfig::default());
    assert_eq!(span_tree(&spans), span_tree(&with_finish));
}

/// Message parts of every chat span's `gen_ai.input.messages` in one thread, in call order.
fn input_parts_of_thread(spans: &[SpanRecord], thread: &str) -> Vec<usize> {
    let mut chats: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.str_attr(key::OPERATION_NAME) == Some("chat"))
        .filter(|s| s.str_attr(key::CODEX_THREAD_ID) == Some(thread))
        .collect();
    chats.sort_by_key(|s| s.start);
    chats
        .iter()
        .map(|s| {
            let text = s.str_attr(key::INPUT_MESSAGES).unwrap_or("[]");
            let messages: serde_json::Value = serde_json::from_str(text).unwrap();
            let parts = messages.as_array().unwrap().iter();
            parts
                .map(|m| m["parts"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .collect()
}

#[test]
fn chat_inputs_hold_only_new_messages_unless_full_history_is_asked_for() {
    let config = |full_history| SessionConfig {
        content: ContentPolicy {
            full_history,
            max_attribute_bytes: usize::MAX,
            ..ContentPolicy::default()
        },
        ..SessionConfig::default()
    };
    let parent = "01a20d7a-ca39-7702-9d40-00eac5a83cf5";
    let new_only = input_parts_of_thread(&replay_with("subagent", &config(false)), parent);
    let full = input_parts_of_thread(&replay_with("subagent", &config(true)), parent);
    assert_eq!(new_only.len(), 3, "the parent made three calls");
    // Without the switch a call carries what was added since the previous one, so inputs do not
    // grow with the session; with it, each call repeats everything before it and more.
    assert!(new_only[1] < new_only[0], "{new_only:?}");
    assert!(full.windows(2).all(|w| w[1] > w[0]), "{full:?}");
    assert_eq!(
        full[0], new_only[0],
        "the first call is the same either way"
    );
}

#[test]
fn a_zstd_compressed_rollout_replays_to_the_same_spans() {
    let source = scenario_dir("shell").join("rollouts/2026/11/24");
    let packed = tempfile::tempdir().unwrap();
    let day = packed.path().join("2026/11/24");
    std::fs::create_dir_all(&day).unwrap();
    for entry in std::fs::read_dir(&source).unwrap().flatten() {
        let plain = std::fs::read(entry.path()).unwrap();
        let name = format!("{}.zst", entry.file_name().to_string_lossy());
        std::fs::write(
            day.join(name),
            zstd::encode_all(plain.as_slice(), 3).unwrap(),
        )
        .unwrap();
    }
    let spans = replay(
        &hooks("shell"),
        Some(packed.path()),
        &SessionConfig::default(),
    )
    .unwrap();
    let plain = replay_with("shell", &SessionConfig::default());
    assert_eq!(span_tree(&spans), span_tree(&plain));
}

#[test]
fn every_span_under_a_turn_names_its_turn_id_and_index() {
    for name in &scenarios() {
        let spans = replay_with(name, &SessionConfig::default());
        let turns: Vec<&SpanRecord> = spans
            .iter()
            .filter(|s| s.name.starts_with("turn "))
            .collect();
        for span in spans
            .iter()
            .filter(|s| s.name.starts_with("chat ") || s.name.starts_with("execute_tool"))
        {
            let Some(turn) = turns
                .iter()
                .find(|t| Some(t.span_id) == span.parent_span_id)
            else {
                continue;
            };
            assert_eq!(
                span.str_attr(key::CODEX_TURN_ID),
                turn.str_attr(key::CODEX_TURN_ID),
                "{name}: {}",
                span.name
            );
            let index = span.int_attr(key::CODEX_TURN_INDEX);
            assert!(index.is_some(), "{name}: {} has no turn index", span.name);
            assert_eq!(
                index,
                turn.int_attr(key::CODEX_TURN_INDEX),
                "{name}: {}",
                span.name
            );
        }
    }
}
