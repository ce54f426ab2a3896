//! How rollout records update the session state: threads, turns, model calls and tool calls.
//!
//! A model call's start is the time of the record just before its first output item (the
//! request was sent once its input was recorded); its end is its `token_usage_record`. Its new
//! input is every message recorded since the previous call of the same thread.

use super::messages::{ChatMessage, Part};
use super::state::{
    CallDraft, CallState, RolloutEnd, SessionState, ThreadState, ToolState, TurnState,
};
use crate::codex::rollout::{
    EventMsg, Item, Message, ResponseItem, RolloutLine, RolloutRecord, TokenUsageRecord, ToolCall,
};
use std::time::SystemTime;

impl SessionState {
    /// Applies one record of the rollout file at `path`.
    pub(crate) fn apply_record(&mut self, path: &str, line: &RolloutLine, full_history: bool) {
        if !self.threads.contains_key(path) {
            self.thread_order.push(path.to_owned());
        }
        let ts = line.timestamp;
        self.settle_previous_call(path, &line.record);
        match &line.record {
            RolloutRecord::SessionMeta(meta) => {
                let thread = self.threads.entry(path.to_owned()).or_default();
                thread.meta = Some(meta.clone());
                thread.started = thread.started.or(ts);
                if meta.parent_thread_id.is_some() {
                    self.agents.entry(meta.id.clone()).or_default();
                }
            }
            RolloutRecord::TurnContext(context) => {
                let thread = self.threads.entry(path.to_owned()).or_default();
                thread.model = context.model.clone().or(thread.model.take());
                if let Some(turn) = context.turn_id.as_ref().and_then(|t| self.turns.get_mut(t)) {
                    turn.model = context.model.clone().or(turn.model.take());
                }
            }
            RolloutRecord::Event(event) => self.apply_event(path, event, ts),
            RolloutRecord::ResponseItem(item) => self.apply_item(path, item, ts, full_history),
            RolloutRecord::TokenUsage(record) => self.apply_usage(path, record, ts, full_history),
            RolloutRecord::Compacted(compacted) => {
                let id = compacted.compaction_response_id.clone().unwrap_or_default();
                self.compaction_responses.push(id.clone());
                if let Some(turn) = self.current_turn_mut(path) {
                    turn.compactions.push((ts, id));
                }
                if full_history {
                    let thread = self.threads.entry(path.to_owned()).or_default();
                    let summary = compacted.message.clone().unwrap_or_default();
                    thread.history = vec![ChatMessage::single("user", Part::Text(summary))];
                }
            }
            _ => {}
        }
        let thread = self.threads.entry(path.to_owned()).or_default();
        thread.last_ts = ts.or(thread.last_ts);
    }

    /// The next meaningful record after a call settles it (bookkeeping such as `token_count` or
    /// `world_state` does not); a `compacted` record naming it marks it as the compaction's
    /// summary call.
    fn settle_previous_call(&mut self, path: &str, record: &RolloutRecord) {
        if matches!(
            record,
            RolloutRecord::Other(_) | RolloutRecord::Event(EventMsg::Other(_))
        ) {
            return;
        }
        let Some((turn_id, response_id)) =
            self.threads.get_mut(path).and_then(|t| t.unsettled.take())
        else {
            return;
        };
        let compaction = matches!(record, RolloutRecord::Compacted(c)
            if c.compaction_response_id.as_deref() == Some(response_id.as_str()));
        let turn = self.turns.get_mut(&turn_id);
        if let Some(call) =
            turn.and_then(|t| t.calls.iter_mut().find(|c| c.response_id == response_id))
        {
            call.settled = true;
            call.compaction = compaction;
        }
    }

    fn current_turn_mut(&mut self, path: &str) -> Option<&mut TurnState> {
        let turn_id = self.threads.get(path)?.current_turn.clone()?;
        self.turns.get_mut(&turn_id)
    }

