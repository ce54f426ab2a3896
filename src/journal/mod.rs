//! The journal: the durable per-session log of hook events, appended by the hook and read by
//! the daemon. It is the source of truth; the daemon's memory is not.
//!
//! # On-disk contract
//!
//! - One file per session, [`StateDir::journal_file`] (`journal/<session>.ndjson`), mode 0600
//!   in a 0700 directory. Files are append-only; nothing rewrites or truncates them. A file
//!   name is only a safe stem of the id ([`StateDir::session_file_stem`]); the real session id
//!   is the `session_id` inside every event.
//! - One line per event, exactly `{"received_at_ns":<u64>,"event":<payload>}` + `\n` (no other
//!   whitespace): `received_at_ns` is when the hook started, in nanoseconds since the Unix
//!   epoch; `event` is the payload as Codex sent it, surrounding whitespace trimmed and every
//!   raw CR or LF byte replaced by a space. A JSON document can only hold raw line breaks as
//!   insignificant whitespace, so this keeps the payload's meaning and the line format.
//! - A record's position is the byte offset just after its line; checkpoints store it.
//! - Each line is written by one `write(2)` on an `O_APPEND` file ([`append()`]), so lines
//!   from concurrent hooks never interleave. A line not in this form (torn by a crash or a
//!   full disk) is skipped by the reader and counted, never fatal.
//! - The hook appends before it pokes the daemon, so an event is durable (against any process
//!   crash, not power loss: there is no fsync on the hook's path) before anyone is told.
//! - A line torn by a crash has no `\n`, so the next append continues it; the reader then
//!   recovers the appended record from the end of the joined line ([`decode_line_recovering`]).
//! - [`checkpoint`] records how far a session's journal has been read and whether it is complete.
//! - [`spooled`] records, append-only, which span ids each destination's spool took.
//! - [`retention`] removes journals and checkpoints of sessions delivered long ago.
//!
//! std only (plus serde for validation and checkpoints): the hook links this module.

pub mod append;
pub mod checkpoint;
pub mod reader;
pub mod retention;
pub mod route;
pub mod spooled;

pub use append::append;
pub use checkpoint::{Checkpoint, Input};
pub use reader::{JournalBatch, JournalReader};
pub use spooled::{Spooled, SpooledLog};

use crate::paths::StateDir;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest payload the journal accepts; the hook drops (and logs) bigger events.
pub const MAX_EVENT_BYTES: usize = 64 << 20;
/// Longest journal line the reader keeps: a maximal payload plus the envelope.
pub const MAX_LINE_BYTES: usize = MAX_EVENT_BYTES + 64;

const PREFIX: &[u8] = b"{\"received_at_ns\":";
const EVENT_KEY: &[u8] = b",\"event\":";

/// One journal record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// When the hook received the event.
    pub received_at: SystemTime,
    /// The payload, a JSON document as Codex sent it (see the module docs).
    pub event: String,
}

/// Encodes one journal line, `\n` included (see the module docs for the format). `event`
/// should be one JSON document; the line framing holds whatever it contains.
pub fn encode_line(received_at: SystemTime, event: &[u8]) -> Vec<u8> {
    let nanos = received_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let event = event.trim_ascii();
    let mut line = Vec::with_capacity(PREFIX.len() + EVENT_KEY.len() + event.len() + 24);
    line.extend_from_slice(PREFIX);
    line.extend_from_slice(nanos.to_string().as_bytes());
    line.extend_from_slice(EVENT_KEY);
    line.extend(event.iter().map(|&b| match b {
        b'\n' | b'\r' => b' ',
        other => other,
    }));
    line.extend_from_slice(b"}\n");
    line
}

/// Decodes one line (without its `\n`); `None` when it is not a well-formed record whose
/// event is a UTF-8 JSON document.
pub fn decode_line(line: &[u8]) -> Option<JournalEntry> {
    let rest = line.strip_prefix(PREFIX)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let nanos: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let event = rest[digits..].strip_prefix(EVENT_KEY)?.strip_suffix(b"}")?;
    let event = String::from_utf8(event.to_vec()).ok()?;
    serde_json::from_str::<serde::de::IgnoredAny>(&event).ok()?;
    Some(JournalEntry {
        received_at: UNIX_EPOCH + Duration::from_nanos(nanos),
        event,
    })
}

/// Decodes a line like [`decode_line`]; when that fails, the line may be a torn record joined
/// with the next, whole one, so the first later start of a record (`{"received_at_ns":`) that
/// decodes through the end of the line is the record. A record prefix inside a payload cannot
/// produce a false match: the event it would start is followed by the enclosing payload's
/// closing brace, which leaves an unbalanced JSON document.
pub fn decode_line_recovering(line: &[u8]) -> Option<JournalEntry> {
    decode_line(line).or_else(|| {
        (1..line.len())
            .filter(|&at| line[at..].starts_with(PREFIX))
            .find_map(|at| decode_line(&line[at..]))
    })
}

