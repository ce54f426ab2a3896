//! When things end: the machine's step. Units that became ready are emitted in the order they
//! became ready, then the sub-agents, runs and session that may have closed with them.
//!
//! - A model call is emitted once settled: the next record of its thread has been read, so a
//!   `compacted` record can no longer follow and mark it as a compaction's summary call.
//! - A tool call is emitted at its output record; its hooks (PreToolUse, PermissionRequest,
//!   PostToolUse) all precede that record, because Codex waits for them.
//! - A turn closes at its `task_complete` or `turn_aborted` record, which Codex writes only
//!   after the Stop hook returned (a blocking Stop hook makes the turn go on). Its calls still
//!   open close with it: an unsettled model call as it stands, a tool call with no output as
//!   an error.
//! - Sub-agents, resumed runs and the session root close by the rules in [`super::parents`].

use super::attrs::TurnRef;
use super::build::{Builder, TurnFacts};
use super::ids::SpanKey;
use super::machine::SessionMachine;
use super::units::{
    turn_end, CallPlace, ClosedTurn, ModelCall, Ready, RolloutEnd, SessionState, ThreadIx,
    TurnBody, TurnHooks, TurnIx, TurnPhase, UnknownUsage, Usage,
};
use crate::span::{SpanId, SpanRecord};
use std::time::SystemTime;

impl SessionMachine {
    /// Emits every span that is complete now (or, when `finishing`, everything).
    pub(crate) fn advance(&mut self, finishing: bool) -> Vec<SpanRecord> {
        let builder = Builder {
            session_id: &self.session_id,
            trace_id: self.trace_id,
            attachment: &self.attachment,
            config: &self.config,
        };
        let state = &mut self.state;
        let mut out = Vec::new();
        drain_ready(state, &builder, &mut out);
        if finishing {
            close_everything_open(state, &builder, &mut out);
        }
        super::parents::close_parents(state, &builder, finishing, &mut out);
        out
    }
}

/// Emits the units in the ready queue, in order.
fn drain_ready(state: &mut SessionState, builder: &Builder<'_>, out: &mut Vec<SpanRecord>) {
    while let Some(ready) = state.ready.pop_front() {
        match ready {
            Ready::Call(call) => out.push(chat_span(state, builder, &call)),
            Ready::Tool(call_id) => emit_tool(state, builder, &call_id, out),
            Ready::Turn(ix) => close_turn(state, builder, ix, false, out),
        }
    }
}

/// At the end of input: every turn still open closes, then every call still unsettled.
fn close_everything_open(
    state: &mut SessionState,
    builder: &Builder<'_>,
    out: &mut Vec<SpanRecord>,
) {
    for ix in 0..state.turns.len() {
        close_turn(state, builder, TurnIx(ix), true, out);
    }
    for thread in 0..state.threads.len() {
        if let Some(call) = state.threads[thread].unsettled.take() {
            out.push(chat_span(state, builder, &call));
        }
    }
    drain_ready(state, builder, out);
}

fn emit_tool(
    state: &mut SessionState,
    builder: &Builder<'_>,
    call_id: &str,
    out: &mut Vec<SpanRecord>,
) {
    let Some(tool) = state.tools.remove(call_id) else {
        return;
    };
    if let Some(request) = tool.request_ref() {
        let turn = turn_ref(state, request.turn);
        out.push(builder.tool_span(turn, &tool, request, None));
    }
}

fn turn_ref(state: &SessionState, ix: TurnIx) -> TurnRef<'_> {
    let turn = &state.turns[ix.0];
    TurnRef {
        id: &turn.id,
        index: turn.index,
    }
}

/// The span of a model call: under its turn, or (turn unknown) under its thread's agent span.
fn chat_span(state: &SessionState, builder: &Builder<'_>, call: &ModelCall) -> SpanRecord {
    let (turn_id, parent) = match call.place {
        CallPlace::Turn(ix) => {
            let turn = turn_ref(state, ix);
            (Some(turn), builder.id(SpanKey::Turn(turn.id)))
        }
        CallPlace::Thread => (None, thread_parent(state, builder, &call.thread_id)),
    };
    builder.chat_span(turn_id, parent, call)
}

/// The agent span of thread `thread_id`: its sub-agent span, or the session root.
fn thread_parent(state: &SessionState, builder: &Builder<'_>, thread_id: &str) -> SpanId {
    let child = state
        .thread_by_id
        .get(thread_id)
        .is_some_and(|ix| state.threads[ix.0].is_child());
    match child {
        true => builder.id(SpanKey::Agent(thread_id)),
        false => builder.id(SpanKey::Session),
    }
}

