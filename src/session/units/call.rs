//! [`ModelCall`]: one model request, from its first output item to its usage record, and the
//! rule that settles it (the thread's next meaningful record, which may mark it as a
//! compaction's summary call).

use super::TurnIx;
use crate::codex::rollout::{EventMsg, RolloutRecord, TokenUsage};
use crate::session::messages::{ChatMessage, Part};
use std::time::SystemTime;

/// What identifies a model call: its Responses API id, or, when the rollout recorded none, its
/// position among its thread's calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum CallKey {
    Response(String),
    Position { thread: String, index: u64 },
}

/// A call whose outputs are arriving and whose usage record has not.
#[derive(Debug, Default)]
pub(crate) struct CallDraft {
    pub(crate) start: Option<SystemTime>,
    pub(crate) outputs: Vec<Part>,
    /// The thread's turn when the output began: a turn that closes with its draft still
    /// open had a call cut off before its usage.
    pub(crate) turn: Option<TurnIx>,
}

/// Where a call is in its life once its usage is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallPhase {
    /// Recorded; a `compacted` record may still follow and mark it.
    Recorded,
    /// The thread's next record came: nothing can change it any more.
    Settled { compaction: bool },
}

/// Where a call's span hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallPlace {
    /// Under its turn.
    Turn(TurnIx),
    /// Its turn is unknown: under its thread's agent span (the session root for the root
    /// thread), so its usage is still counted.
    Thread,
}

/// One model call, from its first output to its `token_usage_record`.
#[derive(Debug)]
pub(crate) struct ModelCall {
    pub(crate) key: CallKey,
    pub(crate) place: CallPlace,
    pub(crate) thread_id: String,
    pub(crate) model: Option<String>,
    pub(crate) usage: TokenUsage,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    pub(crate) inputs: Vec<ChatMessage>,
    pub(crate) system_instructions: Option<String>,
    pub(crate) outputs: Vec<Part>,
    pub(crate) previous_response_id: Option<String>,
    pub(crate) phase: CallPhase,
}

impl ModelCall {
    /// The response id, when the rollout recorded one.
    pub(crate) fn response_id(&self) -> Option<&str> {
        match &self.key {
            CallKey::Response(id) => Some(id),
            CallKey::Position { .. } => None,
        }
    }

    /// `tool_call` when the model asked for tools, `stop` otherwise.
    pub(crate) fn finish_reason(&self) -> &'static str {
        if self.calls_tools() {
            "tool_call"
        } else {
            "stop"
        }
    }

    fn calls_tools(&self) -> bool {
        self.outputs
            .iter()
            .any(|p| matches!(p, Part::ToolCall { .. }))
    }

    /// Settles the call on the thread's next meaningful record. A `compacted` record right
    /// after it makes it the compaction's summary call when it names the call's response id,
    /// or names none (releases before 0.160); a summary call that recorded no output gets the
    /// summary text the `compacted` record holds.
    pub(crate) fn settle(&mut self, next: &RolloutRecord) {
        let summary = match next {
            RolloutRecord::Compacted(c) => match c.compaction_response_id.as_deref() {
                Some(id) => (Some(id) == self.response_id()).then_some(c),
                None => Some(c),
            },
            _ => None,
        };
        if let Some(message) = summary.and_then(|c| c.message.as_ref()) {
            if self.outputs.is_empty() {
                self.outputs.push(Part::Text(message.clone()));
            }
        }
        let compaction = summary.is_some();
        self.phase = CallPhase::Settled { compaction };
    }

    /// True when the call produced a compaction's summary.
    pub(crate) fn is_compaction(&self) -> bool {
        self.phase == CallPhase::Settled { compaction: true }
    }
}

/// True for records that settle the thread's latest call: everything but bookkeeping
/// (`token_count`, `world_state`, other records codex-otel does not read).
pub(crate) fn settles(record: &RolloutRecord) -> bool {
    !matches!(
        record,
        RolloutRecord::Other(_)
            | RolloutRecord::Event(EventMsg::Other(_) | EventMsg::TokenCount { .. })
    )
}

/// Where a thread's model calls and their usage come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum UsageSource {
    /// Nothing recorded usage yet.
    #[default]
    Unseen,
    /// `token_usage_record`s (one per call, with its response id): they win.
    Records,
    /// `token_count` events only (releases before `token_usage_record`): one call per change
    /// of the running total, which was `total` at the latest one.
    Counts { total: TokenUsage },
}

