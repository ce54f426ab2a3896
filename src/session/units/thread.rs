//! [`Thread`]: one rollout file (the root thread or a sub-agent's): who it is, its current
//! turn, the conversation its next model call will get as input, the call being recorded and
//! the latest call until its next record settles it, and the tally of its turns.

use super::call::{CallDraft, ModelCall, UsageSource};
use super::history::History;
use super::skill::SkillCatalog;
use super::tally::Tally;
use super::TurnIx;
use crate::codex::rollout::SessionMeta;
use crate::session::messages::{ChatMessage, Part};
use std::time::SystemTime;

/// The messages a thread's next model call gets as input.
#[derive(Debug)]
pub(crate) enum Conversation {
    /// Only what was added since the previous call.
    NewMessages(Vec<ChatMessage>),
    /// The whole conversation so far (full-history mode), within a budget.
    FullHistory(History),
}

impl Default for Conversation {
    fn default() -> Self {
        Conversation::NewMessages(Vec::new())
    }
}

/// What starts the thread's turns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum TurnSource {
    /// No turn yet.
    #[default]
    Unknown,
    /// `task_started` records (every Codex CLI release).
    Tasks,
    /// The user's prompts: rollouts with no `task_started` (Codex Desktop); each prompt starts
    /// a turn that ends where the next one starts.
    Prompts,
}

/// One rollout file.
#[derive(Debug, Default)]
pub(crate) struct Thread {
    /// From `session_meta`.
    pub(crate) meta: Option<SessionMeta>,
    /// When `session_meta` was written.
    pub(crate) started: Option<SystemTime>,
    /// The model of the latest `turn_context`.
    pub(crate) model: Option<String>,
    /// The latest `task_started` turn.
    pub(crate) current_turn: Option<TurnIx>,
    /// Turns started so far.
    pub(crate) turn_count: u32,
    /// What starts its turns.
    pub(crate) turn_source: TurnSource,
    /// Model calls recorded so far.
    pub(crate) call_count: u64,
    /// Where its calls' usage comes from.
    pub(crate) usage_source: UsageSource,
    /// Timestamp of the latest record.
    pub(crate) last_ts: Option<SystemTime>,
    /// Messages for the next call.
    pub(crate) conversation: Conversation,
    /// The call whose output is being recorded.
    pub(crate) draft: Option<CallDraft>,
    /// The latest recorded call's response id.
    pub(crate) previous_response_id: Option<String>,
    /// The latest call, until the thread's next record settles it.
    pub(crate) unsettled: Option<Box<ModelCall>>,
    /// The parent turn this thread's calls served (`root_turn_id`), for child threads.
    pub(crate) served_turn: Option<String>,
    /// Its turns (the sub-agent span's numbers).
    pub(crate) tally: Tally,
    /// The skills it was offered or given.
    pub(crate) skills: SkillCatalog,
}

impl Thread {
    /// The thread id, once `session_meta` is read.
    pub(crate) fn id(&self) -> Option<&str> {
        self.meta.as_ref().map(|m| m.id.as_str())
    }

    /// True for a sub-agent's (or another child's) thread.
    pub(crate) fn is_child(&self) -> bool {
        self.meta
            .as_ref()
            .is_some_and(|m| m.parent_thread_id.is_some())
    }

    /// Adds a message to the next call's input.
    pub(crate) fn add_input(&mut self, message: ChatMessage) {
        match &mut self.conversation {
            Conversation::NewMessages(new) => new.push(message),
            Conversation::FullHistory(history) => history.push(message),
        }
    }

    /// The input of the call being recorded: the new messages (taken), or the whole history;
    /// in full-history mode the call's `outputs` join the history after it.
    pub(crate) fn take_inputs(&mut self, outputs: &[Part]) -> Vec<ChatMessage> {
        match &mut self.conversation {
            Conversation::NewMessages(new) => std::mem::take(new),
            Conversation::FullHistory(history) => {
                let window = history.window();
                for part in outputs {
                    history.push(ChatMessage::single("assistant", part.clone()));
                }
                window
            }
        }
    }

    /// A compaction replaced the conversation with its summary (full-history mode).
    pub(crate) fn compacted(&mut self, summary: &str) {
        if let Conversation::FullHistory(history) = &mut self.conversation {
            history.restart(ChatMessage::single("user", Part::Text(summary.to_owned())));
        }
    }

    /// True in full-history mode.
    pub(crate) fn full_history(&self) -> bool {
        matches!(self.conversation, Conversation::FullHistory(_))
    }

    /// Notes the start of a model call's output: the call started at the previous record.
    pub(crate) fn begin_output(&mut self) -> &mut CallDraft {
        let (start, turn) = (self.last_ts, self.current_turn);
        self.draft.get_or_insert_with(|| CallDraft {
            start,
            outputs: Vec::new(),
            turn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> ChatMessage {
        ChatMessage::single("user", Part::Text(t.into()))
    }

    #[test]
    fn each_call_gets_only_the_messages_added_since_the_previous_one() {
        let mut thread = Thread::default();
        thread.add_input(text("a"));
        assert_eq!(thread.take_inputs(&[]).len(), 1);
        thread.add_input(text("b"));
        assert_eq!(thread.take_inputs(&[]).len(), 1);
    }

    #[test]
    fn in_full_history_mode_each_call_gets_everything_so_far() {
        let mut thread = Thread {
            conversation: Conversation::FullHistory(History::new(10_000)),
            ..Thread::default()
        };
        thread.add_input(text("a"));
        let answer = [Part::Text("answer".into())];
        assert_eq!(thread.take_inputs(&answer).len(), 1);
        thread.add_input(text("b"));
        assert_eq!(thread.take_inputs(&[]).len(), 3);
    }

    #[test]
    fn a_call_starts_at_the_record_before_its_first_output() {
        let mut thread = Thread {
            last_ts: Some(std::time::UNIX_EPOCH),
            ..Thread::default()
        };
        thread.begin_output();
        thread.last_ts = None;
        assert_eq!(thread.begin_output().start, Some(std::time::UNIX_EPOCH));
    }
}
