//! The real Codex CLI end to end against the scripted Responses mock (0.171, and 0.169 for the
//! shell run): which hooks fire in which order, what the rollout records per model call, how
//! resume, compaction and plugin hooks behave. These pin the harness (`support::codex`) and the Codex behaviour codex-otel relies
//! on; each test skips with a printed reason when Codex is not installed.

use crate::support::codex::{read_captures, CodexRun, CodexSandbox, CodexVersion};
use crate::support::model_requests::assert_every_model_request_journaled;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// Generous bound for one `codex exec` (about a second when healthy).
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// `hook_event_name` of each payload, in order, except PreModelRequest and PostModelRequest
/// (checked apart: their handlers race with the tool hooks).
fn event_names(hooks: &[Value]) -> Vec<&str> {
    hooks
        .iter()
        .map(|h| h["hook_event_name"].as_str().unwrap_or("?"))
        .filter(|name| !name.ends_with("ModelRequest"))
        .collect()
}

/// The records of `kind` (top-level `type`, or `payload.type` inside `event_msg`) in a rollout.
fn records_of<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["type"] == kind || (r["type"] == "event_msg" && r["payload"]["type"] == kind))
        .collect()
}

/// The only rollout file of a single-thread sandbox, parsed.
fn single_rollout(sandbox: &CodexSandbox) -> Result<Vec<Value>> {
    let rollouts = sandbox.rollouts()?;
    anyhow::ensure!(
        rollouts.len() == 1,
        "expected one rollout, got {rollouts:?}"
    );
    sandbox.rollout_records(&rollouts[0])
}

fn run_exec(sandbox: &CodexSandbox, prompt: &str) -> Result<CodexRun> {
    let run = sandbox
        .exec(prompt)
        .timeout(EXEC_TIMEOUT)
        .run()?
        .expect_success()?;
    eprintln!("codex exec {prompt:?} took {:?}", run.elapsed);
    Ok(run)
}

#[test]
fn a_shell_exec_fires_six_hooks_and_records_one_usage_record_per_model_call() -> Result<()> {
    shell_exec_hooks_and_usage_records(CodexVersion::V0171)
}

#[test]
fn on_codex_0169_a_shell_exec_fires_six_hooks_and_one_usage_record_per_model_call() -> Result<()> {
    shell_exec_hooks_and_usage_records(CodexVersion::V0169)
}

fn shell_exec_hooks_and_usage_records(version: CodexVersion) -> Result<()> {
    let Some(sandbox) = CodexSandbox::start_on(version)? else {
        return Ok(());
    };
    sandbox.add_capture_hooks()?;
    let run = run_exec(&sandbox, "please run echo hello")?;

    let hooks = sandbox.captured_hooks()?;
    assert_eq!(
        event_names(&hooks),
        [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse",
            "PostToolUse",
            "Stop",
            "SessionEnd"
        ]
    );
    let session = run
        .session_id
        .clone()
        .context("no `session id:` on stderr")?;
    let workspace = sandbox.workspace();
    for hook in &hooks {
        assert_eq!(hook["session_id"], json!(session), "{hook}");
        assert_eq!(
            hook["cwd"].as_str().map(Path::new),
            Some(workspace.as_path()),
            "{hook}"
        );
    }
    let named = |name: &str| hooks.iter().find(|h| h["hook_event_name"] == name);
    assert_eq!(
        named("PreToolUse").context("PreToolUse")?["tool_name"],
        "Bash"
    );
    assert_eq!(
        named("PostToolUse").context("PostToolUse")?["tool_response"],
        "hello\n"
    );
    assert_every_model_request_journaled(&hooks, &sandbox.mock().model_calls()?, version);
    assert!(run.stdout.contains("hello"), "stdout: {}", run.stdout);

    let records = single_rollout(&sandbox)?;
    let transcript = hooks[0]["transcript_path"].as_str().map(Path::new);
    assert_eq!(transcript, Some(sandbox.rollouts()?[0].as_path()));
    assert!(transcript.is_some_and(|t| t.starts_with(sandbox.home().join("sessions"))));
    let recorded: Vec<&Value> = records_of(&records, "token_usage_record")
        .into_iter()
        .map(|r| &r["payload"]["response_id"])
        .collect();
    let truth: Vec<Value> = sandbox
        .mock()
        .model_calls()?
        .into_iter()
        .map(|c| json!(c.response_id))
        .collect();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded, truth.iter().collect::<Vec<_>>());

    let model_requests: Vec<Value> = sandbox
        .mock()
        .requests()?
        .into_iter()
        .filter(|r| r["path"] == "/v1/responses")
        .collect();
    assert_eq!(model_requests.len(), 2);
    assert!(model_requests
        .iter()
        .all(|r| r["headers"]["authorization"] == "Bearer sk-mock"));
    Ok(())
}

