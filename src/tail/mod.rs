//! Incremental reading of append-only newline-delimited files from a byte offset.
//!
//! Contract:
//! - A [`LineTail`] remembers one resumable *offset*: the position just after the last line it
//!   returned (or skipped). Persist [`LineTail::offset`] and pass it to [`LineTail::new`] to
//!   resume after a restart; every offset reported with a line is such a resumable position.
//! - Only complete lines are returned (without their `\n`). A partial last line is held back,
//!   not consumed, until its newline arrives; nothing about it is buffered between calls.
//! - Each call is bounded by [`Limits`]: at most `max_lines` lines, about `max_bytes` bytes of
//!   lines (checked between lines), and a read budget so a call always returns. When a limit
//!   stops a call, [`Batch::more`] is true and the caller should call again.
//! - A line longer than `max_line_bytes` is skipped and counted, never buffered: once the
//!   limit is passed the rest of the line is discarded as it is read, across calls.
//! - When the path names another file (new inode) or the file shrinks below what was read,
//!   the tail compares it with what it read ([`witness`]: the first and last KiB before the
//!   offset): a copy of the same content is read on from the offset ([`Kept::Copied`]); the
//!   same content cut short is not read until it is restored ([`Kept::CutShort`]); different
//!   content is reported as a [`Reset`] and read again from offset 0. So a rollout copied
//!   over itself, or truncated and restored, never yields a line twice.
//! - A missing file is not an error: it has no lines yet.
//! - Only regular files are read: the file is opened without blocking and without following a
//!   symlink, then checked, so a hostile path (`/dev/zero`, a FIFO, a directory, a symlink) is
//!   an [`Error::Open`], never a read that blocks or never ends.
//!
//! std only: the daemon calls it from blocking tasks; the journal reader and the rollout tail
//! ([`crate::codex::tail`]) are built on it.

mod cutter;
mod limits;
mod witness;

use cutter::Cutter;
use limits::CHUNK_BYTES;
pub use limits::{Limits, DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES, DEFAULT_MAX_LINE_BYTES};
use witness::{Verdict, Witness};

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Why reading started over from offset 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// The file (or decoded stream) is now shorter than what had been read.
    Shrunk {
        /// How far it had been read.
        read: u64,
        /// Its length now.
        len: u64,
    },
    /// The path now names a different file (rotation or re-creation).
    Replaced,
}

/// A change of the file that did not make reading start over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// The path names another file holding everything read so far: reading goes on.
    Copied,
    /// The file is shorter than what was read but starts the same: nothing is read until it
    /// is restored (or turns out to be different).
    CutShort {
        /// How far it had been read.
        read: u64,
        /// Its length now.
        len: u64,
    },
}

/// How a stream ends when it has no more bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The stream may still grow: a last line without `\n` is held back.
    Growing,
    /// The stream is complete (e.g. a compressed file): a last line without `\n` is a line.
    Complete,
}

/// What one call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<T = Vec<u8>> {
    /// Each item with the resumable offset just after its line.
    pub items: Vec<(u64, T)>,
    /// Lines skipped because they were longer than `max_line_bytes`.
    pub overlong: u64,
    /// Lines a parser rejected (see [`Batch::parse`]); always 0 for raw lines.
    pub invalid: u64,
    /// Set when reading started over from offset 0 in this call.
    pub reset: Option<Reset>,
    /// Set when the file changed but reading did not start over.
    pub kept: Option<Kept>,
    /// True when the file does not exist (yet, or any more).
    pub missing: bool,
    /// True when a limit stopped the call: call again for more.
    pub more: bool,
    /// The resumable offset after this call.
    pub offset: u64,
}

impl<T> Batch<T> {
    fn empty(offset: u64) -> Self {
        Batch {
            items: Vec::new(),
            overlong: 0,
            invalid: 0,
            reset: None,
            kept: None,
            missing: false,
            more: false,
            offset,
        }
    }
}

