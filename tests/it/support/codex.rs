//! The real Codex CLI, run offline against the scripted Responses mock
//! (`tests/codex/mock_responses.py`), for end-to-end tests.
//!
//! Contract: [`CodexSandbox::start`] finds the newest `codex` binary, [`CodexSandbox::start_on`]
//! a given version's (see [`CodexVersion`]), and `python3` on `PATH`. When either is missing it prints why and returns `Ok(None)` so the test
//! skips, or fails when `CODEX_OTEL_REQUIRE_CODEX=1` (as in CI). Otherwise it creates a fresh
//! temporary root holding an isolated `CODEX_HOME` (`home/`), an empty workspace (`project/`),
//! a private `TMPDIR` (`tmp/`, so Codex does not warn about a `CODEX_HOME` inside the system
//! temp dir) and the mock's files (`mock/`), starts the mock on 127.0.0.1 (port read from a
//! port file, polled with a deadline), and writes `home/config.toml` pointing a custom provider
//! at it, with no network, no analytics and `approval_policy = "never"` +
//! `sandbox_mode = "danger-full-access"`. `config.toml` is the source of truth: every change
//! ([`CodexSandbox::edit_config`], [`CodexSandbox::add_hook`]) is a read-modify-write, so what
//! Codex itself writes there (marketplaces, plugins, hook trust) is kept. [`Exec`] runs
//! `codex exec` with stdin from the null device, output to files, and a timeout after which the
//! child is killed. The mock is killed by PID and the root removed when the sandbox drops.

pub(crate) use super::codex_version::{skip, CodexVersion};
use super::fixtures::ModelCall;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use toml::Table;

/// The environment variable naming the mock's API key (sent as `Authorization: Bearer …`).
const API_KEY_ENV: &str = "MOCK_API_KEY";
/// Pause between two checks while polling.
const POLL: Duration = Duration::from_millis(20);
/// How long the mock may take to publish its port.
const MOCK_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Default bound for one `codex` invocation (a normal run takes about a second).
const EXEC_TIMEOUT: Duration = Duration::from_secs(120);
/// One capture handler per hook event; the tool events get matcher `"*"`.
pub(crate) const HOOK_EVENTS: [(&str, bool); 14] = [
    ("SessionStart", false),
    ("UserPromptSubmit", false),
    ("PreToolUse", true),
    ("PermissionRequest", true),
    ("PostToolUse", true),
    ("PreCompact", false),
    ("PostCompact", false),
    ("SubagentStart", false),
    ("SubagentStop", false),
    ("Stop", false),
    ("Interrupt", false),
    ("SessionEnd", false),
    ("PreModelRequest", false),
    ("PostModelRequest", false),
];

/// Numbers the `codex exec` runs of this test process, for their output file names.
static EXEC_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The repository root.
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `python3` found on `PATH`, or `None` (with a printed reason).
fn locate_python() -> Result<Option<PathBuf>> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("python3"))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(python) => Ok(Some(python)),
        None => skip("python3 is not on PATH (the Responses mock needs it)".to_owned()),
    }
}

/// Polls `ready` until it yields a value or `timeout` passes.
pub(crate) fn poll<T>(
    what: &str,
    timeout: Duration,
    mut ready: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let until = Instant::now() + timeout;
    loop {
        if let Some(value) = ready()? {
            return Ok(value);
        }
        if Instant::now() >= until {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(POLL);
    }
}

/// Reads the complete lines of a JSON Lines file (a missing file is empty; a last line still
/// being written, with no newline yet, is left for the next read).
fn read_json_lines(path: &Path) -> Result<Vec<Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| path.display().to_string()),
    };
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n') && !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).with_context(|| format!("{}: {line}", path.display()))
        })
        .collect()
}

/// Hook payloads written one per file into `dir` by a handler such as
/// `cat > "<dir>/$(date +%s%N)-$$.json"`, in file-name (= handler start) order.
pub(crate) fn read_captures(dir: &Path) -> Result<Vec<Value>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.sort();
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file)?;
            serde_json::from_str(&text).with_context(|| format!("{}: {text}", file.display()))
        })
        .collect()
}

/// The running `tests/codex/mock_responses.py`, killed by PID on drop.
#[derive(Debug)]
pub(crate) struct MockResponses {
    child: Child,
    port: u16,
    requests_log: PathBuf,
    model_calls: PathBuf,
}

