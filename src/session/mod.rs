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
