//! The npm packages: their manifests, what `npm pack` ships, and the shims running the native
//! binaries.

use super::builds::{NpmPrefix, Packed};
use super::{daemon_pid, ok, read_json, repo_root};
use crate::support::bin::{run, Home};
use crate::support::codex::poll;
use anyhow::{ensure, Context, Result};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn every_npm_manifest_carries_the_crate_version_and_each_platform_its_os_and_cpu() -> Result<()> {
    let npm = repo_root().join("npm");
    let main = read_json(&npm.join("codex-otel/package.json"))?;
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(main["name"], "codex-otel");
    assert_eq!(main["version"], version);
    assert!(main.get("scripts").is_none(), "no install script");
    for bin in ["codex-otel", "codex-otel-hook"] {
        let shim = main["bin"][bin].as_str().context("bin entry")?;
        assert!(npm.join("codex-otel").join(shim).is_file(), "{shim}");
    }
    let mut platforms = BTreeSet::new();
    for entry in std::fs::read_dir(npm.join("platforms"))? {
        let dir = entry?.path();
        let name = dir
            .file_name()
            .context("name")?
            .to_string_lossy()
            .into_owned();
        let manifest = read_json(&dir.join("package.json"))?;
        let (os, cpu) = name.split_once('-').context("<os>-<cpu>")?;
        assert_eq!(manifest["name"], format!("@codex-otel/{name}"));
        assert_eq!(manifest["version"], version, "{name}");
        assert_eq!(
            (&manifest["os"], &manifest["cpu"]),
            (&json!([os]), &json!([cpu]))
        );
        assert!(
            manifest.get("scripts").is_none(),
            "{name}: no install script"
        );
        platforms.insert(format!("@codex-otel/{name}"));
    }
    let optional = main["optionalDependencies"]
        .as_object()
        .context("optional")?;
    let listed: BTreeSet<String> = optional.keys().cloned().collect();
    assert_eq!(listed, platforms);
    assert!(optional.values().all(|v| v == version), "{optional:?}");
    let shipped: BTreeSet<&str> = ["darwin", "linux", "win32"].into();
    assert!(platforms
        .iter()
        .all(|p| shipped.iter().any(|os| p.contains(os))));
    assert_eq!(platforms.len(), 5, "Codex's platforms: {platforms:?}");
    Ok(())
}

#[test]
fn npm_pack_ships_the_shims_the_plugin_and_the_prebuilt_binaries() -> Result<()> {
    let Some(packed) = Packed::build()? else {
        return Ok(());
    };
    let list = |tarball: &Path| -> Result<BTreeSet<String>> {
        let output = Command::new("tar").arg("tzf").arg(tarball).output()?;
        Ok(ok(output, "tar tzf")?.lines().map(str::to_owned).collect())
    };
    let main = list(&packed.main)?;
    for file in [
        "bin/codex-otel.js",
        "bin/codex-otel-hook.js",
        "lib/native.js",
        "plugin/bin/codex-otel-hook",
        "plugin/hooks/hooks.json",
        "plugin/.codex-plugin/plugin.json",
        ".agents/plugins/marketplace.json",
    ] {
        assert!(
            main.contains(&format!("package/{file}")),
            "{file} in {main:?}"
        );
    }
    let platform = list(&packed.platform)?;
    let expected: BTreeSet<String> = ["package.json", "bin/codex-otel", "bin/codex-otel-hook"]
        .map(|file| format!("package/{file}"))
        .into();
    assert_eq!(platform, expected);
    Ok(())
}

#[test]
fn the_npm_shims_pass_stdio_exit_codes_and_signals_and_a_missing_binary_is_only_logged(
) -> Result<()> {
    let Some(packed) = Packed::build()? else {
        return Ok(());
    };
    let prefix = packed.install()?;
    let state = Home::new();
    let shim = |name: &str, args: &[&str]| {
        let file = prefix.bin().join(name);
        let mut command = state.shell(&format!("'{}' \"$@\"", file.display()));
        command.arg("shim").args(args);
        command
    };
    let version = run(shim("codex-otel", &["--version"]), b"");
    let said = format!("codex-otel {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(ok(version, "codex-otel --version")?, said);
    let unknown = run(shim("codex-otel", &["no-such-command"]), b"");
    assert_eq!(unknown.status.code(), Some(2), "the native exit code");

    let payload = json!({"session_id": "npm-shim", "hook_event_name": "Stop"}).to_string();
    let hooked = run(shim("codex-otel-hook", &[]), payload.as_bytes());
    assert_eq!((hooked.status.code(), hooked.stdout.len()), (Some(0), 0));
    assert_eq!(state.journal("npm-shim").len(), 1, "stdin reached the hook");
    assert_sigterm_reaches_the_native_daemon(&prefix)?;

    let data = state.outer().join("plugin-data");
    std::fs::remove_dir_all(prefix.native("codex-otel-hook").parent().context("bin")?)?;
    let mut missing = shim("codex-otel-hook", &[]);
    missing.env("PLUGIN_DATA", &data);
    let hooked = run(missing, &vec![b'x'; 1 << 20]);
    assert_eq!((hooked.status.code(), hooked.stdout.len()), (Some(0), 0));
    let log = std::fs::read_to_string(data.join("launcher.log"))?;
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(
        log.contains("@codex-otel/linux-x64 is not installed"),
        "{log}"
    );
    Ok(())
}

/// `codex-otel daemon` through the npm shim: a SIGTERM sent to the shim (node) stops the
/// native daemon too, which then ends the shim.
fn assert_sigterm_reaches_the_native_daemon(prefix: &NpmPrefix) -> Result<()> {
    let state = tempfile::tempdir()?;
    let mut shim = Command::new(prefix.bin().join("codex-otel"))
        .arg("daemon")
        .env("CODEX_OTEL_HOME", state.path())
        .stdin(Stdio::null())
        .spawn()?;
    let daemon = poll("the daemon's start", Duration::from_secs(30), || {
        Ok(daemon_pid(state.path()).ok())
    })?;
    // SAFETY: kill(2) on the pid of a child not yet reaped.
    unsafe { libc::kill(shim.id() as libc::pid_t, libc::SIGTERM) };
    let ended = shim.wait()?;
    let gone = poll("the daemon's exit", Duration::from_secs(30), || {
        Ok((!Path::new(&format!("/proc/{daemon}")).exists()).then_some(()))
    });
    if gone.is_err() {
        // SAFETY: kill(2) on the daemon this test started, so that a failure leaks nothing.
        unsafe { libc::kill(daemon as libc::pid_t, libc::SIGKILL) };
    }
    ensure!(gone.is_ok(), "daemon {daemon} outlived its shim ({ended})");
    Ok(())
}
