//! Recorded sessions fed to the session machine with their rollout lines edited: the way tests
//! make the rollouts of other Codex releases (no usage records, no timestamps, no response ids)
//! from real recordings.

use super::fixtures::{hooks, scenario_dir, session_id};
use codex_otel::codex::discover::session_threads;
use codex_otel::codex::rollout::RolloutLine;
use codex_otel::session::{Notice, SessionConfig, SessionMachine};
use codex_otel::span::SpanRecord;
use serde_json::Value;

/// What a session gave: its spans and the notices the machine raised.
pub(crate) struct Outcome {
    pub(crate) spans: Vec<SpanRecord>,
    pub(crate) notices: Vec<Notice>,
}

/// Replays scenario `name` with every rollout line passed through `edit` (`None` drops the
/// line), each file fed `times` times over.
pub(crate) fn replay_edited(
    name: &str,
    times: usize,
    edit: impl Fn(Value) -> Option<Value>,
) -> Outcome {
    replay_edited_lines(name, |lines| {
        let once: Vec<Value> = lines.into_iter().filter_map(&edit).collect();
        (0..times).flat_map(|_| once.clone()).collect()
    })
}

/// Replays scenario `name` with each rollout file's lines replaced by `edit(lines)`.
pub(crate) fn replay_edited_lines(name: &str, edit: impl Fn(Vec<Value>) -> Vec<Value>) -> Outcome {
    let hooks = hooks(name);
    let session = session_id(name);
    let mut machine = SessionMachine::new(&session, SessionConfig::default());
    let mut spans = Vec::new();
    for hook in &hooks {
        spans.extend(machine.push_hook(&hook.event, hook.received_at));
    }
    let dir = scenario_dir(name).join("rollouts");
    for thread in session_threads(&dir, &session, 3) {
        let path = thread.path.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&thread.path).unwrap();
        let lines = text.lines().filter(|l| !l.is_empty());
        let values: Vec<Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
        for value in edit(values) {
            let line = RolloutLine::parse(value.to_string().as_bytes()).unwrap();
            spans.extend(machine.push_rollout(&path, &line));
        }
    }
    spans.extend(machine.finish());
    Outcome {
        spans,
        notices: machine.take_notices(),
    }
}

/// Removes `field` from the object at `pointer` of a rollout line.
pub(crate) fn without_field(mut line: Value, pointer: &str, field: &str) -> Option<Value> {
    if let Some(Value::Object(map)) = line.pointer_mut(pointer) {
        map.remove(field);
    }
    Some(line)
}