impl Batch<Vec<u8>> {
    /// Parses each line with `parse`; lines it rejects (`None`) are counted in `invalid`,
    /// blank lines are dropped silently.
    pub fn parse<T>(self, mut parse: impl FnMut(&[u8]) -> Option<T>) -> Batch<T> {
        let mut batch = Batch {
            overlong: self.overlong,
            invalid: self.invalid,
            reset: self.reset,
            kept: self.kept,
            missing: self.missing,
            more: self.more,
            ..Batch::empty(self.offset)
        };
        for (offset, line) in self.items {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match parse(&line) {
                Some(item) => batch.items.push((offset, item)),
                None => batch.invalid += 1,
            }
        }
        batch
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Opening or inspecting the file failed (other than it not existing).
    #[error("cannot open {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Seeking, reading or decoding the file failed.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Incremental line reader over one append-only file (see the module docs).
#[derive(Debug, Clone)]
pub struct LineTail {
    limits: Limits,
    /// Resumable position: just after the last line returned or skipped.
    offset: u64,
    /// Where the next read starts: `offset`, or further inside an overlong line being skipped.
    scan: u64,
    /// True while discarding the rest of an overlong line.
    skipping: bool,
    /// Furthest position seen, to detect shrinking.
    seen: u64,
    /// `(device, inode)` of the file last read, to detect replacement.
    identity: Option<(u64, u64)>,
    /// What was read, to judge a replaced or shrunk file.
    witness: Option<Witness>,
    /// The file was cut short: it is judged again on every read until restored.
    cut_short: bool,
}

impl LineTail {
    /// Starts reading at `offset`, which must be the start of a line (0, or an offset this
    /// type reported).
    pub fn new(offset: u64, limits: Limits) -> Self {
        LineTail {
            limits,
            offset,
            scan: offset,
            skipping: false,
            seen: offset,
            identity: None,
            witness: None,
            cut_short: false,
        }
    }

    /// The resumable offset: persist it to continue after a restart.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next lines of a plain file, seeking to where the last call stopped.
    pub fn read_file(&mut self, path: &Path) -> Result<Batch, Error> {
        let Some((mut file, len, replaced)) = self.open(path)? else {
            return Ok(self.missing());
        };
        let read_error = |source| Error::Read {
            path: path.to_owned(),
            source,
        };
        let mut kept = None;
        let mut reset = None;
        if replaced || self.cut_short || len < self.seen {
            let verdict = match &self.witness {
                Some(witness) => witness.judge(&file, len).map_err(read_error)?,
                None => Verdict::Different,
            };
            match verdict {
                Verdict::Same => kept = self.go_on(replaced, len),
                Verdict::CutShort => {
                    // Reported once, when the file is first found cut short.
                    let first = !std::mem::replace(&mut self.cut_short, true);
                    let mut batch = Batch::empty(self.offset);
                    batch.kept = first.then_some(Kept::CutShort {
                        read: self.offset,
                        len,
                    });
                    return Ok(batch);
                }
                Verdict::Different => {
                    let why = match replaced {
                        true => Reset::Replaced,
                        false => Reset::Shrunk {
                            read: self.seen,
                            len,
                        },
                    };
                    reset = Some(self.restart(why));
                }
            }
        }
        file.seek(SeekFrom::Start(self.scan)).map_err(read_error)?;
        let mut batch = self
            .read_from(&mut file, StreamEnd::Growing)
            .map_err(read_error)?;
        if self.witness.is_none() || !batch.items.is_empty() || batch.overlong > 0 {
            self.witness = Some(Witness::capture(&file, self.offset).map_err(read_error)?);
        }
        batch.reset = reset;
        batch.kept = kept;
        Ok(batch)
    }

    /// The changed file holds what was read: go on from the offset.
    fn go_on(&mut self, replaced: bool, len: u64) -> Option<Kept> {
        self.cut_short = false;
        if len < self.scan {
            self.scan = self.offset;
            self.skipping = false;
        }
        self.seen = self.seen.min(len).max(self.offset);
        replaced.then_some(Kept::Copied)
    }

    /// Reads the next lines of a file whose content is `decode(file)` (e.g. a zstd stream).
    /// The decoded stream is read from its start and the part already read is skipped, so
    /// this suits files written once; the stream is treated as complete.
    pub fn read_decoded<R: Read>(
        &mut self,
        path: &Path,
        decode: impl FnOnce(File) -> io::Result<R>,
    ) -> Result<Batch, Error> {
        let Some((file, _, replaced)) = self.open(path)? else {
            return Ok(self.missing());
        };
        let reset = replaced.then(|| self.restart(Reset::Replaced));
        let read_error = |source| Error::Read {
            path: path.to_owned(),
            source,
        };
        let stream = decode(file).map_err(read_error)?;
        let mut batch = self
            .read_stream(stream, StreamEnd::Complete)
            .map_err(read_error)?;
        batch.reset = batch.reset.or(reset);
        Ok(batch)
    }

    /// Reads the next lines from `stream`, which yields the content from byte 0: the part
    /// already read is skipped. A stream shorter than that is reported as [`Reset::Shrunk`]
    /// and read from 0 on the next call.
    pub fn read_stream(&mut self, mut stream: impl Read, end: StreamEnd) -> io::Result<Batch> {
        let skipped = io::copy(&mut (&mut stream).take(self.scan), &mut io::sink())?;
        if skipped < self.scan {
            let reset = self.restart(Reset::Shrunk {
                read: self.seen,
                len: skipped,
            });
            let mut batch = Batch::empty(0);
            batch.reset = Some(reset);
            return Ok(batch);
        }
        self.read_from(stream, end)
    }

    /// Opens `path`; `None` when it does not exist. Says whether it is another file than the
    /// one read last.
    fn open(&mut self, path: &Path) -> Result<Option<(File, u64, bool)>, Error> {
        let open_error = |source| Error::Open {
            path: path.to_owned(),
            source,
        };
        let file = match open_regular(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(open_error(e)),
        };
        let meta: Metadata = file.metadata().map_err(open_error)?;
        if !meta.is_file() {
            let not_regular = io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file (a device, FIFO, socket or directory is never read)",
            );
            return Err(open_error(not_regular));
        }
        let identity = (meta.dev(), meta.ino());
        let replaced = self
            .identity
            .replace(identity)
            .is_some_and(|old| old != identity);
        Ok(Some((file, meta.len(), replaced)))
    }

    fn missing(&self) -> Batch {
        let mut batch = Batch::empty(self.offset);
        batch.missing = true;
        batch
    }

    /// Forgets all progress so the next read starts at offset 0; returns `reset`.
    fn restart(&mut self, reset: Reset) -> Reset {
        self.offset = 0;
        self.scan = 0;
        self.seen = 0;
        self.skipping = false;
        self.witness = None;
        self.cut_short = false;
        reset
    }

    /// Reads lines from `source`, positioned at `self.scan`.
    fn read_from(&mut self, mut source: impl Read, end: StreamEnd) -> io::Result<Batch> {
        let mut cut = Cutter {
            tail: self,
            batch: Batch::empty(0),
            line: Vec::new(),
            bytes: 0,
        };
        let mut chunk = vec![0; CHUNK_BYTES];
        let mut pos = cut.tail.scan;
        let budget_end = pos.saturating_add(cut.tail.limits.read_budget());
        loop {
            if cut.full() || pos >= budget_end {
                cut.batch.more = true;
                break;
            }
            let n = match source.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                if end == StreamEnd::Complete {
                    cut.end_last_line(pos);
                }
                break;
            }
            let fed = cut.feed(&chunk[..n], pos);
            pos += n as u64;
            cut.tail.seen = cut.tail.seen.max(pos);
            if !fed {
                cut.batch.more = true;
                break;
            }
        }
        let mut batch = cut.batch;
        // A held-back partial line is re-read next time rather than kept; an overlong line
        // being skipped continues where the discarding stopped.
        self.scan = if self.skipping { pos } else { self.offset };
        batch.offset = self.offset;
        Ok(batch)
    }
}

/// Opens `path` for reading without blocking (a FIFO with no writer would block `open`) and
/// without following a symlink in its last component; the caller checks it is a regular file.
fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(test)]
pub(crate) mod tests;