impl UsageSource {
    /// The usage of the call a `token_count` event reports, if it reports one: a change of
    /// the running total with a non-zero last call. Repeats, the zero resets and the context
    /// estimate Codex writes around a compaction (same total), and every count once
    /// `token_usage_record`s are seen, report none.
    pub(crate) fn count(&mut self, total: TokenUsage, last: TokenUsage) -> Option<TokenUsage> {
        let changed = match *self {
            UsageSource::Records => return None,
            UsageSource::Unseen => total != TokenUsage::default(),
            UsageSource::Counts { total: previous } => total != previous,
        };
        *self = UsageSource::Counts { total };
        (changed && last != TokenUsage::default()).then_some(last)
    }
}

/// A call's start: when its first output began (the record before it), else the thread's
/// latest record, never after its end.
pub(crate) fn call_start(
    draft_start: Option<SystemTime>,
    last_record: Option<SystemTime>,
    end: SystemTime,
) -> SystemTime {
    draft_start.or(last_record).unwrap_or(end).min(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codex::rollout::Compacted;
    use std::time::{Duration, UNIX_EPOCH};

    fn call(key: CallKey) -> ModelCall {
        ModelCall {
            key,
            place: CallPlace::Thread,
            thread_id: "t".into(),
            model: None,
            usage: TokenUsage::default(),
            start: UNIX_EPOCH,
            end: UNIX_EPOCH,
            inputs: Vec::new(),
            system_instructions: None,
            outputs: Vec::new(),
            previous_response_id: None,
            phase: CallPhase::Recorded,
        }
    }

    fn compacted(id: Option<&str>) -> RolloutRecord {
        RolloutRecord::Compacted(Compacted {
            message: None,
            compaction_response_id: id.map(str::to_owned),
        })
    }

    #[test]
    fn a_compacted_record_naming_the_call_marks_it_as_the_summary_call() {
        let mut summary = call(CallKey::Response("resp_1".into()));
        summary.settle(&compacted(Some("resp_1")));
        assert!(summary.is_compaction());
        let mut other = call(CallKey::Response("resp_2".into()));
        other.settle(&compacted(Some("resp_1")));
        assert_eq!(other.phase, CallPhase::Settled { compaction: false });
    }

    #[test]
    fn before_compaction_response_ids_the_call_right_before_compacted_is_the_summary_call() {
        let mut call = call(CallKey::Position {
            thread: "t".into(),
            index: 0,
        });
        let record = RolloutRecord::Compacted(Compacted {
            message: Some("SUMMARY".into()),
            compaction_response_id: None,
        });
        call.settle(&record);
        assert!(call.is_compaction());
        assert_eq!(call.outputs, [Part::Text("SUMMARY".into())]);
    }

    #[test]
    fn bookkeeping_records_do_not_settle_a_call() {
        assert!(!settles(&RolloutRecord::Other("world_state".into())));
        assert!(!settles(&RolloutRecord::Event(EventMsg::Other(
            "token_count".into()
        ))));
        assert!(settles(&compacted(None)));
    }

    fn usage(total: i64) -> TokenUsage {
        TokenUsage {
            input_tokens: total,
            total_tokens: total,
            ..TokenUsage::default()
        }
    }

    #[test]
    fn each_change_of_the_running_total_is_one_call_with_the_last_usage() {
        let mut source = UsageSource::default();
        assert_eq!(source.count(usage(10), usage(10)), Some(usage(10)));
        assert_eq!(source.count(usage(10), usage(10)), None, "a repeat");
        assert_eq!(source.count(usage(25), usage(15)), Some(usage(15)));
        assert_eq!(
            source.count(usage(25), usage(99)),
            None,
            "the compaction estimate"
        );
        assert_eq!(source.count(usage(0), usage(0)), None, "a zero reset");
        assert_eq!(source.count(usage(7), usage(7)), Some(usage(7)));
    }

    #[test]
    fn token_counts_are_ignored_once_usage_records_are_seen() {
        let mut source = UsageSource::Records;
        assert_eq!(source.count(usage(10), usage(10)), None);
        assert_eq!(source, UsageSource::Records);
    }

    #[test]
    fn token_counts_do_not_settle_a_call() {
        let count = RolloutRecord::Event(EventMsg::TokenCount {
            total: None,
            last: None,
        });
        assert!(!settles(&count));
    }

    #[test]
    fn a_call_starts_at_its_first_output_and_never_after_its_end() {
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(call_start(Some(at(5)), Some(at(8)), at(10)), at(5));
        assert_eq!(call_start(None, Some(at(8)), at(10)), at(8));
        assert_eq!(call_start(Some(at(12)), None, at(10)), at(10));
        assert_eq!(call_start(None, None, at(10)), at(10));
    }
}
