//! The real `codex-otel daemon` as a child process of the test, and recorded Codex sessions fed
//! to it as Codex would: hook payloads through the real `codex-otel hook` binary, rollout lines
//! appended to a temporary copy of the rollout files.
//!
//! Contract: a [`Daemon`] runs on a [`Home`]'s state directory with exactly the environment
//! given (plus `PATH`), its stderr to `<home>/daemon.stderr`, and is killed (SIGKILL) when
//! dropped; when the test is failing, it prints codex-otel's log then.
//! A [`Feed`] is a list of [`Step`]s; hooks run with [`Home::command`]'s environment (no daemon
//! spawning) plus the variables given, which make their route as Codex's environment would.
//! Steps keep Codex's causal order as the session machine needs it: a hook is never written
//! after a rollout record that Codex wrote after it (hooks may come early). [`distinct`] and
//! [`assert_usage`] check what a receiver got.

use super::bin::{run, Home, BIN};
use super::fixtures::{model_calls, scenario_dir, ModelCall};
use codex_otel::paths::StateDir;
use codex_otel::replay::resolve_transcript;
use codex_otel::span::{genai as key, SpanId, SpanRecord};
use codex_otel::wire::{self, DaemonStatus, Request, Response, Route};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// How long a daemon may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between two checks while polling.
const POLL: Duration = Duration::from_millis(10);

/// Polls `ready` until it yields a value; panics naming `what` after `timeout`.
pub(crate) fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut ready: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// A running `codex-otel daemon --foreground`.
#[derive(Debug)]
pub(crate) struct Daemon {
    child: Child,
    socket: PathBuf,
    logs: PathBuf,
}

impl Daemon {
    /// Starts a daemon on `home`'s state directory with `env` and waits until it answers. A
    /// daemon that exits at once without error found the lock taken (by a hook's `/bin/true`
    /// stand-in still starting): it is started again.
    pub(crate) fn start(home: &Home, env: &[(&str, String)]) -> Daemon {
        Self::start_in(home, &home.state(), env)
    }

    /// [`Daemon::start`] on another state directory than `home`'s.
    pub(crate) fn start_in(home: &Home, state: &StateDir, env: &[(&str, String)]) -> Daemon {
        let stderr = home.outer().join("daemon.stderr");
        let spawn = || {
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&stderr)
                .expect("daemon stderr file");
            Command::new(BIN)
                .args(["daemon", "--foreground"])
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("CODEX_OTEL_HOME", state.root())
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start the daemon")
        };
        let mut daemon = Daemon {
            child: spawn(),
            socket: state.socket(),
            logs: state.log_file(),
        };
        wait_for("the daemon to answer", START_TIMEOUT, || {
            match daemon.child.try_wait().expect("daemon state") {
                Some(status) if status.success() => daemon.child = spawn(),
                Some(status) => panic!("the daemon failed at start ({status}): {stderr:?}"),
                None => {}
            }
            let pid = daemon.pid();
            daemon.try_status().filter(|s| s.pid == pid)
        });
        daemon
    }

    /// The daemon's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's status, or `None` when it does not answer.
    pub(crate) fn try_status(&self) -> Option<DaemonStatus> {
        match wire::request(&self.socket, &Request::Status, Duration::from_secs(5)) {
            Ok(Response::Status(status)) => Some(status),
            _ => None,
        }
    }

    /// The daemon's status.
    pub(crate) fn status(&self) -> DaemonStatus {
        self.try_status().expect("the daemon answers status")
    }

    /// Asks the daemon to export everything journaled; true when it did within `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let request = Request::Flush {
            session_id: None,
            timeout_ms: timeout.as_millis() as u64,
        };
        let answer = wire::request(&self.socket, &request, timeout + Duration::from_secs(5));
        matches!(answer, Ok(Response::Flushed))
    }

    /// Waits up to `timeout` for the daemon to exit; true when it did.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.child.try_wait().expect("daemon state").is_some() {
                return true;
            }
            std::thread::sleep(POLL);
        }
        false
    }

    /// Kills the daemon with SIGKILL, as a crash would.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL the daemon");
        self.child.wait().expect("reap the daemon");
    }

    /// The daemon's peak resident set (`VmHWM`), in kB.
    pub(crate) fn peak_rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.logs).unwrap_or_default();
            eprintln!("codex-otel.log of the failed test:\n{log}");
        }
    }
}

/// One thing Codex does.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Runs a hook with this payload.
    Hook(Vec<u8>),
    /// Appends this line (without its newline) to a rollout file.
    Line(PathBuf, Vec<u8>),
}

