//! Starting the daemon, detached, when a hook finds none listening.
//!
//! Contract: [`spawn_if_absent`] takes `daemon.lock` without blocking ([`super::lock`]); if a
//! daemon (or a starting one) holds it, nothing happens. Otherwise it starts
//! `<program> daemon` and returns without waiting for it: `program` is this executable, or
//! [`DAEMON_BIN_ENV`] when set (a test and CI switch: point it at `/bin/true` to make spawns
//! harmless, or at a script that records them). The child:
//! - gets its own session (`setsid`), so it outlives the hook and Codex's process group;
//! - gets `/dev/null` as stdin, stdout and stderr, and the state directory as its cwd, so it
//!   holds nothing Codex waits on (Codex reads the hook's stdout until EOF);
//! - inherits only the locked `daemon.lock` as fd 3 (every other descriptor is marked
//!   close-on-exec before `exec`);
//! - inherits the hook's environment, which is how a daemon learns the route of the session
//!   whose hook started it.

use super::lock::{DaemonLock, LOCK_FD, LOCK_FD_ENV};
use super::Error;
use crate::paths::StateDir;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Environment variable naming the program to start as the daemon instead of this
/// executable (tests and CI). Unset by default.
pub const DAEMON_BIN_ENV: &str = "CODEX_OTEL_DAEMON_BIN";

/// What [`spawn_if_absent`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spawned {
    /// A daemon was started with this process id.
    Started(u32),
    /// A daemon holds the lock already (running or starting).
    AlreadyRunning,
}

/// Starts the daemon unless one holds `daemon.lock` (see the module docs).
pub(crate) fn spawn_if_absent(state: &StateDir) -> Result<Spawned, Error> {
    let lock = match DaemonLock::try_take(state) {
        Ok(Some(lock)) => lock,
        Ok(None) => return Ok(Spawned::AlreadyRunning),
        Err(source) => {
            let path = state.daemon_lock();
            return Err(Error::Lock { path, source });
        }
    };
    let program = match std::env::var_os(DAEMON_BIN_ENV).filter(|p| !p.is_empty()) {
        Some(program) => PathBuf::from(program),
        None => std::env::current_exe().map_err(Error::Exe)?,
    };
    let mut command = Command::new(&program);
    command
        .arg("daemon")
        .current_dir(state.root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env(LOCK_FD_ENV, LOCK_FD.to_string());
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
    Ok(Spawned::Started(child.id()))
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
