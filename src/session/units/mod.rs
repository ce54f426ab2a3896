//! The session's state as units: every thread, turn, model call, tool call, sub-agent and run
//! is one record holding what the rollout and the hooks said of it, with a phase enum saying
//! where it is in its life. Indexes find a unit from the ids an input carries (rollout path,
//! thread id, turn id, call id), so an input touches only the units it concerns; units that
//! became ready wait in [`SessionState::ready`] until the machine emits them. Emitted calls
//! and tool calls are dropped, closed turns keep only their end: content never outlives its
//! span.

mod agent;
mod call;
mod history;
mod request;
mod run;
mod skill;
mod tally;
mod thread;
mod tool;
mod turn;
mod usage;

pub(crate) use agent::{Agent, AgentPhase};
pub(crate) use call::{call_start, settles, CallKey, CallPhase, CallPlace, ModelCall, UsageSource};
use history::History;
pub(crate) use request::{FailedRequest, Requests};
pub(crate) use run::{Run, RunPhase, RunStart};
pub(crate) use skill::{skill_use, SkillLoad, SkillOperation, SkillUse};
pub(crate) use tally::{ClosedTurn, Tally};
pub(crate) use thread::{Conversation, Thread, TurnSource};
pub(crate) use tool::{PermissionAsk, ToolCall, ToolRequest};
pub(crate) use turn::{turn_end, RolloutEnd, Turn, TurnBody, TurnHooks, TurnPhase};
pub(crate) use usage::{UnknownUsage, Usage};

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::SystemTime;

/// A thread's place in [`SessionState::threads`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ThreadIx(pub(crate) usize);

/// A turn's place in [`SessionState::turns`]: turns are numbered in the order first seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TurnIx(pub(crate) usize);

/// A unit that became ready to be emitted.
#[derive(Debug)]
pub(crate) enum Ready {
    /// A settled model call (it is owned by the queue from now on).
    Call(Box<ModelCall>),
    /// A tool call whose output is recorded, by call id.
    Tool(String),
    /// A turn whose end the rollout recorded.
    Turn(TurnIx),
}

/// Something the machine could not place as Codex meant it; never dropped without one of
/// these. The text names ids only, never content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A model call whose turn is unknown: exported under its thread's agent span.
    CallWithoutTurn(String),
    /// A model call recorded with no time anywhere before it: exported at the epoch.
    CallWithoutTime(String),
    /// A tool call made outside any known turn: not exported.
    ToolWithoutTurn(String),
    /// A tool output whose call was never recorded: not exported.
    OutputWithoutCall(String),
    /// A record read a second time (the same response id or call id): ignored.
    Duplicate(String),
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::CallWithoutTurn(id) => write!(
                f,
                "model call {id} has no known turn; exported under its thread"
            ),
            Notice::CallWithoutTime(id) => {
                write!(f, "model call {id} has no time; exported at the epoch")
            }
            Notice::ToolWithoutTurn(id) => {
                write!(f, "tool call {id} has no known turn; not exported")
            }
            Notice::OutputWithoutCall(id) => {
                write!(f, "tool output for unknown call {id}; not exported")
            }
            Notice::Duplicate(id) => write!(f, "record for {id} read twice; ignored"),
        }
    }
}

/// Session-wide facts from hooks.
#[derive(Debug, Default)]
pub(crate) struct SessionFacts {
    pub(crate) first_hook_at: Option<SystemTime>,
    pub(crate) cwd: Option<String>,
    pub(crate) hook_model: Option<String>,
    /// Transcript paths named by hooks, in the order first seen.
    pub(crate) transcripts: Vec<String>,
}

/// All state of one session.
#[derive(Debug)]
pub(crate) struct SessionState {
    /// Rollout files in the order first seen, found by path or by thread id.
    pub(crate) threads: Vec<Thread>,
    pub(crate) thread_by_path: HashMap<String, ThreadIx>,
    pub(crate) thread_by_id: HashMap<String, ThreadIx>,
    /// Turns in the order first seen (by a hook or the rollout), found by turn id.
    pub(crate) turns: Vec<Turn>,
    pub(crate) turn_by_id: HashMap<String, TurnIx>,
    /// Tool calls not yet emitted, by call id.
    pub(crate) tools: HashMap<String, ToolCall>,
    /// Calls (model and tool) already recorded, so a record read twice is not counted twice.
    pub(crate) calls_seen: HashSet<CallKey>,
    pub(crate) tools_seen: HashSet<String>,
    /// Model requests the hooks reported, until their calls are recorded.
    pub(crate) requests: Requests,
    /// Sub-agents by thread id; `agents_waiting` lists those whose span is not out.
    pub(crate) agents: BTreeMap<String, Agent>,
    pub(crate) agents_waiting: Vec<String>,
    /// Run 0 is the first `exec`; its span is the session root.
    pub(crate) runs: Vec<Run>,
    pub(crate) facts: SessionFacts,
    /// Full-history mode's byte budget per call input; `None`: new messages only.
    pub(crate) history_budget: Option<usize>,
    pub(crate) ready: VecDeque<Ready>,
    pub(crate) notices: Vec<Notice>,
}

