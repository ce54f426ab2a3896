//! How rollout records update the session's units: threads, turns, model calls and tool calls.
//!
//! A model call's start is the time of the record just before its first output item (the
//! request was sent once its input was recorded); its end is its `token_usage_record`. Its new
//! input is every message recorded since the previous call of the same thread. A call is
//! settled by the thread's next meaningful record, and then ready. A tool call is ready at its
//! output record; a turn at its `task_complete` or `turn_aborted` record.

use super::messages::{ChatMessage, Part};
use super::units::{
    call_start, settles, skill_use, CallKey, CallPhase, CallPlace, ModelCall, Notice, Ready,
    RolloutEnd, SessionState, SkillLoad, ThreadIx, ToolCall, ToolRequest, TurnBody, TurnIx,
    TurnPhase, TurnSource, UsageSource,
};
use crate::codex::rollout::{
    EventMsg, HostedToolCall, Item, Message, ResponseItem, RolloutLine, RolloutRecord, TokenUsage,
    ToolCall as RolloutToolCall,
};
use crate::codex::skills::{self, Skill};
use std::time::{SystemTime, UNIX_EPOCH};

impl SessionState {
    /// Applies one record of the rollout file at `path`.
    pub(crate) fn apply_record(&mut self, path: &str, line: &RolloutLine) {
        let thread = self.thread_at(path);
        let ts = line.timestamp;
        self.settle_previous_call(thread, &line.record);
        match &line.record {
            RolloutRecord::SessionMeta(meta) => {
                let t = &mut self.threads[thread.0];
                t.started = t.started.or(ts);
                self.thread_by_id.insert(meta.id.clone(), thread);
                if meta.parent_thread_id.is_some() {
                    self.agent_named(&meta.id);
                }
                self.threads[thread.0].meta = Some(meta.clone());
            }
            RolloutRecord::TurnContext(context) => {
                let t = &mut self.threads[thread.0];
                t.model = context.model.clone().or(t.model.take());
                if let Some(ix) = context
                    .turn_id
                    .as_ref()
                    .and_then(|id| self.turn_by_id.get(id))
                {
                    if let Some(body) = self.turns[ix.0].body_mut() {
                        body.model = context.model.clone().or(body.model.take());
                    }
                }
            }
            RolloutRecord::Event(event) => self.apply_event(thread, event, ts),
            RolloutRecord::ResponseItem(item) => self.apply_item(thread, item, ts),
            RolloutRecord::TokenUsage(record) => {
                self.threads[thread.0].usage_source = UsageSource::Records;
                let call = Recorded {
                    response_id: record.response_id.as_deref(),
                    turn_id: record.turn_id.as_deref(),
                    root_turn_id: record.root_turn_id.as_deref(),
                    usage: record.usage,
                };
                self.record_call(thread, call, ts);
            }
            RolloutRecord::Compacted(compacted) => {
                let id = compacted.compaction_response_id.clone().unwrap_or_default();
                if let Some(body) = self.current_body(thread) {
                    body.compactions.push((ts, id));
                }
                let summary = compacted.message.as_deref().unwrap_or_default();
                self.threads[thread.0].compacted(summary);
            }
            _ => {}
        }
        let t = &mut self.threads[thread.0];
        t.last_ts = ts.or(t.last_ts);
    }

    /// The thread's latest call is settled by any meaningful record, and ready.
    fn settle_previous_call(&mut self, thread: ThreadIx, record: &RolloutRecord) {
        if !settles(record) {
            return;
        }
        if let Some(mut call) = self.threads[thread.0].unsettled.take() {
            call.settle(record);
            self.ready.push_back(Ready::Call(call));
        }
    }

    /// The rollout facts of the thread's current turn, while it is open.
    fn current_body(&mut self, thread: ThreadIx) -> Option<&mut TurnBody> {
        let ix = self.threads[thread.0].current_turn?;
        self.turns[ix.0].body_mut()
    }

