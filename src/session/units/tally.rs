//! [`Tally`]: what a group of turns (a thread's, or a run's) adds up to once its turns close:
//! how many are still open, their usage, their first start and last end, the first turn's
//! prompt and the last turn's answer. Updated once per turn, so closing an agent, a run or the
//! session never walks its turns.

use super::{TurnIx, Usage};
use std::time::SystemTime;

/// The facts of one closed turn that a tally takes in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClosedTurn<'a> {
    pub(crate) ix: TurnIx,
    pub(crate) start: Option<SystemTime>,
    pub(crate) end: SystemTime,
    pub(crate) usage: Usage,
    pub(crate) prompt: Option<&'a str>,
    pub(crate) model: Option<&'a str>,
    pub(crate) answer: Option<&'a str>,
}

/// The first turn's input side, or the last turn's answer, by turn order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Edge {
    pub(crate) ix: Option<TurnIx>,
    pub(crate) text: Option<String>,
    pub(crate) model: Option<String>,
}

/// A running summary of a group of turns.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tally {
    /// Turns the rollout started (closed or not).
    pub(crate) opened: usize,
    /// Turns that count as open (see `SessionState::recount`).
    pub(crate) open: usize,
    /// Usage of every model call of the group's turns (and of calls placed on no turn).
    pub(crate) usage: Usage,
    pub(crate) first_start: Option<SystemTime>,
    pub(crate) last_end: Option<SystemTime>,
    /// The earliest turn's prompt and model.
    pub(crate) first: Edge,
    /// The latest turn's answer.
    pub(crate) last: Edge,
}

impl Tally {
    /// Takes in a closed turn; `with_text` says whether its prompt and answer speak for the
    /// group (a run speaks with its root thread's turns only).
    pub(crate) fn close(&mut self, turn: ClosedTurn<'_>, with_text: bool) {
        self.usage += turn.usage;
        self.first_start = min_time(self.first_start, turn.start);
        self.last_end = Some(self.last_end.map_or(turn.end, |end| end.max(turn.end)));
        if !with_text {
            return;
        }
        if self.first.ix.is_none_or(|ix| turn.ix < ix) {
            self.first = Edge {
                ix: Some(turn.ix),
                text: turn.prompt.map(str::to_owned),
                model: turn.model.map(str::to_owned),
            };
        }
        if self.last.ix.is_none_or(|ix| turn.ix > ix) {
            self.last = Edge {
                ix: Some(turn.ix),
                text: turn.answer.map(str::to_owned),
                model: None,
            };
        }
    }

    /// True when the group has turns and all of them are closed.
    pub(crate) fn all_closed(&self) -> bool {
        self.opened > 0 && self.open == 0
    }
}

fn min_time(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codex::rollout::TokenUsage;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn turn(ix: usize, start: u64, end: u64, text: &'static str) -> ClosedTurn<'static> {
        ClosedTurn {
            ix: TurnIx(ix),
            start: Some(at(start)),
            end: at(end),
            usage: Usage::Known(TokenUsage {
                input_tokens: 10,
                total_tokens: 10,
                ..TokenUsage::default()
            }),
            prompt: Some(text),
            model: Some("m"),
            answer: Some(text),
        }
    }

    #[test]
    fn the_first_turn_gives_the_prompt_and_the_last_the_answer_whatever_the_closing_order() {
        let mut tally = Tally::default();
        tally.close(turn(2, 20, 30, "second"), true);
        tally.close(turn(1, 10, 40, "first"), true);
        assert_eq!(tally.first.text.as_deref(), Some("first"));
        assert_eq!(tally.last.text.as_deref(), Some("second"));
        assert_eq!(
            (tally.first_start, tally.last_end),
            (Some(at(10)), Some(at(40)))
        );
        assert!(matches!(tally.usage, Usage::Known(u) if u.input_tokens == 20));
    }

    #[test]
    fn turns_without_text_count_usage_and_times_only() {
        let mut tally = Tally::default();
        tally.close(turn(1, 10, 20, "child"), false);
        assert!(matches!(tally.usage, Usage::Known(u) if u.total_tokens == 10));
        assert_eq!(tally.first, Edge::default());
        assert_eq!(tally.last_end, Some(at(20)));
    }

    #[test]
    fn a_group_is_closed_only_when_it_has_turns_and_none_is_open() {
        let mut tally = Tally::default();
        assert!(!tally.all_closed());
        tally.opened = 2;
        tally.open = 1;
        assert!(!tally.all_closed());
        tally.open = 0;
        assert!(tally.all_closed());
    }
}
