//! The per-session stage: hook events and rollout records in, finished spans out.
//!
//! [`SessionMachine`] is pure and synchronous: no I/O, no clock, no tokio. Times come from the
//! inputs (rollout timestamps, hook receive times), ids from [`ids`], so the same inputs give
//! the same spans in every process. The caller (the daemon's session actor, or `replay`) reads
//! the journal and the rollout files and must feed hook events no later than the rollout
//! records written after them: Codex writes a turn's end only after its Stop hook returned, so
//! draining the journal before each batch of rollout records is enough.

mod attrs;
mod build;
mod close;
mod failed;
pub mod git;
mod hooks;
pub mod ids;
mod machine;
mod messages;
mod names;
mod parents;
mod records;
mod root;
pub mod sampling;
mod units;

pub use machine::SessionMachine;
pub use units::Notice;

use crate::span::content::ContentPolicy;
use crate::span::{SpanId, TraceId};

/// Settings of one session, fixed when its machine is created.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    /// What content may be exported.
    pub content: ContentPolicy,
    /// Attach the session under this span of an existing trace (W3C `TRACEPARENT`).
    pub parent: Option<ParentContext>,
    /// User metadata for the root span (`BRAINTRUST_ADDITIONAL_METADATA`), as `codex.user.*`.
    pub metadata: Vec<(String, String)>,
    /// Git facts about the session's working directory, gathered by the caller.
    pub git: Option<git::GitInfo>,
    /// Whether the session is exported at all (applied by the caller).
    pub sampling: sampling::Sampling,
}

/// An existing trace to attach the session to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentContext {
    /// The parent trace; the whole session joins it.
    pub trace_id: TraceId,
    /// The span the session root hangs under.
    pub span_id: SpanId,
}

impl ParentContext {
    /// Parses a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`); `None` when malformed or
    /// all-zero.
    pub fn from_traceparent(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version.len() != 2 || flags.len() != 2 || version == "ff" {
            return None;
        }
        Self::from_hex(trace, span)
    }

    /// Builds a context from a 32-hex trace id and a 16-hex span id (the seed plugin's
    /// `CODEX_ROOT_SPAN_ID` and `CODEX_PARENT_SPAN_ID`).
    pub fn from_hex(trace: &str, span: &str) -> Option<Self> {
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        hex::decode_to_slice(trace, &mut trace_id).ok()?;
        hex::decode_to_slice(span, &mut span_id).ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(ParentContext {
            trace_id: TraceId(trace_id),
            span_id: SpanId(span_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_gives_the_parent_trace_and_span() {
        let parent = ParentContext::from_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .unwrap();
        assert_eq!(
            parent.trace_id.to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(parent.span_id.to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn malformed_or_zero_traceparents_are_ignored() {
        for bad in [
            "",
            "00-xyz-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ] {
            assert_eq!(ParentContext::from_traceparent(bad), None, "{bad}");
        }
    }
}
