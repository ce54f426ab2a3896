//! The durable spool of one destination: spans a session actor handed over wait here, on
//! disk, until the destination acknowledges them. Synchronous file I/O; callers run it off the
//! async threads.
//!
//! Contract:
//! - One directory per destination, `spool/<key>/` (0700), where the key ([`spool_key`]) is
//!   the destination's name plus a digest of where and as what its spans go (endpoint,
//!   protocol, headers, TLS identity, resource). Spans therefore wait for exactly the destination they were
//!   meant for, and the directory holds spans only: never a credential.
//! - One file per handed-over batch, `<seq>.batch` (0600; `seq` 20 digits, increasing): a
//!   header line `{"session_id":…,"span_ids":[…]}`, then one [`SpanRecord`] as JSON per line.
//!   It is written to a temporary file, fsynced, renamed into place and the directory fsynced,
//!   so once [`Spool::push`] returns the batch survives a crash of the process or the machine.
//! - Batches are delivered oldest first. A span id is queued at most once: pushing a span that
//!   is already queued keeps the queued copy (records are final: it is the same content).
//! - [`Spool::remove`] takes acknowledged spans out: the file is deleted, or rewritten
//!   (temporary file + rename) without them when only part of it was acknowledged. Deletion is
//!   not fsynced: after a power loss a delivered batch may be sent again, with identical content.
//! - Bounded: a push that would take a non-empty spool over its byte limit is refused whole
//!   ([`SpoolError::Full`]); the spans stay in their journal and are handed over again later.
//! - One holder at a time: [`Spool::open`] takes an exclusive `flock` on the directory, held
//!   while the spool is open, and fails with [`SpoolError::Busy`] when another holder (another
//!   process, or another open in this one) has it; two writers would give batches the same
//!   numbers and deliver each other's spans.
//! - Opening a spool reads only the header lines. A file that cannot be read or parsed is
//!   removed and reported with its span count; temporary files left by a crash are removed.

use crate::export::{DestinationConfig, DestinationKind, OtlpConfig};
use crate::paths::StateDir;
use crate::span::{SpanId, SpanRecord};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The extension of batch files.
const EXTENSION: &str = "batch";
/// Hex digits of the configuration digest in a spool key.
const DIGEST_HEX: usize = 16;

/// Why a spool operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SpoolError {
    /// The push would take the spool over its limit; nothing was written.
    #[error("the spool holds {queued} bytes; {incoming} more would pass its {limit}-byte limit")]
    Full {
        /// Bytes queued now.
        queued: u64,
        /// Bytes of the refused batch.
        incoming: u64,
        /// The limit.
        limit: u64,
    },
    /// Reading, writing or removing a spool file failed.
    #[error("spool file {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Another holder has the spool open.
    #[error("spool {path} is in use by another process")]
    Busy {
        /// The spool directory.
        path: PathBuf,
    },
    /// A batch file is not in the spool format; it was removed.
    #[error("spool file {path} is damaged; its {spans} spans were removed")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// How many spans its header named (0 when the header itself is damaged).
        spans: usize,
    },
}

/// The first line of a batch file.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    session_id: String,
    span_ids: Vec<SpanId>,
}

/// One queued batch, as indexed in memory (the spans stay on disk).
#[derive(Debug)]
struct Entry {
    session_id: String,
    span_ids: Vec<SpanId>,
    bytes: u64,
}

/// A batch read back for delivery.
#[derive(Debug)]
pub(crate) struct Queued {
    /// Its position in the spool.
    pub(crate) seq: u64,
    /// The session the spans belong to.
    pub(crate) session_id: String,
    /// The spans.
    pub(crate) spans: Vec<SpanRecord>,
}

/// One destination's spool (see the module docs).
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    /// The open directory whose `flock` makes this the spool's only holder.
    _held: File,
    max_bytes: u64,
    entries: BTreeMap<u64, Entry>,
    queued: HashMap<SpanId, u64>,
    sessions: HashMap<String, usize>,
    bytes: u64,
    next_seq: u64,
}

/// The spool key of `config`: its name, then a digest of everything that decides where its
/// spans go and how they are labelled (see the module docs). Timeouts, compression and size
/// limits are left out, so tuning them keeps the spool.
pub(crate) fn spool_key(config: &DestinationConfig) -> String {
    let mut digest = Sha256::new();
    let mut field = |bytes: &[u8]| {
        digest.update((bytes.len() as u64).to_be_bytes());
        digest.update(bytes);
    };
    field(b"codex-otel spool v1");
    field(config.name.as_bytes());
    let otlp = |field: &mut dyn FnMut(&[u8]), otlp: &OtlpConfig| {
        field(otlp.endpoint.as_bytes());
        field(otlp.protocol.as_str().as_bytes());
        for (name, value) in otlp.headers.iter() {
            field(name.as_bytes());
            field(value.as_bytes());
        }
        // The client certificate is an identity too (paths only: `Debug` shows no secret).
        field(format!("{:?}", otlp.connection.tls).as_bytes());
    };
    match &config.kind {
        DestinationKind::Otlp(config) => otlp(&mut field, config),
        DestinationKind::Braintrust(braintrust) => otlp(&mut field, &braintrust.to_otlp()),
        DestinationKind::Store(store) => field(store.dir.as_os_str().as_bytes()),
    }
    field(config.resource.service_name.as_bytes());
    for (key, value) in &config.resource.attributes {
        field(key.as_bytes());
        field(value.as_bytes());
    }
    let digest = hex::encode(digest.finalize());
    let name = StateDir::session_file_stem(&config.name);
    format!("{name}-{}", &digest[..DIGEST_HEX])
}

