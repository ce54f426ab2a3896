//! When the units that hold turns close: sub-agents, resumed runs and the session root. Each
//! rule reads the tallies its turns left ([`super::units::Tally`]), never the turns.
//!
//! - A sub-agent closes when its thread has turns, all closed, and it is linked: its spawning
//!   call is known (spawned agents), or the turn it served is (other child threads, like the
//!   approval reviewer).
//! - A resumed run, and the session root (run 0), close at their SessionEnd once every turn the
//!   hooks or the rollout put in them, and every sub-agent, is closed. A first run with no
//!   hooks (the journal starts at a resume) is over once a later run's turn appears; with no
//!   hooks at all, the root closes only at `finish`.

use super::attrs::Attrs;
use super::build::{AgentSummary, Builder};
use super::ids::SpanKey;
use super::units::{AgentPhase, RunPhase, RunStart, SessionState};
use crate::span::genai as key;
use crate::span::SpanRecord;

/// Closes the sub-agents, runs and root that may close now (or, when `finishing`, all).
pub(crate) fn close_parents(
    state: &mut SessionState,
    builder: &Builder<'_>,
    finishing: bool,
    out: &mut Vec<SpanRecord>,
) {
    close_agents(state, builder, finishing, out);
    close_runs(state, builder, finishing, out);
    close_root(state, builder, finishing, out);
}

fn close_agents(
    state: &mut SessionState,
    builder: &Builder<'_>,
    finishing: bool,
    out: &mut Vec<SpanRecord>,
) {
    let mut waiting = std::mem::take(&mut state.agents_waiting);
    waiting.retain(|agent_id| {
        let phase = close_agent(state, builder, agent_id, finishing, out);
        state.agents.entry(agent_id.clone()).or_default().phase = phase;
        phase == AgentPhase::Waiting
    });
    state.agents_waiting = waiting;
}

/// Emits the sub-agent `agent_id` if it may close; its phase after.
fn close_agent(
    state: &SessionState,
    builder: &Builder<'_>,
    agent_id: &str,
    finishing: bool,
    out: &mut Vec<SpanRecord>,
) -> AgentPhase {
    let Some(thread) = state
        .thread_by_id
        .get(agent_id)
        .map(|ix| &state.threads[ix.0])
    else {
        return match finishing {
            true => AgentPhase::GivenUp,
            false => AgentPhase::Waiting,
        };
    };
    let agent = &state.agents[agent_id];
    let meta = thread.meta.as_ref();
    let tally = &thread.tally;
    // Spawned sub-agents hang under their spawn call, which the parent's rollout names;
    // other child threads (the approval reviewer) hang under the turn they served.
    let spawned = meta.is_some_and(|m| m.source.pointer("/subagent/thread_spawn").is_some());
    let served_turn = thread.served_turn.as_deref();
    let served_known = served_turn.is_some_and(|t| {
        state
            .turn_by_id
            .get(t)
            .is_some_and(|ix| state.turns[ix.0].started())
    });
    let linked = match spawned {
        true => agent.spawn_call_id.is_some(),
        false => served_known,
    };
    if !(finishing || (tally.all_closed() && linked)) {
        return AgentPhase::Waiting;
    }
    let end = tally.last_end;
    let start = thread.started.or(tally.first_start);
    let (Some(start), Some(end)) = (start.or(end), end.or(start)) else {
        return AgentPhase::GivenUp;
    };
    let name = meta
        .and_then(|m| m.agent_nickname.clone())
        .or(agent.agent_type.clone())
        .or(meta.and_then(|m| m.thread_source.clone()))
        .unwrap_or_else(|| "subagent".to_owned());
    let parent = match (&agent.spawn_call_id, served_known) {
        (Some(call), _) => builder.id(SpanKey::Tool(call)),
        (None, true) => builder.id(SpanKey::Turn(served_turn.unwrap_or_default())),
        _ => builder.id(SpanKey::Session),
    };
    let mut extra = Attrs::default();
    extra
        .str(key::AGENT_ID, agent_id)
        .str(key::CODEX_THREAD_ID, agent_id)
        .opt_str(key::CODEX_AGENT_TYPE, agent.agent_type.clone())
        .str(key::CODEX_SOURCE, "subagent");
    out.push(builder.agent_span(AgentSummary {
        key: SpanKey::Agent(agent_id),
        parent: Some(parent),
        agent_name: &name,
        start,
        end,
        model: thread.model.as_deref(),
        usage: tally.usage,
        input: tally.first.text.as_deref(),
        output: tally.last.text.as_deref(),
        extra,
    }));
    AgentPhase::Emitted { end }
}

fn close_runs(
    state: &mut SessionState,
    builder: &Builder<'_>,
    finishing: bool,
    out: &mut Vec<SpanRecord>,
) {
    for index in 1..state.runs.len() {
        let run = &state.runs[index];
        if run.phase == RunPhase::Emitted || !(finishing || run.ready()) {
            continue;
        }
        let tally = &run.tally;
        let start = run.started_at().or(tally.first_start).or(tally.last_end);
        let end = run.ended().flatten().or(tally.last_end).or(start);
        if let (Some(start), Some(end)) = (start, end) {
            let mut extra = Attrs::default();
            extra
                .str(key::CODEX_SOURCE, "resume")
                .int("codex.run.index", index as i64)
                .opt_str(key::CODEX_PERMISSION_MODE, run.permission_mode());
            out.push(builder.agent_span(AgentSummary {
                key: SpanKey::Run(index as u32),
                parent: Some(builder.id(SpanKey::Session)),
                agent_name: "codex",
                start,
                end,
                model: tally.first.model.as_deref(),
                usage: tally.usage,
                input: tally.first.text.as_deref(),
                output: tally.last.text.as_deref(),
                extra,
            }));
        }
        state.runs[index].phase = RunPhase::Emitted;
    }
}

fn close_root(
    state: &mut SessionState,
    builder: &Builder<'_>,
    finishing: bool,
    out: &mut Vec<SpanRecord>,
) {
    let run0 = &state.runs[0];
    if run0.phase == RunPhase::Emitted {
        return;
    }
    // Without hooks for the first run (codex-otel was installed before a resume), its end is
    // known once a later run's first turn appears in the rollout: every earlier turn precedes it.
    let run0_over = match run0.start {
        RunStart::Hooked { .. } => run0.ended().is_some(),
        RunStart::Unhooked => state.runs[1..].iter().any(|r| r.tally.opened > 0),
    };
    let ready = run0_over && run0.tally.open == 0 && state.agents_waiting.is_empty();
    if !(finishing || ready) {
        return;
    }
    state.runs[0].phase = RunPhase::Emitted;
    if let Some(root) = super::root::root_span(state, builder) {
        out.push(root);
    }
}
