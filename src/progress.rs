//! Progress notes for commands that wait (`flush`, `stop`, `doctor`): silent while a wait is
//! short, then, once it has passed [`FIRST_NOTE_AFTER`], one line on stderr about every
//! [`NOTE_EVERY`] saying what is waited on and the last error, so a slow command never looks
//! hung. Never on stdout, which stays the command's answer.

use crate::wire::DaemonStatus;
use std::future::Future;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a wait stays silent.
pub const FIRST_NOTE_AFTER: Duration = Duration::from_secs(1);
/// Pause between two notes.
pub const NOTE_EVERY: Duration = Duration::from_secs(1);

/// Waits for `answer`, writing `note()` to stderr while it takes long. `None` when the sender
/// went away without answering.
pub fn wait_sync<T>(answer: &Receiver<T>, mut note: impl FnMut() -> String) -> Option<T> {
    let started = Instant::now();
    let mut wait = FIRST_NOTE_AFTER;
    loop {
        match answer.recv_timeout(wait) {
            Ok(value) => return Some(value),
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => {
                eprintln!("{}", line(started.elapsed(), &note()));
                wait = NOTE_EVERY;
            }
        }
    }
}

/// Awaits `work`, writing `note()` to stderr while it takes long.
pub async fn wait_async<F: Future>(work: F, note: impl Fn() -> String) -> F::Output {
    let started = Instant::now();
    tokio::pin!(work);
    let mut next = tokio::time::Instant::now() + FIRST_NOTE_AFTER;
    loop {
        tokio::select! {
            output = &mut work => return output,
            () = tokio::time::sleep_until(next) => {
                eprintln!("{}", line(started.elapsed(), &note()));
                next += NOTE_EVERY;
            }
        }
    }
}

/// One note: how long so far and what is waited on.
fn line(elapsed: Duration, what: &str) -> String {
    format!(
        "codex-otel: still waiting after {}s: {what}",
        elapsed.as_secs()
    )
}

/// What a daemon's status says is still outstanding: destinations with spans queued (and
/// their last error), sessions that are busy or wait for their route or credentials.
pub fn outstanding(status: &DaemonStatus) -> String {
    let mut parts = Vec::new();
    for d in status.destinations.iter().filter(|d| d.queued_spans > 0) {
        let mut part = format!("{}: {} spans queued", d.name, d.queued_spans);
        if let Some(error) = &d.last_error {
            part.push_str(&format!(" (last error: {error})"));
        }
        parts.push(part);
    }
    for s in &status.sessions {
        let short: String = s.session_id.chars().take(8).collect();
        if s.busy {
            parts.push(format!("session {short} busy reading"));
        } else if s.waiting_for_route {
            parts.push(format!("session {short} waiting for its route"));
        } else if !s.waiting_for.is_empty() {
            parts.push(format!(
                "session {short} waiting for {}",
                s.waiting_for.join(", ")
            ));
        } else if s.pending_spans > 0 {
            parts.push(format!(
                "session {short}: {} spans not yet acknowledged",
                s.pending_spans
            ));
        }
    }
    match parts.is_empty() {
        true => "the daemon (nothing queued)".to_owned(),
        false => parts.join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{DestinationStatus, SessionStatus};
    use std::sync::mpsc;

    #[test]
    fn a_quick_answer_is_silent_and_returned() {
        let (tx, rx) = mpsc::channel();
        tx.send(7).unwrap();
        let mut notes = 0;
        assert_eq!(
            wait_sync(&rx, || {
                notes += 1;
                String::new()
            }),
            Some(7)
        );
        assert_eq!(notes, 0);
    }

    #[test]
    fn a_slow_answer_gets_a_note_after_the_first_second() {
        let (tx, rx) = mpsc::channel();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(FIRST_NOTE_AFTER + Duration::from_millis(300));
            tx.send("done").unwrap();
        });
        let mut notes = 0;
        let answer = wait_sync(&rx, || {
            notes += 1;
            "collector".to_owned()
        });
        sender.join().unwrap();
        assert_eq!(answer, Some("done"));
        assert_eq!(notes, 1);
    }

    #[test]
    fn what_is_outstanding_names_destinations_errors_and_stuck_sessions() {
        let status = DaemonStatus {
            destinations: vec![
                DestinationStatus {
                    name: "collector".into(),
                    queued_spans: 12,
                    last_error: Some("HTTP 503".into()),
                    ..DestinationStatus::default()
                },
                DestinationStatus {
                    name: "local".into(),
                    ..DestinationStatus::default()
                },
            ],
            sessions: vec![
                SessionStatus::busy("01a20d7a-b819".into()),
                SessionStatus {
                    session_id: "01a20df0-95bd".into(),
                    waiting_for: vec!["BRAINTRUST_API_KEY".into()],
                    ..SessionStatus::default()
                },
            ],
            ..DaemonStatus::default()
        };
        assert_eq!(
            outstanding(&status),
            "collector: 12 spans queued (last error: HTTP 503); session 01a20d7a busy reading; \
             session 01a20df0 waiting for BRAINTRUST_API_KEY"
        );
        assert_eq!(
            outstanding(&DaemonStatus::default()),
            "the daemon (nothing queued)"
        );
    }
}
