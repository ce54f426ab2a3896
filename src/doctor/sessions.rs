//! `doctor`'s view of the running daemon's sessions: a session that did not answer its status
//! in time (stuck reading, e.g. a transcript that never ends) is a problem; one waiting for its
//! route or for credentials is a warning with what supplies them. Nothing when no daemon runs.

use super::{Check, Outcome};
use crate::wire::DaemonStatus;

/// What to do about a session stuck reading.
const STUCK_FIX: &str = "check the session's transcript_path in its journal (a device, FIFO or \
     endless file is never read to its end); `codex-otel stop` ends the daemon within its bound";
/// What to do about a session waiting for credentials.
const WAITING_FIX: &str = "run a hook of the session (resume it) with its variables set, or put \
     the secret in the plugin's config.json";

/// One check per session worth a look in `status`, or one line saying all is well.
pub fn session_checks(status: &DaemonStatus) -> Vec<Check> {
    let mut checks = Vec::new();
    for session in &status.sessions {
        let id = &session.session_id;
        if session.busy {
            checks.push(Check::new(
                Outcome::Problem,
                format!("session {id} did not answer in time: it is stuck reading"),
                Some(STUCK_FIX),
            ));
        } else if session.waiting_for_route {
            checks.push(Check::new(
                Outcome::Warning,
                format!("session {id} waits for its route: no hook of it reached this daemon"),
                Some(WAITING_FIX),
            ));
        } else if !session.waiting_for.is_empty() {
            checks.push(Check::new(
                Outcome::Warning,
                format!("session {id} waits for {}", session.waiting_for.join(", ")),
                Some(WAITING_FIX),
            ));
        }
    }
    if checks.is_empty() {
        checks.push(Check::new(
            Outcome::Ok,
            format!(
                "daemon (pid {}) follows {} session(s), none stuck or waiting",
                status.pid,
                status.sessions.len()
            ),
            None,
        ));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SessionStatus;

    #[test]
    fn a_stuck_session_is_a_problem_and_a_waiting_one_a_warning() {
        let status = DaemonStatus {
            pid: 7,
            sessions: vec![
                SessionStatus::busy("stuck".into()),
                SessionStatus {
                    session_id: "resumed".into(),
                    waiting_for: vec!["BRAINTRUST_API_KEY".into()],
                    ..SessionStatus::default()
                },
                SessionStatus {
                    session_id: "fine".into(),
                    ..SessionStatus::default()
                },
            ],
            ..DaemonStatus::default()
        };
        let checks = session_checks(&status);
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[0].outcome, Outcome::Problem);
        assert!(checks[0].text.contains("stuck"), "{:?}", checks[0]);
        assert_eq!(checks[1].outcome, Outcome::Warning);
        assert!(checks[1].text.contains("BRAINTRUST_API_KEY"));
    }

    #[test]
    fn a_healthy_daemon_is_one_ok_line() {
        let status = DaemonStatus {
            pid: 7,
            sessions: vec![SessionStatus::default()],
            ..DaemonStatus::default()
        };
        let checks = session_checks(&status);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].outcome, Outcome::Ok);
    }
}
