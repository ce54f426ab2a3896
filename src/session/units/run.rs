//! [`Run`]: one run of the session (the first `codex exec`, index 0, or a later
//! `exec resume`): how its hooks started and ended it, the tally of its turns, and the rule
//! that says when it is over.

use super::tally::Tally;
use std::time::SystemTime;

/// How a run began.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RunStart {
    /// No SessionStart hook marked it (codex-otel was installed later).
    Unhooked,
    /// A SessionStart hook marked it.
    Hooked {
        at: Option<SystemTime>,
        permission_mode: Option<String>,
    },
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RunPhase {
    Running,
    /// Its SessionEnd hook came (at its receive time, when known).
    Ended {
        at: Option<SystemTime>,
    },
    /// Its span is out (for run 0: the session root).
    Emitted,
}

/// One run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub(crate) start: RunStart,
    pub(crate) phase: RunPhase,
    /// Its turns.
    pub(crate) tally: Tally,
}

impl Default for Run {
    fn default() -> Self {
        Run {
            start: RunStart::Unhooked,
            phase: RunPhase::Running,
            tally: Tally::default(),
        }
    }
}

impl Run {
    /// A SessionEnd hook came for this run.
    pub(crate) fn end(&mut self, at: Option<SystemTime>) {
        if self.phase != RunPhase::Emitted {
            self.phase = RunPhase::Ended { at };
        }
    }

    /// When its SessionStart hook came.
    pub(crate) fn started_at(&self) -> Option<SystemTime> {
        match &self.start {
            RunStart::Hooked { at, .. } => *at,
            RunStart::Unhooked => None,
        }
    }

    /// The permission mode its SessionStart hook reported.
    pub(crate) fn permission_mode(&self) -> Option<String> {
        match &self.start {
            RunStart::Hooked {
                permission_mode, ..
            } => permission_mode.clone(),
            RunStart::Unhooked => None,
        }
    }

    /// `Some(end time or None)` once its SessionEnd hook came.
    pub(crate) fn ended(&self) -> Option<Option<SystemTime>> {
        match self.phase {
            RunPhase::Ended { at } => Some(at),
            _ => None,
        }
    }

    /// A run may close once its SessionEnd came and every turn in it is closed.
    pub(crate) fn ready(&self) -> bool {
        self.ended().is_some() && self.tally.open == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_ready_once_ended_with_no_open_turn() {
        let mut run = Run::default();
        run.tally.open = 1;
        run.end(None);
        assert!(!run.ready());
        run.tally.open = 0;
        assert!(run.ready());
    }

    #[test]
    fn a_session_end_after_the_span_is_out_changes_nothing() {
        let mut run = Run {
            phase: RunPhase::Emitted,
            ..Run::default()
        };
        run.end(None);
        assert_eq!(run.phase, RunPhase::Emitted);
    }
}
