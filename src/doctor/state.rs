//! The state directory checks of `codex-otel doctor`: the directory is this user's own and
//! private (not another user's, not a symlink), and the daemon socket has a usable location
//! (a state path too long for a socket address uses the per-user `/tmp/codex-otel-<uid>`,
//! which must be private too).

use super::{Check, Outcome};
use crate::paths::{per_user_tmp_dir, private_dir_problem, StateDir, MAX_SOCKET_PATH};

const OWN_DIR_FIX: &str =
    "set CODEX_OTEL_HOME to a directory of your own (default ~/.local/state/codex-otel)";

/// Every finding about `state`'s privacy and socket location.
pub fn state_checks(state: &StateDir) -> Vec<Check> {
    let root = state.root();
    let mut checks = vec![match private_dir_problem(root) {
        None => Check::new(
            Outcome::Ok,
            format!("state directory {} is private", root.display()),
            None,
        ),
        Some(problem) if problem.contains("has mode") => {
            Check::new(Outcome::Warning, problem, None)
        }
        Some(problem) => Check::new(Outcome::Problem, problem, Some(OWN_DIR_FIX)),
    }];
    let socket = state.socket();
    if !socket.starts_with(root) {
        let natural = root.join("daemon.sock").as_os_str().len();
        let dir = per_user_tmp_dir();
        checks.push(match private_dir_problem(&dir) {
            None => Check::new(
                Outcome::Ok,
                format!(
                    "{} is {natural} bytes, over the {MAX_SOCKET_PATH} of a socket address: the socket is {}",
                    root.join("daemon.sock").display(),
                    socket.display()
                ),
                None,
            ),
            Some(problem) => Check::new(
                Outcome::Problem,
                format!("the state path is too long for a socket and {problem}"),
                Some("remove that directory if it is not yours, or set CODEX_OTEL_HOME to a path under ~95 characters"),
            ),
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_symlinked_state_directory_is_a_problem_and_a_private_one_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        StateDir::ensure_private_dir(&real).unwrap();
        assert_eq!(state_checks(&StateDir::new(&real))[0].outcome, Outcome::Ok);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let checks = state_checks(&StateDir::new(&link));
        assert_eq!(checks[0].outcome, Outcome::Problem, "{checks:?}");
        assert!(checks[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("CODEX_OTEL_HOME"));
    }

    #[test]
    fn a_loose_state_directory_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let checks = state_checks(&StateDir::new(dir.path()));
        assert_eq!(checks[0].outcome, Outcome::Warning, "{checks:?}");
    }

    #[test]
    fn a_long_state_path_says_where_the_socket_is() {
        let state = StateDir::new(format!("/nonexistent/{}", "d".repeat(120)));
        let checks = state_checks(&state);
        assert_eq!(checks.len(), 2, "{checks:?}");
        assert!(checks[1]
            .text
            .contains(&state.socket().display().to_string()));
    }
}
