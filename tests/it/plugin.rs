//! The two ways users install codex-otel into Codex, run for real: the plugin shipped in this
//! repository (marketplace at the root, `plugin/`, the `bin/codex-otel-hook` launcher) and
//! `codex-otel install`/`uninstall` on `$CODEX_HOME/hooks.json`. Both run the slim
//! `codex-otel-hook` built beside `codex-otel`. The Codex runs skip with a printed reason when
//! Codex is not installed; the launcher tests need only `/bin/sh`.

use crate::support::bin::{run, Home, BIN};
use crate::support::codex::{read_captures, CodexRun, CodexSandbox, CodexVersion};
use crate::support::model_requests::assert_every_model_request_journaled;
use anyhow::{ensure, Context, Result};
use codex_otel::hook::registration::EVENTS;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

/// The slim hook binary, built beside [`BIN`].
const SLIM: &str = env!("CARGO_BIN_EXE_codex-otel-hook");
/// Generous bound for one `codex exec` (about a second when healthy).
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);
/// The hooks a `codex exec` with one shell call fires, in order, besides the PreModelRequest
/// and PostModelRequest around each of its two model requests.
const SHELL_EVENTS: [&str; 6] = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Stop",
    "SessionEnd",
];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn launcher() -> PathBuf {
    repo_root().join("plugin/bin/codex-otel-hook")
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    serde_json::from_str(&text).with_context(|| path.display().to_string())
}

/// `codex exec` on the shell scenario, with the codex-otel hook writing into `state` and
/// every daemon start made harmless.
fn run_shell_scenario(sandbox: &CodexSandbox, state: &Home) -> Result<(CodexRun, SystemTime)> {
    let started = SystemTime::now();
    let run = sandbox
        .exec("please run echo hello")
        .env("CODEX_OTEL_BIN", BIN)
        .env("CODEX_OTEL_HOME", state.state().root())
        .env("CODEX_OTEL_DAEMON_BIN", "/bin/true")
        .env("CODEX_OTEL_DISABLED", "")
        .timeout(EXEC_TIMEOUT)
        .run()?
        .expect_success()?;
    Ok((run, started))
}

