//! `daemon.lock`: how a hook knows a daemon is alive, and why at most one daemon starts.
//!
//! Protocol:
//! - A running daemon holds an exclusive `flock` on [`StateDir::daemon_lock`] for its whole
//!   life. It calls [`DaemonLock::acquire`] before anything else and exits when it gets `None`
//!   (another daemon holds the lock).
//! - A hook whose poke finds no daemon takes the same lock without blocking. Failing means a
//!   daemon is alive or starting, or another hook is starting one: the hook does nothing
//!   more, since its event is already journaled and a daemon reads journals when it starts.
//! - A hook that gets the lock starts the daemon with the locked file as fd 3 and
//!   [`LOCK_FD_ENV`]`=3`. A `flock` belongs to the open file description, which the child
//!   shares, so the lock stays held from the hook's probe to the daemon's exit: no second
//!   hook can start another daemon in between, however many hooks race.
//! - [`DaemonLock::acquire`] adopts that inherited descriptor when it is really
//!   `daemon.lock` (same device and inode), else opens the file itself.

use crate::paths::StateDir;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

/// Environment variable telling a daemon which inherited descriptor holds `daemon.lock`.
pub const LOCK_FD_ENV: &str = "CODEX_OTEL_DAEMON_LOCK_FD";
/// The descriptor number a spawning hook passes the lock on.
pub(crate) const LOCK_FD: RawFd = 3;

/// The exclusive `daemon.lock`, held until dropped.
#[derive(Debug)]
pub struct DaemonLock {
    file: File,
}

impl DaemonLock {
    /// For the daemon: takes the lock for the process's lifetime, adopting the descriptor a
    /// spawning hook passed (see the module docs). `None` when another process holds it.
    /// Call it before starting threads or a runtime.
    pub fn acquire(state: &StateDir) -> io::Result<Option<DaemonLock>> {
        StateDir::ensure_private_dir(state.root())?;
        if let Some(file) = inherited(state) {
            return lock(file);
        }
        Self::try_take(state)
    }

    /// For the hook: takes the lock without blocking; `None` when a daemon (or a hook that
    /// is starting one) holds it.
    pub(crate) fn try_take(state: &StateDir) -> io::Result<Option<DaemonLock>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(state.daemon_lock())?;
        crate::paths::verify_private_file(&state.daemon_lock(), &file)?;
        lock(file)
    }

    /// The locked descriptor, to hand to a child process.
    pub(crate) fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

fn lock(file: File) -> io::Result<Option<DaemonLock>> {
    // SAFETY: flock on a descriptor owned by `file` for the duration of the call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Some(DaemonLock { file }));
    }
    let error = io::Error::last_os_error();
    if error.kind() == io::ErrorKind::WouldBlock {
        return Ok(None);
    }
    Err(error)
}

/// The lock descriptor named by [`LOCK_FD_ENV`], if it is open and is `daemon.lock`.
fn inherited(state: &StateDir) -> Option<File> {
    let fd: RawFd = std::env::var(LOCK_FD_ENV).ok()?.parse().ok()?;
    let expected = std::fs::metadata(state.daemon_lock()).ok()?;
    // SAFETY: fstat only reads the descriptor's metadata into a zeroed struct; an invalid
    // descriptor makes it fail with EBADF.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if fd < 0 || unsafe { libc::fstat(fd, &mut stat) } != 0 {
        return None;
    }
    if stat.st_dev as u64 != expected.dev() || stat.st_ino as u64 != expected.ino() {
        return None;
    }
    // SAFETY: the descriptor is open, refers to daemon.lock, and was inherited by this process
    // for exactly this purpose: nothing else in the process owns it.
    let file = unsafe { File::from_raw_fd(fd) };
    // SAFETY: sets a flag on the descriptor `file` owns; children must not inherit the lock.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_holder_at_a_time_and_release_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let first = DaemonLock::acquire(&state).unwrap();
        assert!(first.is_some());
        assert!(DaemonLock::try_take(&state).unwrap().is_none());
        drop(first);
        assert!(DaemonLock::try_take(&state).unwrap().is_some());
    }
}
