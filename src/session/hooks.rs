//! How hook events update the session's units: runs (start, resume, end), which run a turn
//! belongs to, interrupts, tool-call hook names, permission requests, compaction triggers,
//! sub-agent types and the transcript files to read.
//!
//! Hooks may arrive before the rollout records they refer to, so a hook about a turn or a tool
//! call it does not know yet creates that unit (announced) and the rollout fills it in later.

use super::units::{PermissionAsk, Run, RunStart, SessionState, ToolCall, TurnIx};
use crate::codex::hook_event::{HookEvent, HookKind};
use serde_json::Value;
use std::time::SystemTime;

impl SessionState {
    /// Applies one hook event received at `received_at` (unknown for recorded fixtures).
    pub(crate) fn apply_hook(&mut self, event: &HookEvent, received_at: Option<SystemTime>) {
        let common = &event.common;
        let facts = &mut self.facts;
        facts.first_hook_at = facts.first_hook_at.or(received_at);
        facts.cwd = facts.cwd.take().or_else(|| common.cwd.clone());
        facts.hook_model = facts.hook_model.take().or_else(|| common.model.clone());
        if let Some(path) = &common.transcript_path {
            self.add_transcript(path);
        }
        let turn = common
            .turn_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .map(|id| self.turn_named(id));
        match &event.kind {
            HookKind::SessionStart { source } => {
                self.start_run(source.as_deref(), received_at, &common.permission_mode)
            }
            HookKind::SessionEnd { .. } => {
                if let Some(run) = self.runs.last_mut() {
                    run.end(received_at);
                }
            }
            HookKind::UserPromptSubmit { .. } => {
                if let Some(ix) = turn {
                    let current = self.current_run();
                    self.update_turn(ix, |t| t.hooks.run = t.hooks.run.or(Some(current)));
                }
            }
            HookKind::PreToolUse(tool) | HookKind::PostToolUse(tool) => {
                let Some(call_id) = &tool.tool_use_id else {
                    return;
                };
                if let Some(call) = self.tool_named(call_id) {
                    call.hooks
                        .hook_name
                        .get_or_insert_with(|| tool.tool_name.clone());
                }
                // Codex asks for permission between a call's PreToolUse and its run, so only
                // PreToolUse names the call a following PermissionRequest is about.
                if let (HookKind::PreToolUse(_), Some(ix)) = (&event.kind, turn) {
                    self.turns[ix.0].hooks.last_pre_tool = Some(call_id.clone());
                }
            }
            HookKind::PermissionRequest(tool) => {
                let ask = PermissionAsk {
                    received_at,
                    command: input_text(&tool.tool_input, "command"),
                    reason: input_text(&tool.tool_input, "description"),
                };
                let call_id = turn.and_then(|ix| self.turns[ix.0].hooks.last_pre_tool.clone());
                if let Some(call) = call_id.and_then(|id| self.tool_named(&id)) {
                    call.hooks.permission_requests.push(ask);
                }
            }
            HookKind::PreCompact { trigger } | HookKind::PostCompact { trigger } => {
                if let (Some(trigger), Some(ix)) = (trigger, turn) {
                    self.turns[ix.0].hooks.compaction_trigger = Some(trigger.clone());
                }
            }
            HookKind::SubagentStart => {
                if let Some(agent_id) = &common.agent_id {
                    let agent = self.agent_named(agent_id);
                    agent.agent_type = agent.agent_type.take().or(common.agent_type.clone());
                }
            }
            HookKind::SubagentStop {
                agent_transcript_path: Some(path),
                ..
            } => self.add_transcript(path),
            HookKind::PreModelRequest(request) => {
                let turn_id = common.turn_id.as_deref();
                self.requests.sent(turn_id, request, received_at);
            }
            HookKind::PostModelRequest(result) => {
                let (turn_id, model) = (common.turn_id.as_deref(), common.model.as_deref());
                let failed = self.requests.answered(turn_id, model, result, received_at);
                if let (Some(failed), Some(ix)) = (failed, turn) {
                    self.turns[ix.0].hooks.failed_requests.push(failed);
                }
            }
            HookKind::Interrupt => {
                if let Some(TurnIx(ix)) = turn {
                    let hooks = &mut self.turns[ix].hooks;
                    hooks.interrupted = hooks.interrupted.or(Some(received_at));
                }
            }
            _ => {}
        }
    }

    /// The tool call `call_id`, created (announced) when first seen; `None` once emitted.
    fn tool_named(&mut self, call_id: &str) -> Option<&mut ToolCall> {
        if !self.tools.contains_key(call_id) && self.tools_seen.contains(call_id) {
            return None;
        }
        Some(
            self.tools
                .entry(call_id.to_owned())
                .or_insert_with(|| ToolCall::new(call_id)),
        )
    }

    fn start_run(
        &mut self,
        source: Option<&str>,
        received_at: Option<SystemTime>,
        permission_mode: &Option<String>,
    ) {
        let run = match source {
            Some("resume") => {
                self.runs.push(Run::default());
                self.runs.last_mut()
            }
            Some("compact") => None,
            _ => self
                .runs
                .first_mut()
                .filter(|run| run.start == RunStart::Unhooked),
        };
        if let Some(run) = run {
            run.start = RunStart::Hooked {
                at: received_at,
                permission_mode: permission_mode.clone(),
            };
        }
    }

    fn add_transcript(&mut self, path: &str) {
        let transcripts = &mut self.facts.transcripts;
        if !transcripts.iter().any(|p| p == path) {
            transcripts.push(path.to_owned());
        }
    }
}

fn input_text(input: &Value, key: &str) -> Option<String> {
    input.get(key).and_then(Value::as_str).map(str::to_owned)
}
