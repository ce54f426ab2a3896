//! Rollout transcript lines: `{"timestamp", "ordinal", "type", "payload"}` records that Codex
//! appends to `$CODEX_HOME/sessions/…/rollout-….jsonl`, one file per thread.
//!
//! Only the records codex-otel uses are typed; everything else is [`RolloutRecord::Other`].
//! A known record whose payload does not have the expected shape also becomes `Other`, so a
//! line never fails once it is valid JSON.

mod parse;

use parse::str_field;

use serde::Deserialize;
use serde_json::Value;
use std::time::SystemTime;

/// One line of a rollout file.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutLine {
    /// When Codex wrote the record.
    pub timestamp: Option<SystemTime>,
    /// Position in the thread, as Codex numbers it.
    pub ordinal: Option<u64>,
    /// The record.
    pub record: RolloutRecord,
}

/// The record types codex-otel reads.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RolloutRecord {
    /// First line of a thread's file.
    SessionMeta(SessionMeta),
    /// Per-turn settings, including the model.
    TurnContext(TurnContext),
    /// A model input or output item.
    ResponseItem(ResponseItem),
    /// A UI/lifecycle event.
    Event(EventMsg),
    /// Usage of exactly one model call.
    TokenUsage(TokenUsageRecord),
    /// The result of a compaction.
    Compacted(Compacted),
    /// Any other record type (`world_state`, …), by name.
    Other(String),
}

/// `session_meta`: who the thread is.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SessionMeta {
    /// The thread id.
    pub id: String,
    /// The root thread id.
    pub session_id: Option<String>,
    /// The spawning thread, for sub-agents.
    pub parent_thread_id: Option<String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// `codex_exec`, `codex_cli_rs`, …
    pub originator: Option<String>,
    /// Codex version.
    pub cli_version: Option<String>,
    /// `exec`, `cli`, or a `{"subagent": …}` object.
    pub source: Value,
    /// `user` or `subagent`.
    pub thread_source: Option<String>,
    /// Codex's provider id.
    pub model_provider: Option<String>,
    /// A sub-agent's nickname.
    pub agent_nickname: Option<String>,
    /// A sub-agent's role.
    pub agent_role: Option<String>,
    /// The base instructions sent with every request.
    pub base_instructions: Option<BaseInstructions>,
}

/// `session_meta.base_instructions`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct BaseInstructions {
    /// The instruction text.
    pub text: String,
}

/// `turn_context`: the settings of one turn.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TurnContext {
    /// The turn.
    pub turn_id: Option<String>,
    /// The requested model slug.
    pub model: Option<String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// `never`, `on-request`, …
    pub approval_policy: Option<String>,
    /// Reasoning effort, when set.
    pub effort: Option<String>,
}

/// `response_item` payloads.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResponseItem {
    /// A developer, user or assistant message.
    Message(Message),
    /// A reasoning item with its summary.
    Reasoning {
        /// Item id.
        id: Option<String>,
        /// Summary texts.
        summary: Vec<String>,
    },
    /// A tool call: `function_call`, `custom_tool_call` or `local_shell_call`.
    ToolCall(ToolCall),
    /// A tool the provider ran itself (`web_search_call`, `image_generation_call`): the record
    /// is the whole call, with no output record after it.
    HostedToolCall(HostedToolCall),
    /// A tool's output as the model sees it.
    ToolOutput {
        /// The call it answers.
        call_id: String,
        /// Output text (structured outputs are rendered as JSON).
        output: String,
    },
    /// Any other item type, by name.
    Other(String),
}

/// A message item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    /// Item id.
    pub id: Option<String>,
    /// `developer`, `user`, `assistant`, `system`.
    pub role: String,
    /// The text parts, in order.
    pub texts: Vec<String>,
    /// Provenance from `internal_chat_message_metadata_passthrough.content_item_kinds`.
    pub kinds: Vec<String>,
}

impl Message {
    /// True when the user typed this message (not a message Codex injected).
    pub fn is_user_prompt(&self) -> bool {
        self.role == "user"
            && if self.kinds.is_empty() {
                !self.texts.iter().any(|t| is_injected_user_text(t))
            } else {
                self.kinds.iter().all(|k| k == "user.text")
            }
    }

    /// The text parts joined by newlines.
    pub fn text(&self) -> String {
        self.texts.join("\n")
    }
}

