//! Installing codex-otel without a Rust toolchain, checked with the real tools: the npm
//! packages `scripts/build-npm.sh` packs and the wheel maturin builds, both from the binaries this
//! test build produced (nothing compiles again), installed into a fresh prefix or venv and used
//! by a real Codex session through the plugin they ship ([`live`]); the npm shims ([`npm`]); the
//! plugin's launcher finding npm's install or saying why it found nothing, in its log and
//! through `doctor` ([`launcher`]); `cargo package` ([`crate_package`]); the plugin files the
//! wheel links ([`wheel`]). Tests that need npm, maturin or Codex skip with a printed reason
//! when it is missing (they fail instead under `CODEX_OTEL_REQUIRE_CODEX=1`, as in CI, where
//! `make test` installs all three).

mod builds;
mod crate_package;
mod launcher;
mod live;
mod npm;
mod wheel;

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Generous bound for one `codex exec` (about a second when healthy).
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory of the binaries this test build produced (the npm package carries them).
fn built_bins() -> PathBuf {
    let cli = Path::new(env!("CARGO_BIN_EXE_codex-otel"));
    cli.parent().expect("a directory").to_path_buf()
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    serde_json::from_str(&text).with_context(|| path.display().to_string())
}

fn ok(output: Output, what: &str) -> Result<String> {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.success(),
        "{what}: {}\n{stdout}\n{stderr}",
        output.status
    );
    Ok(stdout)
}

/// `PATH` for a machine with no codex-otel: `first` (if any), then node's directory (Codex's
/// own launcher is a node script) and the system directories; fails if codex-otel is there.
fn path_without_codex_otel(first: Option<&Path>) -> Result<OsString> {
    let node = Command::new("sh")
        .args(["-c", "command -v node"])
        .output()?;
    let node = PathBuf::from(ok(node, "command -v node")?.trim());
    let mut dirs: Vec<PathBuf> = vec![node.parent().context("node's directory")?.into()];
    dirs.extend(["/usr/bin", "/bin"].map(PathBuf::from));
    for dir in &dirs {
        for name in ["codex-otel", "codex-otel-hook"] {
            ensure!(
                !dir.join(name).exists(),
                "{} is installed",
                dir.join(name).display()
            );
        }
    }
    dirs.splice(0..0, first.map(Path::to_path_buf));
    Ok(std::env::join_paths(dirs)?)
}

/// The pid of the daemon that last logged `started (pid N)` in `state`'s log.
fn daemon_pid(state: &Path) -> Result<u32> {
    let log = std::fs::read_to_string(state.join("codex-otel.log"))?;
    let pid = log
        .lines()
        .filter_map(|line| line.split("started (pid ").nth(1))
        .filter_map(|rest| rest.split(')').next())
        .next_back()
        .with_context(|| format!("no daemon start in:\n{log}"))?;
    Ok(pid.parse()?)
}

/// The executable of the daemon that last started in `state`.
fn daemon_exe(state: &Path) -> Result<PathBuf> {
    let pid = daemon_pid(state)?;
    Ok(std::fs::read_link(format!("/proc/{pid}/exe"))?)
}
