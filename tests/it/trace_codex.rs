//! A trace-codex user's setup, unchanged, with the real Codex CLI and the codex-otel plugin
//! delivering to the header-checking sink on Braintrust's path: settings only in the plugin's
//! `config.json`, a record file that replays to the same span ids, and the seed's CI recipe
//! word for word.

use crate::support::codex_version::CodexVersion::V0171;
use crate::support::live::{assert_exact_usage, calls_of, outline, session_of, Live};
use crate::support::model_requests::assert_every_model_request_journaled;
use crate::support::receivers::{BT_API_KEY, BT_PROJECT};
use crate::support::relay::{Relay, Target};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The spans a shell call gives, as an outline.
const SHELL_OUTLINE: &str =
    "invoke_agent codex\n  turn 1\n    chat mock-model\n    execute_tool exec_command\n    chat mock-model\n";

/// How long a slow network holds each piece of a request: a delivery takes longer than Codex
/// needs to exit after its last hook, so only a hook that waits for delivery sees it done.
const SLOW_NETWORK: Duration = Duration::from_millis(250);

/// A relay in front of the sink that delays every request by [`SLOW_NETWORK`].
fn slow_path_to_sink(live: &Live) -> Result<Relay> {
    let sink = live.sink.base_url();
    let addr = sink.trim_start_matches("http://").parse()?;
    Ok(live
        .runtime
        .block_on(Relay::start(Target::Slow(addr, SLOW_NETWORK))))
}

/// Writes `config.json` where Codex points `PLUGIN_DATA` for `codex-otel@codex-otel`.
fn write_config_json(live: &Live, config: &Value) -> Result<PathBuf> {
    let dir = live
        .sandbox
        .home()
        .join("plugins/data/codex-otel-codex-otel");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_vec_pretty(config)?)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(path)
}

fn span_ids<'a>(spans: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    spans
        .into_iter()
        .filter_map(|s| s["span_id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn settings_only_in_config_json_deliver_to_braintrust_with_its_project_before_exec_returns(
) -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let relay = slow_path_to_sink(&live)?;
    write_config_json(
        &live,
        &json!({
            "traceToBraintrust": true,
            "apiKey": BT_API_KEY,
            "project": BT_PROJECT,
            "apiUrl": relay.url(),
            "flushOnTurnEnd": true,
            "port": 52734,
        }),
    )?;
    // No Braintrust variable at all: only the state directory and the binary are set.
    let run = live
        .sandbox
        .exec("please run echo hello")
        .env("CODEX_OTEL_BIN", env!("CARGO_BIN_EXE_codex-otel"))
        .env("CODEX_OTEL_HOME", live.state.path())
        .timeout(Duration::from_secs(60))
        .run()?
        .expect_success()?;
    let session = session_of(&run)?;
    // No flush: `flushOnTurnEnd` made the Stop and SessionEnd hooks wait for delivery.
    // `received` demands the key and the project in every accepted request's headers.
    let spans = live.received(&session)?;
    assert_eq!(outline(&spans), SHELL_OUTLINE);
    assert_exact_usage(&spans, &calls_of(&live, &spans)?);
    Ok(())
}

#[test]
fn a_config_json_with_an_api_key_others_can_read_is_refused() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let path = write_config_json(
        &live,
        &json!({"traceToBraintrust": true, "apiKey": BT_API_KEY, "project": BT_PROJECT,
                "apiUrl": live.sink.base_url()}),
    )?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    let run = live
        .sandbox
        .exec("please run echo hello")
        .env("CODEX_OTEL_BIN", env!("CARGO_BIN_EXE_codex-otel"))
        .env("CODEX_OTEL_HOME", live.state.path())
        .timeout(Duration::from_secs(60))
        .run()?
        .expect_success()?;
    let session = session_of(&run)?;
    live.flush()?;
    assert!(live.received(&session)?.is_empty(), "the key was used");
    let log = std::fs::read_to_string(live.state.path().join("codex-otel.log"))?;
    assert!(log.contains("holds apiKey but others can read it"), "{log}");
    assert!(!log.contains(BT_API_KEY), "{log}");
    Ok(())
}

#[test]
fn a_record_file_of_a_live_run_replays_to_the_same_span_ids() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let records = tempfile::tempdir()?;
    let record = records.path().join("events.ndjson");
    let run = live
        .exec("please run echo hello")
        .env("BRAINTRUST_EVENT_SERVER_RECORD_FILE", &record)
        .run()?
        .expect_success()?;
    let session = session_of(&run)?;
    live.flush()?;
    let delivered = live.received(&session)?;
    assert_eq!(outline(&delivered), SHELL_OUTLINE);

    let text = std::fs::read_to_string(&record).context("the record file")?;
    let events: Vec<Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let payloads: Vec<Value> = events.iter().map(|line| line["event"].clone()).collect();
    assert_every_model_request_journaled(&payloads, &calls_of(&live, &delivered)?, V0171);
    // The model-request hooks may run beside the next lifecycle hook: their order is checked
    // above, the lifecycle's here.
    let names: Vec<&str> = payloads
        .iter()
        .filter_map(|event| event["hook_event_name"].as_str())
        .filter(|name| !name.ends_with("ModelRequest"))
        .collect();
    assert_eq!(
        names,
        [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse",
            "PostToolUse",
            "Stop",
            "SessionEnd"
        ]
    );
    let mode = std::fs::metadata(&record)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!text.contains(BT_API_KEY));

    let replayed = replay(&record, records.path())?;
    assert_eq!(span_ids(&replayed), span_ids(&delivered));
    Ok(())
}

