//! Real Codex sessions traced through each packaged install.

use super::builds::{Packed, Wheel};
use super::{daemon_exe, ok, path_without_codex_otel, EXEC_TIMEOUT};
use crate::support::codex::CodexSandbox;
use crate::support::fake_otlp::FakeOtlp;
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// A user's install of codex-otel: the directory `PATH` gets, the plugin marketplace it ships,
/// the native `codex-otel` its daemon must run, and variables its lookup needs.
struct UserInstall {
    bin: PathBuf,
    marketplace: PathBuf,
    daemon: PathBuf,
    env: Vec<(&'static str, OsString)>,
}

/// Adds `install`'s plugin to a real Codex whose `PATH` has no other codex-otel, runs one
/// `codex exec` with a shell call, and asserts its whole trace reached a receiver, exported
/// by a daemon of the same install; `Ok(None)` when Codex is missing.
fn assert_traced_live(sandbox: &CodexSandbox, install: &UserInstall) -> Result<()> {
    let path = path_without_codex_otel(Some(&install.bin))?;
    sandbox.install_plugin(&install.marketplace, "codex-otel", "codex-otel")?;
    let runtime = tokio::runtime::Runtime::new()?;
    let receiver = runtime.block_on(FakeOtlp::http());
    let state = tempfile::tempdir()?;
    let home = tempfile::tempdir()?;
    let run = sandbox
        .exec("please run echo hello")
        .env("PATH", &path)
        .env("HOME", home.path())
        .env("CODEX_OTEL_HOME", state.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url(""));
    let run = install.env.iter().fold(run, |run, (k, v)| run.env(k, v));
    let run = run.timeout(EXEC_TIMEOUT).run()?.expect_success()?;
    let session = run.session_id.clone().context("no session id")?;
    let installed = |args: &[&str]| {
        Command::new(install.bin.join("codex-otel"))
            .args(args)
            .env("PATH", &path)
            .env("CODEX_OTEL_HOME", state.path())
            .output()
    };
    let flushed = installed(&["flush", "--timeout", "30"]);
    let daemon = daemon_exe(state.path());
    let _ = installed(&["stop"]);
    ok(flushed?, "codex-otel flush (as installed)")?;
    assert_eq!(daemon?, std::fs::canonicalize(&install.daemon)?);

    let spans = receiver.spans();
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "chat mock-model",
            "chat mock-model",
            "execute_tool exec_command",
            "invoke_agent codex",
            "turn 1"
        ],
        "session {session}"
    );
    let traces: BTreeSet<String> = spans.iter().map(|s| format!("{:?}", s.trace_id)).collect();
    assert_eq!(traces.len(), 1, "one trace");
    Ok(())
}

#[test]
fn npm_install_g_then_plugin_add_traces_a_real_codex_session_to_a_receiver() -> Result<()> {
    let Some(sandbox) = CodexSandbox::start()? else {
        return Ok(());
    };
    let Some(packed) = Packed::build()? else {
        return Ok(());
    };
    let prefix = packed.install()?;
    let install = UserInstall {
        bin: prefix.bin(),
        marketplace: prefix.root()?.join("codex-otel"),
        daemon: prefix.native("codex-otel"),
        env: vec![("npm_config_prefix", prefix.0.clone().into())],
    };
    assert_traced_live(&sandbox, &install)
}

#[test]
fn the_wheel_installed_into_a_fresh_venv_traces_a_real_codex_session_to_a_receiver() -> Result<()> {
    let Some(sandbox) = CodexSandbox::start()? else {
        return Ok(());
    };
    let Some(wheel) = Wheel::build()? else {
        return Ok(());
    };
    let venv = wheel.install()?;
    let install = UserInstall {
        bin: venv.join("bin"),
        marketplace: venv.join("share/codex-otel"),
        daemon: venv.join("bin/codex-otel"),
        env: Vec::new(),
    };
    assert_traced_live(&sandbox, &install)
}
