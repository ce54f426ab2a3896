//! `codex-otel flush`, `status` and `stop`: one request each to the running daemon over its
//! Unix socket (`flush` and the status request are shared with `codex-otel run`). `flush` starts a daemon when none runs, since journals may hold events no
//! daemon has delivered yet. A wait past one second says on stderr what it waits on ([`crate::progress`]).

use crate::hook::spawn::spawn_if_absent;
use crate::paths::StateDir;
use crate::progress;
use crate::wire::{self, DaemonStatus, DestinationStatus, Request, Response};
use anyhow::{bail, Context};
use clap::Args;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long `status` and `stop` wait for an answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between connection attempts while a daemon starts.
const RETRY_PAUSE: Duration = Duration::from_millis(20);
/// How long a progress note waits for the daemon's status.
const NOTE_STATUS_TIMEOUT: Duration = Duration::from_millis(500);

/// Arguments of `codex-otel flush`.
#[derive(Debug, Args)]
pub struct FlushArgs {
    /// Only this session (default: every session).
    #[arg(long)]
    pub session: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
}

/// Arguments of `codex-otel status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Entry point of `codex-otel flush`.
pub fn flush(args: &FlushArgs) -> anyhow::Result<()> {
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .context("--timeout must be a number of seconds")?;
    match flush_within(&StateDir::from_env(), args.session.clone(), timeout)? {
        Flush::Done => Ok(()),
        Flush::TimedOut => bail!(
            "timed out after {:.1} s; delivery goes on in the daemon",
            args.timeout
        ),
    }
}

/// How a [`flush_within`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Everything journaled (for the session) was delivered, or nothing was ever journaled.
    Done,
    /// The deadline passed first; delivery goes on in the daemon.
    TimedOut,
}

/// Asks the daemon to deliver what is journaled for `session` (every session when `None`)
/// within `timeout`, starting a daemon when none runs and journals exist; says on stderr what
/// it waits on past a second.
pub fn flush_within(
    state: &StateDir,
    session: Option<String>,
    timeout: Duration,
) -> anyhow::Result<Flush> {
    let deadline = Instant::now() + timeout;
    let request = Request::Flush {
        session_id: session,
        timeout_ms: timeout.as_millis() as u64,
    };
    loop {
        match ask_with_notes(state, &request, timeout + ANSWER_TIMEOUT) {
            Ok(Response::Flushed) => return Ok(Flush::Done),
            Ok(Response::TimedOut) => return Ok(Flush::TimedOut),
            Ok(other) => bail!("unexpected answer from the daemon: {other:?}"),
            Err(wire::Error::NoDaemon { .. }) if Instant::now() < deadline => {
                if state.journal_dir().is_dir() {
                    spawn_if_absent(state, None).context("starting the daemon")?;
                } else {
                    return Ok(Flush::Done);
                }
                std::thread::sleep(RETRY_PAUSE);
            }
            Err(error) => return Err(error).context("asking the daemon to flush"),
        }
    }
}

/// Entry point of `codex-otel status`.
pub fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let state = StateDir::from_env();
    let status = daemon_status(&state)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render(&state, status.as_ref()));
    }
    Ok(())
}

/// The running daemon's status; `None` when no daemon runs.
pub fn daemon_status(state: &StateDir) -> anyhow::Result<Option<DaemonStatus>> {
    match wire::request(&state.socket(), &Request::Status, ANSWER_TIMEOUT) {
        Ok(Response::Status(status)) => Ok(Some(status)),
        Ok(other) => bail!("unexpected answer from the daemon: {other:?}"),
        Err(wire::Error::NoDaemon { .. }) => Ok(None),
        Err(error) => Err(error).context("asking the daemon for its status"),
    }
}

/// Entry point of `codex-otel stop`: the daemon stops listening at once and drains (bounded)
/// on its own; a hook fired meanwhile is picked up by a successor it starts.
pub fn stop() -> anyhow::Result<()> {
    let state = StateDir::from_env();
    match ask_with_notes(&state, &Request::Stop, ANSWER_TIMEOUT) {
        Ok(_) => Ok(()),
        Err(wire::Error::NoDaemon { .. }) => Ok(()),
        Err(error) => Err(error).context("asking the daemon to stop"),
    }
}

