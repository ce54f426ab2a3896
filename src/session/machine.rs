//! [`SessionMachine`]: the public face of the session stage. Each input updates the units it
//! concerns and returns the spans it completed; [`SessionMachine::finish`] closes whatever is
//! still open at the end of input.

use super::lineage::Attachment;
use super::units::{Notice, SessionState};
use super::SessionConfig;
use crate::codex::hook_event::HookEvent;
use crate::codex::rollout::RolloutLine;
use crate::span::{SpanRecord, TraceId};
use std::time::SystemTime;

/// The state machine of one Codex session.
#[derive(Debug)]
pub struct SessionMachine {
    pub(crate) session_id: String,
    pub(crate) trace_id: TraceId,
    pub(crate) attachment: Attachment,
    pub(crate) config: SessionConfig,
    pub(crate) state: SessionState,
}

impl SessionMachine {
    /// A machine for `session_id` (the root thread id hooks report), its root attached where
    /// `config`'s lineage says ([`crate::session::Lineage::attachment`]).
    pub fn new(session_id: &str, config: SessionConfig) -> Self {
        let attachment = config.lineage.attachment(session_id);
        let trace_id = attachment.trace_id(session_id);
        let content = &config.content;
        let budget = content.full_history.then_some(content.max_attribute_bytes);
        let state = SessionState::new(budget);
        SessionMachine {
            session_id: session_id.to_owned(),
            trace_id,
            attachment,
            config,
            state,
        }
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The trace all of the session's spans belong to.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// Feeds one hook event, received at `received_at` (`None` for recordings without times).
    pub fn push_hook(
        &mut self,
        event: &HookEvent,
        received_at: Option<SystemTime>,
    ) -> Vec<SpanRecord> {
        self.state.apply_hook(event, received_at);
        self.advance(false)
    }

    /// Feeds one record of the rollout file `path` (files are told apart by path).
    pub fn push_rollout(&mut self, path: &str, line: &RolloutLine) -> Vec<SpanRecord> {
        self.state.apply_record(path, line);
        self.advance(false)
    }

    /// Closes everything still open (end of a replay, or a session given up on): turns without
    /// an end, tool calls without output (as errors), sub-agents, runs and the session root.
    pub fn finish(&mut self) -> Vec<SpanRecord> {
        self.advance(true)
    }

    /// What the machine could not place since the last call (to be logged and counted by the
    /// caller); records are never dropped without one.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.state.notices)
    }

    /// Rollout files the hooks named so far, in the order first seen: the caller reads these.
    pub fn transcripts(&self) -> &[String] {
        &self.state.facts.transcripts
    }

    /// Thread ids of the rollout files read so far (discovery skips these files).
    pub fn known_threads(&self) -> Vec<String> {
        let ids = self.state.threads.iter().filter_map(|t| t.id());
        ids.map(str::to_owned).collect()
    }

    /// True once the session root has been emitted and no turn is open.
    pub fn is_complete(&self) -> bool {
        self.state.runs[0].phase == super::units::RunPhase::Emitted && self.open_turns() == 0
    }

    /// Turns started but not yet emitted.
    pub fn open_turns(&self) -> usize {
        self.state.open_turns()
    }
}
