//! Rollouts of releases and clients that record less: without `token_usage_record` (releases
//! before 0.160 record usage only in `token_count` events, and no response ids) every model call
//! still becomes one chat span with its exact usage; without any usage at all, no span reports
//! a total, and each says why. Real captures of those releases (0.125 to 0.160) are in the
//! recorded list every replay and backend test iterates; a release that fired no hooks replays
//! from its rollouts alone, through the CLI too.

use crate::support::edited::replay_edited;
use crate::support::fixtures::{model_calls, scenario_dir, scenarios};
use codex_otel::span::{genai as key, AttrValue, SpanRecord};
use serde_json::Value;
use std::collections::BTreeSet;

fn kind(line: &Value) -> (&str, &str) {
    let record = line.get("type").and_then(Value::as_str).unwrap_or_default();
    let payload = line.pointer("/payload/type").and_then(Value::as_str);
    (record, payload.unwrap_or_default())
}

fn int(span: &SpanRecord, name: &str) -> Option<i64> {
    span.attributes.iter().find_map(|(k, v)| match v {
        AttrValue::Int(n) if k == name => Some(*n),
        _ => None,
    })
}

fn text<'a>(span: &'a SpanRecord, name: &str) -> Option<&'a str> {
    span.attributes.iter().find_map(|(k, v)| match v {
        AttrValue::Str(s) if k == name => Some(s.as_str()),
        _ => None,
    })
}

/// Chat spans of completed model calls (a failed or cancelled request has one too, with an
/// error and no usage).
/// The span reports no usage total, and says it was not recorded.
fn assert_unknown_usage(span: &SpanRecord) {
    for total in [key::CODEX_USAGE_INPUT_TOKENS, key::CODEX_USAGE_TOTAL_TOKENS] {
        assert_eq!(int(span, total), None, "{}: {total}", span.name);
    }
    let reason = text(span, key::CODEX_USAGE_UNKNOWN_REASON);
    assert_eq!(reason, Some("not_recorded"), "{}", span.name);
}

fn chats(spans: &[SpanRecord]) -> Vec<&SpanRecord> {
    spans
        .iter()
        .filter(|s| s.name.starts_with("chat ") && s.str_attr(key::ERROR_TYPE).is_none())
        .collect()
}

#[test]
fn without_usage_records_token_counts_give_one_chat_span_per_call_with_its_exact_usage() {
    for name in &scenarios() {
        let outcome = replay_edited(name, 1, |line| {
            (kind(&line).0 != "token_usage_record").then_some(line)
        });
        let truth = model_calls(name);
        let chats = chats(&outcome.spans);
        let ids: BTreeSet<_> = chats.iter().map(|s| s.span_id).collect();
        assert_eq!(
            (chats.len(), ids.len()),
            (truth.len(), truth.len()),
            "{name}"
        );
        for (field, expected) in [
            (
                key::USAGE_INPUT_TOKENS,
                truth.iter().map(|c| c.input_tokens).sum::<i64>(),
            ),
            (
                key::USAGE_OUTPUT_TOKENS,
                truth.iter().map(|c| c.output_tokens).sum(),
            ),
        ] {
            let summed: i64 = outcome.spans.iter().filter_map(|s| int(s, field)).sum();
            assert_eq!(summed, expected, "{name}: {field} over every span");
        }
        let mut per_call: Vec<i64> = chats
            .iter()
            .filter_map(|s| int(s, key::USAGE_INPUT_TOKENS))
            .collect();
        let mut expected: Vec<i64> = truth.iter().map(|c| c.input_tokens).collect();
        per_call.sort();
        expected.sort();
        assert_eq!(per_call, expected, "{name}: each call's own usage");
    }
}

#[test]
fn without_token_usage_records_the_same_calls_get_the_same_ids_every_time() {
    let strip = |line: Value| (kind(&line).0 != "token_usage_record").then_some(line);
    let first = replay_edited("shell", 1, strip);
    let second = replay_edited("shell", 1, strip);
    let ids = |spans: &[SpanRecord]| -> Vec<_> { chats(spans).iter().map(|s| s.span_id).collect() };
    assert_eq!(ids(&first.spans), ids(&second.spans));
}