/// The span of a closing turn: under its sub-agent, its resumed run, or the session root.
fn turn_span(
    state: &SessionState,
    builder: &Builder<'_>,
    ix: TurnIx,
    body: &TurnBody,
    how: Option<&RolloutEnd>,
    end: SystemTime,
) -> SpanRecord {
    let turn = &state.turns[ix.0];
    let thread = &state.threads[body.thread.0];
    let thread_id = thread.id().unwrap_or_default();
    let parent = match (thread.is_child(), turn.run()) {
        (true, _) => builder.id(SpanKey::Agent(thread_id)),
        (false, 0) => builder.id(SpanKey::Session),
        (false, run) => builder.id(SpanKey::Run(run as u32)),
    };
    let trigger = turn.hooks.compaction_trigger.as_deref();
    builder.turn_span(TurnFacts {
        turn_id: &turn.id,
        body,
        how,
        thread_id,
        parent,
        end,
        trigger,
    })
}

/// Closes turn `ix` if it may close now: its open calls first, then the turn span, then the
/// tallies of its thread and run.
fn close_turn(
    state: &mut SessionState,
    builder: &Builder<'_>,
    ix: TurnIx,
    finishing: bool,
    out: &mut Vec<SpanRecord>,
) {
    let turn = &state.turns[ix.0];
    let (body, recorded) = match &turn.phase {
        TurnPhase::Open(body) => (body, None),
        TurnPhase::Ending(body, end) => (body, Some(end)),
        _ => return,
    };
    let Some((end, how)) = turn_end(body, recorded, turn.hooks.interrupted, finishing) else {
        return;
    };
    let thread = body.thread;
    emit_open_calls(state, builder, ix, thread, end, out);
    let failed = std::mem::take(&mut state.turns[ix.0].hooks.failed_requests);
    for request in &failed {
        out.push(builder.failed_request_span(turn_ref(state, ix), request, end));
    }
    let turn_id = state.turns[ix.0].id.clone();
    state.requests.forget_turn(&turn_id);
    let phase = state.update_turn(ix, |turn| {
        std::mem::replace(&mut turn.phase, TurnPhase::Closed)
    });
    let (TurnPhase::Open(mut body) | TurnPhase::Ending(mut body, _)) = phase else {
        return;
    };
    if let Some(why) = call_cut_off(state, thread, ix, how.as_ref()) {
        body.usage += Usage::Unknown(why);
    }
    for load in &body.skill_loads {
        let start = body.start.unwrap_or(end);
        out.push(builder.skill_load_span(turn_ref(state, ix), load, start));
    }
    out.push(turn_span(state, builder, ix, &body, how.as_ref(), end));
    let turn = &state.turns[ix.0];
    let closed = ClosedTurn {
        ix,
        start: body.start,
        end,
        usage: body.usage,
        prompt: body.prompt.as_deref(),
        model: body.model.as_deref(),
        answer: body.last_assistant_message.as_deref(),
    };
    let child_thread = state.threads[thread.0].is_child();
    let run = turn.run();
    state.threads[thread.0].tally.close(closed, true);
    state.runs[run].tally.close(closed, !child_thread);
    // A closed turn keeps only what later records may still ask: its run.
    let hooks = &mut state.turns[ix.0].hooks;
    *hooks = TurnHooks {
        run: hooks.run,
        ..TurnHooks::default()
    };
}

/// A model call of the closing turn `ix` that began its output but never got usage: its draft
/// is dropped (it would otherwise open the thread's next call) and the turn's usage is unknown.
fn call_cut_off(
    state: &mut SessionState,
    thread: ThreadIx,
    ix: TurnIx,
    how: Option<&RolloutEnd>,
) -> Option<UnknownUsage> {
    let draft = &mut state.threads[thread.0].draft;
    draft.take_if(|draft| draft.turn == Some(ix))?;
    match how {
        Some(RolloutEnd::Aborted { .. }) => Some(UnknownUsage::Interrupted),
        _ => Some(UnknownUsage::NotRecorded),
    }
}

/// Emits what of turn `ix` is still open: its thread's unsettled call, then its tool calls
/// (those without output as errors ending at `end`).
fn emit_open_calls(
    state: &mut SessionState,
    builder: &Builder<'_>,
    ix: TurnIx,
    thread: ThreadIx,
    end: SystemTime,
    out: &mut Vec<SpanRecord>,
) {
    let unsettled = &mut state.threads[thread.0].unsettled;
    if unsettled
        .as_ref()
        .is_some_and(|call| call.place == CallPlace::Turn(ix))
    {
        if let Some(call) = unsettled.take() {
            out.push(chat_span(state, builder, &call));
        }
    }
    let tools = match &mut state.turns[ix.0].phase {
        TurnPhase::Open(body) | TurnPhase::Ending(body, _) => std::mem::take(&mut body.tools),
        _ => Vec::new(),
    };
    for call_id in tools {
        let Some(tool) = state.tools.remove(&call_id) else {
            continue;
        };
        if let Some(request) = tool.request_ref() {
            out.push(builder.tool_span(turn_ref(state, ix), &tool, request, Some(end)));
        }
    }
}
