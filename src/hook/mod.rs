//! The `codex-otel hook` process: Codex runs it for every hook event, synchronously, with one
//! JSON payload on stdin.
//!
//! Contract:
//! - Read stdin to EOF (at most [`journal::MAX_EVENT_BYTES`]; a bigger payload is read to
//!   the end, dropped and logged), check it is a JSON object with a `session_id`, and append
//!   it with its receive time to the session's journal: the event is then durable.
//! - Poke the daemon over its socket with the session id and the hook's [`Route`]
//!   (fire-and-forget, bounded by [`POKE_TIMEOUT`]). When no daemon listens, start one
//!   detached ([`spawn`]) and do not wait: a daemon reads the journals when it starts.
//! - Only when asked ([`FLUSH_ENV`], [`BRAINTRUST_FLUSH_ENV`] or `flushOnTurnEnd` in
//!   `config.json`, [`crate::config::config_json`]) and only on `Stop` and
//!   `SessionEnd`, wait up to [`FLUSH_TIMEOUT`] (SessionEnd: [`SESSION_END_FLUSH_TIMEOUT`]) for
//!   the daemon to export the session, also when no daemon answers yet (one is starting, or a
//!   draining one starts its successor): then the flush is asked again until the deadline.
//! - Never fail Codex: every error becomes one line in our log file ([`crate::logging`]) and
//!   the exit status is 0. Nothing is ever written to stdout, and payload content and
//!   environment values are never logged.
//! - [`DISABLED_ENV`] turns the hook into a no-op that only drains stdin, and so does running
//!   under `codex-otel run` as a hook other than `run`'s own ([`run_marker`]): `run` records
//!   the invocation through the hooks it supplies, never twice.
//!
//! It must stay near the cost of spawning a process (`cat >/dev/null`): no async runtime, no
//! network, no reading of transcripts, one pass over the payload.
//!
//! How Codex is told to run this hook (events, hooks file, handler command) is
//! [`registration`], read by `install`, `run` and `doctor`.

mod lock;
mod payload;
pub mod registration;
pub mod run_marker;
pub mod spawn;

pub use lock::{DaemonLock, LOCK_FD_ENV};
pub use payload::PayloadError;

use crate::config::config_json;
use crate::journal::{self, route::RouteRecord};
use crate::logging::Log;
use crate::paths::StateDir;
use crate::wire::{self, Request, Response, Route};
use clap::Args;
use payload::Payload;
use run_marker::Role;
use spawn::Spawned;
use std::ffi::OsString;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

/// Environment variable that disables the hook when set to `1`/`true`/`yes`/`on`.
pub const DISABLED_ENV: &str = "CODEX_OTEL_DISABLED";
/// Environment variable asking the hook to wait for export at the end of a turn.
pub const FLUSH_ENV: &str = "CODEX_OTEL_FLUSH_ON_TURN_END";
/// The seed plugin's name for [`FLUSH_ENV`], honoured the same way (and, like the seed plugin,
/// read from `flushOnTurnEnd` of its `config.json` when the variable is unset).
pub const BRAINTRUST_FLUSH_ENV: &str = "BRAINTRUST_FLUSH_ON_TURN_END";
/// Bound on connecting to the daemon and writing a poke. A daemon too busy to accept within
/// it misses this poke; the event is journaled and the session's next poke wakes it.
pub const POKE_TIMEOUT: Duration = Duration::from_millis(200);
/// `CODEX_OTEL_FLUSH_TIMEOUT_MS`: how long a Stop hook waits for delivery when asked.
pub const FLUSH_TIMEOUT_ENV: &str = "CODEX_OTEL_FLUSH_TIMEOUT_MS";
/// Default wait of a Stop hook for delivery (override with [`FLUSH_TIMEOUT_ENV`]).
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait of a SessionEnd hook: Codex clamps SessionEnd hooks to 3 s and kills them
/// after that, so the hook must return before, with room for its own start-up.
pub const SESSION_END_FLUSH_TIMEOUT: Duration = Duration::from_millis(2500);

