//! Journal retention: the journal, checkpoint and spooled log of a session fully delivered
//! long ago are removed, so the state directory does not grow without bound.
//!
//! Contract ([`sweep`]):
//! - A session's journal goes when its checkpoint says `complete` (root span out, every span
//!   acknowledged) up to the journal's full length, no spool still holds spans of it, and
//!   neither file changed for the retention period. The journal is removed before the
//!   checkpoint and the spooled log: a crash in between leaves them without a journal, which
//!   is harmless (never a journal without its checkpoint, which would be delivered again).
//!   First a marker `retired/<session>` is written durably ([`retired`]; no marker, nothing
//!   removed): `codex-otel import` must never send a live-traced session again, and the
//!   journal and checkpoint were how it knew.
//! - Checkpoints and spooled logs without a journal, and temporary files a crash left in the
//!   checkpoint directory, are removed once as old as the retention period.
//! - Events that arrive for a session after its journal was removed start a new journal: the
//!   session is traced again from those events only (pick a retention longer than any pause
//!   before a `codex resume`).
//! - The retention is [`RETENTION_ENV`] in hours (decimals allowed, 0 = as soon as delivered),
//!   default [`DEFAULT_RETENTION`].

use super::{Checkpoint, Error, SpooledLog};
use crate::paths::StateDir;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// `CODEX_OTEL_RETENTION_HOURS`: how long the journal of a fully delivered session is kept.
pub const RETENTION_ENV: &str = "CODEX_OTEL_RETENTION_HOURS";
/// Default retention: 72 hours.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 3600);

/// The retention a [`RETENTION_ENV`] value asks for (`None`: unset or empty); an unusable
/// value is an error message and means the default.
pub fn retention_from(value: Option<&str>) -> (Duration, Option<String>) {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return (DEFAULT_RETENTION, None);
    };
    let hours = value
        .parse::<f64>()
        .ok()
        .filter(|h| h.is_finite() && *h >= 0.0);
    match hours.and_then(|h| Duration::try_from_secs_f64(h * 3600.0).ok()) {
        Some(retention) => (retention, None),
        None => (
            DEFAULT_RETENTION,
            Some(format!(
                "{RETENTION_ENV}: not a number of hours; keeping journals for 72 hours"
            )),
        ),
    }
}

/// What one [`sweep`] did.
#[derive(Debug, Default)]
pub struct Sweep {
    /// Session file stems whose journal (and checkpoint) were removed.
    pub removed: Vec<String>,
    /// Files that could not be examined or removed.
    pub problems: Vec<Error>,
}

/// Removes what the retention allows (see the module docs) as of `now`. `spooled` holds the
/// file stems ([`StateDir::session_file_stem`]) of sessions with spans in some spool.
pub fn sweep(
    state: &StateDir,
    retention: Duration,
    now: SystemTime,
    spooled: &HashSet<String>,
) -> Sweep {
    let mut sweep = Sweep::default();
    let old = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age >= retention)
    };
    let mut journaled = HashSet::new();
    for (stem, journal) in files(&state.journal_dir(), ".ndjson") {
        journaled.insert(stem.clone());
        let checkpoint_path = Checkpoint::path(state, &stem);
        if spooled.contains(&stem) || !old(&journal) || !old(&checkpoint_path) {
            continue;
        }
        let len = std::fs::metadata(&journal).map_or(u64::MAX, |m| m.len());
        let delivered = match Checkpoint::load(state, &stem) {
            Ok(checkpoint) => checkpoint.complete && checkpoint.journal_offset >= len,
            Err(problem) => {
                sweep.problems.push(problem);
                false
            }
        };
        let log = SpooledLog::path(state, &stem);
        if delivered
            && retire(state, &stem, &mut sweep)
            && remove(&journal, &mut sweep)
            && remove(&checkpoint_path, &mut sweep)
            && remove(&log, &mut sweep)
        {
            sweep.removed.push(stem);
        }
    }
    for suffix in [".json", ".spooled"] {
        for (stem, file) in files(&state.checkpoint_dir(), suffix) {
            let stray = stem.starts_with('.') || !journaled.contains(&stem);
            if stray && old(&file) {
                remove(&file, &mut sweep);
            }
        }
    }
    sweep
}

/// `(stem, path)` of the files in `dir` whose name ends with `suffix` (`.tmp` files count as
/// ending with anything: their stem starts with a dot).
fn files(dir: &Path, suffix: &str) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stem = match name.strip_suffix(suffix) {
            Some(stem) => stem.to_owned(),
            None if name.starts_with('.') && name.ends_with(".tmp") => name,
            None => continue,
        };
        found.push((stem, entry.path()));
    }
    found
}

/// The marker of a retired session (file stem `stem`).
pub fn retired(state: &StateDir, stem: &str) -> PathBuf {
    state.retired_dir().join(stem)
}

