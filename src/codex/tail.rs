//! Incremental reading of one rollout transcript file, as typed [`RolloutLine`]s.
//!
//! Contract:
//! - [`RolloutTail::read`] returns the records appended since the last call, each with the
//!   byte offset just after its line; persist [`RolloutTail::offset`] (e.g. in the session's
//!   checkpoint) and pass it to [`RolloutTail::new`] to resume.
//! - A partial last line is held back until Codex finishes writing it; lines that are not
//!   valid JSON are skipped and counted ([`RolloutBatch::invalid`]).
//! - A missing file has no records yet (Codex creates the file lazily); a file that
//!   disappears keeps its offset. A file replaced by a copy of itself is read on; one cut
//!   short waits until restored ([`crate::tail::Kept`]); one with other content is read again
//!   from the start and reported ([`crate::tail::Reset`]): the session machine then ignores
//!   the records it already has (same response, call or turn ids).
//! - `*.zst` files are zstd-compressed rollouts. Codex writes such a file once, so each call
//!   decompresses it from the start and skips the part already read: offsets are positions in
//!   the decompressed stream, and a last line without `\n` counts as complete.

use super::rollout::RolloutLine;
use crate::tail::{self, Batch, Limits, LineTail};
use std::path::{Path, PathBuf};

/// Records of one [`RolloutTail::read`] call.
pub type RolloutBatch = Batch<RolloutLine>;

/// Follows one rollout file (see the module docs).
#[derive(Debug, Clone)]
pub struct RolloutTail {
    path: PathBuf,
    compressed: bool,
    tail: LineTail,
}

impl RolloutTail {
    /// Follows `path` from `offset` (0, or an offset this type reported) with default limits.
    pub fn new(path: impl Into<PathBuf>, offset: u64) -> Self {
        Self::with_limits(path, offset, Limits::default())
    }

    /// Follows `path` from `offset` with explicit per-call limits.
    pub fn with_limits(path: impl Into<PathBuf>, offset: u64, limits: Limits) -> Self {
        let path = path.into();
        let compressed = path.extension().is_some_and(|ext| ext == "zst");
        RolloutTail {
            path,
            compressed,
            tail: LineTail::new(offset, limits),
        }
    }

    /// The file being followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The resumable offset: just after the last record returned or skipped.
    pub fn offset(&self) -> u64 {
        self.tail.offset()
    }

    /// Reads the records appended since the last call, up to the limits.
    pub fn read(&mut self) -> Result<RolloutBatch, tail::Error> {
        let lines = if self.compressed {
            self.tail.read_decoded(&self.path, zstd::Decoder::new)?
        } else {
            self.tail.read_file(&self.path)?
        };
        Ok(lines.parse(|line| RolloutLine::parse(line).ok()))
    }