/// `request` to the daemon, saying on stderr what the daemon still works on while it takes
/// longer than a second.
fn ask_with_notes(
    state: &StateDir,
    request: &Request,
    timeout: Duration,
) -> Result<Response, wire::Error> {
    let (answer, rx) = mpsc::channel();
    let (socket, asked) = (state.socket(), request.clone());
    std::thread::spawn(move || {
        let _ = answer.send(wire::request(&socket, &asked, timeout));
    });
    let note = || match wire::request(&state.socket(), &Request::Status, NOTE_STATUS_TIMEOUT) {
        Ok(Response::Status(status)) => progress::outstanding(&status),
        _ => "the daemon (it does not answer status in time)".to_owned(),
    };
    // The asking thread ends without answering only if it panicked: ask once more here.
    progress::wait_sync(&rx, note)
        .unwrap_or_else(|| wire::request(&state.socket(), request, timeout))
}

fn render(state: &StateDir, status: Option<&DaemonStatus>) -> String {
    let Some(status) = status else {
        return format!(
            "no daemon running (state directory {})\n",
            state.root().display()
        );
    };
    let mut text = format!(
        "daemon pid {} · codex-otel {} · up {} s · state {}\n",
        status.pid,
        status.version,
        status.uptime_ms / 1000,
        state.root().display()
    );
    text.push_str(&format!("sessions followed: {}\n", status.sessions.len()));
    if status.panics > 0 {
        text.push_str(&format!(
            "panics caught: {} (see the log; each skipped the input that caused it)\n",
            status.panics
        ));
    }
    for session in &status.sessions {
        if session.waiting_for_route {
            text.push_str(&format!(
                "  {}  waiting for credentials: no route is known yet; a hook of the session supplies it\n",
                session.session_id
            ));
            continue;
        }
        if session.busy {
            text.push_str(&format!(
                "  {}  busy: did not answer within the status wait (reading, or stuck)\n",
                session.session_id
            ));
            continue;
        }
        text.push_str(&format!(
            "  {}  journal read {} B, delivered through {} B, {} spans queued{}{}{}{}\n",
            session.session_id,
            session.journal_offset,
            session.exported_offset,
            session.pending_spans,
            if session.deferred {
                " (deferred: spool full)"
            } else {
                ""
            },
            waiting_words(&session.waiting_for),
            match session.panics {
                0 => String::new(),
                n => format!(", {n} panics caught"),
            },
            match session.notices {
                0 => String::new(),
                n => format!(", {n} records placed otherwise (see the log)"),
            },
        ));
    }
    text.push_str(&format!("destinations: {}\n", status.destinations.len()));
    for destination in &status.destinations {
        text.push_str(&render_destination(destination));
    }
    text
}

/// What a session waiting for secrets needs, for its status line.
fn waiting_words(missing: &[String]) -> String {
    match missing {
        [] => String::new(),
        names => format!(
            " (waiting for {}: its spans wait until the environment of a hook or config.json provides it)",
            names.join(", ")
        ),
    }
}

fn render_destination(d: &DestinationStatus) -> String {
    let ago = |at_ms: Option<u64>| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        at_ms.map_or("never".to_owned(), |at| {
            format!("{} s ago", now.saturating_sub(at) / 1000)
        })
    };
    let state = serde_json::to_value(d.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut text = format!(
        "  {} [{}] {state}: {} spans queued ({} B), {} delivered, {} dropped, {} refused, {} retries; last success {}\n",
        d.name,
        d.spool,
        d.queued_spans,
        d.queued_bytes,
        d.delivered_spans,
        d.dropped_spans,
        d.refused_spans,
        d.retries,
        ago(d.last_success_at_ms),
    );
    if let Some(warning) = &d.warning {
        text.push_str(&format!("    warning: {warning}\n"));
    }
    if let Some(error) = &d.last_error {
        text.push_str(&format!(
            "    last error ({}): {error}\n",
            ago(d.last_error_at_ms)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_waiting_for_secrets_says_which_and_where_they_can_come_from() {
        assert_eq!(waiting_words(&[]), "");
        let words = waiting_words(&["BRAINTRUST_API_KEY".to_owned()]);
        assert!(
            words.contains("waiting for BRAINTRUST_API_KEY") && words.contains("config.json"),
            "{words}"
        );
    }
}
