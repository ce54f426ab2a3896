//! Every on-disk location codex-otel uses, derived from one state directory.
//!
//! The state directory is `$CODEX_OTEL_HOME`, else `$XDG_STATE_HOME/codex-otel`, else
//! `~/.local/state/codex-otel`; without `HOME` it is the per-user `/tmp/codex-otel-<uid>`, never
//! a location shared between users. It and every directory in it are created owner-only or
//! refused when another user owns them or they are symlinks; files inside are 0600 and opened
//! without following symlinks ([`private`]). Session
//! ids become file names only through [`StateDir::session_file_stem`], which maps any input to
//! a safe name, so a hostile id such as `../../x` can never escape the directory.

mod private;

pub use private::{current_uid, private_dir_problem, verify_private_file, PrivacyError};

use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Environment variable naming the state directory.
pub const CODEX_OTEL_HOME: &str = "CODEX_OTEL_HOME";

/// The root of codex-otel's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Uses `root` as the state directory (tests pass a temp dir).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateDir { root: root.into() }
    }

    /// Resolves the state directory from the environment (see the module docs).
    pub fn from_env() -> Self {
        Self::from_vars(|key| std::env::var_os(key).filter(|v| !v.is_empty()))
    }

    /// Resolves the state directory from a variable lookup (testable form of [`Self::from_env`]).
    pub fn from_vars(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Self {
        if let Some(home) = var(CODEX_OTEL_HOME) {
            return Self::new(PathBuf::from(home));
        }
        if let Some(state) = var("XDG_STATE_HOME") {
            return Self::new(PathBuf::from(state).join("codex-otel"));
        }
        match var("HOME") {
            Some(home) => Self::new(PathBuf::from(home).join(".local/state/codex-otel")),
            None => Self::new(per_user_tmp_dir()),
        }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the state directory owner-only, or checks and tightens the existing one;
    /// refuses one that another user owns or that is a symlink ([`private`]).
    pub fn prepare(&self) -> io::Result<()> {
        Self::ensure_private_dir(&self.root)
    }

    /// Creates `dir` (and parents) with mode 0700, or checks that the existing `dir` is ours
    /// and no symlink and tightens it to 0700 ([`private`]).
    pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
        private::ensure_private_dir(dir)
    }

    /// Opens `path` for appending (and reading back), creating it with mode 0600; refuses to follow a symlink, so
    /// a planted link cannot redirect our writes, and refuses a file another user owns.
    pub fn open_private_append(path: &Path) -> io::Result<fs::File> {
        let file = fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)?;
        verify_private_file(path, &file)?;
        Ok(file)
    }

    /// Replaces `path` atomically and durably: the bytes go to a unique temporary file in the
    /// same directory (mode 0600, never through a symlink), which is fsynced, renamed over
    /// `path`, and the directory fsynced. A reader sees the old or the new file, never a mix;
    /// concurrent writers never share a temporary file (the last rename wins).
    pub fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        use std::sync::atomic::{AtomicU64, Ordering};
        static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let temp = dir.join(format!(
            ".{}.{}-{}.tmp",
            name.unwrap_or_default(),
            std::process::id(),
            TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temp, path)?;
            fs::File::open(dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }

    /// A file-name-safe stem for a session id: ASCII letters, digits, `-` and `_` are kept;
    /// anything else (or an empty or over-long id) is replaced by a hash-suffixed form.
    pub fn session_file_stem(session_id: &str) -> String {
        let safe = !session_id.is_empty()
            && session_id.len() <= 128
            && session_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if safe {
            return session_id.to_owned();
        }
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(session_id.as_bytes());
        format!("x-{}", hex::encode(&digest[..16]))
    }

    /// `journal/`: one append-only event log per session.
    pub fn journal_dir(&self) -> PathBuf {
        self.root.join("journal")
    }

    /// `journal/<session>.ndjson`.
    pub fn journal_file(&self, session_id: &str) -> PathBuf {
        self.journal_dir()
            .join(format!("{}.ndjson", Self::session_file_stem(session_id)))
    }

    /// `checkpoints/`: per-session progress, written temp-then-rename.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// `spans/`: the local store, OTLP JSON lines per session.
    pub fn store_dir(&self) -> PathBuf {
        self.root.join("spans")
    }

    /// `spool/`: the daemon's spools, one directory per destination (see
    /// [`crate::delivery`]), spans waiting for a destination's acknowledgement.
    pub fn spool_root(&self) -> PathBuf {
        self.root.join("spool")
    }

    /// `replay-spool/`: the spools of `codex-otel replay`, apart from the daemon's so that a
    /// replay and a running daemon never deliver the same spool.
    pub fn replay_spool_root(&self) -> PathBuf {
        self.root.join("replay-spool")
    }

    /// `import-spool/`: the spools of `codex-otel import`, apart from the daemon's and
    /// replay's for the same reason.
    pub fn import_spool_root(&self) -> PathBuf {
        self.root.join("import-spool")
    }

    /// `retired/`: one empty marker per live-traced session whose journal retention removed,
    /// so `codex-otel import` still knows the session was traced.
    pub fn retired_dir(&self) -> PathBuf {
        self.root.join("retired")
    }

    /// `imported/`: one marker per session `codex-otel import` handed to the spools.
    pub fn imported_dir(&self) -> PathBuf {
        self.root.join("imported")
    }

    /// `daemon.sock`: the Unix socket hooks poke. When that path is too long for a Unix
    /// socket address ([`MAX_SOCKET_PATH`]), the socket lives in the per-user private
    /// `/tmp/codex-otel-<uid>/` under a name derived from the state directory instead.
    pub fn socket(&self) -> PathBuf {
        let natural = self.root.join("daemon.sock");
        if natural.as_os_str().len() <= MAX_SOCKET_PATH {
            return natural;
        }
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.root.as_os_str().as_encoded_bytes());
        per_user_tmp_dir().join(format!("{}.sock", hex::encode(&digest[..8])))
    }

    /// `daemon.lock`: held by the running daemon; makes start-up races harmless.
    pub fn daemon_lock(&self) -> PathBuf {
        self.root.join("daemon.lock")
    }

    /// `codex-otel.log`: our own diagnostics.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("codex-otel.log")
    }
}