/// `codex-otel replay <record> --spans-out …` in a bare environment; the spans it wrote.
fn replay(record: &Path, dir: &Path) -> Result<Vec<Value>> {
    let out = dir.join("replayed.ndjson");
    let replayed = Command::new(env!("CARGO_BIN_EXE_codex-otel"))
        .arg("replay")
        .arg(record)
        .arg("--spans-out")
        .arg(&out)
        .env_clear()
        .env("CODEX_OTEL_HOME", dir.join("replay-state"))
        .output()?;
    let stderr = String::from_utf8_lossy(&replayed.stderr);
    anyhow::ensure!(replayed.status.success(), "replay failed: {stderr}");
    std::fs::read_to_string(&out)?
        .lines()
        .map(|line| Ok(serde_json::from_str(line)?))
        .collect()
}

#[test]
fn the_seed_ci_recipe_word_for_word_delivers_every_span_before_codex_exec_returns() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let relay = slow_path_to_sink(&live)?;
    // The recipe's environment block and command line; only the API URL points at the sink,
    // through a slow network.
    let run = live
        .sandbox
        .exec("please run echo hello")
        .arg("--sandbox")
        .arg("read-only")
        .env("TRACE_TO_BRAINTRUST", "true")
        .env("BRAINTRUST_API_KEY", BT_API_KEY)
        .env("BRAINTRUST_PROJECT", BT_PROJECT)
        .env("BRAINTRUST_FLUSH_ON_TURN_END", "true")
        .env("BRAINTRUST_API_URL", relay.url())
        .env("CODEX_OTEL_BIN", env!("CARGO_BIN_EXE_codex-otel"))
        .env("CODEX_OTEL_HOME", live.state.path())
        .timeout(Duration::from_secs(60))
        .run()?
        .expect_success()?;
    let session = session_of(&run)?;
    // No flush: what the sink holds now is what a CI job would have delivered when it ends.
    let spans = live.received(&session)?;
    assert_eq!(outline(&spans), SHELL_OUTLINE);
    assert_exact_usage(&spans, &calls_of(&live, &spans)?);
    Ok(())
}

/// A marketplace `braintrust` holding a stand-in `trace-codex` plugin (no hooks).
fn trace_codex_marketplace(dir: &Path) -> Result<()> {
    let plugin = dir.join("plugins/trace-codex");
    std::fs::create_dir_all(plugin.join(".codex-plugin"))?;
    std::fs::create_dir_all(dir.join(".agents/plugins"))?;
    let manifest = json!({"name": "trace-codex", "version": "0.0.1",
                          "description": "stand-in for Braintrust's trace-codex"});
    std::fs::write(
        plugin.join(".codex-plugin/plugin.json"),
        manifest.to_string(),
    )?;
    let market = json!({"name": "braintrust", "plugins": [{
        "name": "trace-codex",
        "source": {"source": "local", "path": "./plugins/trace-codex"},
        "policy": {"installation": "AVAILABLE", "authentication": "ON_INSTALL"},
        "category": "Developer tools"
    }]});
    std::fs::write(
        dir.join(".agents/plugins/marketplace.json"),
        market.to_string(),
    )?;
    Ok(())
}

