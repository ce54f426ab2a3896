//! The spooled log of one session: which span ids were handed to which destination's durable
//! spool. A session rebuilt from its journal (deterministic span ids) hands over only the
//! spans this log does not record, so a span reaches each spool once.
//!
//! Contract:
//! - One append-only file per session, `checkpoints/<session>.spooled` (mode 0600, never
//!   through a symlink, in the 0700 checkpoint directory), next to its [`Checkpoint`].
//! - One line per destination and hand-over, `{"destination":<spool key>,"span_ids":[…]}`;
//!   [`SpooledLog::append`] writes every line of one hand-over with one `write(2)` and then
//!   one `fdatasync`, so the bytes written per hand-over depend on the spans handed over,
//!   never on how many the session handed over before.
//! - Read once, when a session's actor is rebuilt ([`SpooledLog::open`]). A last line without
//!   its `\n` (torn by a crash) is cut off before anything is appended, so a torn line never
//!   glues onto the next one; a line that does not parse is skipped. A span whose line was
//!   lost this way is handed over again: the spool keeps one copy of a span it still holds.
//! - Migration: a checkpoint written before this log existed lists the spooled span ids itself
//!   (`spooled`, or `delivered` in older ones). [`SpooledLog::open`] appends those lists to the
//!   log, then stores the checkpoint without them; a crash in between appends them again,
//!   which changes nothing.
//!
//! std only (plus serde), like the rest of the journal.

use super::{ensure_dir, Checkpoint, Error};
use crate::paths::StateDir;
use crate::span::SpanId;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// Span ids handed to each destination's spool, by spool key.
pub type Spooled = HashMap<String, HashSet<SpanId>>;

/// One line of the log.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    destination: String,
    span_ids: Vec<SpanId>,
}

/// The open log of one session (see the module docs).
#[derive(Debug)]
pub struct SpooledLog {
    path: PathBuf,
    file: File,
}

impl SpooledLog {
    /// The log file of `session_id`.
    pub fn path(state: &StateDir, session_id: &str) -> PathBuf {
        let stem = StateDir::session_file_stem(session_id);
        state.checkpoint_dir().join(format!("{stem}.spooled"))
    }

    /// Opens (creating) `session_id`'s log and reads what it records, cutting a torn last
    /// line off; the span lists of an old `checkpoint` are moved into it (see the module docs).
    pub fn open(
        state: &StateDir,
        session_id: &str,
        checkpoint: &mut Checkpoint,
    ) -> Result<(SpooledLog, Spooled), Error> {
        ensure_dir(&state.checkpoint_dir())?;
        let path = Self::path(state, session_id);
        let failed = |source| Error::CheckpointWrite {
            path: path.clone(),
            source,
        };
        let mut file = StateDir::open_private_append(&path).map_err(failed)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|source| Error::CheckpointRead {
                path: path.clone(),
                source,
            })?;
        let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if whole < bytes.len() {
            file.set_len(whole as u64).map_err(failed)?;
        }
        let mut spooled = Spooled::new();
        for line in bytes[..whole].split(|b| *b == b'\n') {
            if let Ok(line) = serde_json::from_slice::<Line>(line) {
                spooled
                    .entry(line.destination)
                    .or_default()
                    .extend(line.span_ids);
            }
        }
        let mut log = SpooledLog { path, file };
        let legacy = std::mem::take(&mut checkpoint.legacy_spooled);
        if !legacy.is_empty() {
            let moved: Vec<(String, Vec<SpanId>)> = legacy
                .into_iter()
                .map(|(key, ids)| (key, ids.iter().filter_map(|id| parse_hex(id)).collect()))
                .collect();
            log.append(&moved)?;
            for (key, ids) in moved {
                spooled.entry(key).or_default().extend(ids);
            }
            checkpoint.store(state, session_id)?;
        }
        Ok((log, spooled))
    }

    /// Records durably that `handed_over` (spool key, span ids) reached those spools: one
    /// write, one `fdatasync`.
    pub fn append(&mut self, handed_over: &[(String, Vec<SpanId>)]) -> Result<(), Error> {
        let mut bytes = Vec::new();
        for (destination, span_ids) in handed_over.iter().filter(|(_, ids)| !ids.is_empty()) {
            let line = Line {
                destination: destination.clone(),
                span_ids: span_ids.clone(),
            };
            serde_json::to_writer(&mut bytes, &line)
                .map_err(io::Error::from)
                .map_err(|source| Error::CheckpointWrite {
                    path: self.path.clone(),
                    source,
                })?;
            bytes.push(b'\n');
        }
        if bytes.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
            .map_err(|source| Error::CheckpointWrite {
                path: self.path.clone(),
                source,
            })
    }
}