impl MockResponses {
    /// Starts the mock with its files in `dir` and waits for its port file.
    fn start(python: &Path, dir: &Path) -> Result<Self> {
        let port_file = dir.join("port");
        let requests_log = dir.join("requests.jsonl");
        let model_calls = dir.join("model-calls.json");
        let log = std::fs::File::create(dir.join("mock.log"))?;
        let child = Command::new(python)
            .arg(repo_root().join("tests/codex/mock_responses.py"))
            .arg("--port-file")
            .arg(&port_file)
            .arg("--requests-log")
            .arg(&requests_log)
            .arg("--model-calls")
            .arg(&model_calls)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting tests/codex/mock_responses.py")?;
        let mut mock = Self {
            child,
            port: 0,
            requests_log,
            model_calls,
        };
        mock.port = poll("the mock's port file", MOCK_START_TIMEOUT, || {
            if let Some(status) = mock.child.try_wait()? {
                let log = std::fs::read_to_string(dir.join("mock.log")).unwrap_or_default();
                bail!("the mock exited early ({status}):\n{log}");
            }
            Ok(std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.trim().parse().ok()))
        })?;
        Ok(mock)
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request the mock received so far (`method`, `path`, `headers`, `body`, `script`…).
    pub(crate) fn requests(&self) -> Result<Vec<Value>> {
        read_json_lines(&self.requests_log)
    }

    /// The ground truth of every completed model call, in completion order.
    pub(crate) fn model_calls(&self) -> Result<Vec<ModelCall>> {
        let text = std::fs::read_to_string(&self.model_calls)?;
        serde_json::from_str(&text).context("the mock's model-calls.json")
    }
}