/// The session's journal holds the six shell-scenario events, in order, and a Pre and a Post
/// for every model request, each received during the run; Codex reported every hook
/// completed; stdout is only the final answer.
fn assert_journaled_shell_run(
    sandbox: &CodexSandbox,
    state: &Home,
    run: &CodexRun,
    started: SystemTime,
) -> Result<()> {
    let session = run.session_id.as_deref().context("no `session id:` line")?;
    let entries = state.journal(session);
    let events: Vec<Value> = entries
        .iter()
        .map(|entry| serde_json::from_str(&entry.event))
        .collect::<Result<_, _>>()?;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["hook_event_name"].as_str().unwrap_or("?"))
        .filter(|name| !name.ends_with("ModelRequest"))
        .collect();
    assert_eq!(names, SHELL_EVENTS, "stderr:\n{}", run.stderr);
    let calls = sandbox.mock().model_calls()?;
    assert_eq!(calls.len(), 2);
    let version = sandbox.version();
    let model_events: &[&str] = if version.fires_model_requests() {
        assert_every_model_request_journaled(&events, &calls, version);
        &["PreModelRequest", "PostModelRequest"]
    } else {
        assert_eq!(
            names.len(),
            events.len(),
            "no model-request event on {version:?}"
        );
        &[]
    };
    assert!(events.iter().all(|e| e["session_id"] == session));
    let ended = SystemTime::now();
    let times: Vec<SystemTime> = entries.iter().map(|e| e.received_at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(times.iter().all(|t| (started..=ended).contains(t)));

    // `codex exec` prints a status line per handler, except for SessionEnd (after its output).
    for event in SHELL_EVENTS[..5].iter().chain(model_events) {
        let line = format!("hook: {event} Completed");
        assert!(
            run.stderr.contains(&line),
            "no {line:?} in:\n{}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains(" Failed") && !run.stderr.contains(" Blocked"));
    let stop = events.iter().find(|e| e["hook_event_name"] == "Stop");
    let answer = stop.context("no Stop")?["last_assistant_message"]
        .as_str()
        .context("Stop")?;
    assert_eq!(run.stdout.trim_end(), answer);
    Ok(())
}

#[test]
fn the_plugin_registers_every_event_install_knows_with_the_launcher() -> Result<()> {
    let hooks = read_json(&repo_root().join("plugin/hooks/hooks.json"))?;
    // Codex 0.140 rejects any other top-level field (`unknown field …, expected hooks`).
    let fields: Vec<&String> = hooks.as_object().context("an object")?.keys().collect();
    assert_eq!(fields, ["hooks"]);
    let registered = hooks["hooks"].as_object().context("`hooks`")?;
    assert_eq!(registered.len(), EVENTS.len());
    for spec in EVENTS {
        let command = "sh \"${PLUGIN_ROOT}/bin/codex-otel-hook\"";
        let handler = json!({"type": "command", "command": command, "timeout": spec.timeout_secs});
        let mut group = json!({"hooks": [handler]});
        if let Some(matcher) = spec.matcher {
            group["matcher"] = json!(matcher);
        }
        assert_eq!(registered[spec.event], json!([group]), "{}", spec.event);
    }
    let manifest = read_json(&repo_root().join("plugin/.codex-plugin/plugin.json"))?;
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["hooks"], "./hooks/hooks.json");
    let market = read_json(&repo_root().join(".agents/plugins/marketplace.json"))?;
    assert_eq!(market["plugins"][0]["name"], manifest["name"]);
    assert_eq!(market["plugins"][0]["source"]["path"], "./plugin");
    Ok(())
}

#[test]
fn the_plugin_installed_from_this_repository_journals_a_whole_session() -> Result<()> {
    plugin_journals_a_whole_session(CodexVersion::V0171)
}

#[test]
fn on_codex_0169_the_plugin_journals_a_whole_session() -> Result<()> {
    plugin_journals_a_whole_session(CodexVersion::V0169)
}

#[test]
fn on_codex_0150_the_oldest_release_with_plugin_hooks_the_plugin_journals_a_whole_session(
) -> Result<()> {
    plugin_journals_a_whole_session(CodexVersion::V0150)
}

fn plugin_journals_a_whole_session(version: CodexVersion) -> Result<()> {
    let Some(sandbox) = CodexSandbox::start_on(version)? else {
        return Ok(());
    };
    sandbox.install_plugin(&repo_root(), "codex-otel", "codex-otel")?;
    let listed = sandbox.run_codex(&["plugin", "list"])?;
    let line = listed.lines().find(|l| l.contains("codex-otel@codex-otel"));
    let line = line.with_context(|| format!("not listed:\n{listed}"))?;
    ensure!(line.contains("installed, enabled") && line.contains(env!("CARGO_PKG_VERSION")));

    let state = Home::new();
    let (run, started) = run_shell_scenario(&sandbox, &state)?;
    assert_journaled_shell_run(&sandbox, &state, &run, started)
}

/// A bare environment for the launcher: `PATH` holds only `bin` (create it first), `HOME` is
/// `home`, the state directory is `state`'s.
fn launcher_command(state: &Home, path: &Path, home: &Path) -> Command {
    let mut command = state.shell(&format!("/bin/sh '{}'", launcher().display()));
    command.env("PATH", path).env("HOME", home);
    command
}

fn assert_silent(output: &Output, what: &str) {
    assert!(output.status.success(), "{what}: {:?}", output.status);
    assert!(
        output.stdout.is_empty(),
        "{what}: stdout {:?}",
        output.stdout
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "{what}: stderr {stderr}");
}

/// A directory for `PATH` holding a `cat` (the launcher drains with it) and nothing else.
fn path_with_cat(dir: &Path) -> Result<PathBuf> {
    let bin = dir.join("path");
    std::fs::create_dir(&bin)?;
    std::os::unix::fs::symlink("/bin/cat", bin.join("cat"))?;
    Ok(bin)
}

#[test]
fn the_launcher_with_no_binary_drains_stdin_and_exits_0_silently() -> Result<()> {
    let state = Home::new();
    let path = path_with_cat(state.outer())?;
    let home = state.outer().join("home");
    std::fs::create_dir(&home)?;
    // More than a pipe buffer: an undrained stdin would make the writer fail with EPIPE.
    let big = vec![b'x'; 1 << 20];
    let output = run(launcher_command(&state, &path, &home), &big);
    assert_silent(&output, "no binary, with cat");

    let empty = state.outer().join("empty");
    std::fs::create_dir(&empty)?;
    let output = run(launcher_command(&state, &empty, &home), &big[..200_000]);
    assert_silent(&output, "no binary, no cat");
    assert!(!state.state().root().exists(), "nothing was recorded");
    Ok(())
}

#[test]
fn the_launcher_hides_a_misbehaving_binary_from_codex() -> Result<()> {
    let state = Home::new();
    let path = path_with_cat(state.outer())?;
    let fake = state.outer().join("codex-otel");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho '{\"decision\":\"block\"}'\necho no >&2\nexit 2\n",
    )?;
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let mut command = launcher_command(&state, &path, state.outer());
    command.env("CODEX_OTEL_BIN", &fake);
    let output = run(command, &vec![b'x'; 1 << 20]);
    assert_silent(&output, "a binary that prints and exits 2");
    Ok(())
}

