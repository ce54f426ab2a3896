//! Where a session's root span hangs ([`Attachment`]), decided per session from what its
//! environment says about where it runs ([`Lineage`]):
//!
//! 1. Under the tool call of another Codex session that ran it ([`ParentCall`]): a `codex exec`
//!    started by a tool command sees that session's `CODEX_SESSION_ID` and
//!    `CODEX_TOOL_CALL_ID`. The root's parent is that call's `execute_tool` span and the
//!    session joins the trace the parent session went to.
//! 2. Else under a span of an existing trace ([`ParentContext`]: W3C `TRACEPARENT`, or the
//!    seed plugin's `CODEX_ROOT_SPAN_ID` + `CODEX_PARENT_SPAN_ID`).
//! 3. Else in its own trace ([`trace_id_for_session`]), as a root.
//!
//! A parent call naming the session itself is ignored (no span is its own ancestor).

use super::ids::{span_id, trace_id_for_session, SpanKey};
use crate::span::{SpanId, TraceId};

/// What the environment says about where a session runs: an existing trace to join and the
/// tool call of a parent Codex session, either or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// A span of an existing trace (`TRACEPARENT`, or the seed plugin's variables).
    pub joined: Option<ParentContext>,
    /// The tool call of the Codex session that ran this one.
    pub call: Option<ParentCall>,
}

/// Where a session's root span hangs: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attachment {
    /// In the session's own trace, as a root.
    Own,
    /// Under a span of an existing trace.
    Joined(ParentContext),
    /// Under the tool call of a parent Codex session, in that session's trace.
    Nested(ParentCall),
}

/// An existing trace to attach the session to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentContext {
    /// The parent trace; the whole session joins it.
    pub trace_id: TraceId,
    /// The span the session root hangs under.
    pub span_id: SpanId,
}

/// The tool call of a parent Codex session that started this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentCall {
    /// The parent's session (root thread) id (`CODEX_SESSION_ID`).
    pub session_id: String,
    /// The call id of the parent's tool call (`CODEX_TOOL_CALL_ID`).
    pub tool_call_id: String,
    /// The trace the parent session went to.
    pub trace_id: TraceId,
}

impl Lineage {
    /// Where the root of `session_id` hangs: a parent call first (unless it names the session
    /// itself), then a joined trace, else its own trace.
    pub fn attachment(&self, session_id: &str) -> Attachment {
        match (&self.call, self.joined) {
            (Some(call), _) if call.session_id != session_id => Attachment::Nested(call.clone()),
            (_, Some(joined)) => Attachment::Joined(joined),
            _ => Attachment::Own,
        }
    }
}

impl Attachment {
    /// The trace every span of `session_id` belongs to.
    pub fn trace_id(&self, session_id: &str) -> TraceId {
        match self {
            Attachment::Own => trace_id_for_session(session_id),
            Attachment::Joined(joined) => joined.trace_id,
            Attachment::Nested(call) => call.trace_id,
        }
    }

    /// The span the session root hangs under; `None` for a root of its own trace.
    pub fn parent_span(&self) -> Option<SpanId> {
        match self {
            Attachment::Own => None,
            Attachment::Joined(joined) => Some(joined.span_id),
            Attachment::Nested(call) => Some(call.span_id()),
        }
    }
}

impl ParentCall {
    /// The parent's `execute_tool` span of the call.
    pub fn span_id(&self) -> SpanId {
        span_id(&self.session_id, SpanKey::Tool(&self.tool_call_id))
    }
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

    const JOINED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn call(parent: &str) -> ParentCall {
        ParentCall {
            session_id: parent.to_owned(),
            tool_call_id: "call_0002_9e74711f".to_owned(),
            trace_id: TraceId([7; 16]),
        }
    }

    #[test]
    fn a_parent_call_wins_over_a_joined_trace_and_hangs_the_root_under_its_tool_span() {
        let lineage = Lineage {
            joined: ParentContext::from_traceparent(JOINED),
            call: Some(call("parent")),
        };
        let attachment = lineage.attachment("child");
        assert_eq!(attachment, Attachment::Nested(call("parent")));
        assert_eq!(attachment.trace_id("child"), TraceId([7; 16]));
        assert_eq!(
            attachment.parent_span(),
            Some(span_id("parent", SpanKey::Tool("call_0002_9e74711f")))
        );
    }

    #[test]
    fn without_a_parent_call_a_joined_trace_wins_over_the_own_trace() {
        let joined = ParentContext::from_traceparent(JOINED);
        let lineage = Lineage { joined, call: None };
        let attachment = lineage.attachment("s");
        assert_eq!(attachment.trace_id("s").to_string(), &JOINED[3..35]);
        assert_eq!(attachment.parent_span(), joined.map(|j| j.span_id));
        let own = Lineage::default().attachment("s");
        assert_eq!(own, Attachment::Own);
        assert_eq!(own.trace_id("s"), trace_id_for_session("s"));
        assert_eq!(own.parent_span(), None);
    }

    #[test]
    fn a_parent_call_naming_the_session_itself_is_ignored() {
        let joined = ParentContext::from_traceparent(JOINED);
        let lineage = Lineage {
            joined,
            call: Some(call("s")),
        };
        assert_eq!(lineage.attachment("s"), Attachment::Joined(joined.unwrap()));
        let alone = Lineage {
            joined: None,
            call: Some(call("s")),
        };
        assert_eq!(alone.attachment("s"), Attachment::Own);
    }
}
