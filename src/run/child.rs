//! The Codex process `codex-otel run` starts and waits for.
//!
//! Contract:
//! - Codex inherits `run`'s stdin, stdout and stderr (nothing is read, filtered or buffered in
//!   between) and its environment, plus the variables [`spawn`] is given.
//! - While Codex runs, `run` ignores SIGINT and SIGQUIT (a terminal sends them to Codex too,
//!   which decides what to do) and passes SIGTERM and SIGHUP on to Codex, so that `run` lives
//!   on to flush what Codex recorded. Once Codex exited the default dispositions are back.
//! - [`exit_code`] is the code `run` exits with: Codex's own, or 128 + the signal that killed
//!   it (as a shell reports it).

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// The pid signals are passed on to (0: none).
static CHILD: AtomicI32 = AtomicI32::new(0);

/// Why Codex could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ChildError {
    /// The program could not be started.
    #[error("cannot start {program}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for it failed.
    #[error("cannot wait for {program}")]
    Wait {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Runs `program` with `args` and `env` added, and returns how it ended and how long it took.
pub(crate) fn spawn(
    program: &OsString,
    args: &[OsString],
    env: &[(&str, &str)],
) -> Result<(ExitStatus, Duration), ChildError> {
    let name = program.to_string_lossy().into_owned();
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .spawn()
        .map_err(|source| ChildError::Spawn {
            program: name.clone(),
            source,
        })?;
    // Only now: dispositions set before the spawn would be inherited by Codex.
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    set_dispositions(libc::SIG_IGN, forward as *const () as libc::sighandler_t);
    let status = child.wait();
    set_dispositions(libc::SIG_DFL, libc::SIG_DFL);
    CHILD.store(0, Ordering::SeqCst);
    let status = status.map_err(|source| ChildError::Wait {
        program: name,
        source,
    })?;
    Ok((status, started.elapsed()))
}

/// The exit code for `status` (see the module docs).
pub(crate) fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1)
}

/// Sets SIGINT and SIGQUIT to `ignored`, SIGTERM and SIGHUP to `passed_on`.
fn set_dispositions(ignored: libc::sighandler_t, passed_on: libc::sighandler_t) {
    // SAFETY: installing SIG_IGN, SIG_DFL or `forward`, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, ignored);
        libc::signal(libc::SIGQUIT, ignored);
        libc::signal(libc::SIGTERM, passed_on);
        libc::signal(libc::SIGHUP, passed_on);
    }
}

/// Signal handler: sends the signal on to Codex (an atomic load and kill(2) only).
extern "C" fn forward(signal: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe; `pid` is our unreaped child.
        unsafe { libc::kill(pid, signal) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_is_codexs_or_128_plus_the_signal() {
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGKILL)), 137);
    }

    #[test]
    fn a_term_signal_reaches_the_child_and_its_status_passes_through() {
        let script = "sleep 0.3; kill -TERM $PPID; sleep 5; exit 9";
        let args: Vec<OsString> = ["-c", script].iter().map(OsString::from).collect();
        let (status, elapsed) = spawn(&"/bin/sh".into(), &args, &[]).unwrap();
        assert_eq!(exit_code(status), 128 + libc::SIGTERM, "{status:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }
}