    fn apply_event(&mut self, thread: ThreadIx, event: &EventMsg, ts: Option<SystemTime>) {
        match event {
            EventMsg::TaskStarted { turn_id, .. } => {
                self.threads[thread.0].turn_source = TurnSource::Tasks;
                self.start_turn(thread, turn_id, ts);
            }
            EventMsg::TaskComplete {
                turn_id,
                last_agent_message,
                error,
                ..
            } => {
                let end = RolloutEnd::Complete {
                    at: ts,
                    error: error.clone(),
                };
                let ix = self.turn_by_id.get(turn_id).copied();
                self.end_turn(ix, end, last_agent_message.clone());
            }
            EventMsg::TurnAborted { turn_id, reason } => {
                let ix = match turn_id {
                    Some(id) => self.turn_by_id.get(id).copied(),
                    None => self.threads[thread.0].current_turn,
                };
                let reason = reason.clone().unwrap_or_else(|| "aborted".to_owned());
                self.end_turn(ix, RolloutEnd::Aborted { at: ts, reason }, None);
            }
            EventMsg::ItemCompleted { item, .. } => self.apply_completed_item(thread, item),
            EventMsg::CommandEnd {
                call_id,
                exit_code,
                status,
            } => {
                if let Some(tool) = self.tools.get_mut(call_id) {
                    let exec = &mut tool.exec;
                    exec.exit_code = exec.exit_code.or(*exit_code);
                    exec.status = exec.status.take().or(status.clone());
                }
            }
            EventMsg::TokenCount {
                total: Some(total),
                last: Some(last),
            } => {
                let source = &mut self.threads[thread.0].usage_source;
                if let Some(usage) = source.count(*total, *last) {
                    let call = Recorded {
                        usage,
                        ..Recorded::default()
                    };
                    self.record_call(thread, call, ts);
                }
            }
            _ => {}
        }
    }

    fn start_turn(&mut self, thread: ThreadIx, turn_id: &str, ts: Option<SystemTime>) {
        let ix = self.turn_named(turn_id);
        self.threads[thread.0].current_turn = Some(ix);
        if self.turns[ix.0].started() {
            return;
        }
        let t = &mut self.threads[thread.0];
        t.turn_count += 1;
        let body = TurnBody {
            thread,
            index: t.turn_count,
            start: ts,
            model: t.model.clone(),
            ..TurnBody::default()
        };
        self.update_turn(ix, |turn| {
            turn.index = Some(body.index);
            turn.phase = TurnPhase::Open(Box::new(body));
        });
    }

    /// In a rollout without `task_started` records, a user prompt ends the thread's current turn
    /// (at the latest record before it) and starts the next, with an id made of the thread id
    /// and the turn's position.
    fn start_prompt_turn(&mut self, thread: ThreadIx, ts: Option<SystemTime>) {
        let t = &mut self.threads[thread.0];
        if t.turn_source == TurnSource::Tasks {
            return;
        }
        t.turn_source = TurnSource::Prompts;
        let id = format!("{}#prompt-{}", t.id().unwrap_or_default(), t.turn_count + 1);
        let previous = t.current_turn;
        let end = RolloutEnd::Complete {
            at: t.last_ts,
            error: None,
        };
        self.end_turn(previous, end, None);
        self.start_turn(thread, &id, ts);
    }

    /// Records a turn's end: the turn is ready.
    fn end_turn(&mut self, ix: Option<TurnIx>, end: RolloutEnd, answer: Option<String>) {
        let Some(ix) = ix else { return };
        let turn = &mut self.turns[ix.0];
        let TurnPhase::Open(body) = std::mem::replace(&mut turn.phase, TurnPhase::Announced) else {
            if let TurnPhase::Ending(body, _) = &mut turn.phase {
                body.last_assistant_message = answer.or(body.last_assistant_message.take());
            }
            return;
        };
        let mut body = body;
        if answer.is_some() {
            body.last_assistant_message = answer;
        }
        turn.phase = TurnPhase::Ending(body, end);
        self.ready.push_back(Ready::Turn(ix));
    }

