//! The plugin's launcher with npm's install, and without any binary (its log, `doctor`).

use super::builds::Packed;
use super::{path_without_codex_otel, repo_root, EXEC_TIMEOUT};
use crate::support::bin::{run, Home};
use crate::support::codex::CodexSandbox;
use anyhow::{Context, Result};
use serde_json::json;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

/// The launcher of the repository's plugin with `PATH` = `path`, `HOME` = an empty directory
/// and `PLUGIN_DATA` = `data`, as `--print-binary` or as a hook fed `payload`.
fn launcher(state: &Home, path: &OsString, data: &Path, print: bool) -> Command {
    let script = repo_root().join("plugin/bin/codex-otel-hook");
    let flag = if print { " --print-binary" } else { "" };
    let mut command = state.shell(&format!("/bin/sh '{}'{flag}", script.display()));
    let home = state.outer().join("home");
    let _ = std::fs::create_dir_all(&home);
    command
        .env("PATH", path)
        .env("HOME", home)
        .env("PLUGIN_DATA", data);
    command
}

fn printed(output: Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn the_launcher_runs_npms_native_binary_on_path_and_finds_npms_prefix_off_path() -> Result<()> {
    let Some(packed) = Packed::build()? else {
        return Ok(());
    };
    let prefix = packed.install()?;
    let state = Home::new();
    let data = state.outer().join("data");
    let native = std::fs::canonicalize(prefix.native("codex-otel-hook"))?;
    let canonical = |shown: &str| std::fs::canonicalize(shown).unwrap_or_default();

    let on_path = std::env::join_paths([prefix.bin(), "/bin".into()])?;
    let shown = printed(run(launcher(&state, &on_path, &data, true), b""));
    assert_eq!(canonical(&shown), native, "not the node shim: {shown}");

    // Off PATH: a fake `npm` answers `prefix -g`; its answer is kept for the next hooks.
    let tools = state.outer().join("tools");
    std::fs::create_dir(&tools)?;
    let npm = tools.join("npm");
    let answer = format!(
        "#!/bin/sh\n[ \"$*\" = 'prefix -g' ] && echo '{}'\n",
        prefix.0.display()
    );
    std::fs::write(&npm, answer)?;
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755))?;
    std::os::unix::fs::symlink("/bin/cat", tools.join("cat"))?;
    let off_path = OsString::from(&tools);
    let shown = printed(run(launcher(&state, &off_path, &data, true), b""));
    assert_eq!(canonical(&shown), native, "{shown}");
    std::fs::remove_file(&npm)?;
    let payload = json!({"session_id": "npm-prefix", "hook_event_name": "Stop"}).to_string();
    let hooked = run(
        launcher(&state, &off_path, &data, false),
        payload.as_bytes(),
    );
    assert_eq!((hooked.status.code(), hooked.stdout.len()), (Some(0), 0));
    assert_eq!(
        state.journal("npm-prefix").len(),
        1,
        "cached prefix, npm gone"
    );
    Ok(())
}

#[test]
fn the_launcher_logs_one_line_when_it_finds_no_binary_and_clears_it_once_it_does() -> Result<()> {
    let state = Home::new();
    let data = state.outer().join("data");
    let empty = state.outer().join("empty");
    std::fs::create_dir(&empty)?;
    std::os::unix::fs::symlink("/bin/cat", empty.join("cat"))?;
    let bare = OsString::from(&empty);
    let log = data.join("launcher.log");
    for _ in 0..2 {
        let output = run(launcher(&state, &bare, &data, false), &vec![b'x'; 1 << 20]);
        assert_eq!((output.status.code(), output.stdout.len()), (Some(0), 0));
    }
    let line = std::fs::read_to_string(&log)?;
    assert_eq!(
        line.lines().count(),
        1,
        "one line, not one per hook: {line}"
    );
    assert!(line.starts_with("no codex-otel binary found"), "{line}");
    assert!(
        line.contains(&format!("PATH={}", empty.display())),
        "{line}"
    );
    assert_eq!(
        run(launcher(&state, &bare, &data, true), b"").status.code(),
        Some(1)
    );

    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_codex-otel-hook"),
        empty.join("codex-otel-hook"),
    )?;
    let payload = json!({"session_id": "found", "hook_event_name": "Stop"}).to_string();
    run(launcher(&state, &bare, &data, false), payload.as_bytes());
    assert_eq!(state.journal("found").len(), 1);
    assert_eq!(std::fs::read_to_string(&log)?, "", "cleared");
    Ok(())
}

#[test]
fn a_plugin_added_without_a_binary_says_why_in_its_log_and_in_doctor() -> Result<()> {
    let Some(sandbox) = CodexSandbox::start()? else {
        return Ok(());
    };
    sandbox.install_plugin(&repo_root(), "codex-otel", "codex-otel")?;
    let path = path_without_codex_otel(None)?;
    let home = tempfile::tempdir()?;
    let npm_prefix = tempfile::tempdir()?;
    sandbox
        .exec("please run echo hello")
        .env("PATH", &path)
        .env("HOME", home.path())
        .env("npm_config_prefix", npm_prefix.path())
        .timeout(EXEC_TIMEOUT)
        .run()?
        .expect_success()?;
    let log = sandbox
        .home()
        .join("plugins/data/codex-otel-codex-otel/launcher.log");
    let line = std::fs::read_to_string(&log).with_context(|| log.display().to_string())?;
    assert!(line.starts_with("no codex-otel binary found"), "{line}");

    let doctor = Command::new(env!("CARGO_BIN_EXE_codex-otel"))
        .args(["doctor", "--offline", "--codex-home"])
        .arg(sandbox.home())
        .env_clear()
        .env("PATH", &path)
        .env("HOME", home.path())
        .env("npm_config_prefix", npm_prefix.path())
        .output()?;
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(1), "{report}");
    assert!(report.contains("plugin added but no binary"), "{report}");
    assert!(
        report.contains(line.trim()),
        "the launcher's line: {report}"
    );
    Ok(())
}
