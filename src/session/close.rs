//! When things end: the rules that decide that a turn, a sub-agent, a resumed run or the
//! session is complete, and the spans emitted when they are.
//!
//! - A model call is emitted once settled: the next record of its thread has been read, so a
//!   `compacted` record can no longer follow and mark it as a compaction's summary call.
//! - A tool call is emitted at its output record; its hooks (PreToolUse, PermissionRequest,
//!   PostToolUse) all precede that record, because Codex waits for them.
//! - A turn closes at its `task_complete` or `turn_aborted` record, which Codex writes only
//!   after the Stop hook returned (a blocking Stop hook makes the turn go on). A tool call with
//!   no output when its turn closes ends with an error.
//! - A sub-agent closes when its thread has turns, all closed, and its spawning call is known.
//! - A resumed run, and the session root (run 0), close at their SessionEnd once every turn the
//!   hooks assigned to them, and every sub-agent, is closed. A first run with no hooks (the
//!   journal starts at a resume) is over once a later run's turn appears; with no hooks at all,
//!   the root closes only at `finish`.

use super::build::{sum_usage, AgentSummary, Builder};
use super::ids::SpanKey;
use super::machine::SessionMachine;
use super::state::{RolloutEnd, SessionState, TurnState};
use crate::span::genai as key;
use crate::span::SpanRecord;
use std::time::{SystemTime, UNIX_EPOCH};

impl SessionMachine {
    /// Emits every span that is complete now (or, when `finishing`, everything).
    pub(crate) fn advance(&mut self, finishing: bool) -> Vec<SpanRecord> {
        let builder = Builder {
            session_id: &self.session_id,
            trace_id: self.trace_id,
            config: &self.config,
        };
        let state = &mut self.state;
        let mut out = Vec::new();
        close_turns(state, &builder, finishing, &mut out);
        close_agents(state, &builder, finishing, &mut out);
        close_runs(state, &builder, finishing, &mut out);
        close_root(state, &builder, finishing, &mut out);
        out
    }
}

fn close_turns(
    state: &mut SessionState,
    builder: &Builder<'_>,
    finishing: bool,
    out: &mut Vec<SpanRecord>,
) {
    for turn_id in state.turn_order.clone() {
        emit_children(state, builder, &turn_id, false, out);
        if let Some(end) = turn_end(state, &turn_id, finishing) {
            if let Some(turn) = state.turns.get_mut(&turn_id) {
                turn.closed = Some(end);
            }
            emit_children(state, builder, &turn_id, true, out);
            out.push(turn_span(state, builder, &turn_id, end));
        }
    }
}

/// The end time of a turn that may close now: its abort or completion time (or, when
/// finishing, an interrupt hook's time or the latest thing seen).
fn turn_end(state: &mut SessionState, turn_id: &str, finishing: bool) -> Option<SystemTime> {
    let interrupt = state.interrupt_hooks.get(turn_id).copied();
    let turn = state.turns.get_mut(turn_id)?;
    if turn.closed.is_some() || !(turn.rollout_end.is_some() || finishing) {
        return None;
    }
    if turn.rollout_end.is_none() {
        if let Some(at) = interrupt {
            let reason = "interrupted".to_owned();
            turn.rollout_end = Some(RolloutEnd::Aborted { at, reason });
        }
    }
    let recorded = match &turn.rollout_end {
        Some(RolloutEnd::Aborted { at, .. } | RolloutEnd::Complete { at, .. }) => *at,
        None => None,
    };
    recorded
        .or(latest_time(turn))
        .or(turn.start)
        .or(Some(UNIX_EPOCH))
}

fn latest_time(turn: &TurnState) -> Option<SystemTime> {
    let calls = turn.calls.iter().map(|c| c.end);
    let tools = turn
        .tools
        .iter()
        .filter_map(|t| t.output.as_ref().map(|(at, _)| *at));
    calls.chain(tools).max()
}

fn turn_span(
    state: &SessionState,
    builder: &Builder<'_>,
    turn_id: &str,
    end: SystemTime,
) -> SpanRecord {
    let turn = &state.turns[turn_id];
    let meta = state
        .threads
        .get(&turn.thread_path)
        .and_then(|t| t.meta.as_ref());
    let thread_id = meta.map(|m| m.id.as_str()).unwrap_or_default();
    let parent = match meta.and_then(|m| m.parent_thread_id.as_ref()) {
        Some(_) => builder.id(SpanKey::Agent(thread_id)),
        None => match state.turn_runs.get(turn_id).copied().unwrap_or(0) {
            0 => builder.id(SpanKey::Session),
            run => builder.id(SpanKey::Run(run as u32)),
        },
    };
    let trigger = state.compaction_triggers.get(turn_id).map(String::as_str);
    builder.turn_span(turn_id, turn, thread_id, parent, end, trigger)
}

