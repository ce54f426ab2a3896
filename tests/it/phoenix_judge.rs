//! Arize Phoenix as the judge of what users see: every recorded session replayed into a real
//! Phoenix shows the model API's exact token totals, no turn or agent as an LLM call, and each
//! trace's first prompt and final answer on its root span (what the traces list shows).

use crate::collector::{export, otlp_destination};
use crate::support::fixtures::{self, hooks, model_calls, replay_with};
use crate::support::receivers::Phoenix;
use anyhow::{ensure, Result};
use codex_otel::codex::hook_event::HookKind;
use codex_otel::export::{Protocol, ResourceConfig};
use codex_otel::session::SessionConfig;
use serde_json::Value;

/// The Phoenix project a trace goes to.
fn project(trace_id: &str) -> String {
    format!("codex-otel-judge-{trace_id}")
}

/// Every recorded scenario with a model-calls.json, fewest model calls first: a resumed
/// session's recording holds the one it resumed (same trace, same span ids, which Phoenix
/// stores once), so it must reach Phoenix after it for each trace to be judged on its own.
fn scenarios() -> Vec<String> {
    let mut names = fixtures::scenarios();
    names.sort_by_key(|name| (model_calls(name).len(), name.clone()));
    names
}

/// The first prompt and the last final answer the hooks of `name` recorded, when they recorded
/// the session from its start (a journal that starts at a resume never saw the first prompt).
fn first_prompt_and_final_answer(name: &str) -> Option<(Option<String>, Option<String>)> {
    let hooks = hooks(name);
    let from_start = matches!(
        &hooks.first()?.event.kind,
        HookKind::SessionStart { source: Some(source) } if source == "startup"
    );
    if !from_start {
        return None;
    }
    let mut prompt = None;
    let mut answer = None;
    for hook in hooks {
        match hook.event.kind {
            HookKind::UserPromptSubmit { prompt: Some(p) } if prompt.is_none() => prompt = Some(p),
            HookKind::Stop {
                last_assistant_message: Some(m),
                ..
            } => answer = Some(m),
            _ => {}
        }
    }
    Some((prompt, answer))
}

/// The sum of Phoenix's derived integer attribute `name` over `spans`.
fn phoenix_sum(spans: &[Value], name: &str) -> i64 {
    spans
        .iter()
        .filter_map(|s| s["attributes"][name].as_i64())
        .sum()
}

#[tokio::test]
async fn phoenix_shows_exact_totals_no_turn_as_llm_and_each_sessions_prompt_and_answer(
) -> Result<()> {
    let Some(mut phoenix) = Phoenix::start().await? else {
        return Ok(());
    };
    let mut checked_io = 0;
    for name in scenarios() {
        let sent = replay_with(&name, &SessionConfig::default());
        let trace_id = sent[0].trace_id.to_string();
        let mut resource = ResourceConfig::default();
        resource
            .attributes
            .insert("openinference.project.name".to_owned(), project(&trace_id));
        let destination = otlp_destination(phoenix.traces_url(), Protocol::HttpProtobuf, resource);
        export(&destination, &sent).await?;
        let stored = phoenix
            .wait_for_spans(&project(&trace_id), &trace_id, sent.len())
            .await?;
        let truth = model_calls(&name);
        let prompt: i64 = truth.iter().map(|c| c.input_tokens).sum();
        let completion: i64 = truth.iter().map(|c| c.output_tokens).sum();
        let totals = [
            phoenix_sum(&stored, "llm.token_count.prompt"),
            phoenix_sum(&stored, "llm.token_count.completion"),
            phoenix_sum(&stored, "llm.token_count.total"),
        ];
        ensure!(
            totals == [prompt, completion, prompt + completion],
            "{name}: Phoenix's token totals {totals:?} differ from the model API's \
             [{prompt}, {completion}, {}]",
            prompt + completion
        );
        for span in &stored {
            let span_name = span["name"].as_str().unwrap_or_default();
            let is_model_call = span_name.starts_with("chat");
            ensure!(
                (span["span_kind"] == "LLM") == is_model_call,
                "{name}: {span_name} is {} in Phoenix",
                span["span_kind"]
            );
        }
        let root = stored
            .iter()
            .find(|s| s["parent_id"].is_null())
            .expect("a root span");
        let Some((first_prompt, final_answer)) = first_prompt_and_final_answer(&name) else {
            continue;
        };
        checked_io += 1;
        let shown = |key: &str| root["attributes"][key].as_str().map(str::to_owned);
        ensure!(
            shown("input.value") == first_prompt,
            "{name}: the traces list shows input {:?}",
            shown("input.value")
        );
        if final_answer.is_some() {
            ensure!(
                shown("output.value") == final_answer,
                "{name}: the traces list shows output {:?}",
                shown("output.value")
            );
        }
    }
    ensure!(
        checked_io >= 10,
        "only {checked_io} sessions recorded from their start"
    );
    Ok(())
}
