//! With content capture off, no text the user or the model wrote reaches a destination: not in
//! an attribute, a span name, a status message, an event, a link or the resource. Checked by
//! searching the whole exported OTLP request for needles taken from the recordings.

use crate::support::fixtures::{hooks, replay_with, scenario_dir};
use codex_otel::codex::hook_event::HookKind;
use codex_otel::codex::rollout::{ResponseItem, RolloutLine, RolloutRecord};
use codex_otel::export::convert::{request, resource, ResourceConfig};
use codex_otel::session::SessionConfig;
use codex_otel::span::content::ContentPolicy;
use prost::Message;

/// Where Codex puts the reason a PreToolUse hook gave for blocking a call.
const BLOCK_PREFIX: &str = "Command blocked by PreToolUse hook: ";

/// Texts the user, the model, a tool or a hook wrote in scenario `name`: prompts, final
/// answers, commands, tool outputs and hook block reasons.
fn needles(name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for hook in hooks(name) {
        match hook.event.kind {
            HookKind::UserPromptSubmit { prompt: Some(p) } => found.push(p),
            HookKind::Stop {
                last_assistant_message: Some(m),
                ..
            } => found.push(m),
            HookKind::PreToolUse(tool) => {
                if let Some(cmd) = tool.tool_input.get("command").and_then(|c| c.as_str()) {
                    found.push(cmd.to_owned());
                }
            }
            _ => {}
        }
    }
    for output in tool_outputs(name) {
        if let Some(rest) = output.strip_prefix(BLOCK_PREFIX) {
            let reason = rest.split(". Command:").next().unwrap_or(rest);
            found.push(reason.to_owned());
        }
        found.push(output);
    }
    found.retain(|n| n.trim().len() >= 5);
    found
}

/// Every tool output recorded in the scenario's rollout files.
fn tool_outputs(name: &str) -> Vec<String> {
    let mut outputs = Vec::new();
    let mut dirs = vec![scenario_dir(name).join("rollouts")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read(&path).unwrap();
            for raw in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                if let Ok(RolloutLine {
                    record: RolloutRecord::ResponseItem(ResponseItem::ToolOutput { output, .. }),
                    ..
                }) = RolloutLine::parse(raw)
                {
                    outputs.push(output);
                }
            }
        }
    }
    outputs
}

fn content_off() -> SessionConfig {
    SessionConfig {
        content: ContentPolicy {
            capture: false,
            ..ContentPolicy::default()
        },
        ..SessionConfig::default()
    }
}

/// The bytes a destination receives for `name` replayed with `config`.
fn exported_bytes(name: &str, config: &SessionConfig) -> Vec<u8> {
    let spans = replay_with(name, config);
    request(&spans, &resource(&ResourceConfig::default())).encode_to_vec()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn with_content_off_no_prompt_answer_command_tool_output_or_block_reason_is_exported() {
    let mut checked = 0;
    for name in [
        "shell",
        "pretool-deny",
        "failing-command",
        "permission",
        "subagent",
    ] {
        let bytes = exported_bytes(name, &content_off());
        for needle in needles(name) {
            assert!(
                !contains(&bytes, &needle),
                "{name}: exported with content off: {needle:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "too few needles: {checked}");
}

#[test]
fn with_content_on_the_same_needles_are_exported() {
    for name in ["shell", "pretool-deny"] {
        let bytes = exported_bytes(name, &SessionConfig::default());
        for needle in needles(name) {
            assert!(contains(&bytes, &needle), "{name}: missing {needle:?}");
        }
    }
}