    fn apply_event(&mut self, path: &str, event: &EventMsg, ts: Option<SystemTime>) {
        match event {
            EventMsg::TaskStarted { turn_id, .. } => {
                let thread = self.threads.entry(path.to_owned()).or_default();
                thread.current_turn = Some(turn_id.clone());
                if self.turns.contains_key(turn_id) {
                    return;
                }
                thread.turn_count += 1;
                let turn = TurnState {
                    thread_path: path.to_owned(),
                    index: thread.turn_count,
                    start: ts,
                    model: thread.model.clone(),
                    ..TurnState::default()
                };
                self.turns.insert(turn_id.clone(), turn);
                self.turn_order.push(turn_id.clone());
            }
            EventMsg::TaskComplete {
                turn_id,
                last_agent_message,
                error,
                ..
            } => {
                if let Some(turn) = self.turns.get_mut(turn_id) {
                    let error = error.clone();
                    turn.rollout_end = Some(RolloutEnd::Complete { at: ts, error });
                    if last_agent_message.is_some() {
                        turn.last_assistant_message = last_agent_message.clone();
                    }
                }
            }
            EventMsg::TurnAborted { turn_id, reason } => {
                let turn = match turn_id {
                    Some(id) => self.turns.get_mut(id),
                    None => self.current_turn_mut(path),
                };
                if let Some(turn) = turn {
                    let reason = reason.clone().unwrap_or_else(|| "aborted".to_owned());
                    turn.rollout_end = Some(RolloutEnd::Aborted { at: ts, reason });
                }
            }
            EventMsg::ItemCompleted { item, .. } => self.apply_completed_item(path, item),
            _ => {}
        }
    }

    fn apply_completed_item(&mut self, path: &str, item: &Item) {
        match item {
            Item::CommandExecution {
                id,
                exit_code,
                status,
            } => {
                if let Some(tool) = self.tool_mut(id) {
                    tool.exit_code = *exit_code;
                    tool.exec_status = status.clone();
                }
            }
            Item::CollabAgentToolCall {
                id,
                tool,
                receiver_thread_ids,
            } if tool == "spawn_agent" => {
                for child in receiver_thread_ids {
                    self.agents.entry(child.clone()).or_default().spawn_call_id = Some(id.clone());
                }
            }
            Item::Other(kind) if kind == "Reasoning" || kind == "AgentMessage" => {
                begin_output(self.threads.entry(path.to_owned()).or_default());
            }
            _ => {}
        }
    }

    pub(crate) fn tool_mut(&mut self, call_id: &str) -> Option<&mut ToolState> {
        self.turns
            .values_mut()
            .rev()
            .flat_map(|turn| turn.tools.iter_mut())
            .find(|tool| tool.call_id == call_id)
    }

    fn apply_item(
        &mut self,
        path: &str,
        item: &ResponseItem,
        ts: Option<SystemTime>,
        full_history: bool,
    ) {
        match item {
            ResponseItem::Message(message) if message.role == "assistant" => {
                let text = message.text();
                self.push_output(path, Part::Text(text.clone()));
                if let Some(turn) = self.current_turn_mut(path) {
                    turn.last_assistant_message = Some(text);
                }
            }
            ResponseItem::Message(message) => self.push_input_message(path, message, full_history),
            ResponseItem::Reasoning { summary, .. } => {
                let thread = self.threads.entry(path.to_owned()).or_default();
                begin_output(thread);
                if !summary.is_empty() {
                    self.push_output(path, Part::Reasoning(summary.join("\n")));
                }
            }
            ResponseItem::ToolCall(call) => self.push_tool_call(path, call, ts),
            ResponseItem::ToolOutput { call_id, output } => {
                let end = ts.or(self.threads.get(path).and_then(|t| t.last_ts));
                if let (Some(tool), Some(end)) = (self.tool_mut(call_id), end) {
                    tool.output = Some((end, output.clone()));
                }
                let response = Part::ToolResponse {
                    id: call_id.clone(),
                    response: output.clone(),
                };
                push_input(
                    self.threads.entry(path.to_owned()).or_default(),
                    ChatMessage::single("tool", response),
                    full_history,
                );
            }
            ResponseItem::Other(_) => {}
        }
    }