#[test]
fn the_launcher_runs_the_real_binaries_found_in_each_documented_place() -> Result<()> {
    let session = "launcher-test";
    let payload = json!({"session_id": session, "hook_event_name": "Stop"}).to_string();
    let place = |setup: &dyn Fn(&Home, &Path, &mut Command) -> Result<()>| -> Result<usize> {
        let state = Home::new();
        let path = path_with_cat(state.outer())?;
        let home = state.outer().join("home");
        std::fs::create_dir_all(home.join(".cargo/bin"))?;
        let mut command = launcher_command(&state, &path, &home);
        setup(&state, &path, &mut command)?;
        assert_silent(&run(command, payload.as_bytes()), "found binary");
        Ok(state.journal(session).len())
    };
    let symlink = std::os::unix::fs::symlink::<&str, PathBuf>;
    let beside_env = place(&|_, _, command| {
        command.env("CODEX_OTEL_BIN", BIN);
        Ok(())
    })?;
    let slim_on_path = place(&|_, path, _| Ok(symlink(SLIM, path.join("codex-otel-hook"))?))?;
    let on_path = place(&|_, path, _| Ok(symlink(BIN, path.join("codex-otel"))?))?;
    let in_cargo = place(&|state, _, _| {
        let cargo = state.outer().join("home/.cargo/bin");
        symlink(BIN, cargo.join("codex-otel"))?;
        Ok(symlink(SLIM, cargo.join("codex-otel-hook"))?)
    })?;
    assert_eq!((beside_env, slim_on_path, on_path, in_cargo), (1, 1, 1, 1));
    Ok(())
}

/// Where a fake program of [`launched`] lives: on `PATH`, in `$HOME/.cargo/bin`, or in a
/// directory only the variables name.
#[derive(Debug, Clone, Copy)]
enum At {
    Path,
    Cargo,
    Custom,
}