/// Writes the marker of a session about to be removed; false after recording a failure.
fn retire(state: &StateDir, stem: &str, sweep: &mut Sweep) -> bool {
    let path = retired(state, stem);
    let written = StateDir::ensure_private_dir(&state.retired_dir())
        .and_then(|()| StateDir::write_durably(&path, b""));
    match written {
        Ok(()) => true,
        Err(source) => {
            sweep.problems.push(Error::Retire { path, source });
            false
        }
    }
}

/// Removes `path` (already gone counts as removed); false after recording a failure.
fn remove(path: &Path, sweep: &mut Sweep) -> bool {
    match std::fs::remove_file(path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(source) => {
            sweep.problems.push(Error::Remove {
                path: path.to_owned(),
                source,
            });
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::append;

    const HOUR: Duration = Duration::from_secs(3600);

    /// A session with one journaled event and a checkpoint at its end.
    fn session(state: &StateDir, id: &str, complete: bool) {
        append(state, id, SystemTime::now(), br#"{"session_id":"s"}"#).unwrap();
        let len = std::fs::metadata(state.journal_file(id)).unwrap().len();
        let checkpoint = Checkpoint {
            journal_offset: len,
            complete,
            ..Checkpoint::default()
        };
        checkpoint.store(state, id).unwrap();
        SpooledLog::open(state, id, &mut Checkpoint::default()).unwrap();
    }

    /// Whether the journal and the checkpoint (with its spooled log) of `id` exist.
    fn exists(state: &StateDir, id: &str) -> (bool, bool) {
        let checkpoint = Checkpoint::path(state, id).exists();
        assert_eq!(checkpoint, SpooledLog::path(state, id).exists(), "{id}");
        (state.journal_file(id).exists(), checkpoint)
    }

    #[test]
    fn only_fully_delivered_sessions_older_than_the_retention_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        session(&state, "done", true);
        session(&state, "open", false);
        session(&state, "spooled", true);
        session(&state, "grown", true);
        append(&state, "grown", SystemTime::now(), b"{}").unwrap();
        let spooled = HashSet::from(["spooled".to_owned()]);
        let now = SystemTime::now();
        let early = sweep(&state, HOUR, now, &spooled);
        assert!(early.removed.is_empty() && early.problems.is_empty());
        let late = sweep(&state, HOUR, now + 2 * HOUR, &spooled);
        assert_eq!(late.removed, ["done"]);
        assert_eq!(exists(&state, "done"), (false, false));
        assert!(
            retired(&state, "done").exists(),
            "the removed session is marked"
        );
        for kept in ["open", "spooled", "grown"] {
            assert_eq!(exists(&state, kept), (true, true), "{kept}");
            assert!(!retired(&state, kept).exists(), "{kept}");
        }
    }

    #[test]
    fn a_zero_retention_removes_a_delivered_session_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        session(&state, "done", true);
        let swept = sweep(&state, Duration::ZERO, SystemTime::now(), &HashSet::new());
        assert_eq!(swept.removed, ["done"]);
    }

    #[test]
    fn stray_checkpoints_and_temporary_files_go_once_old() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        session(&state, "kept", false);
        Checkpoint::default().store(&state, "orphan").unwrap();
        SpooledLog::open(&state, "orphan", &mut Checkpoint::default()).unwrap();
        let temp = state.checkpoint_dir().join(".kept.1-2.tmp");
        std::fs::write(&temp, b"{").unwrap();
        sweep(&state, HOUR, SystemTime::now(), &HashSet::new());
        assert!(temp.exists() && Checkpoint::path(&state, "orphan").exists());
        assert!(SpooledLog::path(&state, "orphan").exists());
        sweep(&state, HOUR, SystemTime::now() + 2 * HOUR, &HashSet::new());
        assert!(!temp.exists() && !Checkpoint::path(&state, "orphan").exists());
        assert!(!SpooledLog::path(&state, "orphan").exists());
        assert_eq!(exists(&state, "kept"), (true, true));
    }

    #[test]
    fn retention_hours_parse_with_decimals_and_fall_back_on_nonsense() {
        assert_eq!(retention_from(None), (DEFAULT_RETENTION, None));
        assert_eq!(retention_from(Some(" ")), (DEFAULT_RETENTION, None));
        assert_eq!(retention_from(Some("0.5")).0, HOUR / 2);
        assert_eq!(retention_from(Some("0")).0, Duration::ZERO);
        for bad in ["-1", "soon", "NaN", "1e300"] {
            let (retention, problem) = retention_from(Some(bad));
            assert_eq!(retention, DEFAULT_RETENTION, "{bad}");
            assert!(problem.is_some(), "{bad}");
        }
    }
}
