//! The record file (trace-codex's `recordFile` / `BRAINTRUST_EVENT_SERVER_RECORD_FILE`): every
//! hook event of every session that names it, appended as NDJSON for replay and debugging.
//!
//! - Written by the daemon from each session's journal, never by the hook (the hook's path
//!   stays one journal append): [`Recorder::record`] copies the journal lines not yet recorded.
//! - A line has the journal's form, `{"received_at_ns":<u64>,"event":<payload>}`, so
//!   `codex-otel replay <record file>` rebuilds the same spans (same ids, same times); the
//!   payload's strings are redacted first (built-in credential rules plus the session's own
//!   patterns), so no credential reaches the file.
//! - The file is created with mode 0600 (its parent directories too, 0700), and a symlink in
//!   its place is refused. Many sessions may share it: each batch is one `write(2)` on an
//!   `O_APPEND` file, so batches of different sessions never interleave.
//! - How far each session's journal is recorded lives in `records/<session>.offset` under the
//!   state directory, so a daemon restart neither repeats nor skips events (a crash between the
//!   append and that update can repeat one batch); retention removes it with the journal
//!   ([`forget`]).

use crate::journal::{self, JournalReader};
use crate::paths::StateDir;
use crate::span::redact::Redactor;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Why events could not be recorded (logged; they stay in the journal and are tried again at
/// the session's next event).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The session's journal could not be read.
    #[error("cannot read the journal")]
    Journal(#[source] journal::Error),
    /// The record file could not be opened or written (a symlink is refused here).
    #[error("cannot append to the record file {path}")]
    Write {
        /// The record file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// How far the journal is recorded could not be stored.
    #[error("cannot store the record offset {path}")]
    Offset {
        /// The offset file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Copies one session's journal to a record file.
#[derive(Debug)]
pub struct Recorder {
    file: PathBuf,
    offset_file: PathBuf,
    journal: JournalReader,
    redactor: Redactor,
}

/// `records/<session>.offset` under the state directory.
fn offset_path(state: &StateDir, session_id: &str) -> PathBuf {
    let name = format!("{}.offset", StateDir::session_file_stem(session_id));
    state.root().join("records").join(name)
}

/// Forgets how far `session_id` was recorded, once its journal is removed (a new journal
/// starts at offset 0 again).
pub fn forget(state: &StateDir, session_id: &str) -> io::Result<()> {
    match std::fs::remove_file(offset_path(state, session_id)) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

impl Recorder {
    /// Records `session_id` into `file` from where an earlier recorder stopped; `redactor`
    /// cleans every payload.
    pub fn new(state: &StateDir, session_id: &str, file: PathBuf, redactor: Redactor) -> Self {
        let offset_file = offset_path(state, session_id);
        let offset = std::fs::read_to_string(&offset_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        Recorder {
            file,
            offset_file,
            journal: JournalReader::new(state, session_id, offset),
            redactor,
        }
    }

    /// The record file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Appends every journal line not yet recorded; returns how many.
    pub fn record(&mut self) -> Result<usize, RecordError> {
        let start = self.journal.offset();
        let mut bytes = Vec::new();
        let mut count = 0;
        loop {
            let batch = self.journal.read().map_err(RecordError::Journal)?;
            for (_, entry) in &batch.items {
                if let Some(event) = redacted(&entry.event, &self.redactor) {
                    bytes.extend(journal::encode_line(entry.received_at, event.as_bytes()));
                    count += 1;
                }
            }
            if !batch.more {
                break;
            }
        }
        if self.journal.offset() == start {
            return Ok(0);
        }
        if !bytes.is_empty() {
            self.append(&bytes).map_err(|source| RecordError::Write {
                path: self.file.clone(),
                source,
            })?;
        }
        self.store_offset().map_err(|source| RecordError::Offset {
            path: self.offset_file.clone(),
            source,
        })?;
        Ok(count)
    }

    fn append(&self, bytes: &[u8]) -> io::Result<()> {
        if let Some(parent) = self.file.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() {
                StateDir::ensure_private_dir(parent)?;
            }
        }
        StateDir::open_private_append(&self.file)?.write_all(bytes)
    }

    fn store_offset(&self) -> io::Result<()> {
        if let Some(parent) = self.offset_file.parent() {
            StateDir::ensure_private_dir(parent)?;
        }
        let offset = self.journal.offset().to_string();
        StateDir::write_durably(&self.offset_file, offset.as_bytes())
    }
}

/// The payload with every string value redacted; `None` when it is not JSON.
pub fn redacted(event: &str, redactor: &Redactor) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_str(event).ok()?;
    redact_strings(&mut value, redactor);
    serde_json::to_string(&value).ok()
}

fn redact_strings(value: &mut serde_json::Value, redactor: &Redactor) {
    match value {
        serde_json::Value::String(text) => {
            redactor.redact(text);
        }
        serde_json::Value::Array(items) => {
            items
                .iter_mut()
                .for_each(|item| redact_strings(item, redactor));
        }
        serde_json::Value::Object(map) => {
            map.values_mut()
                .for_each(|item| redact_strings(item, redactor));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::{Duration, UNIX_EPOCH};

    const KEY: &str = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";

    fn journal_event(state: &StateDir, session: &str, n: u64, command: &str) {
        let event = serde_json::json!({
            "session_id": session,
            "hook_event_name": "PreToolUse",
            "tool_input": {"command": command},
        });
        let at = UNIX_EPOCH + Duration::from_secs(n);
        journal::append(state, session, at, event.to_string().as_bytes()).expect("append");
    }

    fn lines(path: &Path) -> Vec<journal::JournalEntry> {
        let text = std::fs::read(path).expect("record file");
        text.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| journal::decode_line(l).expect("a journal line"))
            .collect()
    }

    #[test]
    fn every_event_is_recorded_once_in_journal_form_with_credentials_redacted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(dir.path().join("state"));
        let file = dir.path().join("out/record.ndjson");
        journal_event(&state, "s1", 1, "echo hi");
        journal_event(
            &state,
            "s1",
            2,
            &format!("curl -H 'Authorization: Bearer {KEY}'"),
        );
        let mut recorder = Recorder::new(&state, "s1", file.clone(), Redactor::default());
        assert_eq!(recorder.record().expect("record"), 2);
        assert_eq!(recorder.record().expect("nothing new"), 0);
        journal_event(&state, "s1", 3, "ls");
        // A new recorder (a restarted daemon) goes on where the last one stopped.
        let mut again = Recorder::new(&state, "s1", file.clone(), Redactor::default());
        assert_eq!(again.record().expect("record"), 1);
        let entries = lines(&file);
        let times: Vec<u64> = entries
            .iter()
            .map(|e| e.received_at.duration_since(UNIX_EPOCH).unwrap().as_secs())
            .collect();
        assert_eq!(times, [1, 2, 3]);
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(!text.contains(KEY), "{text}");
        assert!(text.contains("[REDACTED"), "{text}");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_symlink_in_place_of_the_record_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(dir.path().join("state"));
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "").expect("target");
        let link = dir.path().join("record.ndjson");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        journal_event(&state, "s1", 1, "echo hi");
        let mut recorder = Recorder::new(&state, "s1", link, Redactor::default());
        assert!(matches!(recorder.record(), Err(RecordError::Write { .. })));
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "");
        // Nothing was marked recorded: a fixed path gets the event later.
        assert!(!dir.path().join("state/records").exists());
    }

    #[test]
    fn a_forgotten_session_is_recorded_from_the_start_of_its_new_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(dir.path().join("state"));
        let file = dir.path().join("record.ndjson");
        journal_event(&state, "s1", 1, "echo hi");
        journal_event(&state, "s1", 2, "echo again");
        let mut recorder = Recorder::new(&state, "s1", file.clone(), Redactor::default());
        assert_eq!(recorder.record().expect("record"), 2);
        std::fs::remove_file(state.journal_file("s1")).expect("retention");
        forget(&state, "s1").expect("forget");
        forget(&state, "s1").expect("forgetting twice is fine");
        journal_event(&state, "s1", 3, "ls");
        let mut again = Recorder::new(&state, "s1", file.clone(), Redactor::default());
        assert_eq!(again.record().expect("record"), 1);
        assert_eq!(lines(&file).len(), 3);
    }

    #[test]
    fn redaction_reaches_nested_strings_and_keeps_the_document() {
        let event = format!(r#"{{"a":[{{"b":"token {KEY}"}}],"n":1}}"#);
        let clean = redacted(&event, &Redactor::default()).expect("json");
        let value: serde_json::Value = serde_json::from_str(&clean).expect("still json");
        assert_eq!(value["n"], 1);
        assert!(!clean.contains(KEY), "{clean}");
        assert_eq!(redacted("not json", &Redactor::default()), None);
    }
}
