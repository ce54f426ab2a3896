//! How hook events update the session state: runs (start, resume, end), which run a turn
//! belongs to, interrupts, tool-call hook names, permission
//! requests, compaction triggers and the transcript files to read.
//!
//! Hooks may arrive before the rollout records they refer to, so everything here is keyed by
//! turn id or call id and looked up when spans are built.

use super::state::{PermissionAsk, RunState, SessionState};
use crate::codex::hook_event::{HookEvent, HookKind};
use serde_json::Value;
use std::time::SystemTime;

impl SessionState {
    /// Applies one hook event received at `received_at` (unknown for recorded fixtures).
    pub(crate) fn apply_hook(&mut self, event: &HookEvent, received_at: Option<SystemTime>) {
        let common = &event.common;
        self.first_hook_at = self.first_hook_at.or(received_at);
        if let Some(path) = &common.transcript_path {
            self.add_transcript(path);
        }
        self.cwd = self.cwd.take().or_else(|| common.cwd.clone());
        self.hook_model = self.hook_model.take().or_else(|| common.model.clone());
        let turn_id = common.turn_id.clone().unwrap_or_default();
        match &event.kind {
            HookKind::SessionStart { source } => {
                self.start_run(source.as_deref(), received_at, &common.permission_mode)
            }
            HookKind::SessionEnd { .. } => {
                if let Some(run) = self.runs.last_mut() {
                    run.ended = Some(received_at);
                }
            }
            HookKind::UserPromptSubmit { .. } => {
                let current = self.runs.len() - 1;
                self.turn_runs.entry(turn_id).or_insert(current);
            }
            HookKind::PreToolUse(tool) | HookKind::PostToolUse(tool) => {
                let Some(call_id) = &tool.tool_use_id else {
                    return;
                };
                let hooks = self.tool_hooks.entry(call_id.clone()).or_default();
                hooks
                    .hook_name
                    .get_or_insert_with(|| tool.tool_name.clone());
                // Codex asks for permission between a call's PreToolUse and its run, so only
                // PreToolUse names the call a following PermissionRequest is about.
                if matches!(event.kind, HookKind::PreToolUse(_)) {
                    self.last_pre_tool.insert(turn_id, call_id.clone());
                }
            }
            HookKind::PermissionRequest(tool) => {
                let ask = PermissionAsk {
                    received_at,
                    command: input_text(&tool.tool_input, "command"),
                    reason: input_text(&tool.tool_input, "description"),
                };
                if let Some(call_id) = self.last_pre_tool.get(&turn_id) {
                    let hooks = self.tool_hooks.entry(call_id.clone()).or_default();
                    hooks.permission_requests.push(ask);
                }
            }
            HookKind::PreCompact { trigger } | HookKind::PostCompact { trigger } => {
                if let Some(trigger) = trigger {
                    self.compaction_triggers.insert(turn_id, trigger.clone());
                }
            }
            HookKind::SubagentStart => {
                if let Some(agent) = &common.agent_id {
                    let state = self.agents.entry(agent.clone()).or_default();
                    state.agent_type = state.agent_type.take().or(common.agent_type.clone());
                }
            }
            HookKind::SubagentStop {
                agent_transcript_path: Some(path),
                ..
            } => self.add_transcript(path),
            HookKind::Interrupt => {
                self.interrupt_hooks.entry(turn_id).or_insert(received_at);
            }
            _ => {}
        }
    }

    fn start_run(
        &mut self,
        source: Option<&str>,
        received_at: Option<SystemTime>,
        permission_mode: &Option<String>,
    ) {
        let run = match source {
            Some("resume") => {
                self.runs.push(RunState::default());
                self.runs.last_mut()
            }
            Some("compact") => None,
            _ => self.runs.first_mut().filter(|run| !run.hooked),
        };
        if let Some(run) = run {
            run.hooked = true;
            run.started = received_at;
            run.permission_mode = permission_mode.clone();
        }
    }

    fn add_transcript(&mut self, path: &str) {
        if !self.transcripts.iter().any(|p| p == path) {
            self.transcripts.push(path.to_owned());
        }
    }
}

fn input_text(input: &Value, key: &str) -> Option<String> {
    input.get(key).and_then(Value::as_str).map(str::to_owned)
}
