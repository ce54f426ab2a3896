//! The local store: spans as OTLP/JSON lines, one file per trace, under the state directory.
//!
//! Contract:
//! - The store directory is created 0700 and each file 0600. A trace's file is
//!   `<trace id as a UUID>.jsonl` (through [`StateDir::session_file_stem`]); since a Codex
//!   session's trace id is its UUID, the file is named after the session id.
//! - Each line is one OTLP/JSON `ExportTraceServiceRequest` holding spans of that trace,
//!   appended with a single `write` to a file opened with `O_APPEND` (never through a symlink,
//!   never to another user's file). A torn last line (crash) is cut before the next append and
//!   a failed or partial write (full disk) is cut again, so lines are never torn or glued and
//!   an append that failed is reported failed (the delivery retries it whole).
//! - Reading dedupes by span id, the last copy winning, so re-exporting identical spans never
//!   shows them twice. Unreadable lines (a crash mid-write) are counted and skipped.

use super::convert::{self, ResourceConfig};
use super::decode;
use crate::paths::StateDir;
use crate::span::{SpanId, SpanRecord, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::Resource;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The extension of store files.
const EXTENSION: &str = "jsonl";

/// A validated local-store destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The directory holding one file per trace (normally [`StateDir::store_dir`]).
    pub dir: PathBuf,
}

/// Why the local store could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store directory could not be created or listed.
    #[error("cannot use the store directory {dir}")]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A store file could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A store file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A request could not be encoded as JSON.
    #[error("cannot encode spans as OTLP/JSON")]
    Encode(#[source] serde_json::Error),
    /// No stored session matches the requested id or prefix.
    #[error("no stored session matches {query:?}")]
    NotFound {
        /// What was asked for.
        query: String,
    },
    /// Several stored sessions match the requested prefix.
    #[error("{query:?} matches several sessions: {}", candidates.join(", "))]
    Ambiguous {
        /// What was asked for.
        query: String,
        /// The matching session ids.
        candidates: Vec<String>,
    },
    /// The store holds no session at all.
    #[error("the store {dir} holds no session yet")]
    Empty {
        /// The store directory.
        dir: PathBuf,
    },
}

/// A built local-store destination.
#[derive(Debug, Clone)]
pub struct LocalStore {
    dir: PathBuf,
    resource: Resource,
}

impl LocalStore {
    /// A store writing to `config.dir` with `resource` on every line.
    pub fn new(config: &StoreConfig, resource: &ResourceConfig) -> Self {
        LocalStore {
            dir: config.dir.clone(),
            resource: convert::resource(resource),
        }
    }

    /// Appends `spans`, one line per trace they belong to. Blocking file I/O.
    pub fn append(&self, spans: &[SpanRecord]) -> Result<(), StoreError> {
        StateDir::ensure_private_dir(&self.dir).map_err(|source| StoreError::Dir {
            dir: self.dir.clone(),
            source,
        })?;
        let mut by_trace: BTreeMap<TraceId, Vec<SpanRecord>> = BTreeMap::new();
        for span in spans {
            by_trace
                .entry(span.trace_id)
                .or_default()
                .push(span.clone());
        }
        for (trace_id, spans) in by_trace {
            let request = convert::request(&spans, &self.resource);
            let mut line = serde_json::to_vec(&request).map_err(StoreError::Encode)?;
            line.push(b'\n');
            let path = trace_file(&self.dir, trace_id);
            append_line(&path, &line).map_err(|source| StoreError::Write { path, source })?;
        }
        Ok(())
    }
}

/// Appends one complete line: never through a symlink nor to another user's file, first
/// cutting a torn last line (a crash mid-write) back to the last complete one, and on a failed
/// or partial write (a full disk, a file-size limit) cutting what was written again, so a retry
/// never glues onto half a line.
fn append_line(path: &Path, line: &[u8]) -> io::Result<()> {
    let mut file = StateDir::open_private_append(path)?;
    let complete = complete_len(&file)?;
    if complete < file.metadata()?.len() {
        file.set_len(complete)?;
    }
    if let Err(error) = file.write_all(line) {
        file.set_len(complete)?;
        return Err(error);
    }
    Ok(())
}