/// A span id from its 16 hex digits.
fn parse_hex(hex: &str) -> Option<SpanId> {
    let valid = hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    let number = u64::from_str_radix(hex, 16).ok().filter(|_| valid)?;
    Some(SpanId(number.to_be_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::os::unix::fs::PermissionsExt;

    fn id(n: u8) -> SpanId {
        SpanId([n; 8])
    }

    fn open(state: &StateDir) -> (SpooledLog, Spooled) {
        SpooledLog::open(state, "s", &mut Checkpoint::default()).unwrap()
    }

    #[test]
    fn appended_hand_overs_read_back_when_reopened_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let (mut log, spooled) = open(&state);
        assert!(spooled.is_empty());
        log.append(&[("a".to_owned(), vec![id(1), id(2)])]).unwrap();
        log.append(&[("a".to_owned(), vec![id(3)]), ("b".to_owned(), vec![id(1)])])
            .unwrap();
        let (_, spooled) = open(&state);
        assert_eq!(spooled["a"], HashSet::from([id(1), id(2), id(3)]));
        assert_eq!(spooled["b"], HashSet::from([id(1)]));
        let path = SpooledLog::path(&state, "s");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_hand_over_writes_the_same_bytes_however_many_came_before() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let (mut log, _) = open(&state);
        let size = || {
            std::fs::metadata(SpooledLog::path(&state, "s"))
                .unwrap()
                .len()
        };
        let mut grown = Vec::new();
        for n in 0..200u8 {
            let before = size();
            log.append(&[("otlp-0123456789abcdef".to_owned(), vec![id(n)])])
                .unwrap();
            grown.push(size() - before);
        }
        assert!(grown.iter().all(|g| *g == grown[0]), "{grown:?}");
    }

    #[test]
    fn a_torn_last_line_is_cut_off_and_never_glues_onto_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let (mut log, _) = open(&state);
        log.append(&[("a".to_owned(), vec![id(1)])]).unwrap();
        let path = SpooledLog::path(&state, "s");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"not a line\n{\"destination\":\"a\",\"span_i")
            .unwrap();
        let (mut log, spooled) = open(&state);
        assert_eq!(spooled["a"], HashSet::from([id(1)]), "garbage skipped");
        log.append(&[("a".to_owned(), vec![id(2)])]).unwrap();
        let (_, spooled) = open(&state);
        assert_eq!(spooled["a"], HashSet::from([id(1), id(2)]));
    }

    #[test]
    fn an_old_checkpoints_span_lists_move_into_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let old = r#"{"journal_offset":4096,"rollouts":{"/r/a.jsonl":77},"complete":false,
            "delivered":{"otlp-1":["0101010101010101","not hex"]}}"#;
        std::fs::create_dir_all(state.checkpoint_dir()).unwrap();
        std::fs::write(Checkpoint::path(&state, "s"), old).unwrap();
        let mut checkpoint = Checkpoint::load(&state, "s").unwrap();
        let expected = BTreeMap::from([(
            "otlp-1".to_owned(),
            BTreeSet::from(["0101010101010101".to_owned(), "not hex".to_owned()]),
        )]);
        assert_eq!(checkpoint.legacy_spooled, expected);
        let (_, spooled) = SpooledLog::open(&state, "s", &mut checkpoint).unwrap();
        assert_eq!(spooled["otlp-1"], HashSet::from([id(1)]));
        let stored = std::fs::read_to_string(Checkpoint::path(&state, "s")).unwrap();
        assert!(!stored.contains("0101010101010101"), "{stored}");
        let mut reloaded = Checkpoint::load(&state, "s").unwrap();
        assert_eq!(reloaded.journal_offset, 4096);
        let (_, spooled) = SpooledLog::open(&state, "s", &mut reloaded).unwrap();
        assert_eq!(spooled["otlp-1"], HashSet::from([id(1)]));
    }
}
