//! Finding the rollout files of a session's threads that no hook names (the approval
//! reviewer's thread, for one): every `rollout-*.jsonl` or `.jsonl.zst` file in a directory
//! whose first line is a `session_meta` of the session. Only first lines are read.

use super::rollout::{RolloutLine, RolloutRecord};
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
    visit(dir, session_id, depth, &mut found);
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

fn visit(dir: &Path, session_id: &str, depth: usize, found: &mut Vec<ThreadFile>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() && depth > 0 {
            visit(&path, session_id, depth - 1, found);
        } else if name.starts_with("rollout-")
            && (name.ends_with(".jsonl") || name.ends_with(".jsonl.zst"))
        {
            if let Some(thread_id) = thread_of(&path, session_id) {
                found.push(ThreadFile { path, thread_id });
            }
        }
    }
}

/// The thread id of the file when its first line is a `session_meta` of `session_id`.
fn thread_of(path: &Path, session_id: &str) -> Option<String> {
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
        RolloutRecord::SessionMeta(meta) if meta.session_id.as_deref() == Some(session_id) => {
            Some(meta.id)
        }
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
}
