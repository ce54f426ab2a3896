//! What the session machine remembers between inputs: threads (one per rollout file), turns,
//! model calls, tool calls, runs and sub-agents. Plain data; the rules live in `machine.rs`.

use super::messages::{ChatMessage, Part};
use crate::codex::rollout::{SessionMeta, TokenUsage, TurnError};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// One rollout file: a thread of the session (the root or a sub-agent).
#[derive(Debug, Default)]
pub(crate) struct ThreadState {
    /// From `session_meta`.
    pub(crate) meta: Option<SessionMeta>,
    /// When `session_meta` was written.
    pub(crate) started: Option<SystemTime>,
    /// The model of the latest `turn_context`.
    pub(crate) model: Option<String>,
    /// The latest `task_started` turn.
    pub(crate) current_turn: Option<String>,
    /// Turns started so far in this thread.
    pub(crate) turn_count: u32,
    /// Timestamp of the latest record.
    pub(crate) last_ts: Option<SystemTime>,
    /// Messages added since the previous model call: the next call's new input.
    pub(crate) pending_inputs: Vec<ChatMessage>,
    /// Every message so far (for full-history mode).
    pub(crate) history: Vec<ChatMessage>,
    /// The call whose output is being recorded.
    pub(crate) open_call: Option<CallDraft>,
    /// The latest completed call's response id.
    pub(crate) previous_response_id: Option<String>,
    /// The latest call, until the thread's next record settles it: `(turn id, response id)`.
    pub(crate) unsettled: Option<(String, String)>,
}

/// A model call whose outputs are arriving and whose usage record has not.
#[derive(Debug, Default)]
pub(crate) struct CallDraft {
    pub(crate) start: Option<SystemTime>,
    pub(crate) outputs: Vec<Part>,
}

/// A finished model call (one `token_usage_record`).
#[derive(Debug)]
pub(crate) struct CallState {
    pub(crate) response_id: String,
    pub(crate) thread_id: String,
    pub(crate) model: Option<String>,
    pub(crate) usage: TokenUsage,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    pub(crate) inputs: Vec<ChatMessage>,
    pub(crate) system_instructions: Option<String>,
    pub(crate) outputs: Vec<Part>,
    pub(crate) previous_response_id: Option<String>,
    /// A later record of the thread has been read, so a `compacted` record can no longer
    /// follow and mark this call.
    pub(crate) settled: bool,
    /// The call produced a compaction's summary.
    pub(crate) compaction: bool,
    pub(crate) emitted: bool,
}

impl CallState {
    /// `tool_call` when the model asked for tools, `stop` otherwise.
    pub(crate) fn finish_reason(&self) -> &'static str {
        if self.calls_tools() {
            "tool_call"
        } else {
            "stop"
        }
    }

    /// True when the call's output contains a tool call (so the turn goes on).
    pub(crate) fn calls_tools(&self) -> bool {
        self.outputs
            .iter()
            .any(|p| matches!(p, Part::ToolCall { .. }))
    }
}

/// What hooks said about one tool call.
#[derive(Debug, Default)]
pub(crate) struct ToolHooks {
    pub(crate) hook_name: Option<String>,
    pub(crate) permission_requests: Vec<PermissionAsk>,
}

/// A PermissionRequest hook, attached to the tool call it was about.
#[derive(Debug, Clone)]
pub(crate) struct PermissionAsk {
    pub(crate) received_at: Option<SystemTime>,
    pub(crate) command: Option<String>,
    pub(crate) reason: Option<String>,
}

/// One tool call, from its `function_call` record to its output.
#[derive(Debug)]
pub(crate) struct ToolState {
    pub(crate) call_id: String,
    pub(crate) name: String,
    pub(crate) namespace: Option<String>,
    pub(crate) item_type: String,
    pub(crate) arguments: String,
    pub(crate) start: Option<SystemTime>,
    pub(crate) output: Option<(SystemTime, String)>,
    pub(crate) exit_code: Option<i64>,
    pub(crate) exec_status: Option<String>,
    pub(crate) emitted: bool,
}

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

/// One turn of one thread.
#[derive(Debug, Default)]
pub(crate) struct TurnState {
    pub(crate) thread_path: String,
    pub(crate) index: u32,
    pub(crate) start: Option<SystemTime>,
    pub(crate) prompt: Option<String>,
    pub(crate) last_assistant_message: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) calls: Vec<CallState>,
    /// Tool calls in the order the model made them.
    pub(crate) tools: Vec<ToolState>,
    pub(crate) compactions: Vec<(Option<SystemTime>, String)>,
    pub(crate) rollout_end: Option<RolloutEnd>,
    /// Root turn id from the rollout (the spawning turn, for sub-agent threads).
    pub(crate) root_turn_id: Option<String>,
    /// The turn span's end time, once emitted.
    pub(crate) closed: Option<SystemTime>,
}

/// A run of the session: the first `codex exec` (index 0) or a later `exec resume`.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    pub(crate) started: Option<SystemTime>,
    pub(crate) permission_mode: Option<String>,
    /// SessionEnd seen, with its receive time when known.
    pub(crate) ended: Option<Option<SystemTime>>,
    /// Whether any hook marked this run (run 0 without hooks closes only at finish).
    pub(crate) hooked: bool,
    pub(crate) emitted: bool,
}

/// A sub-agent thread.
#[derive(Debug, Default)]
pub(crate) struct AgentState {
    pub(crate) agent_type: Option<String>,
    pub(crate) spawn_call_id: Option<String>,
    /// The agent span's end time, once emitted (or `UNIX_EPOCH` when given up on).
    pub(crate) emitted: Option<SystemTime>,
}

/// All state of one session, keyed for deterministic iteration.
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    /// Rollout files by path, in the order first seen.
    pub(crate) threads: BTreeMap<String, ThreadState>,
    pub(crate) thread_order: Vec<String>,
    pub(crate) turns: BTreeMap<String, TurnState>,
    pub(crate) turn_order: Vec<String>,
    pub(crate) runs: Vec<RunState>,
    /// The run each turn belongs to, from UserPromptSubmit hooks.
    pub(crate) turn_runs: BTreeMap<String, usize>,
    pub(crate) agents: BTreeMap<String, AgentState>,
    pub(crate) tool_hooks: BTreeMap<String, ToolHooks>,
    /// The latest PreToolUse call id per turn (PermissionRequest carries no call id).
    pub(crate) last_pre_tool: BTreeMap<String, String>,
    /// Interrupt hooks by turn.
    pub(crate) interrupt_hooks: BTreeMap<String, Option<SystemTime>>,
    /// PreCompact/PostCompact triggers by turn.
    pub(crate) compaction_triggers: BTreeMap<String, String>,
    /// Response ids of compaction summarization calls.
    pub(crate) compaction_responses: Vec<String>,
    pub(crate) first_hook_at: Option<SystemTime>,
    pub(crate) cwd: Option<String>,
    pub(crate) hook_model: Option<String>,
    /// Transcript paths named by hooks, in the order first seen.
    pub(crate) transcripts: Vec<String>,
    pub(crate) root_emitted: bool,
}
