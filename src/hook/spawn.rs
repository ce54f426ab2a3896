//! Starting the daemon, detached, when a hook finds none listening.
//!
//! Contract: [`spawn_if_absent`] takes `daemon.lock` without blocking ([`super::lock`]); if a
//! daemon (or a starting one) holds it, nothing happens. Otherwise it starts
//! `<program> daemon` and returns without waiting for it; [`daemon_program`] picks `program`:
//! - [`DAEMON_BIN_ENV`] when set (a test and CI switch: point it at `/bin/true` to make spawns
//!   harmless, or at a script that records them);
//! - else, from the slim hook binary [`HOOK_BIN_NAME`] (which has no `daemon` command), the
//!   [`CLI_BIN_NAME`] in the same directory: the two are built and installed together;
//! - else this executable (`codex-otel hook`, `codex-otel flush`).
//!
//! The child:
//! - gets its own session (`setsid`), so it outlives the hook and Codex's process group;
//! - gets `/dev/null` as stdin, stdout and stderr, and the state directory as its cwd, so it
//!   holds nothing Codex waits on (Codex reads the hook's stdout until EOF);
//! - inherits only the locked `daemon.lock` as fd 3 (every other descriptor is marked
//!   close-on-exec before `exec`);
//! - inherits the hook's environment and [`SPAWNED_FOR_ENV`] naming the hook's session: that
//!   environment is the route of that session only, never of the others the daemon resumes.

use super::lock::{DaemonLock, LOCK_FD, LOCK_FD_ENV};
use super::Error;
use crate::paths::StateDir;
use std::ffi::OsString;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Environment variable naming the program to start as the daemon instead of this
/// executable (tests and CI). Unset by default.
pub const DAEMON_BIN_ENV: &str = "CODEX_OTEL_DAEMON_BIN";
/// Environment variable naming the session whose hook started the daemon.
pub const SPAWNED_FOR_ENV: &str = "CODEX_OTEL_SPAWNED_FOR";
/// File name of the slim hook binary (`src/bin/codex-otel-hook.rs`): only the hook, so that
/// it starts fast; it runs the same code as `codex-otel hook`.
pub const HOOK_BIN_NAME: &str = "codex-otel-hook";
/// File name of the full binary, the one with the `daemon` command.
pub const CLI_BIN_NAME: &str = "codex-otel";

/// What [`spawn_if_absent`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spawned {
    /// A daemon was started with this process id.
    Started(u32),
    /// A daemon holds the lock already (running or starting).
    AlreadyRunning,
}

/// Starts the daemon unless one holds `daemon.lock` (see the module docs).
/// `for_session` is the session whose hook starts it (`None` from `codex-otel flush`).
pub(crate) fn spawn_if_absent(
    state: &StateDir,
    for_session: Option<&str>,
) -> Result<Spawned, Error> {
    let lock = match DaemonLock::try_take(state) {
        Ok(Some(lock)) => lock,
        Ok(None) => return Ok(Spawned::AlreadyRunning),
        Err(source) => {
            let path = state.daemon_lock();
            return Err(Error::Lock { path, source });
        }
    };
    start_holding(&lock, state, for_session).map(Spawned::Started)
}

