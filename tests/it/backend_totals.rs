//! What backends compute from our spans is exact: Braintrust and Phoenix add token usage up over
//! every span of a trace, so the sum over all spans must equal what the model API reported, and
//! every span must say what it is so no turn or agent is taken for a model call.

use crate::support::fixtures::{model_calls, replay_with, scenarios};
use codex_otel::session::SessionConfig;
use codex_otel::span::{genai as key, SpanRecord};
use serde_json::Value;

/// A JSON attribute of `span`, decoded.
fn json_attr(span: &SpanRecord, name: &str) -> Option<Value> {
    span.str_attr(name)
        .map(|text| serde_json::from_str(text).expect("valid JSON attribute"))
}

/// The sum of an integer attribute over every span.
fn sum_int(spans: &[SpanRecord], name: &str) -> i64 {
    spans.iter().filter_map(|s| s.int_attr(name)).sum()
}

/// The sum of one `braintrust.metrics` field over every span.
fn sum_metric(spans: &[SpanRecord], field: &str) -> i64 {
    spans
        .iter()
        .filter_map(|s| json_attr(s, key::BRAINTRUST_METRICS))
        .filter_map(|m| m[field].as_i64())
        .sum()
}

#[test]
fn usage_summed_over_every_span_equals_what_the_model_api_reported() {
    for name in &scenarios() {
        let spans = replay_with(name, &SessionConfig::default());
        let truth = model_calls(name);
        let input: i64 = truth.iter().map(|c| c.input_tokens).sum();
        let cached: i64 = truth.iter().map(|c| c.cached_tokens).sum();
        let output: i64 = truth.iter().map(|c| c.output_tokens).sum();
        let reasoning: i64 = truth.iter().map(|c| c.reasoning_tokens).sum();
        let sums = [
            (sum_int(&spans, key::USAGE_INPUT_TOKENS), input),
            (sum_int(&spans, key::USAGE_CACHE_READ_INPUT_TOKENS), cached),
            (sum_int(&spans, key::USAGE_OUTPUT_TOKENS), output),
            (
                sum_int(&spans, key::USAGE_REASONING_OUTPUT_TOKENS),
                reasoning,
            ),
            (sum_metric(&spans, "prompt_tokens"), input),
            (sum_metric(&spans, "prompt_cached_tokens"), cached),
            (sum_metric(&spans, "completion_tokens"), output),
            (sum_metric(&spans, "completion_reasoning_tokens"), reasoning),
            (sum_metric(&spans, "tokens"), input + output),
        ];
        for (index, (sum, truth)) in sums.into_iter().enumerate() {
            assert_eq!(sum, truth, "{name}: sum #{index} over all spans");
        }
    }
}

#[test]
fn only_model_calls_carry_a_model_in_braintrust_metadata() {
    for name in &scenarios() {
        for span in replay_with(name, &SessionConfig::default()) {
            let priced = json_attr(&span, key::BRAINTRUST_METADATA)
                .is_some_and(|m| m.get("model").is_some_and(|v| !v.is_null()));
            let chat = span.str_attr(key::OPERATION_NAME) == Some("chat");
            assert_eq!(priced, chat, "{name}: {}", span.name);
        }
    }
}

#[test]
fn the_session_root_totals_every_call_of_its_run_under_codex_usage() {
    let spans = replay_with("subagent", &SessionConfig::default());
    let root = spans.iter().find(|s| s.parent_span_id.is_none()).unwrap();
    let truth = model_calls("subagent");
    let input: i64 = truth.iter().map(|c| c.input_tokens).sum();
    let output: i64 = truth.iter().map(|c| c.output_tokens).sum();
    assert_eq!(root.int_attr(key::CODEX_USAGE_INPUT_TOKENS), Some(input));
    assert_eq!(root.int_attr(key::CODEX_USAGE_OUTPUT_TOKENS), Some(output));
    assert_eq!(root.int_attr(key::USAGE_INPUT_TOKENS), None);
}

