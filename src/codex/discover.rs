//! Finding the rollout files of a session's threads that no hook names (the approval
//! reviewer's thread, for one): every `rollout-*.jsonl` or `.jsonl.zst` file in a directory
//! whose first line is a `session_meta` of the session; and the sessions of a directory when
//! no hook names any (releases that fire no hooks: [`sessions`]). Only first lines are read.
//!
//! A thread's session is `session_meta.session_id`, or its own `id` where the meta has no
//! `session_id` (releases before 0.150 write none: each of their rollout files is its own
//! session).

use super::rollout::{RolloutLine, RolloutRecord, SessionMeta};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

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

/// The thread files in `dir` (and its subdirectories, `depth` levels down) that belong to
/// `session_id`, sorted by path. Unreadable entries are skipped.
pub fn session_threads(dir: &Path, session_id: &str, depth: usize) -> Vec<ThreadFile> {
    let mut found = Vec::new();
    visit(dir, depth, &mut |path, meta| {
        if session_of(&meta) == session_id {
            found.push(ThreadFile {
                path,
                thread_id: meta.id,
            });
        }
    });
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// The session ids of every thread file in `dir` (`depth` levels down), each once, in the
/// order of their first file's path.
pub fn sessions(dir: &Path, depth: usize) -> Vec<String> {
    let mut found: Vec<(PathBuf, String)> = Vec::new();
    visit(dir, depth, &mut |path, meta| {
        found.push((path, session_of(&meta).to_owned()))
    });
    found.sort();
    let mut ids: Vec<String> = Vec::new();
    for (_, id) in found {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The session a thread belongs to (see the module docs).
fn session_of(meta: &SessionMeta) -> &str {
    meta.session_id.as_deref().unwrap_or(&meta.id)
}

fn visit(dir: &Path, depth: usize, each: &mut dyn FnMut(PathBuf, SessionMeta)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() && depth > 0 {
            visit(&path, depth - 1, each);
        } else if name.starts_with("rollout-")
            && (name.ends_with(".jsonl") || name.ends_with(".jsonl.zst"))
        {
            if let Some(meta) = meta_of(&path) {
                each(path, meta);
            }
        }
    }
}

/// The file's `session_meta`, when its first line is one.
fn meta_of(path: &Path) -> Option<SessionMeta> {
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
    match RolloutLine::parse(&line).ok()?.record {
        RolloutRecord::SessionMeta(meta) => Some(meta),
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
