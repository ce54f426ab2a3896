//! Reading a session's journal incrementally: [`JournalReader`] returns the records appended
//! since the last call, each with the byte offset just after its line.
//!
//! Contract: built on [`crate::tail::LineTail`], so a partial last line (a hook still
//! writing) is held back, calls are bounded, a missing journal has no records yet, and a
//! journal that shrinks or is replaced is read again from 0 and reported. Lines that do not
//! decode ([`super::decode_line_recovering`], which also finds a record appended to a torn
//! one) are skipped and counted in [`JournalBatch::invalid`].
//! Persist [`JournalReader::offset`] (through a checkpoint) to resume after a restart.

use super::{decode_line_recovering, Error, JournalEntry, MAX_LINE_BYTES};
use crate::paths::StateDir;
use crate::tail::{Batch, Limits, LineTail};
use std::path::{Path, PathBuf};

/// Records of one [`JournalReader::read`] call.
pub type JournalBatch = Batch<JournalEntry>;

/// Follows one session's journal (see the module docs).
#[derive(Debug, Clone)]
pub struct JournalReader {
    path: PathBuf,
    tail: LineTail,
}

impl JournalReader {
    /// Follows `session_id`'s journal from `offset` (0, or an offset this type reported).
    pub fn new(state: &StateDir, session_id: &str, offset: u64) -> Self {
        let limits = Limits {
            max_line_bytes: MAX_LINE_BYTES,
            ..Limits::default()
        };
        Self::from_path(state.journal_file(session_id), offset, limits)
    }

    /// Follows the journal file at `path` from `offset` with explicit per-call limits.
    pub fn from_path(path: impl Into<PathBuf>, offset: u64, limits: Limits) -> Self {
        JournalReader {
            path: path.into(),
            tail: LineTail::new(offset, limits),
        }
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The resumable offset: just after the last record returned or skipped.
    pub fn offset(&self) -> u64 {
        self.tail.offset()
    }

    /// Reads the records appended since the last call, up to the limits.
    pub fn read(&mut self) -> Result<JournalBatch, Error> {
        let lines = self.tail.read_file(&self.path).map_err(Error::Read)?;
        Ok(lines.parse(decode_line_recovering))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::append;
    use std::io::Write;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn records_come_back_in_order_with_their_receive_time_and_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let mut reader = JournalReader::new(&state, "s", 0);
        assert!(reader.read().unwrap().missing);
        for n in 1..=3u64 {
            let at = UNIX_EPOCH + Duration::from_secs(n);
            append(&state, "s", at, format!("{{\"n\":{n}}}").as_bytes()).unwrap();
        }
        let batch = reader.read().unwrap();
        let events: Vec<_> = batch.items.iter().map(|(_, e)| e.event.as_str()).collect();
        assert_eq!(events, [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]);
        assert_eq!(
            batch.items[2].1.received_at,
            UNIX_EPOCH + Duration::from_secs(3)
        );
        let len = std::fs::metadata(reader.path()).unwrap().len();
        assert_eq!((batch.items[2].0, reader.offset()), (len, len));
        let resumed = JournalReader::new(&state, "s", batch.items[0].0)
            .read()
            .unwrap();
        assert_eq!(resumed.items, batch.items[1..].to_vec());
    }

    #[test]
    fn torn_lines_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        append(&state, "s", UNIX_EPOCH, b"{\"a\":1}").unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(state.journal_file("s"))
            .unwrap();
        file.write_all(b"{\"received_at_ns\":5,\"ev\n").unwrap();
        append(&state, "s", UNIX_EPOCH, b"{\"b\":2}").unwrap();
        let batch = JournalReader::new(&state, "s", 0).read().unwrap();
        assert_eq!((batch.items.len(), batch.invalid), (2, 1));
    }

    #[test]
    fn a_record_appended_to_a_torn_line_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        append(&state, "s", UNIX_EPOCH, b"{\"a\":1}").unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(state.journal_file("s"))
            .unwrap();
        file.write_all(b"{\"received_at_ns\":5,\"event\":{\"lost")
            .unwrap();
        append(&state, "s", UNIX_EPOCH, b"{\"b\":2}").unwrap();
        let batch = JournalReader::new(&state, "s", 0).read().unwrap();
        let events: Vec<_> = batch.items.iter().map(|(_, e)| e.event.as_str()).collect();
        assert_eq!(events, [r#"{"a":1}"#, r#"{"b":2}"#]);
    }
}