/// A recorded session, ready to be fed step by step.
#[derive(Debug, Clone)]
pub(crate) struct Feed {
    /// The session id.
    pub(crate) session_id: String,
    /// What Codex does, in order.
    pub(crate) steps: Vec<Step>,
    /// The model calls the session makes, with their exact usage.
    pub(crate) calls: Vec<ModelCall>,
}

impl Feed {
    /// Fixture `name` with its rollouts under `dir`: every hook but the last (SessionEnd),
    /// then every rollout line (of all its files, in timestamp order), then the last hook.
    pub(crate) fn fixture(name: &str, dir: &Path) -> Feed {
        let fixture = scenario_dir(name);
        let rewrite = |payload: &mut Value| {
            if let Some(Value::String(path)) = payload.get_mut("transcript_path") {
                *path = resolve_transcript(path, Some(dir)).display().to_string();
            }
        };
        let mut hooks: Vec<Value> = read_lines(&fixture.join("hooks.ndjson"));
        hooks.iter_mut().for_each(rewrite);
        let session_id = hooks[0]["session_id"]
            .as_str()
            .expect("session_id")
            .to_owned();
        let mut lines = Vec::new();
        for file in files_under(&fixture.join("rollouts")) {
            let relative = file.strip_prefix(fixture.join("rollouts")).expect("under");
            for line in read_lines(&file) {
                lines.push((dir.join(relative), line));
            }
        }
        lines.sort_by(|a, b| a.1["timestamp"].as_str().cmp(&b.1["timestamp"].as_str()));
        let last = hooks.pop().expect("a last hook");
        let mut steps: Vec<Step> = hooks.iter().map(hook_step).collect();
        steps.extend(lines.iter().map(|(path, line)| line_step(path, line)));
        steps.push(hook_step(&last));
        Feed {
            session_id,
            steps,
            calls: model_calls(name),
        }
    }

    /// Session number `n` made of `turns` repetitions of the `shell` fixture's turn, with
    /// every id rewritten (session, turns, calls, responses, messages), rollout timestamps
    /// shifted a second per turn, and its rollout under `dir`. Each turn is its hooks, then
    /// its rollout lines.
    pub(crate) fn repeated_shell(n: u16, turns: u16, dir: &Path) -> Feed {
        let fixture = scenario_dir("shell");
        let hooks: Vec<Value> = read_lines(&fixture.join("hooks.ndjson"));
        let rollout = files_under(&fixture.join("rollouts")).remove(0);
        let lines: Vec<Value> = read_lines(&rollout);
        let original = hooks[0]["session_id"]
            .as_str()
            .expect("session_id")
            .to_owned();
        let ids = Rewrite::new(&original, n, dir);
        let recorded = hooks[0]["transcript_path"]
            .as_str()
            .expect("transcript_path");
        let path = PathBuf::from(ids.path(recorded));
        let mut steps = vec![hook_step(&ids.apply(&hooks[0], 0))];
        steps.push(line_step(&path, &ids.apply(&lines[0], 0)));
        let mut calls = Vec::new();
        for turn in 1..=turns {
            for hook in &hooks[1..hooks.len() - 1] {
                steps.push(hook_step(&ids.apply(hook, turn)));
            }
            for line in &lines[1..] {
                let mut line = ids.apply(line, turn);
                shift_timestamp(&mut line, turn);
                steps.push(line_step(&path, &line));
            }
            calls.extend(model_calls("shell").into_iter().map(|mut call| {
                call.response_id = ids.id(&call.response_id, turn);
                call
            }));
        }
        steps.push(hook_step(&ids.apply(&hooks[hooks.len() - 1], 0)));
        Feed {
            session_id: ids.session_id.clone(),
            steps,
            calls,
        }
    }

    /// Runs `steps` on `home`, hooks with `env` added.
    pub(crate) fn feed(&self, home: &Home, env: &[(&str, String)], steps: std::ops::Range<usize>) {
        for step in &self.steps[steps] {
            match step {
                Step::Hook(payload) => {
                    let mut command = home.command(&["hook"]);
                    command.envs(env.iter().map(|(k, v)| (k, v)));
                    let out = run(command, payload);
                    assert!(out.status.success(), "the hook failed: {out:?}");
                }
                Step::Line(path, line) => append_line(path, line),
            }
        }
    }

    /// Tells the daemon to read the session (Codex's next hook would).
    pub(crate) fn poke(&self, home: &Home) {
        let poke = Request::Poke {
            session_id: self.session_id.clone(),
            route: Route::default(),
        };
        let _ = wire::send(&home.state().socket(), &poke, Duration::from_secs(5));
    }
}

/// Id rewriting for one session of [`Feed::repeated_shell`].
struct Rewrite {
    original: String,
    session_id: String,
    n: u16,
    dir: PathBuf,
}

