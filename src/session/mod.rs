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
mod lineage;
mod machine;
mod messages;
mod names;
mod parents;
mod records;
mod root;
pub mod sampling;
mod units;

pub use lineage::{Attachment, Lineage, ParentCall, ParentContext};
pub use machine::SessionMachine;
pub use units::Notice;

use crate::span::content::ContentPolicy;
use crate::span::TraceId;

/// Settings of one session, fixed when its machine is created.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    /// What content may be exported.
    pub content: ContentPolicy,
    /// Where the session runs from: where its root attaches ([`Lineage::attachment`]).
    pub lineage: Lineage,
    /// User metadata for the root span (`BRAINTRUST_ADDITIONAL_METADATA`), as `codex.user.*`.
    pub metadata: Vec<(String, String)>,
    /// Git facts about the session's working directory, gathered by the caller.
    pub git: Option<git::GitInfo>,
    /// Whether the session is exported at all (applied by the caller).
    pub sampling: sampling::Sampling,
}

impl SessionConfig {
    /// The trace every span of `session_id` goes to ([`Lineage::attachment`]).
    pub fn trace_id(&self, session_id: &str) -> TraceId {
        self.lineage.attachment(session_id).trace_id(session_id)
    }

    /// Whether `session_id`'s spans are exported: decided on its trace, so every session of
    /// one trace is kept or dropped together ([`sampling`]).
    pub fn keeps(&self, session_id: &str) -> bool {
        self.sampling.keeps(self.trace_id(session_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ids::trace_id_for_session;
    use crate::session::sampling::Sampling;

    #[test]
    fn the_sessions_of_one_trace_are_kept_or_dropped_together() {
        let sampling = Sampling {
            ratio: 0.5,
            always: false,
        };
        let alone = SessionConfig {
            sampling,
            ..SessionConfig::default()
        };
        let mut own_decision_differs = 0;
        for i in 0..200u32 {
            let parent = format!("01a20d7a-b819-7451-bc39-{:012x}", i * 7919);
            let child = format!("01a20d7b-0000-7000-8000-{:012x}", i * 104_729);
            let call = ParentCall {
                session_id: parent.clone(),
                tool_call_id: "call_1".into(),
                trace_id: trace_id_for_session(&parent),
            };
            let nested = SessionConfig {
                lineage: Lineage {
                    joined: None,
                    call: Some(call),
                },
                sampling,
                ..SessionConfig::default()
            };
            assert_eq!(nested.keeps(&child), alone.keeps(&parent), "{child}");
            own_decision_differs += usize::from(alone.keeps(&child) != alone.keeps(&parent));
        }
        assert!(
            own_decision_differs > 0,
            "the ids must not decide alike anyway"
        );
    }
}