/// True for the user-role texts Codex writes itself (environment context, notifications, …).
fn is_injected_user_text(text: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "<environment_context",
        "# AGENTS.md",
        "<user_instructions",
        "<skill",
        "<subagent_notification",
        "<turn_aborted",
        "<hook_prompt",
        "Another language model started to solve this problem",
    ];
    let text = text.trim_start();
    PREFIXES.iter().any(|p| text.starts_with(p)) || text.contains("CONTEXT CHECKPOINT COMPACTION")
}

/// A tool call item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolCall {
    /// `function_call`, `custom_tool_call`, `local_shell_call`, …
    pub item_type: String,
    /// Model-facing name, e.g. `exec_command`.
    pub name: String,
    /// Namespace for namespaced tools, e.g. `multi_agent_v1`.
    pub namespace: Option<String>,
    /// The call id that the output and the hooks refer to.
    pub call_id: String,
    /// Arguments as the model sent them (usually a JSON string).
    pub arguments: String,
}

/// A hosted tool call item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostedToolCall {
    /// `web_search_call`, `image_generation_call`.
    pub item_type: String,
    /// `web_search`, `image_generation`.
    pub name: String,
    /// The item id.
    pub id: String,
    /// What it was asked (the search action with its query; the image's revised prompt).
    pub arguments: String,
    /// `completed`, `failed`, …
    pub status: Option<String>,
}

/// `event_msg` payloads.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventMsg {
    /// A turn started.
    TaskStarted {
        /// The turn.
        turn_id: String,
        /// Codex's own OTel trace id for the turn.
        trace_id: Option<String>,
    },
    /// A turn completed.
    TaskComplete {
        /// The turn.
        turn_id: String,
        /// Its final message.
        last_agent_message: Option<String>,
        /// Time to first token, in milliseconds.
        time_to_first_token_ms: Option<u64>,
        /// Why the turn failed (a model request error), when it did.
        error: Option<TurnError>,
    },
    /// A turn was aborted (interrupted).
    TurnAborted {
        /// The turn (may be absent in older versions).
        turn_id: Option<String>,
        /// e.g. `interrupted`.
        reason: Option<String>,
    },
    /// A v2 item completed.
    ItemCompleted {
        /// The turn.
        turn_id: Option<String>,
        /// The item.
        item: Item,
        /// When it started.
        started_at_ms: Option<u64>,
        /// When it completed.
        completed_at_ms: Option<u64>,
    },
    /// How a command or a patch a tool call ran ended (`exec_command_end`,
    /// `patch_apply_end`; releases before `item_completed` items).
    CommandEnd {
        /// The tool call.
        call_id: String,
        /// The command's exit code.
        exit_code: Option<i64>,
        /// `completed` or `failed`.
        status: Option<String>,
    },
    /// Codex's running token count (all releases; the only usage older releases record).
    TokenCount {
        /// `info.total_token_usage`: the thread's running total.
        total: Option<TokenUsage>,
        /// `info.last_token_usage`: the latest model call's usage.
        last: Option<TokenUsage>,
    },
    /// Any other event type, by name.
    Other(String),
}

/// A turn's failure as `task_complete.error` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnError {
    /// A low-cardinality class: the provider's error code, else Codex's `codex_error_info`.
    pub kind: String,
    /// The provider's message, else Codex's whole message.
    pub message: String,
}

impl TurnError {
    fn from_payload(error: &Value) -> Option<Self> {
        let raw = str_field(error, "message").unwrap_or_default();
        let provider: Option<Value> = serde_json::from_str(&raw).ok();
        let provider_error = provider.as_ref().and_then(|p| p.get("error"));
        let kind = provider_error
            .and_then(|e| str_field(e, "code").or_else(|| str_field(e, "type")))
            .or_else(|| str_field(error, "codex_error_info"))
            .unwrap_or_else(|| "_OTHER".to_owned());
        let message = provider_error
            .and_then(|e| str_field(e, "message"))
            .unwrap_or(raw);
        Some(TurnError { kind, message })
    }
}