#[test]
fn a_resumed_session_appends_a_turn_to_the_same_rollout() -> Result<()> {
    let Some(sandbox) = CodexSandbox::start()? else {
        return Ok(());
    };
    sandbox.add_capture_hooks()?;
    let first = run_exec(&sandbox, "NOTOOL first turn")?;
    let session = first.session_id.context("no `session id:` on stderr")?;
    let second = sandbox
        .exec_resume(&session, "NOTOOL second turn")
        .timeout(EXEC_TIMEOUT)
        .run()?
        .expect_success()?;

    assert_eq!(second.session_id.as_deref(), Some(session.as_str()));
    let hooks = sandbox.captured_hooks()?;
    let starts: Vec<&Value> = hooks
        .iter()
        .filter(|h| h["hook_event_name"] == "SessionStart")
        .collect();
    assert_eq!(
        starts.iter().map(|h| &h["source"]).collect::<Vec<_>>(),
        ["startup", "resume"]
    );
    let records = single_rollout(&sandbox)?;
    assert_eq!(records_of(&records, "session_meta").len(), 1);
    assert_eq!(records_of(&records, "task_started").len(), 2);
    assert_eq!(records_of(&records, "token_usage_record").len(), 2);
    Ok(())
}

#[test]
fn auto_compaction_fires_the_compact_hooks_and_records_the_summary_call() -> Result<()> {
    let Some(sandbox) = CodexSandbox::start()? else {
        return Ok(());
    };
    sandbox.add_capture_hooks()?;
    sandbox
        .exec("COMPACT: please run echo hello")
        .arg("-c")
        .arg("model_auto_compact_token_limit=20000")
        .timeout(EXEC_TIMEOUT)
        .run()?
        .expect_success()?;

    let hooks = sandbox.captured_hooks()?;
    let names = event_names(&hooks);
    let from_post_tool = &names[names
        .iter()
        .position(|n| *n == "PostToolUse")
        .context("no PostToolUse")?..];
    assert_eq!(
        from_post_tool,
        [
            "PostToolUse",
            "PreCompact",
            "PostCompact",
            "SessionStart",
            "Stop",
            "SessionEnd"
        ]
    );
    let calls = sandbox.mock().model_calls()?;
    assert_eq!(calls.len(), 3);
    let records = single_rollout(&sandbox)?;
    let compacted = records_of(&records, "compacted");
    assert_eq!(compacted.len(), 1);
    assert_eq!(
        compacted[0]["payload"]["compaction_response_id"],
        json!(calls[1].response_id)
    );
    Ok(())
}

/// Writes a local marketplace with one plugin whose hooks capture every payload into the
/// directory named by `$CAPTURE_DIR`.
fn write_capture_plugin(dir: &Path) -> Result<()> {
    let plugin = dir.join("plugins/capture");
    std::fs::create_dir_all(dir.join(".agents/plugins"))?;
    std::fs::create_dir_all(plugin.join(".codex-plugin"))?;
    std::fs::create_dir_all(plugin.join("hooks"))?;
    let marketplace = json!({"name": "it-market", "plugins": [{
        "name": "capture",
        "source": {"source": "local", "path": "./plugins/capture"},
        "policy": {"installation": "AVAILABLE", "authentication": "ON_INSTALL"},
        "category": "Developer tools"}]});
    let manifest = json!({"name": "capture", "version": "0.0.1", "description": "captures hook payloads",
        "hooks": "./hooks/hooks.json"});
    let command = r#"cat > "$CAPTURE_DIR/$(date +%s%N)-$$.json""#;
    let group = json!([{"hooks": [{"type": "command", "command": command, "timeout": 30}]}]);
    let hooks = json!({"hooks": {"SessionStart": group, "Stop": group}});
    std::fs::write(
        dir.join(".agents/plugins/marketplace.json"),
        marketplace.to_string(),
    )?;
    std::fs::write(
        plugin.join(".codex-plugin/plugin.json"),
        manifest.to_string(),
    )?;
    std::fs::write(plugin.join("hooks/hooks.json"), hooks.to_string())?;
    Ok(())
}

#[test]
fn plugin_hooks_run_only_when_trusted_or_bypassed() -> Result<()> {
    let Some(sandbox) = CodexSandbox::start()? else {
        return Ok(());
    };
    let market = tempfile::tempdir()?;
    let captures = tempfile::tempdir()?;
    write_capture_plugin(market.path())?;
    sandbox.install_plugin(market.path(), "capture", "it-market")?;

    let untrusted = sandbox
        .exec("NOTOOL untrusted")
        .without_hook_trust_bypass()
        .env("CAPTURE_DIR", captures.path())
        .timeout(EXEC_TIMEOUT)
        .run()?
        .expect_success()?;
    assert!(
        read_captures(captures.path())?.is_empty(),
        "stderr: {}",
        untrusted.stderr
    );

    sandbox
        .exec("NOTOOL bypassed")
        .env("CAPTURE_DIR", captures.path())
        .timeout(EXEC_TIMEOUT)
        .run()?
        .expect_success()?;
    assert_eq!(
        event_names(&read_captures(captures.path())?),
        ["SessionStart", "Stop"]
    );
    Ok(())
}