/// Emits the turn's model calls once settled and its tool calls once they have output; when
/// `closing`, everything left (a tool call without output as an error).
fn emit_children(
    state: &mut SessionState,
    builder: &Builder<'_>,
    turn_id: &str,
    closing: bool,
    out: &mut Vec<SpanRecord>,
) {
    let Some(turn) = state.turns.get_mut(turn_id) else {
        return;
    };
    let turn_end = turn.closed;
    for call in turn.calls.iter_mut() {
        if call.emitted || !(call.settled || closing) {
            continue;
        }
        out.push(builder.chat_span(turn_id, call, call.compaction));
        call.emitted = true;
        call.inputs = Vec::new();
        call.outputs = Vec::new();
    }
    for tool in turn.tools.iter_mut() {
        let fallback_end = match (&tool.output, turn_end) {
            _ if tool.emitted => continue,
            (Some((at, _)), _) => *at,
            (None, Some(end)) if closing => end,
            _ => continue,
        };
        let hooks = state.tool_hooks.get(&tool.call_id);
        out.push(builder.tool_span(turn_id, tool, hooks, fallback_end));
        tool.emitted = true;
    }
}

fn thread_path_of(state: &SessionState, thread_id: &str) -> Option<String> {
    state
        .thread_order
        .iter()
        .find(|path| {
            state.threads[*path]
                .meta
                .as_ref()
                .is_some_and(|m| m.id == thread_id)
        })
        .cloned()
}

fn turns_of_thread<'a>(
    state: &'a SessionState,
    path: &'a str,
) -> impl Iterator<Item = (&'a String, &'a TurnState)> {
    state
        .turn_order
        .iter()
        .map(|id| (id, &state.turns[id]))
        .filter(move |(_, t)| t.thread_path == path)
}

fn close_agents(
    state: &mut SessionState,
    builder: &Builder<'_>,
    finishing: bool,
    out: &mut Vec<SpanRecord>,
) {
    let pending: Vec<String> = state
        .agents
        .iter()
        .filter(|(_, a)| a.emitted.is_none())
        .map(|(id, _)| id.clone())
        .collect();
    for agent_id in pending {
        let Some(path) = thread_path_of(state, &agent_id) else {
            if finishing {
                state.agents.entry(agent_id).or_default().emitted = Some(UNIX_EPOCH);
            }
            continue;
        };
        let turns: Vec<&TurnState> = turns_of_thread(state, &path).map(|(_, t)| t).collect();
        let all_closed = !turns.is_empty() && turns.iter().all(|t| t.closed.is_some());
        let agent = &state.agents[&agent_id];
        let thread = &state.threads[&path];
        let meta = thread.meta.as_ref();
        // Spawned sub-agents hang under their spawn call, which the parent's rollout names;
        // other child threads (the approval reviewer) hang under the turn they served.
        let spawned = meta.is_some_and(|m| m.source.pointer("/subagent/thread_spawn").is_some());
        let served_turn = turns.iter().find_map(|t| t.root_turn_id.as_deref());
        let served_known = served_turn.is_some_and(|t| state.turns.contains_key(t));
        let linked = if spawned {
            agent.spawn_call_id.is_some()
        } else {
            served_known
        };
        if !(finishing || (all_closed && linked)) {
            continue;
        }
        let end = turns.iter().filter_map(|t| t.closed).max();
        let start = thread.started.or(turns.first().and_then(|t| t.start));
        let (Some(start), Some(end)) = (start.or(end), end.or(start)) else {
            state.agents.entry(agent_id).or_default().emitted = Some(UNIX_EPOCH);
            continue;
        };
        let name = meta
            .and_then(|m| m.agent_nickname.clone())
            .or(agent.agent_type.clone())
            .or(meta.and_then(|m| m.thread_source.clone()))
            .unwrap_or_else(|| "subagent".to_owned());
        let parent = match (&agent.spawn_call_id, served_turn) {
            (Some(call), _) => builder.id(SpanKey::Tool(call)),
            (None, Some(turn)) if state.turns.contains_key(turn) => builder.id(SpanKey::Turn(turn)),
            _ => builder.id(SpanKey::Session),
        };
        let mut extra = super::attrs::Attrs::default();
        extra
            .str(key::AGENT_ID, agent_id.clone())
            .str(key::CODEX_THREAD_ID, agent_id.clone())
            .opt_str(key::CODEX_AGENT_TYPE, agent.agent_type.clone())
            .str(key::CODEX_SOURCE, "subagent");
        out.push(
            builder.agent_span(AgentSummary {
                key: SpanKey::Agent(&agent_id),
                parent: Some(parent),
                agent_name: &name,
                start,
                end,
                model: thread.model.as_deref(),
                usage: sum_usage(turns.iter().flat_map(|t| t.calls.iter())),
                input: turns.first().and_then(|t| t.prompt.as_deref()),
                output: turns
                    .last()
                    .and_then(|t| t.last_assistant_message.as_deref()),
                extra,
            }),
        );
        state.agents.entry(agent_id).or_default().emitted = Some(end);
    }
}

