//! Codex parsers never panic: `HookEvent::parse` and `RolloutLine::parse` on arbitrary bytes
//! and on real captured lines with random damage.

use codex_otel::codex::hook_event::HookEvent;
use codex_otel::codex::rollout::RolloutLine;
use proptest::prelude::*;
use std::path::PathBuf;

fn fixture_lines(relative: &str) -> Vec<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/codex-0.169")
        .join(relative);
    let text = std::fs::read(path).expect("fixture");
    let lines = text.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    lines.map(<[u8]>::to_vec).collect()
}

fn hook_lines() -> Vec<Vec<u8>> {
    ["shell", "resume", "subagent"]
        .iter()
        .flat_map(|s| fixture_lines(&format!("{s}/hooks.ndjson")))
        .collect()
}

fn rollout_lines() -> Vec<Vec<u8>> {
    fixture_lines(
        "shell/rollouts/2026/11/24/rollout-2026-11-24T12-14-36-01a20d7a-b819-7451-bc39-6764d48b49b7.jsonl",
    )
}

/// A real line with up to three random edits: a cut, a replaced byte, an inserted byte.
fn damaged(lines: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edits =
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4);
    (prop::sample::select(lines), edits).prop_map(|(mut line, edits)| {
        for (at, byte, kind) in edits {
            let i = at.index(line.len().max(1)).min(line.len());
            match kind {
                0 => line.truncate(i),
                1 if i < line.len() => line[i] = byte,
                _ => line.insert(i, byte),
            }
        }
        line
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn hook_event_parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = HookEvent::parse(&bytes);
    }

    #[test]
    fn hook_event_parse_never_panics_on_damaged_real_payloads(line in damaged(hook_lines())) {
        let _ = HookEvent::parse(&line);
    }

    #[test]
    fn rollout_line_parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = RolloutLine::parse(&bytes);
    }

    #[test]
    fn rollout_line_parse_never_panics_on_damaged_real_lines(line in damaged(rollout_lines())) {
        let _ = RolloutLine::parse(&line);
    }
}
