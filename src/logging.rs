//! codex-otel's own diagnostics: one line per message, appended to
//! [`StateDir::log_file`] (mode 0600), never mixed into exported traces.
//!
//! Contract:
//! - A line is `<RFC 3339 UTC time> <component>[<pid>]: <message>\n`, written with one
//!   `write(2)` on an `O_APPEND` file, so concurrent hooks and the daemon never interleave.
//!   Line breaks inside a message are replaced by spaces.
//! - Logging never fails and never panics: if the file cannot be written, the message is
//!   dropped. The log's directory is checked like every state directory; when it is refused
//!   (another user's, a symlink), lines go to `/tmp/codex-otel-<uid>/codex-otel.log`. Nothing goes to stdout (the hook's stdout belongs to Codex); stderr only when
//!   asked for ([`Log::with_stderr`], the daemon in the foreground).
//! - Callers never pass payload content or environment values: only what happened and why.
//! - When the file passes [`MAX_LOG_BYTES`] it is renamed to `<name>.1` (replacing the previous
//!   one) and a new file is started, so the log stays bounded.

use crate::paths::StateDir;
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Size after which the log file is rotated to `<name>.1`.
pub const MAX_LOG_BYTES: u64 = 8 << 20;

/// A writer of diagnostics for one component (`hook`, `daemon`, …).
#[derive(Debug, Clone)]
pub struct Log {
    path: PathBuf,
    component: &'static str,
    stderr: bool,
}

impl Log {
    /// Logs to `state`'s log file as `component`.
    pub fn new(state: &StateDir, component: &'static str) -> Self {
        Log {
            path: state.log_file(),
            component,
            stderr: false,
        }
    }

    /// Also copies every line to stderr when `on` is true.
    pub fn with_stderr(mut self, on: bool) -> Self {
        self.stderr = on;
        self
    }

    /// Appends one message.
    pub fn write(&self, message: impl fmt::Display) {
        let line = self.format(SystemTime::now(), &message);
        if self.stderr {
            let _ = io::stderr().write_all(line.as_bytes());
        }
        let _ = self.append(line.as_bytes());
    }

    /// Appends an error with its chain of causes (`error: cause: cause`).
    pub fn error(&self, error: &dyn std::error::Error) {
        self.write(Chain(error));
    }

    fn format(&self, at: SystemTime, message: &dyn fmt::Display) -> String {
        let mut line = format!(
            "{} {}[{}]: ",
            humantime::format_rfc3339_millis(at),
            self.component,
            std::process::id()
        );
        let start = line.len();
        let _ = write!(line, "{message}");
        let text = line.split_off(start).replace(['\n', '\r'], " ");
        line.push_str(&text);
        line.push('\n');
        line
    }

    /// Appends to the log file; when its directory is refused (not this user's own private
    /// directory), to the per-user fallback instead, so the refusal itself is on record.
    fn append(&self, line: &[u8]) -> io::Result<()> {
        match Self::append_to(&self.path, line) {
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                let fallback = crate::paths::per_user_tmp_dir().join("codex-otel.log");
                match fallback == self.path {
                    true => Err(error),
                    false => Self::append_to(&fallback, line),
                }
            }
            other => other,
        }
    }

    fn append_to(path: &Path, line: &[u8]) -> io::Result<()> {
        if let Some(dir) = path.parent() {
            StateDir::ensure_private_dir(dir)?;
        }
        let mut file = StateDir::open_private_append(path)?;
        if file.metadata()?.len() > MAX_LOG_BYTES {
            let mut rotated = path.to_owned().into_os_string();
            rotated.push(".1");
            std::fs::rename(path, rotated)?;
            file = StateDir::open_private_append(path)?;
        }
        file.write_all(line)
    }
}

/// Longest text from the network kept by [`sanitize_remote_text`], in characters.
pub const MAX_REMOTE_TEXT_CHARS: usize = 512;

/// Text that came from the network (an error body, a receiver's message), made safe for a
/// terminal or a log: URLs lose their credentials and query values, escape sequences and
/// other control characters become spaces, and the text is cut at
/// [`MAX_REMOTE_TEXT_CHARS`] (marked with `…`).
pub fn sanitize_remote_text(text: &str) -> String {
    let words = text.split(' ').map(|word| match word.find("://") {
        Some(_) => crate::export::otlp::without_credentials(word),
        None => word.to_owned(),
    });
    let joined = words.collect::<Vec<_>>().join(" ");
    let mut clean: String = joined
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REMOTE_TEXT_CHARS)
        .collect();
    if joined.chars().count() > MAX_REMOTE_TEXT_CHARS {
        clean.push('…');
    }
    clean
}

/// Displays an error followed by its sources, joined with `: ` (as [`Log::error`] writes it).
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(pub &'a dyn std::error::Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot append")]
    struct Outer(#[source] io::Error);

    #[test]
    fn a_message_is_one_private_timestamped_line() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        let log = Log::new(&state, "hook");
        log.write("first\nsecond");
        log.error(&Outer(io::Error::other("disk full")));
        let text = std::fs::read_to_string(state.log_file()).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let pid = std::process::id();
        assert!(lines[0].ends_with(&format!(" hook[{pid}]: first second")));
        assert!(lines[1].ends_with(": cannot append: disk full"));
        assert!(humantime::parse_rfc3339(lines[0].split(' ').next().unwrap()).is_ok());
        let mode = std::fs::metadata(state.log_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_full_log_is_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::fs::write(state.log_file(), vec![b'x'; MAX_LOG_BYTES as usize + 1]).unwrap();
        Log::new(&state, "daemon").write("fresh");
        let text = std::fs::read_to_string(state.log_file()).unwrap();
        assert!(text.ends_with("fresh\n") && text.len() < 100, "{text}");
        let rotated = dir.path().join("codex-otel.log.1");
        assert_eq!(std::fs::metadata(rotated).unwrap().len(), MAX_LOG_BYTES + 1);
    }

    #[test]
    fn remote_text_loses_escapes_control_characters_url_secrets_and_length() {
        let hostile = "boom \x1b]0;pwned\x07\x1b[2J for url (https://h/v1?key=sk-1)\r\n";
        let clean = sanitize_remote_text(hostile);
        assert!(!clean.chars().any(char::is_control), "{clean:?}");
        assert!(!clean.contains("sk-1"), "{clean}");
        assert!(clean.contains("https://h/v1?key=<redacted>"), "{clean}");
        let long = sanitize_remote_text(&"x".repeat(10_000));
        assert_eq!(long.chars().count(), MAX_REMOTE_TEXT_CHARS + 1);
    }

    #[test]
    fn an_unwritable_log_is_silently_dropped() {
        let log = Log::new(&StateDir::new("/dev/null/state"), "hook");
        log.write("nowhere to go");
    }
}