    fn apply_completed_item(&mut self, thread: ThreadIx, item: &Item) {
        match item {
            Item::CommandExecution {
                id,
                exit_code,
                status,
                actions,
            } => {
                if let Some(tool) = self.tools.get_mut(id) {
                    tool.exec.exit_code = *exit_code;
                    tool.exec.status = status.clone();
                    tool.exec.skill = skill_use(&self.threads[thread.0].skills, actions);
                }
            }
            Item::CollabAgentToolCall {
                id,
                tool,
                receiver_thread_ids,
            } if tool == "spawn_agent" => {
                for child in receiver_thread_ids {
                    self.agent_named(child).spawn_call_id = Some(id.clone());
                }
            }
            Item::Other(kind) if kind == "Reasoning" || kind == "AgentMessage" => {
                self.threads[thread.0].begin_output();
            }
            _ => {}
        }
    }

    fn apply_item(&mut self, thread: ThreadIx, item: &ResponseItem, ts: Option<SystemTime>) {
        match item {
            ResponseItem::Message(message) if message.role == "assistant" => {
                let text = message.text();
                self.push_output(thread, Part::Text(text.clone()));
                if let Some(body) = self.current_body(thread) {
                    body.last_assistant_message = Some(text);
                }
            }
            ResponseItem::Message(message) => self.push_input_message(thread, message, ts),
            ResponseItem::Reasoning { summary, .. } => {
                self.threads[thread.0].begin_output();
                if !summary.is_empty() {
                    self.push_output(thread, Part::Reasoning(summary.join("\n")));
                }
            }
            ResponseItem::ToolCall(call) => self.push_tool_call(thread, call, ts),
            ResponseItem::HostedToolCall(call) => self.push_hosted_call(thread, call, ts),
            ResponseItem::ToolOutput { call_id, output } => {
                self.push_tool_output(thread, call_id, output, ts)
            }
            ResponseItem::Other(_) => {}
        }
    }

    fn push_input_message(&mut self, thread: ThreadIx, message: &Message, ts: Option<SystemTime>) {
        let text = message.text();
        if message.is_user_prompt() {
            self.start_prompt_turn(thread, ts);
            if let Some(body) = self.current_body(thread) {
                body.prompt.get_or_insert_with(|| text.clone());
            }
        }
        self.learn_skills(thread, message, ts);
        self.threads[thread.0].add_input(ChatMessage::single(&message.role, Part::Text(text)));
    }

    /// A skills catalog teaches the thread its skills; a skill Codex injected (never text the
    /// user typed, however it looks) is also a load of it into the current turn, once.
    fn learn_skills(&mut self, thread: ThreadIx, message: &Message, ts: Option<SystemTime>) {
        let injected_by_codex = message.role == "user" && !message.is_user_prompt();
        for text in &message.texts {
            if message.role == "developer" {
                self.threads[thread.0].skills.learn(skills::catalog(text));
            } else if let Some(skill) = skills::injected(text).filter(|_| injected_by_codex) {
                self.load_skill(thread, skill, text, ts);
            }
        }
    }

    /// A skill Codex injected: known to the thread from now on, and loaded into the current
    /// turn (once per turn).
    fn load_skill(&mut self, thread: ThreadIx, skill: Skill, text: &str, ts: Option<SystemTime>) {
        self.threads[thread.0].skills.learn([skill.clone()]);
        let Some(body) = self.current_body(thread) else {
            return;
        };
        if !body.skill_loads.iter().any(|l| l.skill.name == skill.name) {
            body.skill_loads.push(SkillLoad {
                skill,
                instructions: text.to_owned(),
                at: ts,
            });
        }
    }

    fn push_output(&mut self, thread: ThreadIx, part: Part) {
        self.threads[thread.0].begin_output().outputs.push(part);
    }

    fn push_tool_call(&mut self, thread: ThreadIx, call: &RolloutToolCall, ts: Option<SystemTime>) {
        self.push_output(
            thread,
            Part::ToolCall {
                id: call.call_id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
            },
        );
        let request = |turn| ToolRequest {
            turn,
            name: call.name.clone(),
            namespace: call.namespace.clone(),
            item_type: call.item_type.clone(),
            arguments: call.arguments.clone(),
            start: ts,
        };
        self.request_tool(thread, &call.call_id, request);
    }