/// Fake programs for [`launched`]: where, and the file name (`name:` for one without the
/// execute bit).
type Fakes<'a> = &'a [(At, &'a str)];
/// Variables for [`launched`]: the name, and the fake file it names.
type Vars<'a> = &'a [(&'a str, At, &'a str)];

/// Writes a fake program at `file` (with permission bits `mode`) that appends
/// `<its path>|<its arguments>` to `record` and drains stdin.
fn write_fake(file: &Path, record: &Path, mode: u32) -> Result<()> {
    let script = format!("printf '%s|%s\\n' \"$0\" \"$*\" >> '{}'", record.display());
    std::fs::write(file, format!("#!/bin/sh\n{script}\ncat >/dev/null\n"))?;
    std::fs::set_permissions(file, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
    Ok(())
}

/// One launcher run with `fakes` and the variables `env`; returns the `<path>|<args>` lines
/// the fakes that ran recorded, their directories shown as `PATH`, `CARGO`, `CUSTOM`.
fn launched(fakes: Fakes<'_>, env: Vars<'_>) -> Result<Vec<String>> {
    let state = Home::new();
    let outer = state.outer();
    let path = path_with_cat(outer)?;
    let (home, custom, record) = (
        outer.join("home"),
        outer.join("custom"),
        outer.join("record"),
    );
    let cargo = home.join(".cargo/bin");
    std::fs::create_dir_all(&cargo)?;
    std::fs::create_dir(&custom)?;
    let dir = |at: At| match at {
        At::Path => &path,
        At::Cargo => &cargo,
        At::Custom => &custom,
    };
    for &(at, name) in fakes {
        let (name, mode) = name.strip_suffix(':').map_or((name, 0o755), |n| (n, 0o644));
        write_fake(&dir(at).join(name), &record, mode)?;
    }
    let mut command = launcher_command(&state, &path, &home);
    for &(name, at, file) in env {
        command.env(name, dir(at).join(file));
    }
    assert_silent(&run(command, &vec![b'x'; 1 << 20]), "fake binaries");
    let text = std::fs::read_to_string(&record).unwrap_or_default();
    let shown = [(&path, "PATH"), (&cargo, "CARGO"), (&custom, "CUSTOM")];
    let show = |line: &str| {
        shown.iter().fold(line.to_owned(), |line, (dir, name)| {
            line.replace(&dir.display().to_string(), name)
        })
    };
    Ok(text.lines().map(show).collect())
}

#[test]
fn the_launcher_prefers_the_slim_binary_within_the_first_place_that_has_one() -> Result<()> {
    use At::{Cargo, Custom, Path as OnPath};
    const HOOK: &str = "codex-otel-hook";
    const CLI: &str = "codex-otel";
    let hook_bin = ("CODEX_OTEL_HOOK_BIN", Custom, "my-hook");
    let cli_bin = ("CODEX_OTEL_BIN", Custom, CLI);
    let cases: [(&str, Fakes<'_>, Vars<'_>, &str); 9] = [
        (
            "$CODEX_OTEL_HOOK_BIN first",
            &[
                (Custom, "my-hook"),
                (Custom, CLI),
                (Custom, HOOK),
                (OnPath, HOOK),
            ],
            &[hook_bin, cli_bin],
            "CUSTOM/my-hook|",
        ),
        (
            "the slim binary beside $CODEX_OTEL_BIN",
            &[(Custom, CLI), (Custom, HOOK), (OnPath, HOOK)],
            &[cli_bin],
            "CUSTOM/codex-otel-hook|",
        ),
        (
            "$CODEX_OTEL_BIN without one beats a slim binary elsewhere",
            &[(Custom, CLI), (OnPath, HOOK), (Cargo, HOOK)],
            &[cli_bin],
            "CUSTOM/codex-otel|hook",
        ),
        (
            "an unusable $CODEX_OTEL_HOOK_BIN is skipped",
            &[(Custom, "my-hook:"), (OnPath, HOOK)],
            &[hook_bin],
            "PATH/codex-otel-hook|",
        ),
        (
            "the slim binary on PATH",
            &[(OnPath, CLI), (OnPath, HOOK), (Cargo, HOOK)],
            &[],
            "PATH/codex-otel-hook|",
        ),
        (
            "codex-otel on PATH beats ~/.cargo/bin",
            &[(OnPath, CLI), (OnPath, "codex-otel-hook:"), (Cargo, HOOK)],
            &[],
            "PATH/codex-otel|hook",
        ),
        (
            "the slim binary in ~/.cargo/bin",
            &[(Cargo, CLI), (Cargo, HOOK)],
            &[],
            "CARGO/codex-otel-hook|",
        ),
        (
            "codex-otel in ~/.cargo/bin",
            &[(Cargo, CLI)],
            &[],
            "CARGO/codex-otel|hook",
        ),
        ("nothing", &[], &[], ""),
    ];
    for (what, fakes, env, expected) in cases {
        let ran = launched(fakes, env)?;
        let expected: Vec<&str> = [expected].into_iter().filter(|e| !e.is_empty()).collect();
        assert_eq!(ran, expected, "{what}");
    }
    Ok(())
}

#[test]
fn a_copy_of_the_launcher_named_like_the_slim_binary_cannot_loop() -> Result<()> {
    let state = Home::new();
    let path = path_with_cat(state.outer())?;
    std::os::unix::fs::symlink(launcher(), path.join("codex-otel-hook"))?;
    let record = state.outer().join("record");
    let fake = path.join("codex-otel");
    write_fake(&fake, &record, 0o755)?;
    let output = run(launcher_command(&state, &path, state.outer()), b"{}");
    assert_silent(&output, "the launcher on PATH");
    let ran = std::fs::read_to_string(&record)?;
    assert_eq!(
        ran,
        format!("{}|hook\n", fake.display()),
        "once, as codex-otel hook"
    );
    Ok(())
}

/// `codex-otel install|uninstall --codex-home <home>` (the binary defaults to itself).
fn install_cli(state: &Home, verb: &str, codex_home: &Path) -> Result<String> {
    let home = codex_home.to_str().context("non-UTF-8 home")?;
    let output = state.command(&[verb, "--codex-home", home]).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "{verb}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

#[test]
fn install_into_hooks_json_records_a_session_and_uninstall_restores_the_user_file() -> Result<()> {
    install_records_a_session_and_uninstall_restores(CodexVersion::V0171)
}

#[test]
fn on_codex_0169_install_records_a_session_and_uninstall_restores_the_user_file() -> Result<()> {
    install_records_a_session_and_uninstall_restores(CodexVersion::V0169)
}

fn install_records_a_session_and_uninstall_restores(version: CodexVersion) -> Result<()> {
    let Some(sandbox) = CodexSandbox::start_on(version)? else {
        return Ok(());
    };
    let captures = tempfile::tempdir()?;
    let user_hook = format!(
        "cat > '{}'/\"$(date +%s%N)-$$.json\"",
        captures.path().display()
    );
    let original = json!({"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": user_hook, "timeout": 30}]}]}});
    let hooks_json = sandbox.home().join("hooks.json");
    std::fs::write(&hooks_json, serde_json::to_string_pretty(&original)?)?;

    let state = Home::new();
    let said = install_cli(&state, "install", &sandbox.home())?;
    assert!(said.contains("registered") && said.contains("--dangerously-bypass-hook-trust"));
    let installed = std::fs::read(&hooks_json)?;
    let again = install_cli(&state, "install", &sandbox.home())?;
    assert!(again.contains("already registered"), "{again}");
    assert_eq!(
        std::fs::read(&hooks_json)?,
        installed,
        "install is idempotent"
    );
    let file: Value = serde_json::from_slice(&installed)?;
    let command = &file["hooks"]["Stop"][1]["hooks"][0]["command"];
    assert_eq!(
        command,
        &json!(format!("'{SLIM}'")),
        "the slim binary beside {BIN}"
    );

    let (run, started) = run_shell_scenario(&sandbox, &state)?;
    assert_journaled_shell_run(&sandbox, &state, &run, started)?;
    let user_saw: Vec<Value> = read_captures(captures.path())?;
    assert_eq!(user_saw.len(), 1, "the user's own Stop hook still ran");
    assert_eq!(user_saw[0]["hook_event_name"], "Stop");

    let said = install_cli(&state, "uninstall", &sandbox.home())?;
    assert!(said.contains("removed 14"), "{said}");
    assert_eq!(read_json(&hooks_json)?, original);
    Ok(())
}