impl SessionState {
    /// An empty session; with a `history_budget` every model call gets the whole conversation
    /// (within that many bytes).
    pub(crate) fn new(history_budget: Option<usize>) -> Self {
        SessionState {
            threads: Vec::new(),
            thread_by_path: HashMap::new(),
            thread_by_id: HashMap::new(),
            turns: Vec::new(),
            turn_by_id: HashMap::new(),
            tools: HashMap::new(),
            calls_seen: HashSet::new(),
            requests: Requests::default(),
            tools_seen: HashSet::new(),
            agents: BTreeMap::new(),
            agents_waiting: Vec::new(),
            runs: vec![Run::default()],
            facts: SessionFacts::default(),
            history_budget,
            ready: VecDeque::new(),
            notices: Vec::new(),
        }
    }

    /// The thread of the rollout file at `path`, created when first seen.
    pub(crate) fn thread_at(&mut self, path: &str) -> ThreadIx {
        if let Some(ix) = self.thread_by_path.get(path) {
            return *ix;
        }
        let ix = ThreadIx(self.threads.len());
        self.threads.push(Thread {
            conversation: match self.history_budget {
                Some(budget) => Conversation::FullHistory(History::new(budget)),
                None => Conversation::default(),
            },
            ..Thread::default()
        });
        self.thread_by_path.insert(path.to_owned(), ix);
        ix
    }

    /// The turn `turn_id`, created (announced) when first seen.
    pub(crate) fn turn_named(&mut self, turn_id: &str) -> TurnIx {
        if let Some(ix) = self.turn_by_id.get(turn_id) {
            return *ix;
        }
        let ix = TurnIx(self.turns.len());
        self.turns.push(Turn {
            id: turn_id.to_owned(),
            index: None,
            hooks: TurnHooks::default(),
            phase: TurnPhase::Announced,
        });
        self.turn_by_id.insert(turn_id.to_owned(), ix);
        ix
    }

    /// The sub-agent of thread `thread_id`, created (waiting) when first seen.
    pub(crate) fn agent_named(&mut self, thread_id: &str) -> &mut Agent {
        if !self.agents.contains_key(thread_id) {
            self.agents_waiting.push(thread_id.to_owned());
        }
        self.agents.entry(thread_id.to_owned()).or_default()
    }

    /// Changes turn `ix` with `change`, keeping the runs' and threads' open-turn counts right.
    pub(crate) fn update_turn<R>(&mut self, ix: TurnIx, change: impl FnOnce(&mut Turn) -> R) -> R {
        let turn = &mut self.turns[ix.0];
        let before = (turn.open_in_run(), turn.started_in_run(), open_thread(turn));
        let result = change(turn);
        let turn = &self.turns[ix.0];
        let after = (turn.open_in_run(), turn.started_in_run(), open_thread(turn));
        self.move_count(before.0, after.0, |tally| &mut tally.open);
        self.move_count(before.1, after.1, |tally| &mut tally.opened);
        if before.2 != after.2 {
            if let Some(t) = before.2 {
                self.threads[t.0].tally.open -= 1;
            }
            if let Some(t) = after.2 {
                let thread = &mut self.threads[t.0];
                thread.tally.open += 1;
                thread.tally.opened += 1;
            }
        }
        result
    }

    /// Moves one from run `from`'s count to run `to`'s (the count `field` picks).
    fn move_count(
        &mut self,
        from: Option<usize>,
        to: Option<usize>,
        field: fn(&mut Tally) -> &mut usize,
    ) {
        if from == to {
            return;
        }
        if let Some(run) = from {
            *field(&mut self.runs[run].tally) -= 1;
        }
        if let Some(run) = to {
            if self.runs.len() <= run {
                self.runs.resize_with(run + 1, Run::default);
            }
            *field(&mut self.runs[run].tally) += 1;
        }
    }

    /// The index of the run hooks are about now (the latest one).
    pub(crate) fn current_run(&self) -> usize {
        self.runs.len() - 1
    }

    /// Turns the rollout started that are not closed yet.
    pub(crate) fn open_turns(&self) -> usize {
        self.threads.iter().map(|t| t.tally.open).sum()
    }
}

/// The thread in which a turn counts as open (started, not closed).
fn open_thread(turn: &Turn) -> Option<ThreadIx> {
    match &turn.phase {
        TurnPhase::Open(body) | TurnPhase::Ending(body, _) => Some(body.thread),
        _ => None,
    }
}
