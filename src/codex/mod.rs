//! Codex's vocabulary: typed, version-tolerant parsing of what Codex 0.169 and 0.171 emit.
//!
//! Hook payloads ([`hook_event`]) and rollout transcript lines ([`rollout`]) are parsed into
//! plain data with no state and no I/O; [`tail`] reads rollout files incrementally. Unknown
//! event names, record types and fields are kept as `Other` values, never errors, so a newer
//! Codex degrades the trace instead of breaking it.

pub mod discover;
pub mod hook_event;
pub mod model_request;
pub mod rollout;
pub mod skills;
pub mod tail;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses an RFC 3339 timestamp as Codex writes it (`2026-11-24T12:14:36.087Z`).
pub fn parse_timestamp(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()
}

/// Converts Unix milliseconds (Codex's `*_at_ms` fields) to a time.
pub fn from_unix_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}
