//! `codex-otel replay`: runs a recorded session (hook payloads + rollout files) through the
//! same session machine the daemon uses, and streams the spans as the machine emits them to a
//! JSON-lines file or through the same delivery stage as the daemon ([`deliver`]).
//!
//! Feeding order: every hook event first, then each rollout file in the order the hooks named
//! them. Hooks may always come early (see [`crate::session`]), so this order gives exactly the
//! spans the live daemon gives for the same session.
//!
//! Without any hook event (a release that fires no hooks, or no hooks file given), every
//! session whose rollout files are in the transcripts directory is replayed from its rollouts
//! alone ([`crate::codex::discover::sessions`]).

use crate::codex::discover::{session_threads, sessions as rollout_sessions, ThreadFile};
use crate::codex::hook_event::HookEvent;
use crate::codex::tail::RolloutTail;
use crate::config::config_json::ConfigJsonError;
use crate::session::{SessionConfig, SessionMachine};
use crate::span::SpanRecord;
use anyhow::Context as _;
use clap::Args;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub(crate) mod deliver;
mod hooks;

pub use deliver::DeliverError;
pub use hooks::HookSource;

/// How deep below the transcripts directory thread files are looked for (`YYYY/MM/DD/`).
const DISCOVERY_DEPTH: usize = 3;

