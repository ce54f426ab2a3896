//! `codex-otel import`: backfills past Codex sessions from their rollout files alone (no hook
//! events) to the configured destinations, through replay's delivery stage (durable spools
//! under `import-spool/`, retrying couriers). Owns the command's arguments and its flow:
//! find the sessions ([`scan`]), leave alone those traced live or imported before
//! ([`ledger`]), run each through a session machine and hand its spans over as they come,
//! record it as imported, and show progress and a summary ([`meter`]). `--attach` follows one
//! running session instead ([`attach`]).
//!
//! Span ids are deterministic from the session id and natural keys (turn, response and call
//! ids), so the spans of an imported session have the ids a live trace gives them.
//!
//! A rollout does not say which tool call of which session ran a nested `codex exec`, so an
//! imported session is never nested: it gets its own trace (or the `TRACEPARENT` one). The
//! parent call of `import`'s own environment (set when a Codex tool command runs it) is not
//! the imported sessions' and is left out ([`imported_config`]).

mod attach;
mod ledger;
mod meter;
mod scan;

pub use ledger::LedgerError;
pub use scan::DateError;

use crate::paths::StateDir;
use crate::replay::deliver::{DeliverError, Group, Stage};
use crate::replay::read_rollouts_and_finish;
use crate::session::{SessionConfig, SessionMachine};
use ledger::{Ledger, Seen};
use meter::{megabytes, Meter, Tally};
use scan::Session;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Arguments of `codex-otel import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Only these sessions: session ids, or rollout files (the session the file belongs to).
    /// Default: every session under `$CODEX_HOME/sessions` and `archived_sessions`.
    #[arg(value_name = "SESSION|FILE")]
    pub sessions: Vec<String>,
    /// Codex's home directory (default: `~/.codex`).
    #[arg(long, env = "CODEX_HOME")]
    pub codex_home: Option<PathBuf>,
    /// Only sessions started on or after this day (YYYY-MM-DD, UTC) or time (RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = scan::since)]
    pub since: Option<SystemTime>,
    /// Only sessions started on or before this day (YYYY-MM-DD, UTC, the whole day) or time.
    #[arg(long, value_name = "DATE", value_parser = scan::until)]
    pub until: Option<SystemTime>,
    /// List what would be sent (session id, file, size, start time) on stdout; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Follow this running session (id or rollout file) without hooks until it ends, sending
    /// spans as they complete.
    #[arg(long, value_name = "SESSION|FILE", conflicts_with_all = ["sessions", "since", "until", "dry_run"])]
    pub attach: Option<String>,
    /// `--attach`: the session has ended once its files have not grown for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0)]
    pub quiet: f64,
    /// How long to wait for a destination, in seconds: for room in its full spool, and at the
    /// end for its last acknowledgement (exit 1 after; what is left stays spooled and is sent
    /// by the next import).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,
}

/// Why an import could not run or finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// No Codex home: neither `--codex-home`, `CODEX_HOME` nor `HOME`.
    #[error("no Codex home: pass --codex-home or set CODEX_HOME")]
    NoCodexHome,
    /// A duration argument is not a number of seconds.
    #[error("--{0} must be a number of seconds")]
    Seconds(&'static str),
    /// A named session or file was not found.
    #[error("{0}: no such session or rollout file")]
    NotFound(String),
    /// The session to attach to is traced live or was imported already.
    #[error("session {0} is traced live or was imported already: nothing to send")]
    AlreadySent(String),
    /// Delivery failed.
    #[error(transparent)]
    Deliver(#[from] DeliverError),
    /// A session could not be recorded as imported.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// The settings imported sessions get from `environment`'s: without its parent call (see the
/// module docs).
fn imported_config(environment: SessionConfig) -> SessionConfig {
    let mut config = environment;
    config.lineage.call = None;
    config
}

/// Entry point of `codex-otel import` (see the module docs).
pub fn main(args: &ImportArgs) -> anyhow::Result<()> {
    let home = codex_home(args)?;
    let seconds = |value: f64, name| Duration::try_from_secs_f64(value).map_err(|_| name);
    let timeout = seconds(args.timeout, "timeout").map_err(ImportError::Seconds)?;
    let state = StateDir::from_env();
    let config = imported_config(crate::replay::session_config_from_env());
    if let Some(target) = &args.attach {
        let quiet = seconds(args.quiet, "quiet").map_err(ImportError::Seconds)?;
        let session = find(&home, std::slice::from_ref(target))?.remove(0);
        return Ok(attach::follow(&state, session, &config, timeout, quiet)?);
    }
    let mut sessions = match args.sessions.is_empty() {
        true => scan::sessions_in(&scan::home_dirs(&home)),
        false => find(&home, &args.sessions)?,
    };
    let within = |at: Option<SystemTime>, since: Option<SystemTime>, until: Option<SystemTime>| {
        since.is_none_or(|s| at.is_some_and(|at| at >= s))
            && until.is_none_or(|u| at.is_some_and(|at| at < u))
    };
    sessions.retain(|s| within(s.started, args.since, args.until) && config.keeps(&s.id));
    let ledger = Ledger::new(&state);
    let mut tally = Tally::default();
    sessions.retain(|s| {
        let seen = ledger.seen(&s.id);
        match seen {
            Some(Seen::Live) => tally.live += 1,
            Some(Seen::Imported) => tally.imported += 1,
            None => {}
        }
        seen.is_none()
    });
    tally.sessions = sessions.len() as u64;
    tally.bytes = sessions.iter().map(|s| s.bytes).sum();
    let meter = Meter::new(tally, std::io::stderr().is_terminal());
    if args.dry_run {
        sessions.iter().for_each(list);
        let tally = meter.tally();
        let (count, bytes) = (tally.sessions, megabytes(tally.bytes));
        eprintln!(
            "would import {count} sessions ({bytes}); {}",
            meter.skipped()
        );
        return Ok(());
    }
    Ok(send(&state, &sessions, &config, timeout, meter)?)
}

/// `--codex-home`, `CODEX_HOME`, else `~/.codex`.
fn codex_home(args: &ImportArgs) -> Result<PathBuf, ImportError> {
    let home = std::env::var_os("HOME").filter(|home| !home.is_empty());
    args.codex_home
        .clone()
        .or_else(|| home.map(|home| PathBuf::from(home).join(".codex")))
        .ok_or(ImportError::NoCodexHome)
}

/// The sessions `wanted` names: an existing file stands for the session it belongs to (its
/// directory is searched too, so a session outside the Codex home can be imported), anything
/// else is a session id.
fn find(home: &Path, wanted: &[String]) -> Result<Vec<Session>, ImportError> {
    let mut dirs = scan::home_dirs(home);
    let mut ids = Vec::new();
    for name in wanted {
        let path = Path::new(name);
        let first = path
            .is_file()
            .then(|| crate::codex::discover::first_record(path));
        match first {
            Some(Some(first)) => {
                ids.push(first.session_id().to_owned());
                dirs.extend(path.parent().map(|dir| (dir.to_owned(), 0)));
            }
            Some(None) => return Err(ImportError::NotFound(name.clone())),
            None => ids.push(name.clone()),
        }
    }
    let sessions = scan::sessions_in(&dirs);
    let mut found = Vec::new();
    for (id, name) in ids.iter().zip(wanted) {
        let session = sessions.iter().find(|s| s.id == *id);
        let session = session.ok_or_else(|| ImportError::NotFound(name.clone()))?;
        if !found.contains(session) {
            found.push(session.clone());
        }
    }
    Ok(found)
}

/// One `--dry-run` line per file: session id, file, bytes, start time (RFC 3339, UTC).
fn list(session: &Session) {
    let started = session.started.map_or("-".to_owned(), |at| {
        humantime::format_rfc3339_millis(at).to_string()
    });
    for file in &session.files {
        let bytes = std::fs::metadata(&file.path).map_or(0, |m| m.len());
        println!(
            "{}\t{}\t{bytes}\t{started}",
            session.id,
            file.path.display()
        );
    }
}

/// Sends `sessions` through the delivery stage, recording each as imported once its spans
/// are all spooled, then waits (bounded) for the destinations and prints the summary.
fn send(
    state: &StateDir,
    sessions: &[Session],
    config: &SessionConfig,
    timeout: Duration,
    mut meter: Meter,
) -> Result<(), ImportError> {
    let ledger = Ledger::new(state);
    let stage = Stage::from_env(state, state.import_spool_root(), "import", timeout)?;
    let mut sent = || -> Result<(), ImportError> {
        for session in sessions {
            let spans = import_one(&stage, session, config, &meter)?;
            ledger.mark(session, spans)?;
            meter.advance(session.bytes, spans);
        }
        Ok(())
    };
    let sent = sent();
    meter.end();
    let delivered = stage.finish();
    eprintln!("{}", meter.summary());
    sent?;
    Ok(delivered?)
}

/// Runs one session's rollout files through a machine, handing its spans to the spools as
/// they are emitted; returns how many once all are handed over.
fn import_one(
    stage: &Stage,
    session: &Session,
    config: &SessionConfig,
    meter: &Meter,
) -> Result<u64, DeliverError> {
    let mut machine = SessionMachine::new(&session.id, config.clone());
    let mut group = Group::new(stage);
    let mut spans = 0u64;
    let notices = read_rollouts_and_finish(&mut machine, &session.inputs(), |emitted| {
        spans += emitted.len() as u64;
        group.add(&session.id, emitted)
    })?;
    group.hand_over()?;
    for notice in notices {
        meter.say(&format!("codex-otel: session {}: {notice}", session.id));
    }
    Ok(spans)
}