/// The destination name in a spool key (the key itself when it has no digest).
pub(crate) fn name_of_key(key: &str) -> &str {
    key.rsplit_once('-')
        .filter(|(_, digest)| digest.len() == DIGEST_HEX)
        .map_or(key, |(name, _)| name)
}

impl Spool {
    /// Opens (creating it 0700) the spool in `dir` and indexes what it holds. Damaged files
    /// are removed and returned as [`SpoolError::Damaged`] problems.
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> Result<(Spool, Vec<SpoolError>), SpoolError> {
        let io_error = |source| SpoolError::Io {
            path: dir.to_owned(),
            source,
        };
        StateDir::ensure_private_dir(dir).map_err(io_error)?;
        let held = File::open(dir).map_err(io_error)?;
        // SAFETY: flock on a descriptor `held` owns; it is released when `held` closes.
        if unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let error = io::Error::last_os_error();
            return Err(match error.kind() {
                io::ErrorKind::WouldBlock => SpoolError::Busy {
                    path: dir.to_owned(),
                },
                _ => io_error(error),
            });
        }
        let mut spool = Spool {
            dir: dir.to_owned(),
            _held: held,
            max_bytes,
            entries: BTreeMap::new(),
            queued: HashMap::new(),
            sessions: HashMap::new(),
            bytes: 0,
            next_seq: 0,
        };
        let mut problems = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error)?.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let seq = name
                .strip_suffix(&format!(".{EXTENSION}"))
                .and_then(|n| n.parse::<u64>().ok());
            let Some(seq) = seq else { continue };
            match read_header(&path) {
                Ok((header, bytes)) => spool.index(seq, header, bytes),
                Err(problem) => {
                    let _ = std::fs::remove_file(&path);
                    problems.push(problem);
                }
            }
        }
        Ok((spool, problems))
    }

    /// Queues the spans of `spans` not queued yet, durably, as one batch of `session_id`;
    /// returns how many were new.
    pub(crate) fn push(
        &mut self,
        session_id: &str,
        spans: &[SpanRecord],
    ) -> Result<usize, SpoolError> {
        let mut fresh: Vec<&SpanRecord> = Vec::new();
        for span in spans {
            if !self.queued.contains_key(&span.span_id)
                && !fresh.iter().any(|s| s.span_id == span.span_id)
            {
                fresh.push(span);
            }
        }
        if fresh.is_empty() {
            return Ok(0);
        }
        let header = Header {
            session_id: session_id.to_owned(),
            span_ids: fresh.iter().map(|s| s.span_id).collect(),
        };
        let body = encode(&header, fresh.iter().copied()).map_err(|source| self.io(source))?;
        let incoming = body.len() as u64;
        if !self.entries.is_empty() && self.bytes + incoming > self.max_bytes {
            return Err(SpoolError::Full {
                queued: self.bytes,
                incoming,
                limit: self.max_bytes,
            });
        }
        let seq = self.next_seq;
        let path = self.path(seq);
        StateDir::write_durably(&path, &body).map_err(|source| SpoolError::Io {
            path: path.clone(),
            source,
        })?;
        self.index(seq, header, incoming);
        Ok(fresh.len())
    }

    /// The oldest batches, up to `max_spans` spans and `max_bytes` bytes (at least one batch
    /// when any is queued), by position.
    pub(crate) fn oldest(&self, max_spans: usize, max_bytes: u64) -> Vec<u64> {
        let (mut spans, mut bytes) = (0usize, 0u64);
        let mut chosen = Vec::new();
        for (&seq, entry) in &self.entries {
            let over = spans + entry.span_ids.len() > max_spans || bytes + entry.bytes > max_bytes;
            if over && !chosen.is_empty() {
                break;
            }
            spans += entry.span_ids.len();
            bytes += entry.bytes;
            chosen.push(seq);
        }
        chosen
    }

    /// Reads the batch at `seq` back. A damaged file is removed with its entry and reported.
    pub(crate) fn read(&mut self, seq: u64) -> Result<Queued, SpoolError> {
        let Some(entry) = self.entries.get(&seq) else {
            return Err(SpoolError::Damaged {
                path: self.path(seq),
                spans: 0,
            });
        };
        let session_id = entry.session_id.clone();
        let spans = read_spans(&self.path(seq));
        match spans {
            Some(spans)
                if spans
                    .iter()
                    .map(|s| s.span_id)
                    .eq(entry.span_ids.iter().copied()) =>
            {
                Ok(Queued {
                    seq,
                    session_id,
                    spans,
                })
            }
            _ => {
                let spans = self.forget(seq);
                let path = self.path(seq);
                let _ = std::fs::remove_file(&path);
                Err(SpoolError::Damaged { path, spans })
            }
        }
    }

    /// Takes `acknowledged` (spans of the batch at `seq`) out of the spool: the file goes when
    /// nothing of it is left, else it is rewritten without them. The index is updated even when
    /// the file cannot be changed (the error is returned): this daemon never sends them again.
    pub(crate) fn remove(&mut self, seq: u64, acknowledged: &[SpanId]) -> Result<(), SpoolError> {
        let Some(entry) = self.entries.get(&seq) else {
            return Ok(());
        };
        let left: Vec<SpanId> = entry
            .span_ids
            .iter()
            .filter(|id| !acknowledged.contains(id))
            .copied()
            .collect();
        let path = self.path(seq);
        if left.is_empty() {
            self.forget(seq);
            return std::fs::remove_file(&path).map_err(|source| SpoolError::Io { path, source });
        }
        let session_id = entry.session_id.clone();
        self.forget(seq);
        let spans: Vec<SpanRecord> = read_spans(&path)
            .unwrap_or_default()
            .into_iter()
            .filter(|s| left.contains(&s.span_id))
            .collect();
        let header = Header {
            session_id,
            span_ids: spans.iter().map(|s| s.span_id).collect(),
        };
        let body = encode(&header, spans.iter()).map_err(|source| self.io(source))?;
        let written = StateDir::write_durably(&path, &body);
        written.map_err(|source| SpoolError::Io {
            path: path.clone(),
            source,
        })?;
        self.index(seq, header, body.len() as u64);
        Ok(())
    }

    /// Spans of `session_id` still queued.
    pub(crate) fn queued_for(&self, session_id: &str) -> usize {
        self.sessions.get(session_id).copied().unwrap_or(0)
    }

    /// Every session with spans queued.
    pub(crate) fn sessions(&self) -> impl Iterator<Item = &str> {
        self.sessions.keys().map(String::as_str)
    }

    /// Spans queued.
    pub(crate) fn queued_spans(&self) -> usize {
        self.queued.len()
    }

    /// Bytes the queued batches take on disk.
    pub(crate) fn queued_bytes(&self) -> u64 {
        self.bytes
    }

    fn index(&mut self, seq: u64, header: Header, bytes: u64) {
        for id in &header.span_ids {
            self.queued.insert(*id, seq);
        }
        *self.sessions.entry(header.session_id.clone()).or_default() += header.span_ids.len();
        self.bytes += bytes;
        self.next_seq = self.next_seq.max(seq + 1);
        self.entries.insert(
            seq,
            Entry {
                session_id: header.session_id,
                span_ids: header.span_ids,
                bytes,
            },
        );
    }

    /// Drops the entry at `seq` from the index; returns how many spans it had.
    fn forget(&mut self, seq: u64) -> usize {
        let Some(entry) = self.entries.remove(&seq) else {
            return 0;
        };
        for id in &entry.span_ids {
            if self.queued.get(id) == Some(&seq) {
                self.queued.remove(id);
            }
        }
        if let Some(count) = self.sessions.get_mut(&entry.session_id) {
            *count = count.saturating_sub(entry.span_ids.len());
            if *count == 0 {
                self.sessions.remove(&entry.session_id);
            }
        }
        self.bytes = self.bytes.saturating_sub(entry.bytes);
        entry.span_ids.len()
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.{EXTENSION}"))
    }

    fn io(&self, source: io::Error) -> SpoolError {
        SpoolError::Io {
            path: self.dir.clone(),
            source,
        }
    }
}