impl Drop for MockResponses {
    fn drop(&mut self) {
        // SIGKILL by PID: the mock keeps nothing worth flushing beyond its line-by-line logs.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An isolated Codex installation (home, workspace, temp dir) wired to its own mock.
#[derive(Debug)]
pub(crate) struct CodexSandbox {
    version: CodexVersion,
    codex: PathBuf,
    mock: MockResponses,
    root: TempDir,
}

impl CodexSandbox {
    /// Creates a sandbox running the newest Codex ([`CodexVersion::V0171`]).
    pub(crate) fn start() -> Result<Option<Self>> {
        Self::start_on(CodexVersion::V0171)
    }

    /// Creates the sandbox for `version` and starts its mock; `Ok(None)` when the test must
    /// skip.
    pub(crate) fn start_on(version: CodexVersion) -> Result<Option<Self>> {
        let Some(codex) = version.locate()? else {
            return Ok(None);
        };
        let Some(python) = locate_python()? else {
            return Ok(None);
        };
        let root = tempfile::Builder::new()
            .prefix("codex-otel-e2e-")
            .tempdir()?;
        for dir in ["home", "project", "tmp", "mock", "hook-captures"] {
            std::fs::create_dir(root.path().join(dir))?;
        }
        let mock = MockResponses::start(&python, &root.path().join("mock"))?;
        let sandbox = Self {
            version,
            codex,
            mock,
            root,
        };
        sandbox.write_config(&sandbox.base_config()?)?;
        Ok(Some(sandbox))
    }

    /// The Codex version this sandbox runs.
    pub(crate) fn version(&self) -> CodexVersion {
        self.version
    }

    /// The `codex` binary this sandbox runs.
    pub(crate) fn codex(&self) -> &Path {
        &self.codex
    }

    /// `CODEX_HOME`.
    pub(crate) fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// The workspace Codex runs in (its working directory).
    pub(crate) fn workspace(&self) -> PathBuf {
        self.root.path().join("project")
    }

    /// The mock serving this sandbox.
    pub(crate) fn mock(&self) -> &MockResponses {
        &self.mock
    }

    fn config_path(&self) -> PathBuf {
        self.home().join("config.toml")
    }

    /// The settings every run needs: the mock provider, no network, no analytics.
    fn base_config(&self) -> Result<Table> {
        let base = self.mock.base_url();
        let text = format!(
            r#"
model = "mock-model"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
chatgpt_base_url = "{base}/backend-api"

[analytics]
enabled = false

[model_providers.mock]
name = "mock"
base_url = "{base}/v1"
wire_api = "responses"
env_key = "{API_KEY_ENV}"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 5000
"#
        );
        text.parse().context("the base config.toml")
    }

    fn write_config(&self, config: &Table) -> Result<()> {
        std::fs::write(self.config_path(), toml::to_string(config)?)?;
        Ok(())
    }

    /// Applies `edit` to `config.toml` as it is now (keeping what Codex wrote there).
    pub(crate) fn edit_config(&self, edit: impl FnOnce(&mut Table) -> Result<()>) -> Result<()> {
        let path = self.config_path();
        let mut config: Table = std::fs::read_to_string(&path)?
            .parse()
            .with_context(|| path.display().to_string())?;
        edit(&mut config)?;
        self.write_config(&config)
    }

    /// Appends a matcher group with one command handler to `[hooks.<event>]`, with a 30 s
    /// timeout (3 s for SessionEnd and Interrupt, the most Codex allows there).
    pub(crate) fn add_hook(&self, event: &str, matcher: Option<&str>, command: &str) -> Result<()> {
        let timeout = if matches!(event, "SessionEnd" | "Interrupt") {
            3
        } else {
            30
        };
        let mut handler = Table::new();
        handler.insert("type".into(), "command".into());
        handler.insert("command".into(), command.into());
        handler.insert("timeout".into(), timeout.into());
        let mut group = Table::new();
        if let Some(matcher) = matcher {
            group.insert("matcher".into(), matcher.into());
        }
        group.insert("hooks".into(), toml::Value::Array(vec![handler.into()]));
        self.edit_config(|config| {
            let hooks = config.entry("hooks").or_insert_with(|| Table::new().into());
            let groups = hooks
                .as_table_mut()
                .context("config.toml: `hooks` is not a table")?
                .entry(event)
                .or_insert_with(|| toml::Value::Array(Vec::new()));
            groups
                .as_array_mut()
                .with_context(|| format!("config.toml: `hooks.{event}` is not an array"))?
                .push(group.into());
            Ok(())
        })
    }

    /// Adds one capture handler per hook event: each payload lands in its own file, named by
    /// the time its handler started (read them back with [`CodexSandbox::captured_hooks`]).
    pub(crate) fn add_capture_hooks(&self) -> Result<()> {
        let dir = self.root.path().join("hook-captures");
        let command = format!("cat > '{}'/\"$(date +%s%N)-$$.json\"", dir.display());
        for (event, tool_event) in HOOK_EVENTS {
            self.add_hook(event, tool_event.then_some("*"), &command)?;
        }
        Ok(())
    }

    /// The payloads captured by [`Self::add_capture_hooks`], in the order their handlers started.
    pub(crate) fn captured_hooks(&self) -> Result<Vec<Value>> {
        read_captures(&self.root.path().join("hook-captures"))
    }

    /// The rollout files under `$CODEX_HOME/sessions`, sorted by path.
    pub(crate) fn rollouts(&self) -> Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        let mut dirs = vec![self.home().join("sessions")];
        while let Some(dir) = dirs.pop() {
            if !dir.exists() {
                continue;
            }
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension() == Some(OsStr::new("jsonl")) {
                    found.push(path);
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// The records of one rollout file.
    pub(crate) fn rollout_records(&self, path: &Path) -> Result<Vec<Value>> {
        read_json_lines(path)
    }

    /// A `codex` command with this sandbox's environment, in the workspace, stdin closed; run
    /// through `wrapper` (e.g. `codex-otel run --`) when one is given.
    fn command(&self, wrapper: &[OsString]) -> Command {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&self.codex);
                command
            }
            None => Command::new(&self.codex),
        };
        command
            .current_dir(self.workspace())
            .env("CODEX_HOME", self.home())
            .env("TMPDIR", self.root.path().join("tmp"))
            .env(API_KEY_ENV, "sk-mock")
            .env_remove("OPENAI_API_KEY")
            .env_remove("CODEX_API_KEY")
            // What Codex gives its tool commands: run from one, this Codex would be nested.
            .env_remove("CODEX_SESSION_ID")
            .env_remove("CODEX_THREAD_ID")
            .env_remove("CODEX_TOOL_CALL_ID")
            .stdin(Stdio::null());
        command
    }

    /// Runs a short `codex` subcommand (e.g. `plugin list`) and returns its stdout.
    pub(crate) fn run_codex(&self, args: &[&str]) -> Result<String> {
        let out = self.command(&[]).args(args).output()?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            bail!(
                "codex {args:?} failed ({}):\n{stdout}\n{stderr}",
                out.status
            );
        }
        Ok(stdout)
    }

    /// Installs `<plugin>@<marketplace>` from the local marketplace directory `dir`
    /// (`codex plugin marketplace add <dir>`, then `codex plugin add <plugin>@<marketplace>`).
    pub(crate) fn install_plugin(&self, dir: &Path, plugin: &str, marketplace: &str) -> Result<()> {
        let dir = dir
            .to_str()
            .ok_or_else(|| anyhow!("non-UTF-8 path {}", dir.display()))?;
        self.run_codex(&["plugin", "marketplace", "add", dir])?;
        self.run_codex(&["plugin", "add", &format!("{plugin}@{marketplace}")])?;
        Ok(())
    }

    /// `codex exec <prompt>` with `--dangerously-bypass-hook-trust --skip-git-repo-check`.
    pub(crate) fn exec(&self, prompt: &str) -> Exec<'_> {
        Exec::new(self, Vec::new(), prompt)
    }

    /// `codex exec resume <session id> <prompt>` with the same default flags as [`Self::exec`].
    pub(crate) fn exec_resume(&self, session_id: &str, prompt: &str) -> Exec<'_> {
        Exec::new(self, vec!["resume".into(), session_id.into()], prompt)
    }
}

