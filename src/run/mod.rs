//! `codex-otel run [options] -- codex exec …`: traces that one Codex invocation, for CI,
//! without installing anything.
//!
//! Contract:
//! - Codex gets codex-otel's hooks for this invocation only, as `-c` overrides ([`command`]),
//!   each running this install's hook with `--run=<token>`, and the environment variables
//!   [`RUN_ENV`] (the token: any other registration of codex-otel's hook, such as the plugin,
//!   then records nothing, so no event is journaled twice, see [`run_marker`]) and
//!   [`FLUSH_ENV`] (every Stop and SessionEnd hook waits for the session's delivery). Nothing of
//!   the user's Codex home is replaced or written. `TRACEPARENT` and every other setting reach
//!   the hooks through Codex's environment, so a job's `TRACEPARENT` makes the session root a
//!   child of that span.
//! - Codex's stdin, stdout and stderr are `run`'s own, untouched ([`child`]).
//! - Once Codex exited: a final flush of the session bounded by `--flush-timeout` (starting a
//!   daemon when none runs), then one line on stderr with the session id and trace id, and with
//!   `--json` the [`summary`] on stdout (`--json` alone, after Codex's output) or in a file.
//! - `run` exits with Codex's exit code (128 + the signal that killed it). Problems after Codex
//!   ran (flush, summary) are said on stderr and do not change it; a problem before Codex ran
//!   (no `exec` in the command, Codex not found) exits [`SETUP_FAILED`].

mod child;
mod command;
mod summary;

use crate::client::{self, Flush};
use crate::daemon::lineage::resolve_parent_trace;
use crate::hook::registration::hook_command;
use crate::hook::run_marker::{self, RUN_ARG, RUN_ENV};
use crate::hook::FLUSH_ENV;
use crate::journal::route::RouteRecord;
use crate::paths::StateDir;
use anyhow::Context as _;
use clap::Args;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use summary::{Summary, Traced};

/// Exit code when Codex could not be run at all (as `env` and `nohup` use 125-127).
pub const SETUP_FAILED: u8 = 125;

/// Arguments of `codex-otel run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// How long to wait, once Codex exited, for the session's spans to be delivered, in
    /// seconds (what is left is delivered by the daemon later).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub flush_timeout: f64,
    /// Write a JSON summary (tokens per model, duration, tool calls, errors, session and trace
    /// id, delivered and queued spans) to FILE, or to stdout after Codex's output when no FILE
    /// is given.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    pub json: Option<PathBuf>,
    /// The Codex command, after `--`: `codex exec …`.
    #[arg(last = true, required = true, value_name = "CODEX EXEC …")]
    pub command: Vec<OsString>,
}

/// Entry point of `codex-otel run` (see the module docs).
pub fn main(args: &RunArgs) -> ExitCode {
    match execute(args) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("codex-otel: {error:#}");
            ExitCode::from(SETUP_FAILED)
        }
    }
}

/// Runs Codex and returns its exit code; fails only when Codex could not be run.
fn execute(args: &RunArgs) -> anyhow::Result<i32> {
    let flush_timeout = Duration::try_from_secs_f64(args.flush_timeout)
        .context("--flush-timeout must be a number of seconds")?;
    let token = new_token();
    let exe = std::env::current_exe().context("locating this executable")?;
    let hook = hook_command(&exe).map_err(command::CommandError::Hook)?;
    let overrides = command::hook_overrides(&format!("{hook} {RUN_ARG}{token}"))?;
    let line = command::with_hooks(&args.command, &overrides)?;
    let (program, rest) = line.split_first().ok_or(command::CommandError::Empty)?;
    let env = [(RUN_ENV, token.as_str()), (FLUSH_ENV, "1")];
    let (status, duration) = child::spawn(program, rest, &env)?;
    let code = child::exit_code(status);

    let state = StateDir::from_env();
    let traced = finish(&state, &token, flush_timeout).unwrap_or_else(|error| {
        eprintln!("codex-otel: {error:#}");
        None
    });
    let summary = Summary::new(code, duration, traced.as_ref());
    eprintln!("codex-otel: {}", outcome(&summary, args.flush_timeout));
    if let Some(path) = &args.json {
        if let Err(error) = write_summary(path, &summary) {
            eprintln!("codex-otel: cannot write the summary: {error:#}");
        }
    }
    Ok(code)
}

/// The session the invocation's hooks recorded, flushed (bounded) and rebuilt from its journal.
fn finish(state: &StateDir, token: &str, timeout: Duration) -> anyhow::Result<Option<Traced>> {
    let sessions = run_marker::sessions(state, token).context("reading the run's sessions")?;
    let Some(session_id) = sessions.into_iter().next() else {
        return Ok(None);
    };
    let flushed = client::flush_within(state, Some(session_id.clone()), timeout)?;
    let flushed = flushed == Flush::Done;
    let queued = match flushed {
        true => 0,
        false => client::daemon_status(state)?
            .and_then(|status| {
                let mut sessions = status.sessions.into_iter();
                sessions.find(|s| s.session_id == session_id)
            })
            .map_or(0, |s| s.pending_spans),
    };
    let mut config = crate::replay::session_config_from_env();
    // The parent of a nested run went where the daemon found it went.
    let record_of = |id: &str| RouteRecord::load(state, id).ok().flatten();
    resolve_parent_trace(&session_id, &mut config.lineage, record_of);
    let hooks = crate::replay::read_hooks(&[state.journal_file(&session_id)])?;
    let spans = crate::replay::replay(&hooks, None, &config)?;
    let trace_id = config.trace_id(&session_id);
    Ok(Some(Traced {
        trace_id: trace_id.to_string(),
        session_id,
        spans,
        flushed,
        queued,
    }))
}

/// The closing line on stderr.
fn outcome(summary: &Summary, flush_timeout: f64) -> String {
    let (Some(session), Some(trace)) = (&summary.session_id, &summary.trace_id) else {
        return "Codex recorded no session (no hook of this invocation ran)".to_owned();
    };
    let delivery = match summary.delivered_spans {
        Some(delivered) => format!("{delivered} spans delivered"),
        None => format!(
            "flush timed out after {flush_timeout:.1} s, {} spans still queued; delivery goes on in the daemon",
            summary.queued_spans
        ),
    };
    format!("session {session} · trace {trace} · {delivery}")
}

/// Writes `summary` as pretty JSON to `path`, or to stdout for `-`.
fn write_summary(path: &Path, summary: &Summary) -> anyhow::Result<()> {
    let mut json = serde_json::to_string_pretty(summary)?;
    json.push('\n');
    if path == Path::new("-") {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(json.as_bytes())?;
        stdout.flush()?;
    } else {
        std::fs::write(path, json).with_context(|| path.display().to_string())?;
    }
    Ok(())
}

/// A token unique to this invocation: 32 hex digits of a digest of the pid, the time and a
/// counter.
fn new_token() -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let seed = format!("{}-{}-{seq}", std::process::id(), now.as_nanos());
    hex::encode(&Sha256::digest(seed.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_valid_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert!(run_marker::is_token(&a), "{a}");
        assert_ne!(a, b);
    }
}
