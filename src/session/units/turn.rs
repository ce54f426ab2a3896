//! [`Turn`]: one turn of one thread, holding what its hooks said (the run it belongs to, an
//! interrupt, a compaction trigger) and what its rollout recorded, with the rule that says
//! when and at what time it ends.

use super::skill::SkillLoad;
use super::{ThreadIx, Usage};
use crate::codex::rollout::TurnError;
use std::time::{SystemTime, UNIX_EPOCH};

/// How a turn ended in the rollout.
#[derive(Debug, Clone)]
pub(crate) enum RolloutEnd {
    Complete {
        at: Option<SystemTime>,
        error: Option<TurnError>,
    },
    Aborted {
        at: Option<SystemTime>,
        reason: String,
    },
}

impl RolloutEnd {
    fn at(&self) -> Option<SystemTime> {
        match self {
            RolloutEnd::Complete { at, .. } | RolloutEnd::Aborted { at, .. } => *at,
        }
    }
}

/// What hooks said about a turn (hooks may come before the rollout names the turn).
#[derive(Debug, Default)]
pub(crate) struct TurnHooks {
    /// The run a UserPromptSubmit hook put it in.
    pub(crate) run: Option<usize>,
    /// When an interrupt hook fired (`Some(None)`: fired at an unknown time).
    pub(crate) interrupted: Option<Option<SystemTime>>,
    /// PreCompact/PostCompact trigger.
    pub(crate) compaction_trigger: Option<String>,
    /// The latest PreToolUse call id (PermissionRequest carries no call id).
    pub(crate) last_pre_tool: Option<String>,
    /// Model requests that failed or were cancelled: spans of their own when the turn closes.
    pub(crate) failed_requests: Vec<super::FailedRequest>,
}

/// What the rollout recorded of a running turn.
#[derive(Debug, Default)]
pub(crate) struct TurnBody {
    pub(crate) thread: ThreadIx,
    /// 1-based position among its thread's turns.
    pub(crate) index: u32,
    pub(crate) start: Option<SystemTime>,
    pub(crate) prompt: Option<String>,
    pub(crate) last_assistant_message: Option<String>,
    pub(crate) model: Option<String>,
    /// Usage of its model calls so far.
    pub(crate) usage: Usage,
    /// Its tool calls, in the order the model made them.
    pub(crate) tools: Vec<String>,
    pub(crate) compactions: Vec<(Option<SystemTime>, String)>,
    /// Skills Codex loaded into it because its prompt named them.
    pub(crate) skill_loads: Vec<SkillLoad>,
    /// The latest call end or tool output seen.
    pub(crate) latest: Option<SystemTime>,
}

impl TurnBody {
    /// Notes that something of the turn happened at `at`.
    pub(crate) fn saw(&mut self, at: SystemTime) {
        self.latest = Some(self.latest.map_or(at, |l| l.max(at)));
    }
}

/// Where a turn is in its life.
#[derive(Debug)]
pub(crate) enum TurnPhase {
    /// Only hooks have named it.
    Announced,
    /// `task_started` read: the turn runs.
    Open(Box<TurnBody>),
    /// The rollout recorded its end: it closes at the next step.
    Ending(Box<TurnBody>, RolloutEnd),
    /// Emitted; its content is gone.
    Closed,
}

/// One turn.
#[derive(Debug)]
pub(crate) struct Turn {
    pub(crate) id: String,
    /// 1-based position among its thread's turns, once the rollout started it (kept after
    /// the turn closes: every span under it carries it).
    pub(crate) index: Option<u32>,
    pub(crate) hooks: TurnHooks,
    pub(crate) phase: TurnPhase,
}

impl Turn {
    /// The rollout's facts, while the turn is open.
    pub(crate) fn body_mut(&mut self) -> Option<&mut TurnBody> {
        match &mut self.phase {
            TurnPhase::Open(body) | TurnPhase::Ending(body, _) => Some(body),
            _ => None,
        }
    }

