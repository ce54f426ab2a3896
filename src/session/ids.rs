//! Deterministic trace and span ids: the same session and natural key give the same id in
//! every process and every replay, so a re-export never creates a second copy of a span.

use crate::span::{SpanId, TraceId};
use sha2::{Digest, Sha256};

/// What a span stands for; part of the hash so different kinds never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKey<'a> {
    /// The session root (`invoke_agent codex`).
    Session,
    /// A resumed run of the session (`codex exec resume`), by its 1-based index.
    Run(u32),
    /// A sub-agent, by its thread id.
    Agent(&'a str),
    /// A turn, by its turn id.
    Turn(&'a str),
    /// A model call, by its response id.
    Chat(&'a str),
    /// A model call the rollout recorded no response id for, by its thread id and its
    /// position among the thread's calls.
    ChatAt(&'a str, u64),
    /// A tool call, by its call id.
    Tool(&'a str),
    /// A model request that failed or was cancelled (no response, no call record), by its
    /// request id (else its turn and position).
    Request(&'a str),
    /// A skill Codex loaded into a turn, by the turn id and the skill's name.
    SkillLoad(&'a str, &'a str),
}

/// The trace id of a session: the session UUID's 16 bytes when it is a UUID (so a user can find
/// the trace from the id Codex prints), otherwise the first 16 bytes of its SHA-256.
pub fn trace_id_for_session(session_id: &str) -> TraceId {
    let hex_digits: String = session_id.chars().filter(|c| *c != '-').collect();
    let mut bytes = [0u8; 16];
    if hex_digits.len() == 32
        && hex::decode_to_slice(&hex_digits, &mut bytes).is_ok()
        && bytes != [0u8; 16]
    {
        return TraceId(bytes);
    }
    bytes.copy_from_slice(&Sha256::digest(session_id.as_bytes())[..16]);
    TraceId(bytes)
}

/// The span id of `key` in `session_id`: the first 8 bytes of a SHA-256 over both, never zero.
pub fn span_id(session_id: &str, key: SpanKey<'_>) -> SpanId {
    let (kind, natural): (&str, String) = match key {
        SpanKey::Session => ("session", String::new()),
        SpanKey::Run(index) => ("run", index.to_string()),
        SpanKey::Agent(thread) => ("agent", thread.to_owned()),
        SpanKey::Turn(turn) => ("turn", turn.to_owned()),
        SpanKey::Chat(response) => ("chat", response.to_owned()),
        SpanKey::ChatAt(thread, index) => ("chat-at", format!("{thread}#{index}")),
        SpanKey::Tool(call) => ("tool", call.to_owned()),
        SpanKey::Request(request) => ("request", request.to_owned()),
        SpanKey::SkillLoad(turn, skill) => ("skill-load", format!("{turn}#{skill}")),
    };
    let mut hasher = Sha256::new();
    for part in [session_id, kind, &natural] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    if bytes == [0u8; 8] {
        bytes[7] = 1;
    }
    SpanId(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_session_id_is_its_own_trace_id() {
        let trace = trace_id_for_session("01a20d7a-b819-7451-bc39-6764d48b49b7");
        assert_eq!(trace.to_string(), "01a20d7ab8197451bc396764d48b49b7");
    }

    #[test]
    fn other_session_ids_hash_to_a_stable_trace_id() {
        let a = trace_id_for_session("not-a-uuid");
        assert_eq!(a, trace_id_for_session("not-a-uuid"));
        assert_ne!(a, trace_id_for_session("not-a-uuid2"));
    }

    #[test]
    fn span_ids_depend_on_session_kind_and_key() {
        let s = "01a20d7a-b819-7451-bc39-6764d48b49b7";
        assert_eq!(
            span_id(s, SpanKey::Tool("c1")),
            span_id(s, SpanKey::Tool("c1"))
        );
        assert_ne!(
            span_id(s, SpanKey::Tool("c1")),
            span_id(s, SpanKey::Chat("c1"))
        );
        assert_ne!(
            span_id(s, SpanKey::Tool("c1")),
            span_id("other", SpanKey::Tool("c1"))
        );
        assert_ne!(span_id(s, SpanKey::Run(1)), span_id(s, SpanKey::Run(2)));
        assert_ne!(
            span_id(s, SpanKey::ChatAt("t", 0)),
            span_id(s, SpanKey::ChatAt("t", 1))
        );
    }
}