/// The run (0 = the first `exec`) each turn belongs to; sub-agent turns follow the hooks too.
fn run_of(state: &SessionState, turn_id: &str) -> usize {
    state.turn_runs.get(turn_id).copied().unwrap_or(0)
}

/// True when every turn the hooks or the rollout put in `run` is known and closed.
fn run_turns_closed(state: &SessionState, run: usize) -> bool {
    let hooked = state
        .turn_runs
        .iter()
        .filter(|(_, r)| **r == run)
        .all(|(id, _)| state.turns.get(id).is_some_and(|t| t.closed.is_some()));
    let seen = state
        .turn_order
        .iter()
        .filter(|id| run_of(state, id) == run)
        .all(|id| state.turns[id].closed.is_some());
    hooked && seen
}

fn run_bounds(state: &SessionState, run: usize) -> (Option<SystemTime>, Option<SystemTime>) {
    let turns = || {
        state
            .turn_order
            .iter()
            .filter(|id| run_of(state, id) == run)
            .map(|id| &state.turns[id])
    };
    let first = turns().filter_map(|t| t.start).min();
    let last = turns().filter_map(|t| t.closed).max();
    (first, last)
}

fn close_runs(
    state: &mut SessionState,
    builder: &Builder<'_>,
    finishing: bool,
    out: &mut Vec<SpanRecord>,
) {
    for run in 1..state.runs.len() {
        let info = &state.runs[run];
        let ready = finishing || (info.ended.is_some() && run_turns_closed(state, run));
        if info.emitted || !ready {
            continue;
        }
        let (first, last) = run_bounds(state, run);
        let start = info.started.or(first).or(last);
        let end = info.ended.flatten().or(last).or(start);
        state.runs[run].emitted = true;
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        let turns: Vec<&TurnState> = state
            .turn_order
            .iter()
            .filter(|id| run_of(state, id) == run)
            .map(|id| &state.turns[id])
            .collect();
        let root_turns: Vec<&&TurnState> =
            turns.iter().filter(|t| is_root_thread(state, t)).collect();
        let mut extra = super::attrs::Attrs::default();
        extra
            .str(key::CODEX_SOURCE, "resume")
            .int("codex.run.index", run as i64)
            .opt_str(
                key::CODEX_PERMISSION_MODE,
                state.runs[run].permission_mode.clone(),
            );
        out.push(
            builder.agent_span(AgentSummary {
                key: SpanKey::Run(run as u32),
                parent: Some(builder.id(SpanKey::Session)),
                agent_name: "codex",
                start,
                end,
                model: root_turns.first().and_then(|t| t.model.as_deref()),
                usage: sum_usage(turns.iter().flat_map(|t| t.calls.iter())),
                input: root_turns.first().and_then(|t| t.prompt.as_deref()),
                output: root_turns
                    .last()
                    .and_then(|t| t.last_assistant_message.as_deref()),
                extra,
            }),
        );
    }
}

fn is_root_thread(state: &SessionState, turn: &TurnState) -> bool {
    state
        .threads
        .get(&turn.thread_path)
        .and_then(|t| t.meta.as_ref())
        .is_none_or(|m| m.parent_thread_id.is_none())
}

fn close_root(
    state: &mut SessionState,
    builder: &Builder<'_>,
    finishing: bool,
    out: &mut Vec<SpanRecord>,
) {
    let Some(run0) = state.runs.first() else {
        return;
    };
    let agents_done = state.agents.values().all(|a| a.emitted.is_some());
    // Without hooks for the first run (codex-otel was installed before a resume), its end is
    // known once a later run's first turn appears in the rollout: every earlier turn precedes it.
    let run0_over = match run0.hooked {
        true => run0.ended.is_some(),
        false => state.turn_order.iter().any(|id| run_of(state, id) > 0),
    };
    let ready = finishing || (run0_over && run_turns_closed(state, 0) && agents_done);
    if state.root_emitted || !ready {
        return;
    }
    state.root_emitted = true;
    if let Some(root) = super::root::root_span(state, builder) {
        out.push(root);
    }
}