/// Why an event could not be recorded or announced (logged, never shown to Codex).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The state directory is not this user's own private directory: nothing is recorded.
    #[error("refusing the state directory")]
    StateDir(#[source] io::Error),
    /// Reading stdin failed.
    #[error("cannot read the payload from stdin")]
    Stdin(#[source] io::Error),
    /// The payload was bigger than the journal accepts; it was drained and dropped.
    #[error("dropped a payload larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The payload is not a usable hook event; it was dropped.
    #[error("dropped an unusable payload")]
    Payload(#[source] PayloadError),
    /// The event could not be journaled: it is lost.
    #[error("event not journaled")]
    Journal(#[source] journal::Error),
    /// The daemon exists but the poke failed (it is busy or stuck).
    #[error("cannot poke the daemon")]
    Poke(#[source] wire::Error),
    /// `daemon.lock` could not be opened or probed.
    #[error("cannot probe {path}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The path of this executable is unknown, so the daemon cannot be started.
    #[error("cannot locate the codex-otel executable")]
    Exe(#[source] io::Error),
    /// Starting the daemon failed.
    #[error("cannot start the daemon {program}")]
    Spawn {
        /// The program started.
        program: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A requested flush failed.
    #[error("flush on turn end failed")]
    Flush(#[source] wire::Error),
}

/// Arguments of `codex-otel hook`.
#[derive(Debug, Default, Args)]
pub struct HookArgs {
    /// Set by `codex-otel run` on the hooks it supplies ([`crate::hook::run_marker`]).
    #[arg(long, hide = true)]
    pub run: Option<String>,
}

/// The hook's arguments without clap, for the hook binaries' fast path: none, or
/// `--run=<token>` ([`run_marker`]); `None` for anything else (a token that is not
/// [`run_marker::is_token`] included).
pub fn args_from(args: impl IntoIterator<Item = OsString>) -> Option<HookArgs> {
    let mut args = args.into_iter();
    match (args.next(), args.next()) {
        (None, _) => Some(HookArgs::default()),
        (Some(arg), None) => {
            let token = arg.to_str()?.strip_prefix(run_marker::RUN_ARG)?;
            run_marker::is_token(token).then(|| HookArgs {
                run: Some(token.to_owned()),
            })
        }
        _ => None,
    }
}

/// Records one hook event; always exits 0 with nothing on stdout (see the module docs).
/// Meant for the hook process: it silences the panic message, which Codex would show.
pub fn run(args: &HookArgs) -> ExitCode {
    let received_at = SystemTime::now();
    let under_run = std::env::var(run_marker::RUN_ENV).ok();
    let role = run_marker::role(under_run.as_deref(), args.run.as_deref());
    if env_flag(DISABLED_ENV) || role == Role::Skip {
        // Drained so Codex never writes into a closed pipe.
        let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
        return ExitCode::SUCCESS;
    }
    let state = StateDir::from_env();
    let log = Log::new(&state, "hook");
    std::panic::set_hook(Box::new(|_| {}));
    match std::panic::catch_unwind(|| record(&state, &log, received_at, role)) {
        Ok(Ok(())) => {}
        Ok(Err(error)) => log.error(&error),
        Err(_) => log.write("the hook panicked; the event may be lost"),
    }
    ExitCode::SUCCESS
}

/// Journals the event on stdin (and, for `run`'s hook, notes a starting session), then tells
/// the daemon.
fn record(state: &StateDir, log: &Log, received_at: SystemTime, role: Role) -> Result<(), Error> {
    let input = read_capped(io::stdin().lock(), journal::MAX_EVENT_BYTES)?;
    state.prepare().map_err(Error::StateDir)?;
    let payload = Payload::parse(&input).map_err(Error::Payload)?;
    journal::append(state, payload.session_id(), received_at, payload.json())
        .map_err(Error::Journal)?;
    if let (Role::Run(token), Some("SessionStart")) = (role, payload.event_name()) {
        if let Err(error) = run_marker::note_session(state, token, payload.session_id()) {
            log.write(format_args!("cannot note the session for `run`: {error}"));
        }
    }
    let route = Route::from_env();
    let poke = Request::Poke {
        session_id: payload.session_id().to_owned(),
        route: route.clone(),
    };
    match wire::send(&state.socket(), &poke, POKE_TIMEOUT) {
        Ok(()) => flush_if_asked(state, &payload),
        Err(wire::Error::NoDaemon { .. }) => {
            // No daemon heard this route: record it (without secrets) for the next one.
            if let Err(error) = remember_first_route(state, payload.session_id(), &route) {
                log.write(format_args!("cannot store the session's route: {error:#}"));
            }
            let session = Some(payload.session_id());
            if let Spawned::Started(pid) = spawn::spawn_if_absent(state, session)? {
                log.write(format_args!("started the daemon (pid {pid})"));
            }
            // A daemon is starting, or one is draining and will start a successor for this
            // event: a requested flush waits for it too (bounded).
            flush_if_asked(state, &payload)
        }
        Err(error) => Err(Error::Poke(error)),
    }
}

/// Stores the session's route record from this hook's route, unless one exists: a daemon that
/// starts later routes the session with it ([`crate::journal::route`]). Only on the rare path
/// where no daemon listens, so the plugin's `config.json` is read here and nowhere else.
fn remember_first_route(
    state: &StateDir,
    session_id: &str,
    route: &Route,
) -> Result<(), journal::route::RouteRecordError> {
    if RouteRecord::load(state, session_id)?.is_some() {
        return Ok(());
    }
    let (json, _) = config_json::load_from(|name: &str| route.get(name).map(str::to_owned));
    RouteRecord::first(route, &json).store(state, session_id)
}

/// Reads `input` to EOF; past `cap` bytes the rest is drained and the payload refused.
fn read_capped(mut input: impl Read, cap: usize) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    (&mut input)
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(Error::Stdin)?;
    if bytes.len() > cap {
        io::copy(&mut input, &mut io::sink()).map_err(Error::Stdin)?;
        return Err(Error::TooLarge { limit: cap });
    }
    Ok(bytes)
}

/// On `Stop` and `SessionEnd`, when asked, waits (bounded) for the session's export.
fn flush_if_asked(state: &StateDir, payload: &Payload<'_>) -> Result<(), Error> {
    let turn_end = matches!(payload.event_name(), Some("Stop" | "SessionEnd"));
    if !turn_end || !(env_flag(FLUSH_ENV) || braintrust_flush_asked()) {
        return Ok(());
    }
    let configured = std::env::var(FLUSH_TIMEOUT_ENV)
        .ok()
        .and_then(|ms| ms.trim().parse().ok())
        .map_or(FLUSH_TIMEOUT, Duration::from_millis);
    let timeout = match payload.event_name() {
        Some("SessionEnd") => configured.min(SESSION_END_FLUSH_TIMEOUT),
        _ => configured,
    };
    let flush = Request::Flush {
        session_id: Some(payload.session_id().to_owned()),
        timeout_ms: timeout.as_millis() as u64,
    };
    let margin = Duration::from_millis(300);
    let deadline = Instant::now() + timeout;
    loop {
        // Either answer ends the wait: a timed-out flush goes on in the daemon. No daemon yet
        // (one is starting) means asking again until the deadline.
        match wire::request(&state.socket(), &flush, timeout + margin) {
            Err(wire::Error::NoDaemon { .. }) if Instant::now() + NO_DAEMON_PAUSE < deadline => {
                std::thread::sleep(NO_DAEMON_PAUSE);
            }
            answer => return answer.map(|_: Response| ()).map_err(Error::Flush),
        }
    }
}

/// [`BRAINTRUST_FLUSH_ENV`], else `flushOnTurnEnd` of the plugin's `config.json` (read only
/// here, at a turn's end and when the variable is unset: other events never read it).
fn braintrust_flush_asked() -> bool {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let value = env(BRAINTRUST_FLUSH_ENV).or_else(|| {
        let (json, _) = config_json::load_from(env);
        json.get(BRAINTRUST_FLUSH_ENV).map(str::to_owned)
    });
    value.is_some_and(|value| is_on(&value))
}

/// Pause between flush attempts while no daemon answers yet.
const NO_DAEMON_PAUSE: Duration = Duration::from_millis(20);

/// True when the variable is set to `1`, `true`, `yes` or `on` (any case).
fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| is_on(&value))
}

fn is_on(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_takes_no_argument_or_one_valid_run_token() {
        let args = |list: &[&str]| args_from(list.iter().map(OsString::from)).map(|a| a.run);
        assert_eq!(args(&[]), Some(None));
        assert_eq!(args(&["--run=ab-12"]), Some(Some("ab-12".to_owned())));
        for other in [
            &["--run=../x"][..],
            &["--help"],
            &["--run=a", "b"],
            &["--run="],
        ] {
            assert_eq!(args(other), None, "{other:?}");
        }
    }

    #[test]
    fn a_payload_up_to_the_cap_is_read_whole() {
        let bytes = read_capped(&b"0123456789"[..], 10).unwrap();
        assert_eq!(bytes, b"0123456789");
    }

    #[test]
    fn a_payload_over_the_cap_is_drained_and_refused() {
        let mut input = io::Cursor::new(vec![b'x'; 25]);
        let result = read_capped(&mut input, 10);
        assert!(matches!(result, Err(Error::TooLarge { limit: 10 })));
        assert_eq!(input.position(), 25, "the rest of stdin was drained");
    }
}