/// Longest path a Unix socket address holds (`sun_path` is 108 bytes with its NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// `/tmp/codex-otel-<uid>`: this user's private directory when `HOME` is unset, and where the
/// socket of a state directory with a very long path lives. Checked like every state
/// directory: another user who creates it first is refused, never trusted.
pub fn per_user_tmp_dir() -> PathBuf {
    PathBuf::from(format!("/tmp/codex-otel-{}", current_uid()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn codex_otel_home_wins_over_xdg_and_home() {
        let vars = |key: &str| match key {
            "CODEX_OTEL_HOME" => Some(OsString::from("/a")),
            "XDG_STATE_HOME" => Some(OsString::from("/b")),
            _ => Some(OsString::from("/c")),
        };
        assert_eq!(StateDir::from_vars(vars).root(), Path::new("/a"));
        let vars = |key: &str| (key == "HOME").then(|| OsString::from("/c"));
        assert_eq!(
            StateDir::from_vars(vars).root(),
            Path::new("/c/.local/state/codex-otel")
        );
    }

    #[test]
    fn without_home_the_fallback_is_per_user_not_shared() {
        let state = StateDir::from_vars(|_| None);
        let expected = format!("/tmp/codex-otel-{}", current_uid());
        assert_eq!(state.root(), Path::new(&expected));
    }

    #[test]
    fn a_long_state_dir_gets_a_socket_path_that_fits() {
        let short = StateDir::new("/home/u/.local/state/codex-otel");
        assert_eq!(short.socket(), short.root().join("daemon.sock"));
        let long = StateDir::new(format!("/tmp/{}", "d".repeat(150)));
        let socket = long.socket();
        assert!(socket.as_os_str().len() <= MAX_SOCKET_PATH, "{socket:?}");
        assert!(socket.starts_with(per_user_tmp_dir()), "{socket:?}");
        let other = StateDir::new(format!("/tmp/{}", "e".repeat(150)));
        assert_ne!(
            other.socket(),
            socket,
            "each state directory has its own socket"
        );
    }

    #[test]
    fn hostile_session_ids_never_escape_the_state_dir() {
        let state = StateDir::new("/state");
        for id in ["../../x", "/etc/x", "", "a/b", "..", "\0", &"a".repeat(500)] {
            let path = state.journal_file(id);
            assert_eq!(path.parent(), Some(state.journal_dir().as_path()), "{id:?}");
            let stem = StateDir::session_file_stem(id);
            assert!(
                !stem.contains('/') && !stem.starts_with('.'),
                "{id:?} -> {stem}"
            );
        }
        assert_eq!(
            StateDir::session_file_stem("01a20d7a-b819-7451-bc39-6764d48b49b7"),
            "01a20d7a-b819-7451-bc39-6764d48b49b7"
        );
    }
}
