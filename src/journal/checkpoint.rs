//! Per-session checkpoints: how far a session's journal has been read and whether the session
//! is complete. Which spans were handed to which spool is in the session's append-only
//! spooled log ([`super::spooled`]), so storing a checkpoint writes a few dozen bytes however
//! long the session. Rollout files are not checkpointed: a session rebuilt after a restart
//! reads its journal and its rollouts from the start (span ids are deterministic, and the
//! spooled log keeps spans already handed over from being handed over again).
//!
//! Contract: one small JSON file per session, `checkpoints/<session>.json` (mode 0600, in a
//! 0700 directory), replaced atomically: written to a temporary file in the same directory,
//! fsynced, renamed over the old one, and the directory fsynced. A reader therefore sees the
//! old or the new checkpoint, never a mix. A missing or unparsable checkpoint reads as
//! [`Checkpoint::default`] ("start from zero"); replaying from zero is safe because span ids
//! are deterministic. Only a checkpoint that exists but cannot be read is an error. Concurrent
//! stores never corrupt the file (each writes its own temporary file); the last rename wins,
//! so a session should have one writer. Fields of older checkpoints this version no longer
//! writes (`rollouts`) are ignored; their span lists are read for migration only.

use super::{ensure_dir, Error};
use crate::paths::StateDir;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;

/// Progress of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Checkpoint {
    /// Offset in the session's journal (just after a line) up to which events were read and
    /// their spans handed over.
    pub journal_offset: u64,
    /// The session's root span is out and every destination acknowledged every span produced
    /// from the journal up to `journal_offset`.
    pub complete: bool,
    /// The span ids (hex) by spool key that checkpoints listed before the spooled log existed
    /// (`spooled`, or `delivered` in older ones): read, never written; the spooled log takes
    /// them over ([`super::spooled::SpooledLog::open`]).
    #[serde(rename = "spooled", alias = "delivered", skip_serializing)]
    pub(crate) legacy_spooled: BTreeMap<String, BTreeSet<String>>,
    /// Inputs that made the session machine panic: a session rebuilt from its journal skips
    /// exactly these (few: one per panic).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub poisoned: Vec<Input>,
}

/// One input of a session machine, by position: the position is the byte offset just after
/// its line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// A hook event of the session's journal.
    Journal {
        /// Offset just after the event's line.
        offset: u64,
    },
    /// A record of a rollout file.
    Rollout {
        /// The file, as the hooks named it.
        path: String,
        /// Offset just after the record's line.
        offset: u64,
    },
}

impl std::fmt::Display for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Journal { offset } => write!(f, "the journal event ending at byte {offset}"),
            Input::Rollout { path, offset } => {
                write!(f, "the record of {path} ending at byte {offset}")
            }
        }
    }
}

impl Checkpoint {
    /// The checkpoint file of `session_id`.
    pub fn path(state: &StateDir, session_id: &str) -> PathBuf {
        let stem = StateDir::session_file_stem(session_id);
        state.checkpoint_dir().join(format!("{stem}.json"))
    }

    /// Loads `session_id`'s checkpoint; missing or corrupt reads as the default.
    pub fn load(state: &StateDir, session_id: &str) -> Result<Checkpoint, Error> {
        let path = Self::path(state, session_id);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Checkpoint::default()),
            Err(source) => Err(Error::CheckpointRead { path, source }),
        }
    }

    /// Replaces `session_id`'s checkpoint atomically and durably (see the module docs).
    pub fn store(&self, state: &StateDir, session_id: &str) -> Result<(), Error> {
        let dir = state.checkpoint_dir();
        ensure_dir(&dir)?;
        let path = Self::path(state, session_id);
        serde_json::to_vec(self)
            .map_err(io::Error::from)
            .and_then(|bytes| StateDir::write_durably(&path, &bytes))
            .map_err(|source| Error::CheckpointWrite { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn sample() -> Checkpoint {
        Checkpoint {
            journal_offset: 4096,
            complete: true,
            poisoned: vec![
                Input::Journal { offset: 10 },
                Input::Rollout {
                    path: "/r/rollout-a.jsonl".to_owned(),
                    offset: 77,
                },
            ],
            ..Checkpoint::default()
        }
    }

    #[test]
    fn a_stored_checkpoint_loads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        sample().store(&state, "s").unwrap();
        assert_eq!(Checkpoint::load(&state, "s").unwrap(), sample());
        let path = Checkpoint::path(&state, "s");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let entries: Vec<_> = std::fs::read_dir(state.checkpoint_dir()).unwrap().collect();
        assert_eq!(entries.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_newer_checkpoint_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        sample().store(&state, "s").unwrap();
        let newer = Checkpoint {
            journal_offset: 9000,
            ..sample()
        };
        newer.store(&state, "s").unwrap();
        assert_eq!(Checkpoint::load(&state, "s").unwrap(), newer);
    }

    #[test]
    fn a_missing_or_corrupt_checkpoint_starts_from_zero() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert_eq!(
            Checkpoint::load(&state, "s").unwrap(),
            Checkpoint::default()
        );
        sample().store(&state, "s").unwrap();
        std::fs::write(Checkpoint::path(&state, "s"), b"{\"journal_offset\":").unwrap();
        assert_eq!(
            Checkpoint::load(&state, "s").unwrap(),
            Checkpoint::default()
        );
    }

    #[test]
    fn a_checkpoint_that_cannot_be_read_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::fs::create_dir_all(Checkpoint::path(&state, "s")).unwrap();
        let result = Checkpoint::load(&state, "s");
        assert!(matches!(result, Err(Error::CheckpointRead { .. })));
    }
}