/// One `codex exec` invocation being configured (builder), run by [`Exec::run`].
#[derive(Debug)]
pub(crate) struct Exec<'a> {
    sandbox: &'a CodexSandbox,
    subcommand: Vec<OsString>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    prompt: String,
    timeout: Duration,
    bypass_hook_trust: bool,
    wrapper: Vec<OsString>,
}

impl<'a> Exec<'a> {
    fn new(sandbox: &'a CodexSandbox, subcommand: Vec<OsString>, prompt: &str) -> Self {
        Self {
            sandbox,
            subcommand,
            args: Vec::new(),
            env: Vec::new(),
            prompt: prompt.to_owned(),
            timeout: EXEC_TIMEOUT,
            bypass_hook_trust: true,
            wrapper: Vec::new(),
        }
    }

    /// Runs Codex through `wrapper`: the command becomes `<wrapper…> <codex> exec …`.
    pub(crate) fn wrapped_in(mut self, wrapper: &[&str]) -> Self {
        self.wrapper = wrapper.iter().map(OsString::from).collect();
        self
    }

    /// Adds a flag (e.g. `-c`, `key=value`, `--approve-for-me`) before the prompt.
    pub(crate) fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable for Codex (and so for its hooks).
    pub(crate) fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Kills Codex and fails after `timeout` (default 120 s).
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Omits `--dangerously-bypass-hook-trust`: only trusted hooks run.
    pub(crate) fn without_hook_trust_bypass(mut self) -> Self {
        self.bypass_hook_trust = false;
        self
    }

    /// Runs Codex to completion (or kills it at the timeout) and returns what it printed.
    pub(crate) fn run(self) -> Result<CodexRun> {
        self.run_interrupting(|_| Ok(false))
    }

    /// Like [`Self::run`], but sends SIGINT to Codex once `interrupt_when` returns true (it is
    /// polled while Codex runs), as a user pressing Ctrl-C would.
    pub(crate) fn run_interrupting(
        self,
        interrupt_when: impl Fn(&CodexSandbox) -> Result<bool>,
    ) -> Result<CodexRun> {
        let dir = self.sandbox.root.path();
        // Each run gets its own output files: runs may overlap (two sessions at once).
        let run = EXEC_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stdout_path = dir.join(format!("exec-{run}.stdout"));
        let stderr_path = dir.join(format!("exec-{run}.stderr"));
        let mut command = self.sandbox.command(&self.wrapper);
        command.arg("exec").args(&self.subcommand);
        if self.bypass_hook_trust {
            command.arg("--dangerously-bypass-hook-trust");
        }
        command
            .arg("--skip-git-repo-check")
            .args(&self.args)
            .arg(&self.prompt)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(std::fs::File::create(&stdout_path)?)
            .stderr(std::fs::File::create(&stderr_path)?);
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        let mut interrupted = false;
        let waited = poll("codex exec to finish", self.timeout, || {
            if !interrupted && interrupt_when(self.sandbox)? {
                // SAFETY: kill(2) on the pid of a child we have not reaped yet.
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
                interrupted = true;
            }
            Ok(child.try_wait()?)
        });
        let status = match waited {
            Ok(status) => status,
            Err(err) => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                return Err(err.context(format!("codex was killed; stderr:\n{stderr}")));
            }
        };
        CodexRun::read(status, started.elapsed(), &stdout_path, &stderr_path)
    }
}

/// What one `codex exec` did.
#[derive(Debug)]
pub(crate) struct CodexRun {
    /// The exit status.
    pub(crate) status: ExitStatus,
    /// Standard output: the final assistant message.
    pub(crate) stdout: String,
    /// Standard error: banner, `hook: …` lines, `tokens used`.
    pub(crate) stderr: String,
    /// The root thread id from the `session id: <uuid>` banner line, when printed.
    pub(crate) session_id: Option<String>,
    /// Wall time of the invocation.
    pub(crate) elapsed: Duration,
}

impl CodexRun {
    fn read(status: ExitStatus, elapsed: Duration, stdout: &Path, stderr: &Path) -> Result<Self> {
        let stdout = std::fs::read_to_string(stdout)?;
        let stderr = std::fs::read_to_string(stderr)?;
        let session_id = stderr
            .lines()
            .find_map(|line| line.strip_prefix("session id: "))
            .map(|id| id.trim().to_owned());
        Ok(Self {
            status,
            stdout,
            stderr,
            session_id,
            elapsed,
        })
    }

    /// Fails with Codex's output unless it exited with status 0.
    pub(crate) fn expect_success(self) -> Result<Self> {
        if !self.status.success() {
            bail!(
                "codex exited with {}\nstdout:\n{}\nstderr:\n{}",
                self.status,
                self.stdout,
                self.stderr
            );
        }
        Ok(self)
    }
}
