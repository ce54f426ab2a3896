//! Sessions made by benches/synth.py (the scaling benchmark's generator, run with the python3
//! on PATH) replay to exactly the spans and token totals they imply: the generator's hooks and
//! rollout agree on every re-minted id.

use codex_otel::replay::{read_hooks, replay};
use codex_otel::session::SessionConfig;
use codex_otel::span::{genai as key, SpanRecord};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What `python3 benches/synth.py KIND SIZE DIR` prints.
#[derive(Deserialize)]
struct Generated {
    hooks: PathBuf,
    rollouts: PathBuf,
    turns: usize,
    model_calls: usize,
    tool_calls: usize,
    usage: BTreeMap<String, i64>,
}

fn generate(kind: &str, size: usize, dir: &Path) -> Generated {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/synth.py");
    let out = Command::new("python3")
        .arg(script)
        .args([kind, &size.to_string()])
        .arg(dir)
        .output()
        .expect("python3 on PATH runs benches/synth.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("synth.py prints its session as JSON")
}

/// The first word of each span's name (`invoke_agent`, `turn`, `chat`, `execute_tool`), counted.
fn kinds(spans: &[SpanRecord]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for span in spans {
        let kind = span.name.split(' ').next().unwrap_or_default();
        *counts.entry(kind).or_default() += 1;
    }
    counts
}

fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `field` of every item in `items`, where it is a string.
fn ids<'a>(items: impl Iterator<Item = &'a serde_json::Value>, field: &str) -> BTreeSet<String> {
    items
        .filter_map(|v| v[field].as_str().map(str::to_owned))
        .collect()
}

/// The hooks name exactly the turns (`task_started`) and tool calls (`function_call`) of their
/// rollout (`transcript_path`).
fn assert_hooks_match_rollout(hooks: &Path) {
    let hooks = json_lines(hooks);
    let rollout = json_lines(Path::new(hooks[0]["transcript_path"].as_str().unwrap()));
    let payloads = |kind: &'static str| {
        rollout
            .iter()
            .map(|r| &r["payload"])
            .filter(move |p| p["type"] == kind)
    };
    assert_eq!(
        ids(hooks.iter(), "turn_id"),
        ids(payloads("task_started"), "turn_id")
    );
    assert_eq!(
        ids(hooks.iter(), "tool_use_id"),
        ids(payloads("function_call"), "call_id")
    );
}

fn assert_replays_as_generated(kind: &str, size: usize) {
    let dir = tempfile::tempdir().unwrap();
    let made = generate(kind, size, dir.path());
    assert_hooks_match_rollout(&made.hooks);
    let hooks = read_hooks(&[made.hooks]).unwrap();
    let spans = replay(&hooks, Some(&made.rollouts), &SessionConfig::default()).unwrap();

    let expected = BTreeMap::from([
        ("invoke_agent", 1),
        ("turn", made.turns),
        ("chat", made.model_calls),
        ("execute_tool", made.tool_calls),
    ]);
    assert_eq!(kinds(&spans), expected, "{kind} {size}");

    let chats: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.name.starts_with("chat"))
        .collect();
    let usage: BTreeMap<String, i64> = [
        ("input_tokens", key::USAGE_INPUT_TOKENS),
        ("cached_input_tokens", key::USAGE_CACHE_READ_INPUT_TOKENS),
        ("output_tokens", key::USAGE_OUTPUT_TOKENS),
        (
            "reasoning_output_tokens",
            key::USAGE_REASONING_OUTPUT_TOKENS,
        ),
    ]
    .into_iter()
    .map(|(name, attr)| {
        (
            name.into(),
            chats.iter().filter_map(|s| s.int_attr(attr)).sum(),
        )
    })
    .collect();
    assert_eq!(usage, made.usage, "{kind} {size}: summed usage");

    let turn_ids: BTreeSet<&str> = chats
        .iter()
        .map(|s| s.str_attr(key::CODEX_TURN_ID).expect("turn id"))
        .collect();
    assert_eq!(
        turn_ids.len(),
        made.turns,
        "{kind} {size}: one turn id per turn"
    );
    let responses: BTreeSet<&str> = chats
        .iter()
        .map(|s| s.str_attr(key::RESPONSE_ID).expect("response id"))
        .collect();
    assert_eq!(
        responses.len(),
        made.model_calls,
        "{kind} {size}: fresh response ids"
    );
}

#[test]
fn a_generated_twenty_turn_session_replays_to_its_spans_and_usage() {
    assert_replays_as_generated("turns", 20);
}

#[test]
fn a_generated_turn_with_twenty_parallel_calls_replays_to_its_spans_and_usage() {
    assert_replays_as_generated("parallel", 20);
}