    /// True once the rollout has started the turn.
    pub(crate) fn started(&self) -> bool {
        !matches!(self.phase, TurnPhase::Announced)
    }

    /// The run the turn belongs to (0, the first run, unless a hook said otherwise).
    pub(crate) fn run(&self) -> usize {
        self.hooks.run.unwrap_or(0)
    }

    /// The run in which the turn counts as open: a started turn until it closes, and a turn
    /// a hook put in a run even before the rollout starts it.
    pub(crate) fn open_in_run(&self) -> Option<usize> {
        match self.phase {
            TurnPhase::Closed => None,
            TurnPhase::Announced if self.hooks.run.is_none() => None,
            _ => Some(self.run()),
        }
    }

    /// The run in which the rollout started the turn.
    pub(crate) fn started_in_run(&self) -> Option<usize> {
        self.started().then(|| self.run())
    }
}

/// How and when a turn that may close now ends: its recorded end, else (when finishing) an
/// interrupt hook's time or the latest thing it did. `None` while it must stay open.
pub(crate) fn turn_end(
    body: &TurnBody,
    recorded: Option<&RolloutEnd>,
    interrupted: Option<Option<SystemTime>>,
    finishing: bool,
) -> Option<(SystemTime, Option<RolloutEnd>)> {
    let end = match (recorded, interrupted) {
        (Some(end), _) => Some(end.clone()),
        (None, _) if !finishing => return None,
        (None, Some(at)) => Some(RolloutEnd::Aborted {
            at,
            reason: "interrupted".to_owned(),
        }),
        (None, None) => None,
    };
    let at = end
        .as_ref()
        .and_then(RolloutEnd::at)
        .or(body.latest)
        .or(body.start)
        .unwrap_or(UNIX_EPOCH);
    Some((at, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn body() -> TurnBody {
        TurnBody {
            start: Some(at(1)),
            latest: Some(at(5)),
            ..TurnBody::default()
        }
    }

    #[test]
    fn a_turn_stays_open_until_its_end_is_recorded() {
        assert!(turn_end(&body(), None, None, false).is_none());
        let complete = RolloutEnd::Complete {
            at: Some(at(9)),
            error: None,
        };
        let (end, _) = turn_end(&body(), Some(&complete), None, false).unwrap();
        assert_eq!(end, at(9));
    }

    #[test]
    fn a_recorded_end_without_time_ends_at_the_latest_thing_the_turn_did() {
        let aborted = RolloutEnd::Aborted {
            at: None,
            reason: "x".into(),
        };
        assert_eq!(
            turn_end(&body(), Some(&aborted), None, false).unwrap().0,
            at(5)
        );
    }

    #[test]
    fn when_finishing_an_interrupt_hook_ends_an_unfinished_turn_as_interrupted() {
        let (end, how) = turn_end(&body(), None, Some(Some(at(7))), true).unwrap();
        assert_eq!(end, at(7));
        assert!(matches!(how, Some(RolloutEnd::Aborted { reason, .. }) if reason == "interrupted"));
    }

    #[test]
    fn when_finishing_a_turn_with_no_end_ends_at_its_latest_time_unmarked() {
        let (end, how) = turn_end(&body(), None, None, true).unwrap();
        assert_eq!(end, at(5));
        assert!(how.is_none());
    }

    #[test]
    fn a_turn_counts_open_in_its_hooked_run_before_the_rollout_starts_it() {
        let mut turn = Turn {
            id: "t".into(),
            index: None,
            hooks: TurnHooks::default(),
            phase: TurnPhase::Announced,
        };
        assert_eq!(turn.open_in_run(), None);
        turn.hooks.run = Some(2);
        assert_eq!(turn.open_in_run(), Some(2));
        assert_eq!(turn.started_in_run(), None);
        turn.phase = TurnPhase::Open(Box::default());
        assert_eq!(turn.started_in_run(), Some(2));
        turn.phase = TurnPhase::Closed;
        assert_eq!(turn.open_in_run(), None);
    }
}