#[test]
fn every_span_says_what_it_is_and_no_turn_or_agent_is_an_llm_call() {
    for name in &scenarios() {
        for span in replay_with(name, &SessionConfig::default()) {
            let has_gen_ai = span
                .attributes
                .iter()
                .any(|(k, _)| k.starts_with("gen_ai."));
            if has_gen_ai {
                assert!(
                    span.str_attr(key::OPERATION_NAME).is_some(),
                    "{name}: {}",
                    span.name
                );
            }
            let kind = span.str_attr(key::OPENINFERENCE_SPAN_KIND);
            let braintrust = json_attr(&span, key::BRAINTRUST_SPAN_ATTRIBUTES)
                .and_then(|a| a["type"].as_str().map(str::to_owned));
            let expected = if span.name.starts_with("chat") {
                ("LLM", "llm")
            } else if span.name.starts_with("execute_tool") {
                ("TOOL", "tool")
            } else if span.name.starts_with("turn") {
                ("CHAIN", "task")
            } else {
                ("AGENT", "task")
            };
            assert_eq!(kind, Some(expected.0), "{name}: {}", span.name);
            assert_eq!(
                braintrust.as_deref(),
                Some(expected.1),
                "{name}: {}",
                span.name
            );
            if span.name.starts_with("turn") {
                assert_eq!(
                    span.str_attr(key::REQUEST_MODEL),
                    None,
                    "{name}: a turn is no model call"
                );
            }
        }
    }
}

#[test]
fn braintrust_inputs_and_outputs_are_never_json_inside_a_string() {
    for name in &scenarios() {
        for span in replay_with(name, &SessionConfig::default()) {
            for side in [key::BRAINTRUST_INPUT_JSON, key::BRAINTRUST_OUTPUT_JSON] {
                if let Some(Value::String(text)) = json_attr(&span, side) {
                    let inner = serde_json::from_str::<Value>(&text);
                    assert!(
                        !matches!(inner, Ok(Value::Object(_) | Value::Array(_))),
                        "{name}: {} {side} holds JSON in a string",
                        span.name
                    );
                }
            }
            if span.name.starts_with("execute_tool") {
                assert!(json_attr(&span, key::BRAINTRUST_INPUT_JSON).is_some_and(|v| v.is_object()));
            }
            if span.name.starts_with("chat") {
                let input = json_attr(&span, key::BRAINTRUST_INPUT_JSON).unwrap();
                assert!(input
                    .as_array()
                    .is_some_and(|m| m.iter().all(|m| m["role"].is_string())));
                // Never empty: the compaction call of releases before 0.140, whose summary is
                // only in `compacted.message`, gets that text.
                let output = json_attr(&span, key::BRAINTRUST_OUTPUT_JSON).unwrap();
                let messages = output.as_array().expect("an array of messages");
                assert!(
                    messages.iter().all(|m| m["role"] == "assistant"),
                    "{name}: never a bare response id"
                );
                assert!(!messages.is_empty(), "{name}: {}", span.name);
            }
        }
    }
}

#[test]
fn the_root_shows_the_first_prompt_and_the_final_answer() {
    let spans = replay_with("shell", &SessionConfig::default());
    let root = spans.iter().find(|s| s.parent_span_id.is_none()).unwrap();
    let turn = spans.iter().find(|s| s.name == "turn 1").unwrap();
    assert_eq!(
        root.str_attr(key::INPUT_VALUE),
        turn.str_attr(key::CODEX_TURN_PROMPT)
    );
    assert_eq!(
        root.str_attr(key::OUTPUT_VALUE),
        turn.str_attr(key::CODEX_TURN_OUTPUT)
    );
    assert!(root
        .str_attr(key::INPUT_VALUE)
        .is_some_and(|p| !p.is_empty()));
}

#[test]
fn display_names_tell_a_compaction_a_shell_command_and_a_sub_agent_apart() {
    let name_of = |span: &SpanRecord| {
        json_attr(span, key::BRAINTRUST_SPAN_ATTRIBUTES).unwrap()["name"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let spans = replay_with("compaction", &SessionConfig::default());
    let summary = spans
        .iter()
        .find(|s| s.attr(key::CONVERSATION_COMPACTED).is_some())
        .unwrap();
    assert!(
        name_of(summary).starts_with("compaction"),
        "{}",
        name_of(summary)
    );
    let spans = replay_with("shell", &SessionConfig::default());
    let tool = spans
        .iter()
        .find(|s| s.name.starts_with("execute_tool"))
        .unwrap();
    assert!(name_of(tool).starts_with("$ echo"), "{}", name_of(tool));
    let spans = replay_with("subagent", &SessionConfig::default());
    let agent = spans
        .iter()
        .find(|s| s.str_attr(key::CODEX_SOURCE) == Some("subagent"))
        .unwrap();
    let role = agent.str_attr(key::CODEX_AGENT_TYPE).unwrap();
    let nickname = agent.str_attr(key::AGENT_NAME).unwrap();
    assert_eq!(name_of(agent), format!("{nickname} ({role})"));
}