    /// A call the provider ran (a web search, an image generation): requested and finished at
    /// its record, which says how it went.
    fn push_hosted_call(
        &mut self,
        thread: ThreadIx,
        call: &HostedToolCall,
        ts: Option<SystemTime>,
    ) {
        self.threads[thread.0].begin_output();
        let request = |turn| ToolRequest {
            turn,
            name: call.name.clone(),
            namespace: None,
            item_type: call.item_type.clone(),
            arguments: call.arguments.clone(),
            start: ts,
        };
        if !self.request_tool(thread, &call.id, request) {
            return;
        }
        let status = call.status.clone().unwrap_or_default();
        let at = ts.or(self.threads[thread.0].last_ts).unwrap_or(UNIX_EPOCH);
        if let Some(tool) = self.tools.get_mut(&call.id) {
            tool.exec.status = call.status.clone();
            tool.finish(at, status);
        }
        self.tool_finished(&call.id, Some(at));
    }

    /// Records a tool call's request in the thread's current turn; false (with a notice) when
    /// there is no open turn or the call was recorded before.
    fn request_tool(
        &mut self,
        thread: ThreadIx,
        call_id: &str,
        request: impl FnOnce(TurnIx) -> ToolRequest,
    ) -> bool {
        let current = self.threads[thread.0].current_turn;
        let Some(turn) = current.filter(|ix| self.turns[ix.0].body_mut().is_some()) else {
            self.notices
                .push(Notice::ToolWithoutTurn(call_id.to_owned()));
            return false;
        };
        if !self.tools_seen.insert(call_id.to_owned()) {
            self.notices.push(Notice::Duplicate(call_id.to_owned()));
            return false;
        }
        if let Some(body) = self.turns[turn.0].body_mut() {
            body.tools.push(call_id.to_owned());
        }
        let tool = self
            .tools
            .entry(call_id.to_owned())
            .or_insert_with(|| ToolCall::new(call_id));
        tool.request(request(turn));
        true
    }

    fn push_tool_output(
        &mut self,
        thread: ThreadIx,
        call_id: &str,
        output: &str,
        ts: Option<SystemTime>,
    ) {
        let end = ts.or(self.threads[thread.0].last_ts);
        let known = self.tools.get_mut(call_id);
        let finished = match (known, end) {
            (Some(tool), Some(end)) => Some(tool.finish(end, output.to_owned())),
            (Some(_), None) => Some(false),
            (None, _) => None,
        };
        match finished {
            Some(true) => self.tool_finished(call_id, end),
            Some(false) => {}
            None if self.tools_seen.contains(call_id) => {
                self.notices.push(Notice::Duplicate(call_id.to_owned()))
            }
            None => self
                .notices
                .push(Notice::OutputWithoutCall(call_id.to_owned())),
        }
        let response = Part::ToolResponse {
            id: call_id.to_owned(),
            response: output.to_owned(),
        };
        self.threads[thread.0].add_input(ChatMessage::single("tool", response));
    }

    /// A tool call's output is recorded: its turn saw it, and the call is ready.
    fn tool_finished(&mut self, call_id: &str, at: Option<SystemTime>) {
        let turn = self
            .tools
            .get(call_id)
            .and_then(|t| t.request_ref())
            .map(|r| r.turn);
        if let (Some(turn), Some(at)) = (turn, at) {
            if let Some(body) = self.turns[turn.0].body_mut() {
                body.saw(at);
            }
        }
        self.ready.push_back(Ready::Tool(call_id.to_owned()));
    }

