//! The import ledger: which sessions `import` must not send again. A session is left alone
//! when it was traced live (its journal or checkpoint is in the state directory, or retention
//! removed them and left its [`retention::retired`] marker) or imported
//! before (its marker is in `imported/`). A marker is written, durably (temp file, fsync,
//! rename; 0600 in a 0700 directory), once every span of the session is in the durable
//! import spools: from there the couriers (of this run, or of the next) deliver it.

use super::scan::Session;
use crate::journal::{retention, Checkpoint};
use crate::paths::StateDir;
use serde::Serialize;
use std::path::PathBuf;
use std::time::SystemTime;

/// A session's marker could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot record session {session_id} as imported in {path}")]
pub struct LedgerError {
    session_id: String,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// Why a session is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The daemon traced it: it has a journal or a checkpoint.
    Live,
    /// A previous import sent it.
    Imported,
}

/// What a marker says (for people: its existence is what counts).
#[derive(Debug, Serialize)]
struct Marker<'a> {
    session_id: &'a str,
    files: Vec<String>,
    bytes: u64,
    spans: u64,
    imported_at_ns: u128,
}

/// The ledger of one state directory.
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    state: StateDir,
}

impl Ledger {
    /// The ledger kept in `state`.
    pub(crate) fn new(state: &StateDir) -> Self {
        Ledger {
            state: state.clone(),
        }
    }

    /// Whether `session_id` was traced live or imported already.
    pub(crate) fn seen(&self, session_id: &str) -> Option<Seen> {
        let live = [
            self.state.journal_file(session_id),
            Checkpoint::path(&self.state, session_id),
            retention::retired(&self.state, &StateDir::session_file_stem(session_id)),
        ];
        if live.iter().any(|path| path.exists()) {
            return Some(Seen::Live);
        }
        self.marker(session_id).exists().then_some(Seen::Imported)
    }

    /// Records `session` as imported with `spans` spans.
    pub(crate) fn mark(&self, session: &Session, spans: u64) -> Result<(), LedgerError> {
        let path = self.marker(&session.id);
        let failed = |source| LedgerError {
            session_id: session.id.clone(),
            path: path.clone(),
            source,
        };
        StateDir::ensure_private_dir(&self.state.imported_dir()).map_err(failed)?;
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
        let marker = Marker {
            session_id: &session.id,
            files: session
                .files
                .iter()
                .map(|f| f.path.to_string_lossy().into_owned())
                .collect(),
            bytes: session.bytes,
            spans,
            imported_at_ns: now.map_or(0, |d| d.as_nanos()),
        };
        let bytes = serde_json::to_vec(&marker).map_err(|e| failed(e.into()))?;
        StateDir::write_durably(&path, &bytes).map_err(failed)
    }

    fn marker(&self, session_id: &str) -> PathBuf {
        let stem = StateDir::session_file_stem(session_id);
        self.state.imported_dir().join(format!("{stem}.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    fn session(id: &str) -> Session {
        Session {
            id: id.to_owned(),
            files: Vec::new(),
            bytes: 7,
            started: None,
        }
    }

    #[test]
    fn a_marked_session_is_seen_as_imported_and_its_marker_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        let ledger = Ledger::new(&state);
        assert_eq!(ledger.seen("s1"), None);
        ledger.mark(&session("s1"), 3).unwrap();
        assert_eq!(ledger.seen("s1"), Some(Seen::Imported));
        assert_eq!(ledger.seen("s2"), None);
        let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(state.imported_dir()), 0o700);
        assert_eq!(mode(ledger.marker("s1")), 0o600);
    }

    #[test]
    fn a_session_with_a_journal_or_checkpoint_was_traced_live() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let ledger = Ledger::new(&state);
        std::fs::create_dir_all(state.journal_dir()).unwrap();
        std::fs::write(state.journal_file("a"), b"").unwrap();
        Checkpoint::default().store(&state, "b").unwrap();
        ledger.mark(&session("a"), 1).unwrap();
        assert_eq!(
            ledger.seen("a"),
            Some(Seen::Live),
            "live wins over imported"
        );
        assert_eq!(ledger.seen("b"), Some(Seen::Live));
    }

    #[test]
    fn a_live_session_retention_removed_is_still_seen_as_traced_live() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let id = "01a23faf-08eb-7d53-a347-5fbb7051779b";
        crate::journal::append(&state, id, SystemTime::now(), b"{}").unwrap();
        let journal_len = std::fs::metadata(state.journal_file(id)).unwrap().len();
        let checkpoint = Checkpoint {
            journal_offset: journal_len,
            complete: true,
            ..Checkpoint::default()
        };
        checkpoint.store(&state, id).unwrap();
        let none = std::collections::HashSet::new();
        let swept = retention::sweep(&state, Duration::ZERO, SystemTime::now(), &none);
        assert_eq!(swept.removed.len(), 1, "{:?}", swept.problems);
        assert!(!state.journal_file(id).exists());
        assert_eq!(Ledger::new(&state).seen(id), Some(Seen::Live));
    }
}