/// Arguments of `codex-otel replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Hook payload files (one JSON object per line), in the order the events happened.
    /// Several files are one journal: e.g. a session's first run, then its resume. Without
    /// any hook event (none given, or empty files: a Codex release that fires no hooks),
    /// every session in `--transcripts` is replayed from its rollout files alone.
    #[arg(required_unless_present = "transcripts")]
    pub hooks: Vec<PathBuf>,
    /// Directory that stands in for `$CODEX_HOME/sessions`: a transcript_path
    /// `…/sessions/<rest>` is read as `<DIR>/<rest>`. Default: the paths as recorded.
    #[arg(long, value_name = "DIR")]
    pub transcripts: Option<PathBuf>,
    /// Write the spans as JSON lines to this file instead of the configured destinations.
    #[arg(long, value_name = "FILE")]
    pub spans_out: Option<PathBuf>,
    /// How long to wait for a destination, in seconds: for room in its full spool, and at the
    /// end for its last acknowledgement (exit 1 after; what is left stays spooled for the
    /// next replay).
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A hooks file could not be read.
    #[error("cannot read {path}")]
    ReadHooks {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Neither the hooks files nor the transcripts directory hold a session.
    #[error("no hook event with a session id in the given files, and no rollout file in the transcripts directory")]
    NoEvents,
    /// The `--spans-out` file could not be written.
    #[error("cannot write {path}")]
    WriteSpans {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// One recorded hook event and, when the recording has it, its receive time.
#[derive(Debug, Clone)]
pub struct RecordedHook {
    /// The event.
    pub event: HookEvent,
    /// When it was received.
    pub received_at: Option<SystemTime>,
}

/// Reads recorded hook events, one per line: a bare payload, a journal or record-file line
/// (`{"received_at_ns":…,"event":<payload>}`, see [`crate::record`]), or a trace-codex record
/// line (`{…,"eventData":<payload>}`); lines that are not usable events are skipped.
pub fn read_hooks(paths: &[PathBuf]) -> Result<Vec<RecordedHook>, ReplayError> {
    let mut hooks = Vec::new();
    for path in paths {
        let text = std::fs::read(path).map_err(|source| ReplayError::ReadHooks {
            path: path.clone(),
            source,
        })?;
        hooks.extend(text.split(|b| *b == b'\n').filter_map(recorded_hook));
    }
    Ok(hooks)
}

/// One line of a recording as a hook event (see [`read_hooks`] for the forms).
fn recorded_hook(line: &[u8]) -> Option<RecordedHook> {
    if let Some(entry) = crate::journal::decode_line(line) {
        let event = HookEvent::parse(entry.event.as_bytes()).ok()?;
        return Some(RecordedHook {
            event,
            received_at: Some(entry.received_at),
        });
    }
    let event = HookEvent::parse(line).ok().or_else(|| {
        let wrapped: serde_json::Value = serde_json::from_slice(line).ok()?;
        let payload = serde_json::to_vec(wrapped.get("eventData")?).ok()?;
        HookEvent::parse(&payload).ok()
    })?;
    Some(RecordedHook {
        event,
        received_at: None,
    })
}

/// Maps a recorded `transcript_path` to a file: `…/sessions/<rest>` → `<dir>/<rest>` when a
/// transcripts directory is given, the path as recorded otherwise.
pub fn resolve_transcript(recorded: &str, transcripts: Option<&Path>) -> PathBuf {
    match (transcripts, recorded.split_once("/sessions/")) {
        (Some(dir), Some((_, rest))) => dir.join(rest),
        _ => PathBuf::from(recorded),
    }
}

/// Replays every session found in `hooks` that sampling keeps, returning all spans in
/// emission order (see [`replay_each`]).
pub fn replay(
    hooks: &[RecordedHook],
    transcripts: Option<&Path>,
    config: &SessionConfig,
) -> Result<Vec<SpanRecord>, ReplayError> {
    let mut spans = Vec::new();
    replay_each(
        HookSource::Events(hooks),
        transcripts,
        config,
        |_, emitted| {
            spans.extend(emitted);
            Ok::<(), ReplayError>(())
        },
    )?;
    Ok(spans)
}

/// Replays every session found in `hooks` (or, when there is no hook, in `transcripts`: see
/// the module docs) that sampling keeps, handing each group of spans to
/// `emit` (with its session id) as the session machine emits it, so nothing accumulates here:
/// rollout files are read one bounded batch at a time. The session's threads that no hook
/// names (the approval reviewer's) are found in the transcripts directory, or without one next
/// to the files the hooks name, and read first, as the live daemon sees them before the
/// session ends; then the files the hooks name. Missing or unreadable rollout files degrade
/// the trace (fewer spans) but never fail the replay. Returns how many spans were emitted; the first error of `emit` stops it.
pub fn replay_each<E: From<ReplayError>>(
    hooks: HookSource<'_>,
    transcripts: Option<&Path>,
    config: &SessionConfig,
    mut emit: impl FnMut(&str, Vec<SpanRecord>) -> Result<(), E>,
) -> Result<u64, E> {
    let mut order = hooks.sessions()?;
    if order.is_empty() {
        order = transcripts
            .map(|dir| rollout_sessions(dir, DISCOVERY_DEPTH))
            .unwrap_or_default();
    }
    if order.is_empty() {
        return Err(ReplayError::NoEvents.into());
    }
    let mut emitted = 0u64;
    for id in order.iter().filter(|id| config.keeps(id)) {
        let mut out = |spans: Vec<SpanRecord>| {
            if spans.is_empty() {
                return Ok(());
            }
            emitted += spans.len() as u64;
            emit(id, spans)
        };
        let mut machine = SessionMachine::new(id, config.clone());
        hooks.each_of(id, |hook| {
            out(machine.push_hook(&hook.event, hook.received_at))
        })?;
        let named: Vec<(String, PathBuf)> = machine
            .transcripts()
            .iter()
            .map(|recorded| (recorded.clone(), resolve_transcript(recorded, transcripts)))
            .collect();
        let unnamed = unnamed_threads(id, &named, transcripts)
            .into_iter()
            .filter(|thread| !named.iter().any(|(_, path)| *path == thread.path))
            .map(|thread| (thread.path.to_string_lossy().into_owned(), thread.path));
        let files: Vec<(String, PathBuf)> = unnamed.chain(named.iter().cloned()).collect();
        for notice in read_rollouts_and_finish(&mut machine, &files, &mut out)? {
            eprintln!("codex-otel: session {id}: {notice}");
        }
    }
    Ok(emitted)
}

/// The session's thread files that no hook names (the approval reviewer's): found in the
/// transcripts directory when one is given, else next to the files the hooks name, as the
/// live daemon finds them.
fn unnamed_threads(
    session_id: &str,
    named: &[(String, PathBuf)],
    transcripts: Option<&Path>,
) -> Vec<ThreadFile> {
    if let Some(dir) = transcripts {
        return session_threads(dir, session_id, DISCOVERY_DEPTH);
    }
    let mut dirs: Vec<&Path> = named.iter().filter_map(|(_, path)| path.parent()).collect();
    dirs.sort();
    dirs.dedup();
    dirs.into_iter()
        .flat_map(|dir| session_threads(dir, session_id, 0))
        .collect()
}

/// Feeds `machine` every record of `files` (each the key the machine knows the file by and
/// the path to read), one file after the other, then finishes it; every group of spans goes
/// to `out` as it is emitted. Returns what the machine could not place. Shared by `replay`
/// (after the session's hooks) and `import` (no hooks at all).
pub(crate) fn read_rollouts_and_finish<E>(
    machine: &mut SessionMachine,
    files: &[(String, PathBuf)],
    mut out: impl FnMut(Vec<SpanRecord>) -> Result<(), E>,
) -> Result<Vec<crate::session::Notice>, E> {
    for (key, path) in files {
        let mut tail = RolloutTail::new(path, 0);
        tail.drain(|line| out(machine.push_rollout(key, &line)))?;
    }
    out(machine.finish())?;
    Ok(machine.take_notices())
}

/// Entry point of `codex-otel replay`: replays, streaming the spans to `--spans-out` as JSON
/// lines, or through the delivery stage to the configured destinations (the local store when
/// nothing is configured), with GenAI metrics to the destinations that have them switched on
/// ([`deliver`]).
pub fn main(args: &ReplayArgs) -> anyhow::Result<()> {
    let hooks = HookSource::Files(&args.hooks);
    let config = session_config_from_env();
    let transcripts = args.transcripts.as_deref();
    let count = match &args.spans_out {
        Some(path) => write_spans(path, hooks, transcripts, &config)?,
        None => {
            let timeout = Duration::try_from_secs_f64(args.timeout)
                .context("--timeout must be a number of seconds")?;
            deliver::deliver(hooks, transcripts, &config, timeout)?
        }
    };
    eprintln!("replayed {count} spans");
    Ok(())
}

/// The session settings of this process's environment and `config.json`, as a hook's would
/// give them; problems with either are said on stderr.
pub fn session_config_from_env() -> SessionConfig {
    let env = |name: &str| std::env::var(name).ok();
    let (json, problem) = crate::config::config_json::load_from(env);
    let missing = |p: &ConfigJsonError| matches!(p, ConfigJsonError::Missing { .. });
    if let Some(problem) = problem.filter(|p| !missing(p)) {
        eprintln!("codex-otel: {problem}");
    }
    let vars = crate::config::config_json::layered(env, &json);
    let (config, problems) = crate::config::session::session_config(vars);
    for problem in problems {
        eprintln!("codex-otel: {problem}");
    }
    config
}

/// Streams the replayed spans to `path` as JSON lines; returns how many.
fn write_spans(
    path: &Path,
    hooks: HookSource<'_>,
    transcripts: Option<&Path>,
    config: &SessionConfig,
) -> Result<u64, ReplayError> {
    let failed = |source| ReplayError::WriteSpans {
        path: path.to_owned(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(failed)?);
    let count = replay_each(hooks, transcripts, config, |_, spans| {
        for span in &spans {
            serde_json::to_writer(&mut out, span).map_err(|e| failed(e.into()))?;
            out.write_all(b"\n").map_err(failed)?;
        }
        Ok::<(), ReplayError>(())
    })?;
    out.flush().map_err(failed)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const PAYLOAD: &str = r#"{"session_id":"s1","turn_id":"t1","hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"done"}"#;

    #[test]
    fn a_record_file_line_keeps_its_receive_time() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let line = crate::journal::encode_line(at, PAYLOAD.as_bytes());
        let hook = recorded_hook(line.trim_ascii_end()).expect("a record line");
        assert_eq!(hook.event.common.session_id, "s1");
        assert_eq!(hook.received_at, Some(at));
    }

    #[test]
    fn bare_payloads_and_trace_codex_lines_are_events_without_a_time() {
        let wrapped = format!(r#"{{"queueId":"s1","eventName":"Stop","eventData":{PAYLOAD}}}"#);
        for line in [PAYLOAD.to_owned(), wrapped] {
            let hook = recorded_hook(line.as_bytes()).expect(&line);
            assert_eq!(hook.event.common.session_id, "s1", "{line}");
            assert_eq!(hook.received_at, None);
        }
        assert!(recorded_hook(br#"{"eventData":"not an event"}"#).is_none());
    }
}