/// The `item_completed` items codex-otel uses.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Item {
    /// A shell command run by a tool call.
    CommandExecution {
        /// The call id.
        id: String,
        /// Exit code, when the command ran.
        exit_code: Option<i64>,
        /// `completed`, `failed`, `declined`, …
        status: Option<String>,
        /// What Codex made of the command (`parsed_cmd`), one action per part.
        actions: Vec<CommandAction>,
    },
    /// A spawn / wait / send call of the multi-agent tools.
    CollabAgentToolCall {
        /// The call id.
        id: String,
        /// `spawn_agent`, `wait`, …
        tool: String,
        /// Threads the call addressed.
        receiver_thread_ids: Vec<String>,
    },
    /// A compaction.
    ContextCompaction,
    /// Any other item type, by name.
    Other(String),
}

/// One part of a command as Codex parsed it (`parsed_cmd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandAction {
    /// It reads a file (`cat`, `sed -n`, `head`, …): the file's absolute path.
    Read {
        /// The file.
        path: String,
    },
    /// Anything else (`unknown`, `list_files`, `search`, …): the part's command text.
    Other {
        /// The command text.
        cmd: String,
    },
}

/// `token_usage_record`: the usage of one Responses call.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TokenUsageRecord {
    /// The thread that made the call.
    pub thread_id: Option<String>,
    /// The turn.
    pub turn_id: Option<String>,
    /// The root session.
    pub session_id: Option<String>,
    /// The root turn (the parent's turn for sub-agents).
    pub root_turn_id: Option<String>,
    /// The Responses API id.
    pub response_id: Option<String>,
    /// The call's own usage.
    pub usage: TokenUsage,
}

/// Token counts, OpenAI semantics: input includes cached, output includes reasoning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TokenUsage {
    /// Input tokens.
    pub input_tokens: i64,
    /// Cached subset of the input.
    pub cached_input_tokens: i64,
    /// Input tokens written to the prompt cache (0 in every Codex 0.169/0.171 capture).
    pub cache_write_input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Reasoning subset of the output.
    pub reasoning_output_tokens: i64,
    /// input + output.
    pub total_tokens: i64,
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, other: Self) {
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.cache_write_input_tokens += other.cache_write_input_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_output_tokens += other.reasoning_output_tokens;
        self.total_tokens += other.total_tokens;
    }
}

/// `compacted`: a compaction's result.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Compacted {
    /// The summary bridge text.
    pub message: Option<String>,
    /// The summarization call's response id.
    pub compaction_response_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_usage_record_keeps_the_exact_numbers() {
        let line = br#"{"timestamp":"2026-11-24T12:14:36.256Z","ordinal":12,"type":"token_usage_record","payload":{"thread_id":"th","turn_id":"tu","response_id":"resp_1","usage":{"input_tokens":1348,"cached_input_tokens":674,"cache_write_input_tokens":0,"output_tokens":42,"reasoning_output_tokens":16,"total_tokens":1390}}}"#;
        let parsed = RolloutLine::parse(line).unwrap();
        assert_eq!(parsed.ordinal, Some(12));
        let RolloutRecord::TokenUsage(record) = parsed.record else {
            panic!("not usage")
        };
        assert_eq!(record.response_id.as_deref(), Some("resp_1"));
        assert_eq!(
            record.usage,
            TokenUsage {
                input_tokens: 1348,
                cached_input_tokens: 674,
                cache_write_input_tokens: 0,
                output_tokens: 42,
                reasoning_output_tokens: 16,
                total_tokens: 1390
            }
        );
    }

    #[test]
    fn unknown_types_and_bad_payloads_become_other() {
        let parsed = RolloutLine::parse(br#"{"type":"hologram","payload":{}}"#).unwrap();
        assert_eq!(parsed.record, RolloutRecord::Other("hologram".into()));
        let parsed =
            RolloutLine::parse(br#"{"type":"token_usage_record","payload":{"usage":"x"}}"#)
                .unwrap();
        assert_eq!(
            parsed.record,
            RolloutRecord::Other("token_usage_record".into())
        );
        assert!(RolloutLine::parse(b"{not json").is_err());
    }

    #[test]
    fn injected_user_messages_are_not_prompts() {
        let injected = Message {
            role: "user".into(),
            texts: vec!["<environment_context>\n</environment_context>".into()],
            ..Message::default()
        };
        assert!(!injected.is_user_prompt());
        let typed = Message {
            role: "user".into(),
            texts: vec!["please run echo hello".into()],
            kinds: vec!["user.text".into()],
            ..Message::default()
        };
        assert!(typed.is_user_prompt());
    }
}
