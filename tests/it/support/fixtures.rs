//! Recorded Codex sessions (tests/fixtures/codex-<version>/<scenario>/) and their ground truth.
//!
//! A scenario is named `codex-<version>/<scenario>` (e.g. `codex-0.171/shell`), or by its bare
//! directory name for a Codex 0.169 recording (`shell`), as tests that pick one recording do.
//! A release that fired no hooks (0.130 without persisted trust, 0.140) has an empty
//! `hooks.ndjson`: its scenarios replay from their rollouts alone.

use codex_otel::codex::discover::{session_threads, sessions};
use codex_otel::replay::{read_hooks, replay, RecordedHook};
use codex_otel::session::SessionConfig;
use codex_otel::span::SpanRecord;
use serde::Deserialize;
use std::path::PathBuf;

/// The Codex versions with recordings, each a directory under tests/fixtures, and how many
/// scenarios each has at least. [`scenario_dir`] resolves bare names under the 0.169 entry.
const RECORDED: [(&str, usize); 7] = [
    ("codex-0.169", 15),
    ("codex-0.171", 8),
    ("codex-0.125", 3),
    ("codex-0.130", 3),
    ("codex-0.140", 3),
    ("codex-0.150", 3),
    ("codex-0.160", 3),
];

/// The directory of a scenario (see the module docs for names).
pub(crate) fn scenario_dir(name: &str) -> PathBuf {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    if name.contains('/') {
        fixtures.join(name)
    } else {
        fixtures.join(RECORDED[0].0).join(name)
    }
}

/// Every recorded scenario of every version (a directory with its hooks and its model calls),
/// as `codex-<version>/<scenario>`.
pub(crate) fn scenarios() -> Vec<String> {
    let mut names = Vec::new();
    for (version, at_least) in RECORDED {
        let root = scenario_dir(&format!("{version}/"));
        let mut found: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("hooks.ndjson").is_file())
            .filter(|e| e.path().join("model-calls.json").is_file())
            .map(|e| format!("{version}/{}", e.file_name().to_string_lossy()))
            .collect();
        found.sort();
        assert!(
            found.len() >= at_least,
            "fixtures missing under {}",
            root.display()
        );
        names.extend(found);
    }
    names
}

/// The scenario's hook payloads.
pub(crate) fn hooks(name: &str) -> Vec<RecordedHook> {
    read_hooks(&[scenario_dir(name).join("hooks.ndjson")]).expect("fixture hooks")
}

/// The scenario's session id: its first hook's, or, with no hook, its first rollout's.
pub(crate) fn session_id(name: &str) -> String {
    match hooks(name).first() {
        Some(hook) => hook.event.common.session_id.clone(),
        None => sessions(&scenario_dir(name).join("rollouts"), 3)
            .into_iter()
            .next()
            .expect("a rollout file"),
    }
}

/// Whether the scenario's rollouts hold `token_usage_record` lines (0.160 and later), the only
/// records that carry a call's response id.
pub(crate) fn records_usage(name: &str) -> bool {
    let dir = scenario_dir(name).join("rollouts");
    sessions(&dir, 3).iter().any(|session| {
        session_threads(&dir, session, 3).iter().any(|thread| {
            let text = std::fs::read_to_string(&thread.path).expect("rollout");
            text.lines().any(|line| {
                let record: serde_json::Value = serde_json::from_str(line).expect("JSON line");
                record["type"] == "token_usage_record"
            })
        })
    })
}

/// Replays a scenario with `config`.
pub(crate) fn replay_with(name: &str, config: &SessionConfig) -> Vec<SpanRecord> {
    let rollouts = scenario_dir(name).join("rollouts");
    replay(&hooks(name), Some(&rollouts), config).expect("replay")
}

/// One model call as the mock Responses API reported it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ModelCall {
    /// `resp_…`.
    pub(crate) response_id: String,
    /// Requested model.
    pub(crate) model: String,
    /// Input tokens.
    pub(crate) input_tokens: i64,
    /// Cached input tokens.
    pub(crate) cached_tokens: i64,
    /// Output tokens.
    pub(crate) output_tokens: i64,
    /// Reasoning tokens.
    pub(crate) reasoning_tokens: i64,
    /// The thread that made the call (releases before 0.130 send none).
    pub(crate) thread_id: Option<String>,
    /// The turn.
    pub(crate) turn_id: String,
}

/// The scenario's ground truth per model call.
pub(crate) fn model_calls(name: &str) -> Vec<ModelCall> {
    let text = std::fs::read_to_string(scenario_dir(name).join("model-calls.json"))
        .expect("model-calls.json");
    serde_json::from_str(&text).expect("model-calls.json parses")
}
