//! Real OpenTelemetry components for the integration tests: the header-checking OTLP sink
//! (`tests/receivers/otlp_sink.py`), the rotel collector and Arize Phoenix.
//!
//! Contract: `.ci/install-receivers.sh` installs them under `<repo>/.work/`. Each `start`
//! returns `Ok(None)` after printing why the test is skipped when its component is not
//! installed, and an error instead when `CODEX_OTEL_REQUIRE_RECEIVERS=1` (as in CI). Every
//! process listens on 127.0.0.1 only, on free ports, runs in its own temporary directory (its
//! output goes to `<dir>/<name>.log`, quoted in errors), is waited for by polling with a
//! deadline, and is killed by PID when its handle drops. Spans read back from the sink are
//! normalized by the same rules as [`normalize_sent`], so sent and received compare with `==`.
//!
//! Layout: this file holds what every component shares (locating it, the child process,
//! deadlines, free ports); `sink`, `rotel` and `phoenix` hold one component each.

mod phoenix;
mod rotel;
mod sink;

pub(crate) use phoenix::Phoenix;
pub(crate) use rotel::Rotel;
pub(crate) use sink::{normalize_sent, Sink, SinkSpec, BT_API_KEY, BT_PROJECT, BT_TRACES_PATH};

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::ffi::OsStr;
use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Set to `1` to turn a missing component into a failure instead of a skip.
const REQUIRE_ENV: &str = "CODEX_OTEL_REQUIRE_RECEIVERS";
/// Pause between two readiness or arrival checks.
const POLL: Duration = Duration::from_millis(25);
/// How long the sink and rotel may take to listen (they need well under a second).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long exported spans may take to show up downstream (rotel batches for 100 ms).
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Environment prefixes that must not leak from the test run into a component.
const SCRUBBED_ENV_PREFIXES: [&str; 4] = ["ROTEL_", "PHOENIX_", "OTEL_", "BRAINTRUST_"];

/// A component installed by `.ci/install-receivers.sh`.
#[derive(Debug, Clone, Copy)]
enum Component {
    Sink,
    Rotel,
    Phoenix,
}

impl Component {
    fn name(self) -> &'static str {
        match self {
            Component::Sink => "otlp_sink",
            Component::Rotel => "rotel",
            Component::Phoenix => "phoenix",
        }
    }

    /// The program to run: the venv's interpreter, or rotel's binary.
    fn program(self) -> PathBuf {
        let work = repo_root().join(".work");
        match self {
            Component::Sink => work.join("venvs/sink/bin/python"),
            Component::Rotel => work.join("bin/rotel-agent"),
            Component::Phoenix => work.join("venvs/phoenix/bin/python"),
        }
    }

    /// The program when installed; otherwise a printed skip (`None`) or, when required, an error.
    fn locate(self) -> Result<Option<PathBuf>> {
        let program = self.program();
        if program.exists() {
            return Ok(Some(program));
        }
        let reason = format!(
            "{} is not installed ({} is missing; run .ci/install-receivers.sh)",
            self.name(),
            program.display()
        );
        if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
            bail!("{reason}, and {REQUIRE_ENV}=1 requires it");
        }
        eprintln!("SKIPPED: {reason}");
        Ok(None)
    }
}

/// The repository root: configs and launchers are read from it.
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `N` distinct free loopback ports (all held open together while they are picked).
fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .context("binding 127.0.0.1:0")?;
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

/// A command for `program` whose environment lacks the test run's `ROTEL_*`, `PHOENIX_*`,
/// `OTEL_*` and `BRAINTRUST_*` variables, so only what a test sets reaches the component.
fn scrubbed_command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if SCRUBBED_ENV_PREFIXES.iter().any(|p| name.starts_with(p)) {
            command.env_remove(&key);
        }
    }
    command
}

/// A started component: its child process and working directory, both gone on drop.
#[derive(Debug)]
struct Process {
    name: &'static str,
    child: Child,
    dir: TempDir,
}

impl Process {
    /// Spawns `command` in a fresh temporary directory with stdin closed and output logged.
    fn spawn(component: Component, mut command: Command) -> Result<Self> {
        let name = component.name();
        let dir = tempfile::Builder::new()
            .prefix(&format!("codex-otel-{name}-"))
            .tempdir()?;
        let log = File::create(dir.path().join(format!("{name}.log")))?;
        command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}: {command:?}"))?;
        Ok(Self { name, child, dir })
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// The end of the process's output, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.path(&format!("{}.log", self.name)))
            .unwrap_or_else(|e| format!("(no log: {e})"));
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        format!("--- {} log (tail) ---\n{}", self.name, &text[start..])
    }

    /// Fails when the process has exited, or when `deadline` has passed; else waits one poll.
    async fn tick(&mut self, deadline: &Deadline) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early ({status})\n{}", self.name, self.log_tail());
        }
        if let Err(err) = deadline.tick().await {
            return Err(err.context(self.log_tail()));
        }
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SIGKILL by PID: the state these components keep lives in `dir`, dropped right after.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A point in time after which polling gives up.
#[derive(Debug)]
struct Deadline {
    what: String,
    timeout: Duration,
    until: Instant,
}

impl Deadline {
    fn after(timeout: Duration, what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            timeout,
            until: Instant::now() + timeout,
        }
    }

    /// Waits one poll interval, or fails once the deadline has passed.
    async fn tick(&self) -> Result<()> {
        if Instant::now() >= self.until {
            bail!(
                "timed out after {:?} waiting for {}",
                self.timeout,
                self.what
            );
        }
        tokio::time::sleep(POLL).await;
        Ok(())
    }
}

fn accepts_connections(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<(u16, Value)> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| url.to_owned())?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, value))
}