impl Rewrite {
    fn new(original: &str, n: u16, dir: &Path) -> Self {
        Rewrite {
            original: original.to_owned(),
            session_id: format!("{}{n:012x}", &original[..24]),
            n,
            dir: dir.to_owned(),
        }
    }

    /// `value` with every id made unique to this session and `turn`.
    fn apply(&self, value: &Value, turn: u16) -> Value {
        match value {
            Value::String(text) if text.contains("/sessions/") => Value::String(self.path(text)),
            Value::String(text) => Value::String(self.id(text, turn)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.apply(v, turn)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.apply(v, turn)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// An id of the session made unique to it (and to `turn` unless it is the session id).
    fn id(&self, text: &str, turn: u16) -> String {
        const PREFIXES: [&str; 6] = ["call_", "resp_", "msg_", "rs_", "fc_", "fco_"];
        if text == self.original {
            self.session_id.clone()
        } else if is_uuid(text) {
            format!("{}{:04x}{turn:04x}{}", &text[..24], self.n, &text[32..])
        } else if PREFIXES.iter().any(|p| text.starts_with(p)) {
            format!("{text}_{}_{turn}", self.n)
        } else {
            text.replace(&self.original, &self.session_id)
        }
    }

    /// A recorded rollout path moved under `dir`, with the new session id in its name.
    fn path(&self, recorded: &str) -> String {
        let moved = resolve_transcript(recorded, Some(&self.dir))
            .display()
            .to_string();
        moved.replace(&self.original, &self.session_id)
    }
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Moves a rollout line's `timestamp` `seconds` later.
fn shift_timestamp(line: &mut Value, seconds: u16) {
    if let Some(Value::String(stamp)) = line.get_mut("timestamp") {
        let at: SystemTime = humantime::parse_rfc3339(stamp).expect("rfc3339 timestamp");
        let shifted = at + Duration::from_secs(u64::from(seconds));
        *stamp = humantime::format_rfc3339_millis(shifted).to_string();
    }
}

fn hook_step(payload: &Value) -> Step {
    Step::Hook(serde_json::to_vec(payload).expect("payload"))
}

fn line_step(path: &Path, line: &Value) -> Step {
    Step::Line(path.to_owned(), serde_json::to_vec(line).expect("line"))
}

fn append_line(path: &Path, line: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("rollout dir");
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("rollout file");
    file.write_all(&[line, b"\n"].concat())
        .expect("append a rollout line");
}

fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("fixture file");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect()
}

/// Every file under `dir`, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every span of `spans` once, by id, and how many came again with identical content; panics
/// when a span id came twice with different content.
pub(crate) fn distinct<'a>(
    spans: impl IntoIterator<Item = &'a SpanRecord>,
) -> (BTreeMap<SpanId, SpanRecord>, usize) {
    let mut unique = BTreeMap::new();
    let mut repeats = 0;
    for span in spans {
        if let Some(earlier) = unique.insert(span.span_id, span.clone()) {
            assert_eq!(
                &earlier, span,
                "span {} arrived twice, different",
                span.span_id
            );
            repeats += 1;
        }
    }
    (unique, repeats)
}

/// Every chat span of `trace` carries its model call's exact usage, and the root the sum as
/// `codex.usage.*`.
pub(crate) fn assert_usage(trace: &BTreeMap<SpanId, SpanRecord>, calls: &[ModelCall]) {
    let keys = [
        key::USAGE_INPUT_TOKENS,
        key::USAGE_CACHE_READ_INPUT_TOKENS,
        key::USAGE_OUTPUT_TOKENS,
        key::USAGE_REASONING_OUTPUT_TOKENS,
    ];
    let mut totals = [0i64; 4];
    for call in calls {
        let chat = trace
            .values()
            .find(|s| s.str_attr(key::RESPONSE_ID) == Some(call.response_id.as_str()))
            .unwrap_or_else(|| panic!("no chat span for {}", call.response_id));
        let usage = [
            call.input_tokens,
            call.cached_tokens,
            call.output_tokens,
            call.reasoning_tokens,
        ];
        for ((name, want), total) in keys.iter().zip(usage).zip(&mut totals) {
            assert_eq!(
                chat.int_attr(name),
                Some(want),
                "{name} of {}",
                call.response_id
            );
            *total += want;
        }
    }
    let root = trace
        .values()
        .find(|s| s.parent_span_id.is_none())
        .expect("a root span");
    let total_keys = [
        key::CODEX_USAGE_INPUT_TOKENS,
        key::CODEX_USAGE_CACHE_READ_INPUT_TOKENS,
        key::CODEX_USAGE_OUTPUT_TOKENS,
        key::CODEX_USAGE_REASONING_OUTPUT_TOKENS,
    ];
    for (name, total) in total_keys.iter().zip(totals) {
        assert_eq!(root.int_attr(name), Some(total), "session total {name}");
    }
}
