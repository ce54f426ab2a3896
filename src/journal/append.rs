//! Appending one event to a session's journal: the hook's only durable step.
//!
//! Contract: [`append()`] opens the journal with `O_APPEND | O_CREAT` (mode 0600, creating
//! the 0700 directory on first use), writes the whole line with one `write(2)`, and closes it.
//! It never fsyncs: the line is durable against any process crash once `write` returns, and
//! the hook stays near the cost of spawning a process.
//!
//! Why concurrent hooks cannot interleave lines: Codex runs the handlers of one event
//! concurrently, and sub-agents fire hooks in parallel, so several processes append to one
//! journal at the same time. With `O_APPEND` the kernel moves to end-of-file and writes under
//! the inode's lock as one step, so one `write(2)` of a whole line lands contiguously, after
//! every line whose write finished before it. On a local file system a regular-file write is
//! only short when the disk fills, a size limit is hit or a signal interrupts it; the rest is
//! then written at once (`write_all`). If another hook appended in between, that line and the
//! torn one become unreadable lines, which the reader skips and counts: the damage stays
//! within those lines. (NFS does not guarantee `O_APPEND` atomicity; the state directory is
//! meant to be local.)

use super::{encode_line, ensure_dir, Error};
use crate::paths::StateDir;
use std::io::Write;
use std::time::SystemTime;

/// Appends one event (a JSON document, as received) to `session_id`'s journal.
pub fn append(
    state: &StateDir,
    session_id: &str,
    received_at: SystemTime,
    event: &[u8],
) -> Result<(), Error> {
    let path = state.journal_file(session_id);
    let line = encode_line(received_at, event);
    // Checked on every append: a directory planted or loosened since is refused or tightened.
    ensure_dir(&state.journal_dir())?;
    let mut file = StateDir::open_private_append(&path).map_err(|source| Error::Open {
        path: path.clone(),
        source,
    })?;
    file.write_all(&line)
        .map_err(|source| Error::Write { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::decode_line;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_first_append_creates_a_private_journal_in_a_private_dir() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        append(&state, "s1", SystemTime::now(), br#"{"session_id":"s1"}"#).unwrap();
        append(
            &state,
            "s1",
            SystemTime::now(),
            br#"{"session_id":"s1","n":2}"#,
        )
        .unwrap();
        let path = state.journal_file("s1");
        assert_eq!((mode(&path), mode(&state.journal_dir())), (0o600, 0o700));
        let text = std::fs::read(&path).unwrap();
        let lines: Vec<_> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            decode_line(lines[1]).unwrap().event,
            r#"{"session_id":"s1","n":2}"#
        );
    }

    #[test]
    fn concurrent_appends_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let state = state.clone();
                std::thread::spawn(move || {
                    let big = format!("{{\"w\":{i},\"pad\":\"{}\"}}", "x".repeat(200_000));
                    for _ in 0..10 {
                        append(&state, "s", SystemTime::now(), big.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let text = std::fs::read(state.journal_file("s")).unwrap();
        let lines: Vec<_> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 80);
        assert!(lines.iter().all(|line| decode_line(line).is_some()));
    }

    #[test]
    fn a_symlinked_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        StateDir::ensure_private_dir(&state.journal_dir()).unwrap();
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, state.journal_file("s")).unwrap();
        let result = append(&state, "s", SystemTime::now(), b"{}");
        assert!(matches!(result, Err(Error::Open { .. })));
        assert!(!target.exists());
    }
}
