//! Finding rollout files: every `rollout-*.jsonl` or `.jsonl.zst` file below a directory
//! ([`rollout_files`]), what its first line says ([`first_record`]: the thread's
//! `session_meta` and when it was written), the files of one session's threads that no hook
//! names (the approval reviewer's thread, for one: [`session_threads`]), and the sessions of a
//! directory when no hook names any (releases that fire no hooks: [`sessions`]). Only first
//! lines are read.
//!
//! A thread's session is `session_meta.session_id`, or its own `id` where the meta has no
//! `session_id` (releases before 0.150 write none: each of their rollout files is its own
//! session).

use super::rollout::{RolloutLine, RolloutRecord, SessionMeta};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Longest first line read from a candidate (a `session_meta` holds the base instructions).
const MAX_FIRST_LINE: u64 = 4 * 1024 * 1024;

/// A thread file of the session: its path and thread id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadFile {
    /// The rollout file.
    pub path: PathBuf,
    /// `session_meta.id`.
    pub thread_id: String,
}

/// The first record of a rollout file: who the thread is and when Codex started it.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstRecord {
    /// The thread's `session_meta`.
    pub meta: SessionMeta,
    /// The record's timestamp.
    pub timestamp: Option<SystemTime>,
}

impl FirstRecord {
    /// The session (root thread) the thread belongs to: `session_meta.session_id`, else the
    /// thread's own id (rollouts older than that field).
    pub fn session_id(&self) -> &str {
        self.meta.session_id.as_deref().unwrap_or(&self.meta.id)
    }
}

/// The thread files in `dir` (and its subdirectories, `depth` levels down) that belong to
/// `session_id`, sorted by path. Unreadable entries are skipped.
pub fn session_threads(dir: &Path, session_id: &str, depth: usize) -> Vec<ThreadFile> {
    let of_session = |path: PathBuf| {
        let first = first_record(&path)?;
        (first.session_id() == session_id).then_some(ThreadFile {
            path,
            thread_id: first.meta.id,
        })
    };
    rollout_files(dir, depth)
        .into_iter()
        .filter_map(of_session)
        .collect()
}

/// The session ids of every thread file in `dir` (`depth` levels down), each once, in the
/// order of their first file's path.
pub fn sessions(dir: &Path, depth: usize) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for path in rollout_files(dir, depth) {
        let Some(first) = first_record(&path) else {
            continue;
        };
        if !ids.iter().any(|id| id == first.session_id()) {
            ids.push(first.session_id().to_owned());
        }
    }
    ids
}

/// Every rollout file in `dir` and its subdirectories, `depth` levels down, sorted by path.
/// Unreadable entries are skipped.
pub fn rollout_files(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut found = Vec::new();
    visit(dir, depth, &mut found);
    found.sort();
    found
}

fn visit(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() && depth > 0 {
            visit(&path, depth - 1, found);
        } else if name.starts_with("rollout-")
            && (name.ends_with(".jsonl") || name.ends_with(".jsonl.zst"))
        {
            found.push(path);
        }
    }
}

/// The file's first record when it is a `session_meta`; `None` when it is not, or the file
/// cannot be read.
pub fn first_record(path: &Path) -> Option<FirstRecord> {
    let file = File::open(path).ok()?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "zst") {
        Box::new(zstd::Decoder::new(file).ok()?)
    } else {
        Box::new(file)
    };
    let mut line = Vec::new();
    BufReader::new(reader.take(MAX_FIRST_LINE))
        .read_until(b'\n', &mut line)
        .ok()?;
    let line = RolloutLine::parse(&line).ok()?;
    match line.record {
        RolloutRecord::SessionMeta(meta) => Some(FirstRecord {
            meta,
            timestamp: line.timestamp,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_thread_of_the_session_and_no_other() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/codex-0.169/subagent/rollouts");
        let threads = session_threads(&dir, "01a20d7a-ca39-7702-9d40-00eac5a83cf5", 3);
        let ids: Vec<&str> = threads.iter().map(|t| t.thread_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "01a20d7a-ca39-7702-9d40-00eac5a83cf5",
                "01a20d7a-cb98-74a2-a707-7716057737b3"
            ]
        );
        assert!(session_threads(&dir, "01a20d7a-b819-7451-bc39-6764d48b49b7", 3).is_empty());
    }

    #[test]
    fn compressed_rollouts_are_recognised() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/fixtures/codex-0.169/shell/rollouts/2026/11/24/rollout-2026-11-24T12-14-36-01a20d7a-b819-7451-bc39-6764d48b49b7.jsonl",
        );
        let dir = tempfile::tempdir().unwrap();
        let packed = zstd::encode_all(std::fs::read(src).unwrap().as_slice(), 3).unwrap();
        std::fs::write(dir.path().join("rollout-x.jsonl.zst"), packed).unwrap();
        let threads = session_threads(dir.path(), "01a20d7a-b819-7451-bc39-6764d48b49b7", 0);
        assert_eq!(threads.len(), 1);
    }

    #[test]
    fn a_rollout_without_a_session_id_is_its_own_session() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let old = fixtures.join("codex-0.140/shell/rollouts");
        let found = sessions(&old, 3);
        assert_eq!(found.len(), 1);
        assert_eq!(session_threads(&old, &found[0], 3).len(), 1);
        let subagent = sessions(&fixtures.join("codex-0.169/subagent/rollouts"), 3);
        assert_eq!(subagent, ["01a20d7a-ca39-7702-9d40-00eac5a83cf5"]);
    }
}
