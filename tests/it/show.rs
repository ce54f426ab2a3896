//! `codex-otel show` on recorded real Codex sessions in the local store: what each session did
//! (commands, exit codes, permission decisions, compaction) and what it cost, per model, equal
//! to the mock Responses API's ground truth; `show --list`; width and colour rules; and a
//! `flush` that waits saying what it waits on.

use crate::support::bin::Home;
use crate::support::fixtures;
use codex_otel::export::file::LocalStore;
use codex_otel::export::{ResourceConfig, StoreConfig};
use codex_otel::session::SessionConfig;

/// A state directory whose local store holds the recorded `scenarios`.
fn store_with(scenarios: &[&str]) -> Home {
    let home = Home::new();
    let store = LocalStore::new(
        &StoreConfig {
            dir: home.state().store_dir(),
        },
        &ResourceConfig::default(),
    );
    for scenario in scenarios {
        let spans = fixtures::replay_with(scenario, &SessionConfig::default());
        store.append(&spans).expect("stored");
    }
    home
}

/// `codex-otel <args>`'s stdout (it must succeed), with extra environment variables.
fn run(home: &Home, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = home.command(args);
    command.envs(env.iter().copied());
    let output = command.output().expect("runs");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The totals line the ground truth says `show` must print for `scenario`'s one model.
fn expected_total(scenario: &str) -> String {
    let calls = fixtures::model_calls(scenario);
    let sum = |f: fn(&fixtures::ModelCall) -> i64| calls.iter().map(f).sum::<i64>();
    format!(
        "total {}  {} calls  tokens in={} cached={} out={} reasoning={}",
        calls[0].model,
        calls.len(),
        sum(|c| c.input_tokens),
        sum(|c| c.cached_tokens),
        sum(|c| c.output_tokens),
        sum(|c| c.reasoning_tokens),
    )
}

#[test]
fn each_session_ends_with_what_its_model_calls_cost_exactly() {
    for scenario in [
        "shell",
        "subagent",
        "compaction",
        "permission",
        "failing-command",
    ] {
        let home = store_with(&[scenario]);
        let shown = run(&home, &["show", "--last"], &[]);
        let last = shown.lines().last().unwrap_or_default();
        assert_eq!(last, expected_total(scenario), "{scenario}:\n{shown}");
    }
}

#[test]
fn tool_lines_show_the_command_its_exit_code_and_the_permission_decision() {
    let home = store_with(&["permission"]);
    let shown = run(&home, &["show", "--last"], &[]);
    let tool = shown
        .lines()
        .find(|line| line.contains("execute_tool"))
        .unwrap_or_else(|| panic!("no tool line:\n{shown}"));
    assert!(tool.contains("$ echo needs-approval"), "{tool}");
    assert!(tool.contains("exit=0"), "{tool}");
    assert!(tool.contains("permission approved"), "{tool}");

    let home = store_with(&["failing-command"]);
    let shown = run(&home, &["show", "--last"], &[]);
    assert!(shown.contains("$ ls /nonexistent  exit=2"), "{shown}");
}

#[test]
fn the_compaction_summary_call_is_marked() {
    let home = store_with(&["compaction"]);
    let shown = run(&home, &["show", "--last"], &[]);
    let marked: Vec<&str> = shown.lines().filter(|l| l.contains("COMPACTION")).collect();
    assert_eq!(marked.len(), 1, "{shown}");
    assert!(marked[0].contains("chat "), "{shown}");
}

#[test]
fn lines_fit_the_width_and_a_pipe_gets_no_colour() {
    let home = store_with(&["permission"]);
    let narrow = run(&home, &["show", "--last"], &[("COLUMNS", "40")]);
    for line in narrow.lines().skip(1) {
        assert!(line.chars().count() <= 40, "{line:?}");
    }
    assert!(narrow.lines().any(|line| line.ends_with('…')), "{narrow}");
    assert!(
        !narrow.contains('\u{1b}'),
        "no colour into a pipe:\n{narrow}"
    );
}

#[test]
fn the_list_shows_every_stored_session_with_its_prompt_turns_and_tokens() {
    let home = store_with(&["shell", "permission"]);
    let listed = run(&home, &["show", "--list"], &[]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "a header and one line per session:\n{listed}"
    );
    assert!(lines[0].starts_with("started (UTC)"), "{listed}");
    for scenario in ["shell", "permission"] {
        let hooks = std::fs::read_to_string(fixtures::scenario_dir(scenario).join("hooks.ndjson"))
            .expect("hooks");
        let prompt = hooks
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find_map(|hook| hook["prompt"].as_str().map(str::to_owned))
            .expect("a prompt");
        let calls = fixtures::model_calls(scenario);
        let tokens: i64 = calls.iter().map(|c| c.input_tokens + c.output_tokens).sum();
        let line = lines
            .iter()
            .find(|l| l.contains(prompt.as_str()))
            .unwrap_or_else(|| panic!("{scenario} not listed:\n{listed}"));
        assert!(line.contains(&format!("  {tokens}  ")), "{line}");
    }
}

#[test]
fn a_flush_waiting_on_a_dead_destination_says_what_it_waits_on_and_the_last_error() {
    use crate::support::daemon::{Daemon, Feed};
    let home = Home::new();
    // Nothing listens on port 1: every attempt is refused and the spans stay queued.
    let env = [(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://127.0.0.1:1".to_owned(),
    )];
    let daemon = Daemon::start(&home, &env);
    let feed = Feed::fixture("shell", &home.outer().join("shell"));
    feed.feed(&home, &env, 0..feed.steps.len());
    let output = home
        .command(&["flush", "--timeout", "2.5"])
        .output()
        .expect("runs");
    assert!(
        !output.status.success(),
        "the flush cannot finish: {output:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let note = stderr
        .lines()
        .find(|line| line.starts_with("codex-otel: still waiting after 1s: "))
        .unwrap_or_else(|| panic!("no note after a second:\n{stderr}"));
    assert!(
        note.contains("otlp: ") && note.contains("spans queued"),
        "{note}"
    );
    assert!(note.contains("last error"), "{note}");
    assert!(output.stdout.is_empty(), "notes never go to stdout");
    drop(daemon);
}