/// Why a journal or checkpoint operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The journal or checkpoint directory could not be created.
    #[error("cannot create directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A journal file could not be opened for appending.
    #[error("cannot open journal {path}")]
    Open {
        /// The journal file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing an event failed (e.g. the disk is full); part of the line may be written.
    #[error("cannot append to journal {path}")]
    Write {
        /// The journal file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading a journal failed.
    #[error("cannot read journal")]
    Read(#[source] crate::tail::Error),
    /// A checkpoint exists but could not be read.
    #[error("cannot read checkpoint {path}")]
    CheckpointRead {
        /// The checkpoint file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A checkpoint could not be written durably.
    #[error("cannot write checkpoint {path}")]
    CheckpointWrite {
        /// The checkpoint file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The marker of a session retention retires could not be written (its files are kept).
    #[error("cannot write the retirement marker {path}")]
    Retire {
        /// The marker.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A journal or checkpoint past its retention could not be removed.
    #[error("cannot remove {path}")]
    Remove {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Creates `dir` (and its parents) with mode 0700.
fn ensure_dir(dir: &std::path::Path) -> Result<(), Error> {
    StateDir::ensure_private_dir(dir).map_err(|source| Error::CreateDir {
        path: dir.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PAYLOAD: &str = r#"{"session_id":"s1","hook_event_name":"Stop"}"#;

    #[test]
    fn a_line_is_the_envelope_around_the_verbatim_payload() {
        let at = UNIX_EPOCH + Duration::from_nanos(1_795_522_476_087_000_123);
        let line = encode_line(at, PAYLOAD.as_bytes());
        let expected = format!("{{\"received_at_ns\":1795522476087000123,\"event\":{PAYLOAD}}}\n");
        assert_eq!(String::from_utf8(line.clone()).unwrap(), expected);
        let entry = decode_line(line.strip_suffix(b"\n").unwrap()).unwrap();
        assert_eq!((entry.received_at, entry.event.as_str()), (at, PAYLOAD));
    }

    #[test]
    fn raw_line_breaks_in_a_payload_cannot_break_the_line() {
        let line = encode_line(UNIX_EPOCH, b"\r\n{\"session_id\":\n\"s\"}\n\n");
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        let entry = decode_line(line.trim_ascii_end()).unwrap();
        assert_eq!(entry.event, "{\"session_id\": \"s\"}");
    }

    #[test]
    fn torn_or_foreign_lines_do_not_decode() {
        let line = encode_line(UNIX_EPOCH, PAYLOAD.as_bytes());
        for cut in [1, PREFIX.len() + 1, line.len() / 2, line.len() - 2] {
            assert!(decode_line(&line[..cut]).is_none(), "cut at {cut}");
        }
        for bad in [
            &b""[..],
            b"{}",
            b"{\"received_at_ns\":+1,\"event\":{}}",
            b"\xff",
        ] {
            assert!(decode_line(bad).is_none());
        }
    }

    #[test]
    fn a_record_appended_after_a_torn_one_is_recovered() {
        let torn = encode_line(UNIX_EPOCH, br#"{"session_id":"torn"}"#);
        let whole = encode_line(UNIX_EPOCH, PAYLOAD.as_bytes());
        for cut in [1, PREFIX.len() + 3, torn.len() - 2] {
            let mut joined = torn[..cut].to_vec();
            joined.extend_from_slice(whole.trim_ascii_end());
            assert!(decode_line(&joined).is_none());
            let entry = decode_line_recovering(&joined).unwrap();
            assert_eq!(entry.event, PAYLOAD, "cut at {cut}");
        }
    }

    #[test]
    fn a_record_prefix_inside_a_payload_is_not_mistaken_for_a_record() {
        let nested =
            br#"{"a":{"received_at_ns":1,"event":{}},"b":{"received_at_ns":2,"event":{}}}"#;
        let line = encode_line(UNIX_EPOCH, nested);
        let entry = decode_line_recovering(line.trim_ascii_end()).unwrap();
        assert_eq!(entry.event.as_bytes(), nested);
        let mut torn = line[..line.len() / 2].to_vec();
        torn.extend_from_slice(b"garbage");
        assert!(decode_line_recovering(&torn).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn any_json_payload_round_trips_through_a_line(
            nanos in any::<u64>(),
            text in ".*",
            pad in "[ \t\r\n]{0,3}",
        ) {
            let payload = serde_json::json!({"session_id": text, "n": [nanos, 1.5, null]});
            let pretty = serde_json::to_string_pretty(&payload).unwrap();
            let raw = format!("{pad}{pretty}{pad}");
            let at = UNIX_EPOCH + Duration::from_nanos(nanos);
            let line = encode_line(at, raw.as_bytes());
            prop_assert_eq!(line.iter().position(|&b| b == b'\n'), Some(line.len() - 1));
            let entry = decode_line(&line[..line.len() - 1]).unwrap();
            prop_assert_eq!(entry.received_at, at);
            let back: serde_json::Value = serde_json::from_str(&entry.event).unwrap();
            prop_assert_eq!(back, payload);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_line(&bytes);
            let mut line = PREFIX.to_vec();
            line.extend_from_slice(&bytes);
            let _ = decode_line(&line);
        }
    }
}
