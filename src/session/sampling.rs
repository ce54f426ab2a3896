//! Sampling by trace: a collector's tail sampler cannot hold a trace that lasts a whole Codex
//! session, so codex-otel keeps or drops whole sessions itself. The decision is a pure function
//! of the trace the session goes to (hashed, then compared like OpenTelemetry's
//! `TraceIdRatioBased` sampler does), so every process and every replay agrees, and the
//! sessions of one trace (a nested `codex exec` and the session whose tool call ran it; every
//! session joining a `TRACEPARENT`) are kept or dropped together; a session can be forced in
//! (e.g. CI runs).
//!
//! The trace id is hashed first: Codex session ids are UUIDv7, whose bytes are a timestamp, a
//! version and fixed variant bits, not uniform randomness, so comparing raw bits (as
//! `TraceIdRatioBased` does) would keep almost no session below a ratio of one half.

use crate::span::TraceId;
use sha2::{Digest, Sha256};

/// Which sessions are exported. Everything is kept by default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Fraction of sessions kept, from 0.0 to 1.0.
    pub ratio: f64,
    /// Keep this session whatever the ratio says.
    pub always: bool,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            ratio: 1.0,
            always: false,
        }
    }
}

impl Sampling {
    /// True when the spans of a session going to trace `trace_id` are exported.
    pub fn keeps(&self, trace_id: TraceId) -> bool {
        self.always || keeps_trace(trace_id, self.ratio)
    }
}

/// The first 8 bytes of the SHA-256 of the trace id, shifted right by one, compared with
/// `ratio × 2^63`.
fn keeps_trace(trace_id: TraceId, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio.is_nan() || ratio <= 0.0 {
        return false;
    }
    let digest = Sha256::digest(trace_id.0);
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    let value = u64::from_be_bytes(head) >> 1;
    let bound = (ratio * (1u64 << 63) as f64) as u64;
    value < bound
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ids::trace_id_for_session;

    /// The trace of the `i`-th of a run of Codex sessions (UUIDv7 ids, as Codex makes them).
    fn session(i: u32) -> TraceId {
        trace_id_for_session(&format!(
            "01a20d7a-b819-7451-bc39-{:012x}",
            u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16
        ))
    }

    #[test]
    fn the_decision_is_stable_for_a_session() {
        let sampling = Sampling {
            ratio: 0.5,
            always: false,
        };
        for i in 0..100 {
            assert_eq!(sampling.keeps(session(i)), sampling.keeps(session(i)));
        }
    }

    #[test]
    fn the_kept_fraction_follows_the_ratio() {
        let sampling = Sampling {
            ratio: 0.25,
            always: false,
        };
        let kept = (0..4000).filter(|i| sampling.keeps(session(*i))).count();
        assert!((800..1200).contains(&kept), "kept {kept} of 4000");
    }

    #[test]
    fn ratio_one_keeps_all_zero_keeps_none_and_always_overrides() {
        let all = Sampling::default();
        let none = Sampling {
            ratio: 0.0,
            always: false,
        };
        let forced = Sampling {
            ratio: 0.0,
            always: true,
        };
        for i in 0..50 {
            assert!(all.keeps(session(i)));
            assert!(!none.keeps(session(i)));
            assert!(forced.keeps(session(i)));
        }
    }
}