    /// Records one model call: its usage (from a `token_usage_record`, or a `token_count`
    /// change), the outputs drafted since its first output, the inputs since the previous call.
    fn record_call(&mut self, thread: ThreadIx, record: Recorded<'_>, ts: Option<SystemTime>) {
        let t = &mut self.threads[thread.0];
        let draft = t.draft.take().unwrap_or_default();
        let inputs = t.take_inputs(&draft.outputs);
        let thread_id = t.id().unwrap_or_default().to_owned();
        let key = match record.response_id {
            Some(id) => CallKey::Response(id.to_owned()),
            None => CallKey::Position {
                thread: thread_id.clone(),
                index: t.call_count,
            },
        };
        t.call_count += 1;
        if !self.calls_seen.insert(key.clone()) {
            self.notices.push(Notice::Duplicate(key_text(&key)));
            return;
        }
        let turn_start = t.current_turn.and_then(|ix| match &self.turns[ix.0].phase {
            TurnPhase::Open(body) | TurnPhase::Ending(body, _) => body.start,
            _ => None,
        });
        let end = match ts
            .or(t.last_ts)
            .or(draft.start)
            .or(turn_start)
            .or(t.started)
        {
            Some(end) => end,
            None => {
                self.notices.push(Notice::CallWithoutTime(key_text(&key)));
                UNIX_EPOCH
            }
        };
        let t = &mut self.threads[thread.0];
        let first_call = t.call_count == 1;
        let full_history = t.full_history();
        let system_instructions = (full_history || first_call)
            .then(|| t.meta.as_ref().and_then(|m| m.base_instructions.as_ref()))
            .flatten()
            .map(|b| b.text.clone());
        let previous_response_id = match record.response_id {
            Some(id) => t.previous_response_id.replace(id.to_owned()),
            None => t.previous_response_id.clone(),
        };
        let turn = match record.turn_id {
            Some(id) => self.turn_by_id.get(id).copied(),
            None => self.threads[thread.0].current_turn,
        };
        let turn_id = turn.map(|ix| self.turns[ix.0].id.as_str());
        let hooked = self
            .requests
            .take_times(record.response_id, turn_id, record.usage)
            .unwrap_or_default();
        let t = &self.threads[thread.0];
        let end = hooked.answered.unwrap_or(end);
        let start = hooked
            .sent
            .unwrap_or_else(|| call_start(draft.start, t.last_ts, end))
            .min(end);
        let call = ModelCall {
            key,
            place: CallPlace::Thread,
            thread_id,
            model: t.model.clone(),
            usage: record.usage,
            start,
            end,
            inputs,
            system_instructions,
            outputs: draft.outputs,
            previous_response_id,
            phase: CallPhase::Recorded,
        };
        self.place_call(thread, turn, record.root_turn_id, Box::new(call));
    }

    /// Puts a recorded call under its turn (adding its usage there), or, when its turn is
    /// unknown, under its thread, counted in the thread's and the current run's totals.
    fn place_call(
        &mut self,
        thread: ThreadIx,
        turn: Option<TurnIx>,
        root_turn_id: Option<&str>,
        mut call: Box<ModelCall>,
    ) {
        let usage = call.usage;
        let end = call.end;
        let t = &mut self.threads[thread.0];
        if t.served_turn.is_none() {
            t.served_turn = root_turn_id.map(str::to_owned);
        }
        let placed = turn.filter(|ix| self.turns[ix.0].started());
        match placed.map(|ix| (ix, self.turns[ix.0].body_mut())) {
            Some((ix, Some(body))) => {
                body.usage += usage;
                body.saw(end);
                call.place = CallPlace::Turn(ix);
            }
            Some((ix, None)) => {
                // The turn is already out: its span cannot count the call any more.
                let run = self.turns[ix.0].run();
                self.threads[thread.0].tally.usage += usage;
                self.runs[run].tally.usage += usage;
                call.place = CallPlace::Turn(ix);
            }
            None => {
                self.notices
                    .push(Notice::CallWithoutTurn(key_text(&call.key)));
                let run = self.current_run();
                self.threads[thread.0].tally.usage += usage;
                self.runs[run].tally.usage += usage;
            }
        }
        self.threads[thread.0].unsettled = Some(call);
    }
}

/// What the rollout says of one model call's usage.
#[derive(Debug, Default)]
struct Recorded<'a> {
    response_id: Option<&'a str>,
    turn_id: Option<&'a str>,
    root_turn_id: Option<&'a str>,
    usage: TokenUsage,
}

fn key_text(key: &CallKey) -> String {
    match key {
        CallKey::Response(id) => id.clone(),
        CallKey::Position { thread, index } => format!("{thread}#{index}"),
    }
}