/// The length of `file` up to and including its last `\n` (0 when it has none).
fn complete_len(file: &fs::File) -> io::Result<u64> {
    use std::os::unix::fs::FileExt as _;
    let mut end = file.metadata()?.len();
    let mut chunk = vec![0; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.read_exact_at(part, start)?;
        if let Some(at) = part.iter().rposition(|&b| b == b'\n') {
            return Ok(start + at as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The file of `trace_id` in `dir`.
pub fn trace_file(dir: &Path, trace_id: TraceId) -> PathBuf {
    let hex = trace_id.to_string();
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    dir.join(format!(
        "{}.{EXTENSION}",
        StateDir::session_file_stem(&uuid)
    ))
}

/// One session (trace) in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// Its id: the file stem, the Codex session id for Codex sessions.
    pub id: String,
    /// Its file.
    pub path: PathBuf,
    /// When spans were last written.
    pub modified: SystemTime,
}

/// Every session in the store at `dir`, most recently written first. A missing directory is an
/// empty store.
pub fn list_sessions(dir: &Path) -> Result<Vec<StoredSession>, StoreError> {
    let dir_error = |source| StoreError::Dir {
        dir: dir.to_owned(),
        source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(dir_error(error)),
    };
    let mut sessions = Vec::new();
    for entry in entries {
        let path = entry.map_err(dir_error)?.path();
        let (Some(stem), Some(EXTENSION)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        let modified = fs::metadata(&path)
            .and_then(|m| m.modified())
            .map_err(dir_error)?;
        sessions.push(StoredSession {
            id: stem.to_owned(),
            path: path.clone(),
            modified,
        });
    }
    sessions.sort_by(|a, b| b.modified.cmp(&a.modified).then_with(|| a.id.cmp(&b.id)));
    Ok(sessions)
}

/// The session whose id is `query` or starts with it (case and dashes ignored, so a trace id
/// in hex also matches); `None` picks the most recent one.
pub fn find_session(dir: &Path, query: Option<&str>) -> Result<StoredSession, StoreError> {
    let sessions = list_sessions(dir)?;
    let Some(query) = query else {
        return sessions
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Empty {
                dir: dir.to_owned(),
            });
    };
    let wanted = normalize(query);
    let mut matches: Vec<StoredSession> = sessions
        .into_iter()
        .filter(|s| normalize(&s.id).starts_with(&wanted))
        .collect();
    if let Some(exact) = matches.iter().position(|s| normalize(&s.id) == wanted) {
        return Ok(matches.swap_remove(exact));
    }
    match matches.len() {
        0 => Err(StoreError::NotFound {
            query: query.to_owned(),
        }),
        1 => Ok(matches.remove(0)),
        _ => Err(StoreError::Ambiguous {
            query: query.to_owned(),
            candidates: matches.into_iter().map(|s| s.id).collect(),
        }),
    }
}

fn normalize(id: &str) -> String {
    id.chars()
        .filter(|c| *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The spans of one stored session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSpans {
    /// Each span once (its last written copy), in order of first appearance.
    pub spans: Vec<SpanRecord>,
    /// Lines that could not be read as OTLP/JSON spans and were skipped.
    pub malformed_lines: usize,
}

/// Reads a store file back into records.
pub fn read_session(path: &Path) -> Result<SessionSpans, StoreError> {
    let text = fs::read_to_string(path).map_err(|source| StoreError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut spans: Vec<SpanRecord> = Vec::new();
    let mut index: HashMap<SpanId, usize> = HashMap::new();
    let mut malformed_lines = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let decoded = serde_json::from_str::<ExportTraceServiceRequest>(line)
            .ok()
            .and_then(|request| decode::spans_from_request(&request).ok());
        let Some(decoded) = decoded else {
            malformed_lines += 1;
            continue;
        };
        for span in decoded {
            match index.get(&span.span_id) {
                Some(&at) => spans[at] = span,
                None => {
                    index.insert(span.span_id, spans.len());
                    spans.push(span);
                }
            }
        }
    }
    Ok(SessionSpans {
        spans,
        malformed_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{AttrValue, SpanKind, SpanStatus};
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::{Duration, UNIX_EPOCH};

    fn span(trace: u8, id: u8, name: &str) -> SpanRecord {
        SpanRecord {
            trace_id: TraceId([trace; 16]),
            span_id: SpanId([id; 8]),
            parent_span_id: (id > 1).then_some(SpanId([1; 8])),
            name: name.into(),
            kind: SpanKind::Internal,
            start: UNIX_EPOCH + Duration::from_secs(u64::from(id)),
            end: UNIX_EPOCH + Duration::from_secs(u64::from(id) + 1),
            attributes: vec![("n".into(), AttrValue::Int(i64::from(id)))],
            events: Vec::new(),
            status: SpanStatus::Unset,
        }
    }

    fn store(dir: &Path) -> LocalStore {
        LocalStore::new(
            &StoreConfig {
                dir: dir.join("spans"),
            },
            &ResourceConfig::default(),
        )
    }

    #[test]
    fn spans_read_back_equal_what_was_written() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let spans = vec![span(0xab, 1, "root"), span(0xab, 2, "child")];
        store(tmp.path()).append(&spans).expect("append");
        let sessions = list_sessions(&tmp.path().join("spans")).expect("list");
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].id, "abababab-abab-abab-abab-abababababab");
        let read = read_session(&sessions[0].path).expect("read");
        assert_eq!(read.spans, spans);
        assert_eq!(read.malformed_lines, 0);
    }

    /// Nextest runs each test in its own process, so the file-size limit stays in this one.
    #[test]
    fn a_full_disk_never_tears_or_glues_lines_and_the_retry_lands_whole() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = store(tmp.path());
        store.append(&[span(1, 1, "root")]).expect("append");
        let path = trace_file(&tmp.path().join("spans"), TraceId([1; 16]));
        let first = fs::metadata(&path).unwrap().len();
        let limit = |bytes: u64| {
            let mut current: libc::rlimit = unsafe { std::mem::zeroed() };
            // SAFETY: plain rlimit calls on structs we own; SIGXFSZ ignored so a write past
            // the limit fails with EFBIG instead of killing the process.
            unsafe {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                libc::getrlimit(libc::RLIMIT_FSIZE, &mut current);
                current.rlim_cur = bytes.min(current.rlim_max);
                assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &current), 0);
            }
        };
        limit(first + first / 2);
        let full = store.append(&[span(1, 2, "child")]);
        assert!(full.is_err(), "a write past the limit is reported failed");
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            first,
            "no torn line left"
        );
        limit(u64::MAX);
        store.append(&[span(1, 2, "child")]).expect("the retry");
        let read = read_session(&path).expect("read");
        assert_eq!(read.malformed_lines, 0);
        assert_eq!(read.spans.len(), 2);
    }

    #[test]
    fn a_torn_last_line_is_cut_before_the_next_append() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = store(tmp.path());
        store.append(&[span(1, 1, "root")]).expect("append");
        let path = trace_file(&tmp.path().join("spans"), TraceId([1; 16]));
        let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"resourceSpans\":[{\"torn").unwrap();
        store.append(&[span(1, 2, "child")]).expect("append");
        let read = read_session(&path).expect("read");
        assert_eq!((read.spans.len(), read.malformed_lines), (2, 0));
    }

    #[test]
    fn a_symlink_in_the_store_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("spans");
        StateDir::ensure_private_dir(&dir).unwrap();
        let target = tmp.path().join("elsewhere");
        let path = trace_file(&dir, TraceId([1; 16]));
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(store(tmp.path()).append(&[span(1, 1, "root")]).is_err());
        assert!(!target.exists(), "nothing was written through the link");
    }

    #[test]
    fn re_exported_spans_appear_once_with_their_last_copy() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = store(tmp.path());
        store
            .append(&[span(1, 1, "root"), span(1, 2, "old")])
            .expect("append");
        store.append(&[span(1, 2, "new")]).expect("append");
        store.append(&[span(1, 1, "root")]).expect("append");
        let path = trace_file(&tmp.path().join("spans"), TraceId([1; 16]));
        let names: Vec<String> = read_session(&path)
            .expect("read")
            .spans
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["root", "new"]);
    }

    #[test]
    fn each_trace_gets_its_own_private_file_in_a_private_dir() {
        let tmp = tempfile::tempdir().expect("tempdir");
        store(tmp.path())
            .append(&[span(1, 1, "a"), span(2, 1, "b")])
            .expect("append");
        let dir = tmp.path().join("spans");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        let sessions = list_sessions(&dir).expect("list");
        assert_eq!(sessions.len(), 2);
        assert!(sessions.iter().all(|s| mode(&s.path) == 0o600));
    }

    #[test]
    fn a_partial_last_line_is_skipped_and_counted() {
        let tmp = tempfile::tempdir().expect("tempdir");
        store(tmp.path())
            .append(&[span(1, 1, "a")])
            .expect("append");
        let path = trace_file(&tmp.path().join("spans"), TraceId([1; 16]));
        append_line(&path, b"{\"resourceSpans\":[{\"res").expect("append");
        let read = read_session(&path).expect("read");
        assert_eq!(read.spans.len(), 1);
        assert_eq!(read.malformed_lines, 1);
    }

    #[test]
    fn sessions_are_found_by_prefix_with_or_without_dashes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        store(tmp.path())
            .append(&[span(0x12, 1, "a"), span(0x13, 1, "b"), span(0x14, 1, "c")])
            .expect("append");
        let dir = tmp.path().join("spans");
        assert_eq!(
            find_session(&dir, Some("1212121212")).expect("found").id,
            "12121212-1212-1212-1212-121212121212"
        );
        assert_eq!(
            find_session(&dir, Some("13131313-13")).expect("found").id,
            "13131313-1313-1313-1313-131313131313"
        );
        assert!(matches!(
            find_session(&dir, Some("1")),
            Err(StoreError::Ambiguous { candidates, .. }) if candidates.len() == 3
        ));
        assert!(matches!(
            find_session(&dir, Some("ff")),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn the_most_recent_session_is_found_without_a_query() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("spans");
        assert!(matches!(
            find_session(&dir, None),
            Err(StoreError::Empty { .. })
        ));
        let store = store(tmp.path());
        store.append(&[span(1, 1, "a")]).expect("append");
        store.append(&[span(2, 1, "b")]).expect("append");
        let old = fs::File::options()
            .write(true)
            .open(trace_file(&dir, TraceId([1; 16])))
            .expect("open");
        old.set_modified(UNIX_EPOCH + Duration::from_secs(1_000))
            .expect("set mtime");
        assert_eq!(
            find_session(&dir, None).expect("found").path,
            trace_file(&dir, TraceId([2; 16]))
        );
    }
}
