//! Installing codex-otel without a Rust toolchain: the npm packages built by
//! `scripts/build-npm.sh` from the binaries this test build produced, installed with
//! `npm install -g` into a temporary prefix and used by a real Codex session through the
//! plugin they ship; the plugin's launcher finding npm's install (its native binary, npm's
//! prefix off `PATH`) or saying in its log, and through `doctor`, that it found none; and
//! `cargo package` shipping the crate. npm tests skip with a printed reason when npm is missing
//! (they fail instead under `CODEX_OTEL_REQUIRE_CODEX=1`, as in CI, where npm installs Codex).

use crate::support::bin::{run, Home};
use crate::support::codex::{poll, skip, CodexSandbox};
use crate::support::fake_otlp::FakeOtlp;
use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// Generous bound for one `codex exec` (about a second when healthy).
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);
/// The platform package npm picks on this machine.
const PLATFORM: &str = "linux-x64";

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

/// The two tarballs of `scripts/build-npm.sh`, in a directory of their own.
struct Packed {
    dir: TempDir,
    main: PathBuf,
    platform: PathBuf,
}

impl Packed {
    /// Packs; `Ok(None)` (after printing why) when npm is missing.
    fn build() -> Result<Option<Self>> {
        if Command::new("npm").arg("--version").output().is_err() {
            return skip("npm is not installed".into());
        }
        let dir = tempfile::Builder::new()
            .prefix("codex-otel-npm-")
            .tempdir()?;
        let output = Command::new("bash")
            .arg(repo_root().join("scripts/build-npm.sh"))
            .arg(built_bins())
            .arg(dir.path().join("out"))
            .output()?;
        let printed = ok(output, "scripts/build-npm.sh")?;
        let lines: Vec<&str> = printed.lines().collect();
        ensure!(lines.len() == 2, "two tarballs, got {printed:?}");
        let (main, platform) = (PathBuf::from(lines[0]), PathBuf::from(lines[1]));
        Ok(Some(Packed {
            dir,
            main,
            platform,
        }))
    }

    /// `npm install -g` of both tarballs into a fresh prefix (nothing fetched).
    fn install(&self) -> Result<NpmPrefix> {
        let prefix = self.dir.path().join("prefix");
        std::fs::create_dir_all(&prefix)?;
        let output = Command::new("npm")
            .args(["install", "-g", "--offline", "--no-audit", "--no-fund"])
            .arg("--prefix")
            .arg(&prefix)
            .arg("--cache")
            .arg(self.dir.path().join("npm-cache"))
            .args([&self.main, &self.platform])
            .stdin(Stdio::null())
            .output()?;
        ok(output, "npm install -g")?;
        Ok(NpmPrefix(prefix))
    }
}

/// A global npm prefix holding an install of codex-otel.
struct NpmPrefix(PathBuf);

impl NpmPrefix {
    fn bin(&self) -> PathBuf {
        self.0.join("bin")
    }

    /// The platform package's native binary `name`.
    fn native(&self, name: &str) -> PathBuf {
        let package = format!("lib/node_modules/@codex-otel/{PLATFORM}/bin/{name}");
        self.0.join(package)
    }

    /// `npm root -g` for this prefix: where the plugin marketplace of the package is.
    fn root(&self) -> Result<PathBuf> {
        let output = Command::new("npm")
            .args(["root", "-g"])
            .env("npm_config_prefix", &self.0)
            .output()?;
        Ok(PathBuf::from(ok(output, "npm root -g")?.trim()))
    }
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
fn cargo_package_ships_the_code_and_the_plugin_and_its_metadata_passes() -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cargo = |args: &[&str]| -> Result<String> {
        let output = Command::new(&cargo)
            .args(args)
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .output()?;
        ok(output, &format!("cargo {args:?}"))
    };
    let listed = cargo(&["package", "--list", "--allow-dirty", "--locked"])?;
    let files: BTreeSet<&str> = listed.lines().collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "src/main.rs",
        "src/bin/codex-otel-hook.rs",
        "plugin/bin/codex-otel-hook",
        "plugin/hooks/hooks.json",
    ] {
        assert!(files.contains(needed), "{needed} not packaged: {listed}");
    }
    let stray: Vec<&&str> = files
        .iter()
        .filter(|f| {
            ["tests/", "benches/", "npm/", ".ci/", ".work"]
                .iter()
                .any(|p| f.starts_with(p))
        })
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    // Metadata and dependencies (none by path only); compiling it again is `make test`'s
    // `cargo package` step, outside this suite.
    cargo(&["package", "--no-verify", "--allow-dirty", "--locked"])?;
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
    let path = path_without_codex_otel(Some(&prefix.bin()))?;
    sandbox.install_plugin(
        &prefix.root()?.join("codex-otel"),
        "codex-otel",
        "codex-otel",
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    let receiver = runtime.block_on(FakeOtlp::http());
    let state = tempfile::tempdir()?;
    let home = tempfile::tempdir()?;
    let run = sandbox
        .exec("please run echo hello")
        .env("PATH", &path)
        .env("HOME", home.path())
        .env("npm_config_prefix", &prefix.0)
        .env("CODEX_OTEL_HOME", state.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url(""))
        .timeout(EXEC_TIMEOUT)
        .run()?
        .expect_success()?;
    let session = run.session_id.clone().context("no session id")?;
    let installed = |args: &[&str]| {
        Command::new(prefix.bin().join("codex-otel"))
            .args(args)
            .env("PATH", &path)
            .env("CODEX_OTEL_HOME", state.path())
            .output()
    };
    let flushed = installed(&["flush", "--timeout", "30"]);
    let daemon = daemon_exe(state.path());
    let _ = installed(&["stop"]);
    ok(flushed?, "codex-otel flush (the npm shim)")?;
    assert_eq!(daemon?, std::fs::canonicalize(prefix.native("codex-otel"))?);

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