    fn push_input_message(&mut self, path: &str, message: &Message, full_history: bool) {
        let text = message.text();
        if message.is_user_prompt() {
            if let Some(turn) = self.current_turn_mut(path) {
                turn.prompt.get_or_insert_with(|| text.clone());
            }
        }
        let thread = self.threads.entry(path.to_owned()).or_default();
        push_input(
            thread,
            ChatMessage::single(&message.role, Part::Text(text)),
            full_history,
        );
    }

    fn push_output(&mut self, path: &str, part: Part) {
        let thread = self.threads.entry(path.to_owned()).or_default();
        begin_output(thread);
        if let Some(draft) = thread.open_call.as_mut() {
            draft.outputs.push(part);
        }
    }

    fn push_tool_call(&mut self, path: &str, call: &ToolCall, ts: Option<SystemTime>) {
        self.push_output(
            path,
            Part::ToolCall {
                id: call.call_id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
            },
        );
        let Some(turn) = self.current_turn_mut(path) else {
            return;
        };
        if turn.tools.iter().any(|t| t.call_id == call.call_id) {
            return;
        }
        turn.tools.push(ToolState {
            call_id: call.call_id.clone(),
            name: call.name.clone(),
            namespace: call.namespace.clone(),
            item_type: call.item_type.clone(),
            arguments: call.arguments.clone(),
            start: ts,
            output: None,
            exit_code: None,
            exec_status: None,
            emitted: false,
        });
    }

    fn apply_usage(
        &mut self,
        path: &str,
        record: &TokenUsageRecord,
        ts: Option<SystemTime>,
        full_history: bool,
    ) {
        let thread = self.threads.entry(path.to_owned()).or_default();
        let draft = thread.open_call.take().unwrap_or_default();
        let Some(end) = ts.or(thread.last_ts) else {
            return;
        };
        let inputs = if full_history {
            thread.history.clone()
        } else {
            std::mem::take(&mut thread.pending_inputs)
        };
        if full_history {
            for part in &draft.outputs {
                thread
                    .history
                    .push(ChatMessage::single("assistant", part.clone()));
            }
        }
        let response_id = record.response_id.clone().unwrap_or_default();
        let meta = thread.meta.as_ref();
        let call = CallState {
            response_id: response_id.clone(),
            thread_id: meta.map(|m| m.id.clone()).unwrap_or_default(),
            model: thread.model.clone(),
            usage: record.usage,
            start: draft.start.or(thread.last_ts).unwrap_or(end).min(end),
            end,
            system_instructions: (full_history || thread.previous_response_id.is_none())
                .then(|| {
                    meta.and_then(|m| m.base_instructions.as_ref())
                        .map(|b| b.text.clone())
                })
                .flatten(),
            inputs,
            outputs: draft.outputs,
            previous_response_id: thread.previous_response_id.replace(response_id.clone()),
            settled: false,
            compaction: false,
            emitted: false,
        };
        let turn_id = record
            .turn_id
            .clone()
            .or_else(|| thread.current_turn.clone());
        let Some((turn_id, turn)) = turn_id.and_then(|id| self.turns.get_mut(&id).map(|t| (id, t)))
        else {
            return;
        };
        turn.root_turn_id = turn.root_turn_id.take().or(record.root_turn_id.clone());
        turn.calls.push(call);
        thread.unsettled = Some((turn_id, response_id));
    }
}

/// Marks the start of a model call's output: the call started at the previous record.
fn begin_output(thread: &mut ThreadState) {
    if thread.open_call.is_none() {
        thread.open_call = Some(CallDraft {
            start: thread.last_ts,
            outputs: Vec::new(),
        });
    }
}

fn push_input(thread: &mut ThreadState, message: ChatMessage, full_history: bool) {
    if full_history {
        thread.history.push(message);
    } else {
        thread.pending_inputs.push(message);
    }
}