    /// Calls `each` with every parsable line not returned yet (none when the file is missing
    /// or unreadable), one bounded batch at a time as the daemon reads, but to the end at once:
    /// how `replay` and `import` read a rollout.
    pub(crate) fn drain<E>(
        &mut self,
        mut each: impl FnMut(RolloutLine) -> Result<(), E>,
    ) -> Result<(), E> {
        while let Ok(batch) = self.read() {
            for (_, line) in batch.items {
                each(line)?;
            }
            if !batch.more {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codex::rollout::RolloutRecord;
    use crate::tail::tests::append;

    const SHELL_ROLLOUT: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/codex-0.169/shell/rollouts/2026/11/24/",
        "rollout-2026-11-24T12-14-36-01a20d7a-b819-7451-bc39-6764d48b49b7.jsonl"
    );

    fn fixture() -> Vec<u8> {
        std::fs::read(SHELL_ROLLOUT).unwrap()
    }

    /// Reads until no limit stops the call; returns every record with its offset.
    fn drain(tail: &mut RolloutTail) -> Vec<(u64, RolloutLine)> {
        let mut all = Vec::new();
        loop {
            let batch = tail.read().unwrap();
            all.extend(batch.items);
            if !batch.more {
                return all;
            }
        }
    }

    fn expected() -> Vec<(u64, RolloutLine)> {
        let bytes = fixture();
        let mut offset = 0;
        let mut lines = Vec::new();
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            offset += line.len() as u64;
            lines.push((offset, RolloutLine::parse(line).unwrap()));
        }
        lines
    }

    #[test]
    fn the_real_shell_rollout_reads_as_typed_records() {
        let mut tail = RolloutTail::new(SHELL_ROLLOUT, 0);
        let lines = drain(&mut tail);
        assert_eq!(lines.len(), 21);
        assert!(matches!(lines[0].1.record, RolloutRecord::SessionMeta(_)));
        let usages = lines
            .iter()
            .filter(|(_, l)| matches!(l.record, RolloutRecord::TokenUsage(_)))
            .count();
        assert_eq!(usages, 2);
        assert_eq!(tail.offset(), fixture().len() as u64);
        assert_eq!(lines, expected());
    }

    #[test]
    fn appending_the_rollout_in_arbitrary_chunks_yields_the_same_records() {
        let bytes = fixture();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollout.jsonl");
        let limits = Limits {
            max_lines: 2,
            ..Limits::default()
        };
        let mut tail = RolloutTail::with_limits(&path, 0, limits);
        assert!(tail.read().unwrap().missing);
        let mut got = Vec::new();
        let mut sizes = [1usize, 7, 4096, 13, 100, 50_000, 3].into_iter().cycle();
        let mut written = 0;
        while written < bytes.len() {
            let end = (written + sizes.next().unwrap_or(1)).min(bytes.len());
            append(&path, &bytes[written..end]);
            written = end;
            got.extend(drain(&mut tail));
        }
        assert_eq!(got, expected());
    }

    #[test]
    fn a_zstd_compressed_rollout_reads_the_same_and_resumes_from_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollout.jsonl.zst");
        std::fs::write(&path, zstd::encode_all(&fixture()[..], 3).unwrap()).unwrap();
        let mut tail = RolloutTail::new(&path, 0);
        assert_eq!(drain(&mut tail), expected());
        let middle = expected()[9].0;
        let mut resumed = RolloutTail::new(&path, middle);
        assert_eq!(drain(&mut resumed), expected()[10..].to_vec());
    }

    #[test]
    fn invalid_json_lines_are_counted_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollout.jsonl");
        let first = fixture()
            .split_inclusive(|&b| b == b'\n')
            .next()
            .unwrap()
            .to_vec();
        let torn = b"{\"truncated\":\n";
        append(&path, torn);
        append(&path, &first);
        let batch = RolloutTail::new(&path, 0).read().unwrap();
        assert_eq!(batch.invalid, 1);
        assert_eq!(batch.items.len(), 1);
        assert_eq!(batch.offset, (torn.len() + first.len()) as u64);
    }

    #[test]
    fn a_rollout_that_disappears_or_shrinks_degrades_gracefully() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollout.jsonl");
        std::fs::write(&path, fixture()).unwrap();
        let mut tail = RolloutTail::new(&path, 0);
        let all = drain(&mut tail);
        std::fs::remove_file(&path).unwrap();
        let gone = tail.read().unwrap();
        assert!(gone.missing && gone.items.is_empty());
        assert_eq!(tail.offset(), all.last().unwrap().0);
        let first = fixture()
            .split_inclusive(|&b| b == b'\n')
            .next()
            .unwrap()
            .to_vec();
        std::fs::write(&path, &first).unwrap();
        let cut = tail.read().unwrap();
        assert!(cut.kept.is_some() && cut.items.is_empty(), "{cut:?}");
        std::fs::write(&path, b"{\"type\":\"other\"}\n").unwrap();
        let again = tail.read().unwrap();
        assert!(again.reset.is_some());
        assert_eq!(again.items.len(), 1);
    }
}
