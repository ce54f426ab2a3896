//! [`Agent`]: a sub-agent thread as the hooks and the parent's rollout describe it (its type,
//! the call that spawned it), and whether its span is out.

use std::time::SystemTime;

/// Where a sub-agent is in its life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AgentPhase {
    /// Its span is not out yet.
    Waiting,
    /// Its span is out and ended at `end`.
    Emitted { end: SystemTime },
    /// Nothing was ever read of it (no rollout file, no time): no span.
    GivenUp,
}

/// One sub-agent, by thread id.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Agent {
    pub(crate) agent_type: Option<String>,
    pub(crate) spawn_call_id: Option<String>,
    pub(crate) phase: AgentPhase,
}

impl Default for Agent {
    fn default() -> Self {
        Agent {
            agent_type: None,
            spawn_call_id: None,
            phase: AgentPhase::Waiting,
        }
    }
}

impl Agent {
    /// When its span ended, once out.
    pub(crate) fn end(&self) -> Option<SystemTime> {
        match self.phase {
            AgentPhase::Emitted { end } => Some(end),
            _ => None,
        }
    }
}