#[test]
fn without_any_usage_no_span_reports_a_total_and_each_says_why() {
    let outcome = replay_edited("shell", 1, |line| {
        let usage = matches!(kind(&line), ("token_usage_record", _) | (_, "token_count"));
        (!usage).then_some(line)
    });
    assert!(chats(&outcome.spans).is_empty());
    let totals: Vec<&SpanRecord> = outcome
        .spans
        .iter()
        .filter(|s| s.name.starts_with("turn ") || s.name.starts_with("invoke_agent"))
        .collect();
    assert!(totals.len() >= 2);
    for span in totals {
        assert_unknown_usage(span);
    }
}

/// The shell recording as Codex Desktop writes it: no `task_started`, `turn_context`,
/// `task_complete`, usage records or `item_completed` items.
fn desktop_style(line: Value) -> Option<Value> {
    let dropped = matches!(
        kind(&line),
        ("token_usage_record" | "turn_context", _)
            | (
                "event_msg",
                "task_started" | "task_complete" | "token_count" | "item_completed"
            )
    );
    (!dropped).then_some(line)
}

#[test]
fn a_desktop_rollout_gets_its_turns_from_the_prompts_and_its_tools_with_no_usage() {
    let outcome = replay_edited("resume", 1, desktop_style);
    let turns: Vec<&SpanRecord> = outcome
        .spans
        .iter()
        .filter(|s| s.name.starts_with("turn "))
        .collect();
    let recorded = replay_edited("resume", 1, Some);
    let recorded_turns = recorded
        .spans
        .iter()
        .filter(|s| s.name.starts_with("turn "));
    assert_eq!(turns.len(), recorded_turns.count(), "one turn per prompt");
    let tools = |spans: &[SpanRecord]| {
        spans
            .iter()
            .filter(|s| s.name.starts_with("execute_tool"))
            .count()
    };
    assert_eq!(tools(&outcome.spans), tools(&recorded.spans));
    assert!(chats(&outcome.spans).is_empty());
    for span in outcome
        .spans
        .iter()
        .filter(|s| !s.name.starts_with("execute_tool"))
    {
        assert_unknown_usage(span);
    }
    let prompts: Vec<Option<&str>> = turns
        .iter()
        .map(|t| text(t, key::CODEX_TURN_PROMPT))
        .collect();
    assert!(prompts.iter().all(Option::is_some), "{prompts:?}");
}

/// Inserts `extra` right after the first line for which `after` holds.
fn insert_after(lines: Vec<Value>, after: impl Fn(&Value) -> bool, extra: Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut done = false;
    for line in lines {
        let hit = !done && after(&line);
        out.push(line);
        if hit {
            let mut extra = extra.clone();
            extra["timestamp"] = out.last().unwrap()["timestamp"].clone();
            out.push(extra);
            done = true;
        }
    }
    out
}

#[test]
fn a_web_search_the_provider_ran_is_a_tool_span_with_its_query() {
    let search = serde_json::json!({
        "type": "response_item",
        "payload": {
            "type": "web_search_call",
            "id": "ws_0001",
            "status": "completed",
            "action": {"type": "search", "query": "rust otlp exporter"}
        }
    });
    let outcome = crate::support::edited::replay_edited_lines("shell", |lines| {
        insert_after(
            lines,
            |l| kind(l) == ("response_item", "reasoning"),
            search.clone(),
        )
    });
    let span = outcome
        .spans
        .iter()
        .find(|s| s.name == "execute_tool web_search")
        .expect("a web search span");
    let arguments = text(span, key::TOOL_CALL_ARGUMENTS).unwrap_or_default();
    assert!(arguments.contains("rust otlp exporter"), "{arguments}");
    assert_eq!(text(span, key::TOOL_TYPE), Some("extension"));
    assert_eq!(text(span, key::ERROR_TYPE), None);
    let turn = outcome.spans.iter().find(|s| s.name == "turn 1").unwrap();
    assert_eq!(span.parent_span_id, Some(turn.span_id));
}