/// A batch file's bytes: the header line, then one span per line.
fn encode<'a>(header: &Header, spans: impl Iterator<Item = &'a SpanRecord>) -> io::Result<Vec<u8>> {
    let mut body = serde_json::to_vec(header)?;
    body.push(b'\n');
    for span in spans {
        serde_json::to_writer(&mut body, span)?;
        body.push(b'\n');
    }
    Ok(body)
}

/// The header of the batch file at `path` and the file's size.
fn read_header(path: &Path) -> Result<(Header, u64), SpoolError> {
    let damaged = || SpoolError::Damaged {
        path: path.to_owned(),
        spans: 0,
    };
    let file = File::open(path).map_err(|_| damaged())?;
    let bytes = file.metadata().map_err(|_| damaged())?.len();
    let mut line = Vec::new();
    BufReader::new(file)
        .read_until(b'\n', &mut line)
        .map_err(|_| damaged())?;
    let header: Header = serde_json::from_slice(&line).map_err(|_| damaged())?;
    Ok((header, bytes))
}

/// The spans of the batch file at `path`; `None` when it cannot be read or a line is damaged.
fn read_spans(path: &Path) -> Option<Vec<SpanRecord>> {
    let bytes = std::fs::read(path).ok()?;
    let mut lines = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    lines.next()?;
    lines
        .map(|line| serde_json::from_slice(line).ok())
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