/// Starts `<program> daemon` handing it `lock`, which the caller holds (a hook that just took
/// it, or an exiting daemon starting its successor); returns the child's pid.
pub(crate) fn start_holding(
    lock: &DaemonLock,
    state: &StateDir,
    for_session: Option<&str>,
) -> Result<u32, Error> {
    let configured = std::env::var_os(DAEMON_BIN_ENV);
    let program = daemon_program(configured, std::env::current_exe).map_err(Error::Exe)?;
    let mut command = Command::new(&program);
    command
        .arg("daemon")
        .current_dir(state.root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env(LOCK_FD_ENV, LOCK_FD.to_string())
        .env_remove(SPAWNED_FOR_ENV);
    if let Some(session) = for_session {
        command.env(SPAWNED_FOR_ENV, session);
    }
    let lock_fd = lock.as_raw_fd();
    // SAFETY: `detach` only makes async-signal-safe calls (setsid, dup2, fcntl, syscall,
    // getrlimit) and allocates nothing, as required between fork and exec.
    unsafe {
        command.pre_exec(move || detach(lock_fd));
    }
    // The child is never waited for: the hook exits at once and the daemon is re-parented.
    #[allow(clippy::zombie_processes)]
    let child = command
        .spawn()
        .map_err(|source| Error::Spawn { program, source })?;
    Ok(child.id())
}

/// The program to start as `<program> daemon` (see the module docs): `configured` (the value
/// of [`DAEMON_BIN_ENV`]) unless unset or empty, else derived from `current_exe`, which is
/// called only then.
pub fn daemon_program(
    configured: Option<OsString>,
    current_exe: impl FnOnce() -> io::Result<PathBuf>,
) -> io::Result<PathBuf> {
    if let Some(program) = configured.filter(|program| !program.is_empty()) {
        return Ok(PathBuf::from(program));
    }
    let current = current_exe()?;
    Ok(match current.file_name() {
        Some(name) if name == HOOK_BIN_NAME => current.with_file_name(CLI_BIN_NAME),
        _ => current,
    })
}

/// In the child, before `exec`: new session, the lock on fd 3, everything else close-on-exec.
fn detach(lock_fd: RawFd) -> io::Result<()> {
    // SAFETY: plain system calls on descriptor numbers; failures are reported, not ignored,
    // except for marking descriptors that may not exist.
    unsafe {
        if libc::setsid() < 0 {
            return Err(io::Error::last_os_error());
        }
        let passed = if lock_fd == LOCK_FD {
            libc::fcntl(LOCK_FD, libc::F_SETFD, 0)
        } else {
            libc::dup2(lock_fd, LOCK_FD)
        };
        if passed < 0 {
            return Err(io::Error::last_os_error());
        }
        mark_cloexec_from(LOCK_FD + 1);
    }
    Ok(())
}

/// Marks every descriptor from `first` on close-on-exec.
///
/// # Safety
/// Only changes descriptor flags; call it between fork and exec.
unsafe fn mark_cloexec_from(first: RawFd) {
    #[cfg(target_os = "linux")]
    {
        let (first, last) = (first as libc::c_uint, libc::c_uint::MAX);
        let flags = libc::CLOSE_RANGE_CLOEXEC;
        if libc::syscall(libc::SYS_close_range, first, last, flags) == 0 {
            return;
        }
    }
    let mut limit: libc::rlimit = std::mem::zeroed();
    let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
        limit.rlim_cur.min(65_536) as RawFd
    } else {
        4096
    };
    for fd in first..max {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn exe(path: &'static str) -> impl FnOnce() -> io::Result<PathBuf> {
        move || Ok(PathBuf::from(path))
    }

    #[test]
    fn the_slim_hook_binary_starts_the_codex_otel_beside_it() {
        let program = daemon_program(None, exe("/opt/bin/codex-otel-hook")).unwrap();
        assert_eq!(program, Path::new("/opt/bin/codex-otel"));
    }

    #[test]
    fn codex_otel_itself_or_another_name_starts_itself() {
        for path in [
            "/opt/bin/codex-otel",
            "/opt/bin/codex-otel-hook-old",
            "/x/my-otel",
        ] {
            assert_eq!(daemon_program(None, exe(path)).unwrap(), Path::new(path));
        }
    }

    #[test]
    fn the_variable_wins_and_the_executable_is_then_not_looked_up() {
        let configured = Some(OsString::from("/tmp/fake-daemon"));
        let unreachable = || Err(io::Error::other("must not be called"));
        let program = daemon_program(configured, unreachable).unwrap();
        assert_eq!(program, Path::new("/tmp/fake-daemon"));
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        let program = daemon_program(Some(OsString::new()), exe("/a/codex-otel-hook")).unwrap();
        assert_eq!(program, Path::new("/a/codex-otel"));
        let failing = || Err(io::Error::other("no /proc"));
        assert!(daemon_program(None, failing).is_err());
    }
}