#[test]
fn doctor_names_trace_codex_beside_codex_otel_and_install_takes_over_its_settings() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let market = tempfile::tempdir()?;
    trace_codex_marketplace(market.path())?;
    live.sandbox
        .install_plugin(market.path(), "trace-codex", "braintrust")?;
    let home = live.sandbox.home();
    let theirs = home.join("plugins/data/trace-codex-braintrust/config.json");
    std::fs::create_dir_all(theirs.parent().context("parent")?)?;
    let settings = json!({"traceToBraintrust": true, "apiKey": BT_API_KEY, "project": BT_PROJECT});
    std::fs::write(&theirs, settings.to_string())?;
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o600))?;

    let home_arg = home.to_str().context("home")?;
    let doctor = live.codex_otel(&["doctor", "--offline", "--codex-home", home_arg])?;
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(!doctor.status.success(), "{report}");
    assert!(
        report.contains("trace-codex is installed as the plugin trace-codex@braintrust")
            && report.contains("fix: codex plugin remove trace-codex@braintrust"),
        "{report}"
    );

    let install = live.codex_otel(&[
        "install",
        "--codex-home",
        home_arg,
        "--take-over-trace-codex",
    ])?;
    let said = String::from_utf8_lossy(&install.stdout);
    assert!(install.status.success(), "{said}");
    let ours = home.join("plugins/data/codex-otel-codex-otel/config.json");
    assert_eq!(std::fs::read(&ours)?, std::fs::read(&theirs)?, "{said}");
    assert_eq!(
        std::fs::metadata(&ours)?.permissions().mode() & 0o777,
        0o600
    );

    // The fix doctor gave, run as given, leaves no trace-codex finding.
    live.sandbox
        .run_codex(&["plugin", "remove", "trace-codex@braintrust"])?;
    let doctor = live.codex_otel(&["doctor", "--offline", "--codex-home", home_arg])?;
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(!report.contains("trace-codex is installed"), "{report}");
    assert!(
        report.contains("config.json") && report.contains("traceToBraintrust, apiKey, project"),
        "{report}"
    );
    Ok(())
}

/// Stops the daemon and waits until it is gone, so nothing of the first run stays in memory.
fn stop_daemon(live: &Live) -> Result<()> {
    live.codex_otel(&["stop"])?;
    wait_for_status(live, "no daemon running")
}

/// Waits (bounded) until `codex-otel status` prints `text`.
fn wait_for_status(live: &Live, text: &str) -> Result<()> {
    let mut status = String::new();
    for _ in 0..150 {
        status = String::from_utf8(live.codex_otel(&["status"])?.stdout)?;
        if status.contains(text) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("status never said {text:?}:\n{status}")
}

#[test]
fn a_session_resumed_in_a_clean_environment_continues_its_trace_at_its_first_destination(
) -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    let first = live.exec("please run echo hello").run()?.expect_success()?;
    let session = session_of(&first)?;
    live.flush()?;
    assert_eq!(outline(&live.received(&session)?), SHELL_OUTLINE);
    stop_daemon(&live)?;

    // A clean shell: no Braintrust variable, and no key in any config.json.
    let resumed = live
        .sandbox
        .exec_resume(&session, "NOTOOL second turn")
        .env("CODEX_OTEL_BIN", env!("CARGO_BIN_EXE_codex-otel"))
        .env("CODEX_OTEL_HOME", live.state.path())
        .timeout(Duration::from_secs(60))
        .run()?
        .expect_success()?;
    assert_eq!(session_of(&resumed)?, session);
    wait_for_status(&live, "waiting for BRAINTRUST_API_KEY")?;
    assert_eq!(outline(&live.received(&session)?), SHELL_OUTLINE);
    let store = codex_otel::paths::StateDir::new(live.state.path()).store_dir();
    let stored = codex_otel::export::file::list_sessions(&store).unwrap_or_default();
    assert!(stored.is_empty(), "the resumed spans went elsewhere");

    // The key alone arrives in config.json: everything else is the first run's route.
    write_config_json(&live, &json!({"apiKey": BT_API_KEY}))?;
    live.flush()?;
    let spans = live.received(&session)?;
    assert_eq!(
        outline(&spans),
        format!("{SHELL_OUTLINE}  invoke_agent codex\n    turn 2\n      chat mock-model\n")
    );
    assert_exact_usage(&spans, &calls_of(&live, &spans)?);
    let route = std::fs::read_dir(live.state.path().join("routes"))?
        .map(|entry| std::fs::read_to_string(entry?.path()))
        .collect::<Result<String, _>>()?;
    assert!(
        route.contains(BT_PROJECT) && !route.contains(BT_API_KEY),
        "{route}"
    );
    Ok(())
}

#[test]
fn codex_passes_the_plugin_the_data_directory_config_json_is_looked_for_in() -> Result<()> {
    let Some(live) = Live::start()? else {
        return Ok(());
    };
    // A stand-in hook binary for the plugin's launcher that writes down PLUGIN_DATA.
    let probe_dir = tempfile::tempdir()?;
    let seen = probe_dir.path().join("plugin-data");
    let probe = probe_dir.path().join("probe");
    let script = format!(
        "#!/bin/sh\nprintf '%s' \"$PLUGIN_DATA\" > '{}'\ncat >/dev/null\n",
        seen.display()
    );
    std::fs::write(&probe, script)?;
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755))?;
    live.sandbox
        .exec("NOTOOL hello")
        .env("CODEX_OTEL_HOOK_BIN", &probe)
        .timeout(Duration::from_secs(60))
        .run()?
        .expect_success()?;
    let plugin_data = std::fs::read_to_string(&seen).context("the probe never ran")?;
    let expected = codex_otel::config::config_json::in_codex_home(&live.sandbox.home());
    assert_eq!(Path::new(&plugin_data).join("config.json"), expected);
    Ok(())
}
