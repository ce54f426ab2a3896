//! Which past sessions `import` reads: every rollout file under `$CODEX_HOME/sessions` and
//! `$CODEX_HOME/archived_sessions` (`.jsonl` and `.jsonl.zst`), grouped into sessions by the
//! `session_meta` of their first line (the root thread and its sub-agent threads), each with
//! its size and start time; and the selection by date.

use crate::codex::discover::{first_record, rollout_files, ThreadFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How deep below a transcripts directory rollout files are looked for (`YYYY/MM/DD/`).
pub(crate) const DEPTH: usize = 3;

/// A date or time given on the command line could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time")]
pub struct DateError(String);

/// One session found on disk.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Session {
    /// The session id (the root thread's id).
    pub(crate) id: String,
    /// Its thread files: the root thread first, then the others by path.
    pub(crate) files: Vec<ThreadFile>,
    /// Bytes on disk of all its files.
    pub(crate) bytes: u64,
    /// The earliest time of its threads' first records (the root thread's: it spawns the
    /// others).
    pub(crate) started: Option<SystemTime>,
}

impl Session {
    /// The files as the session machine reads them: the path is both key and file.
    pub(crate) fn inputs(&self) -> Vec<(String, PathBuf)> {
        let key = |f: &ThreadFile| f.path.to_string_lossy().into_owned();
        self.files
            .iter()
            .map(|f| (key(f), f.path.clone()))
            .collect()
    }
}

/// The transcript directories of a Codex home, each with how deep to look.
pub(crate) fn home_dirs(codex_home: &Path) -> Vec<(PathBuf, usize)> {
    vec![
        (codex_home.join("sessions"), DEPTH),
        (codex_home.join("archived_sessions"), DEPTH),
    ]
}

/// Every session whose files lie in `dirs` (each with its depth), ordered by start time. A
/// thread found twice (say compressed and not) is read from the first path found; files whose
/// first line is not a `session_meta` are not rollouts of a session and are left out.
pub(crate) fn sessions_in(dirs: &[(PathBuf, usize)]) -> Vec<Session> {
    let mut by_id: BTreeMap<String, Session> = BTreeMap::new();
    let paths = dirs
        .iter()
        .flat_map(|(dir, depth)| rollout_files(dir, *depth));
    for path in paths {
        let Some(first) = first_record(&path) else {
            continue;
        };
        let id = first.session_id().to_owned();
        let session = by_id.entry(id.clone()).or_insert_with(|| Session {
            id: id.clone(),
            files: Vec::new(),
            bytes: 0,
            started: None,
        });
        if session.files.iter().any(|f| f.thread_id == first.meta.id) {
            continue;
        }
        session.bytes += std::fs::metadata(&path).map_or(0, |m| m.len());
        let root = first.meta.id == id;
        session.started = match (session.started, first.timestamp) {
            (Some(known), Some(at)) => Some(known.min(at)),
            (known, at) => known.or(at),
        };
        let file = ThreadFile {
            path,
            thread_id: first.meta.id,
        };
        match root {
            true => session.files.insert(0, file),
            false => session.files.push(file),
        }
    }
    let mut sessions: Vec<Session> = by_id.into_values().collect();
    sessions.sort_by(|a, b| (a.started, &a.id).cmp(&(b.started, &b.id)));
    sessions
}

/// Start of the day `value` names (`YYYY-MM-DD`, UTC), or the time it names (RFC 3339): the
/// earliest start time `--since` keeps.
pub(crate) fn since(value: &str) -> Result<SystemTime, DateError> {
    parse(value).map(|(at, _)| at)
}

/// End of the day `value` names (`YYYY-MM-DD`, UTC, the whole day included), or the time it
/// names (RFC 3339): the start times `--until` keeps are before it.
pub(crate) fn until(value: &str) -> Result<SystemTime, DateError> {
    parse(value).map(|(at, day)| match day {
        true => at + Duration::from_secs(24 * 60 * 60),
        false => at + Duration::from_nanos(1),
    })
}

/// The time and whether `value` was a bare date.
fn parse(value: &str) -> Result<(SystemTime, bool), DateError> {
    let bad = || DateError(value.to_owned());
    let day = value.len() == 10;
    let full = match day {
        true => format!("{value}T00:00:00Z"),
        false => value.to_owned(),
    };
    let at = humantime::parse_rfc3339_weak(&full).map_err(|_| bad())?;
    Ok((at, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_a_whole_utc_day_and_a_time_is_exact() {
        let day = humantime::parse_rfc3339("2026-11-24T00:00:00Z").unwrap();
        assert_eq!(since("2026-11-24").unwrap(), day);
        assert_eq!(
            until("2026-11-24").unwrap(),
            day + Duration::from_secs(86_400)
        );
        let at = humantime::parse_rfc3339("2026-11-24T12:14:36Z").unwrap();
        assert_eq!(since("2026-11-24T12:14:36Z").unwrap(), at);
        assert!(since("yesterday").is_err() && until("2026-13-01").is_err());
    }

    #[test]
    fn threads_group_into_sessions_root_first() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/codex-0.171");
        let dirs = [
            (fixtures.join("subagent/rollouts"), DEPTH),
            (fixtures.join("shell/rollouts"), DEPTH),
        ];
        let sessions = sessions_in(&dirs);
        let ids: Vec<(&str, usize)> = sessions
            .iter()
            .map(|s| (s.id.as_str(), s.files.len()))
            .collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        let subagent = sessions.iter().find(|s| s.files.len() == 2).unwrap();
        assert_eq!(subagent.files[0].thread_id, subagent.id);
        assert!(subagent.started.is_some() && subagent.bytes > 0);
        let again = sessions_in(&[dirs[0].clone(), dirs[0].clone()]);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0], *subagent, "a thread found twice is read once");
    }
}