#[test]
fn an_exec_command_end_gives_the_exit_code_where_no_item_says_it() {
    let outcome = crate::support::edited::replay_edited_lines("shell", |lines| {
        let call_id = lines
            .iter()
            .find(|l| kind(l) == ("response_item", "function_call"))
            .and_then(|l| l.pointer("/payload/call_id").cloned())
            .unwrap();
        let end = serde_json::json!({
            "type": "event_msg",
            "payload": {"type": "exec_command_end", "call_id": call_id, "exit_code": 3}
        });
        let lines: Vec<Value> = lines
            .into_iter()
            .filter(|l| kind(l) != ("event_msg", "item_completed"))
            .collect();
        insert_after(
            lines,
            |l| kind(l) == ("response_item", "function_call"),
            end,
        )
    });
    let span = outcome
        .spans
        .iter()
        .find(|s| s.name.starts_with("execute_tool"))
        .unwrap();
    assert_eq!(int(span, key::CODEX_TOOL_EXIT_CODE), Some(3));
    assert_eq!(text(span, key::ERROR_TYPE), Some("exit_code"));
}

/// `codex-otel replay` with `args` (the bare binary, no environment but its state dir): the
/// chat spans it wrote, or its stderr when it failed.
fn cli_replay_chats(args: &[&std::ffi::OsStr]) -> Result<Vec<Value>, String> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("spans.ndjson");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_codex-otel"))
        .arg("replay")
        .args(args)
        .arg("--spans-out")
        .arg(&out)
        .env_clear()
        .env("CODEX_OTEL_HOME", dir.path().join("state"))
        .output()
        .unwrap();
    if !run.status.success() {
        return Err(String::from_utf8_lossy(&run.stderr).into_owned());
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let spans = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap());
    Ok(spans
        .filter(|s| s["name"].as_str().is_some_and(|n| n.starts_with("chat ")))
        .collect())
}

#[test]
fn a_release_that_fired_no_hooks_replays_from_its_rollouts_alone_through_the_cli() {
    let name = "codex-0.140/compaction";
    let dir = scenario_dir(name);
    let rollouts = dir.join("rollouts");
    let empty_hooks = dir.join("hooks.ndjson");
    assert_eq!(std::fs::metadata(&empty_hooks).unwrap().len(), 0);
    let truth = model_calls(name);
    for args in [
        vec!["--transcripts".as_ref(), rollouts.as_os_str()],
        vec![
            empty_hooks.as_os_str(),
            "--transcripts".as_ref(),
            rollouts.as_os_str(),
        ],
    ] {
        let chats = cli_replay_chats(&args).unwrap();
        let input = |s: &Value| {
            let attrs = s["attributes"].as_array().unwrap();
            let found = attrs.iter().find(|kv| kv[0] == key::USAGE_INPUT_TOKENS);
            found.and_then(|kv| kv[1].as_i64()).unwrap()
        };
        let got: Vec<i64> = chats.iter().map(input).collect();
        let want: Vec<i64> = truth.iter().map(|c| c.input_tokens).collect();
        assert_eq!(got, want, "{args:?}");
    }
    let nothing = cli_replay_chats(&[empty_hooks.as_os_str()]).unwrap_err();
    assert!(nothing.contains("no hook event"), "{nothing}");
}

#[test]
fn the_hooks_each_release_ran_from_config_toml_are_the_ones_the_readme_table_names() {
    let five = [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Stop",
    ];
    let six = [&five[..], &["SessionEnd"]].concat();
    for (release, expected) in [
        ("codex-0.125", &five[..]),
        ("codex-0.130", &[][..]),
        ("codex-0.140", &[][..]),
        ("codex-0.150", &six[..]),
        ("codex-0.160", &six[..]),
    ] {
        let name = format!("{release}/shell");
        let ran: Vec<String> = crate::support::fixtures::hooks(&name)
            .iter()
            .map(|h| h.event.name().to_owned())
            .collect();
        assert_eq!(ran, expected, "{name}");
    }
}
