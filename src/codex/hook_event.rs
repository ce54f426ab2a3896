//! Hook payloads: the JSON object Codex writes to a hook's stdin, for each of the 14 events
//! (the 12 documented ones plus PreModelRequest and PostModelRequest, see [`super::model_request`]).
//!
//! Parsing is tolerant: fields Codex may omit are `Option`s, unknown fields are ignored and an
//! unknown `hook_event_name` becomes [`HookKind::Other`]. Only a payload that is not a JSON
//! object, or has no usable `session_id`, is an error.

pub use super::model_request::{ModelRequest, ModelRequestResult};
use serde::Deserialize;
use serde_json::Value;

/// Why a hook payload could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookParseError {
    /// The bytes are not a JSON document.
    #[error("hook payload is not JSON")]
    NotJson(#[source] serde_json::Error),
    /// The JSON is valid but not an object.
    #[error("hook payload is not a JSON object")]
    NotObject,
    /// `session_id` is missing, empty or not a string.
    #[error("hook payload has no session_id")]
    MissingSessionId,
}

/// Fields every hook payload may carry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HookCommon {
    /// The root thread id; the same inside sub-agents.
    pub session_id: String,
    /// The turn the event belongs to (the child's turn inside a sub-agent).
    #[serde(default)]
    pub turn_id: Option<String>,
    /// Rollout file of the thread the event is about.
    #[serde(default)]
    pub transcript_path: Option<String>,
    /// Session working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Model slug of the turn.
    #[serde(default)]
    pub model: Option<String>,
    /// `default`, `acceptEdits`, `plan`, `dontAsk` or `bypassPermissions`.
    #[serde(default)]
    pub permission_mode: Option<String>,
    /// Child thread id, when the event fires inside (or about) a sub-agent.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Sub-agent role, e.g. `default`.
    #[serde(default)]
    pub agent_type: Option<String>,
}

/// What happened, per event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HookKind {
    /// A thread started: `source` is `startup`, `resume`, `compact`, `clear` or `fork`.
    SessionStart {
        /// Why the thread started.
        source: Option<String>,
    },
    /// The thread shut down.
    SessionEnd {
        /// Why (only `other` has been seen).
        reason: Option<String>,
    },
    /// The user submitted a prompt (also fired in sub-agents with the spawn message).
    UserPromptSubmit {
        /// The prompt text.
        prompt: Option<String>,
    },
    /// A tool is about to run.
    PreToolUse(ToolUse),
    /// Codex would ask for approval. No call id is given.
    PermissionRequest(ToolUse),
    /// A tool finished.
    PostToolUse(ToolUse),
    /// Compaction is about to start.
    PreCompact {
        /// `auto` or `manual`.
        trigger: Option<String>,
    },
    /// Compaction finished.
    PostCompact {
        /// `auto` or `manual`.
        trigger: Option<String>,
    },
    /// A sub-agent thread started (`common.agent_id`, `common.agent_type`).
    SubagentStart,
    /// A sub-agent's turn completed.
    SubagentStop {
        /// The child's rollout file.
        agent_transcript_path: Option<String>,
        /// The child's final message.
        last_assistant_message: Option<String>,
    },
    /// A root turn ended normally.
    Stop {
        /// `true` when this turn already continued because of a Stop block.
        stop_hook_active: bool,
        /// The turn's final message.
        last_assistant_message: Option<String>,
    },
    /// The running turn was interrupted.
    Interrupt,
    /// A request to the model API is about to be sent.
    PreModelRequest(ModelRequest),
    /// A request to the model API finished (completed, failed or cancelled).
    PostModelRequest(ModelRequestResult),
    /// An event this version does not know.
    Other {
        /// Its `hook_event_name`.
        name: String,
    },
}

/// The tool fields of PreToolUse, PermissionRequest and PostToolUse.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ToolUse {
    /// The hook-facing tool name (`Bash`, `spawn_agent`, …).
    #[serde(default)]
    pub tool_name: String,
    /// The tool input as an object.
    #[serde(default)]
    pub tool_input: Value,
    /// The tool output (PostToolUse only).
    #[serde(default)]
    pub tool_response: Option<Value>,
    /// The Responses `call_id` (absent on PermissionRequest).
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

/// One parsed hook payload.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    /// Fields shared by all events.
    pub common: HookCommon,
    /// The event itself.
    pub kind: HookKind,
}

impl HookEvent {
    /// Parses the bytes Codex wrote to the hook's stdin.
    pub fn parse(bytes: &[u8]) -> Result<Self, HookParseError> {
        let value: Value = serde_json::from_slice(bytes).map_err(HookParseError::NotJson)?;
        Self::from_value(value)
    }

    /// Builds an event from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, HookParseError> {
        let Value::Object(map) = &value else {
            return Err(HookParseError::NotObject);
        };
        match map.get("session_id") {
            Some(Value::String(s)) if !s.is_empty() => {}
            _ => return Err(HookParseError::MissingSessionId),
        }
        let name = map
            .get("hook_event_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let common = lenient::<HookCommon>(&value);
        let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
        let kind = match name.as_str() {
            "SessionStart" => HookKind::SessionStart {
                source: text("source"),
            },
            "SessionEnd" => HookKind::SessionEnd {
                reason: text("reason"),
            },
            "UserPromptSubmit" => HookKind::UserPromptSubmit {
                prompt: text("prompt"),
            },
            "PreToolUse" => HookKind::PreToolUse(lenient(&value)),
            "PermissionRequest" => HookKind::PermissionRequest(lenient(&value)),
            "PostToolUse" => HookKind::PostToolUse(lenient(&value)),
            "PreCompact" => HookKind::PreCompact {
                trigger: text("trigger"),
            },
            "PostCompact" => HookKind::PostCompact {
                trigger: text("trigger"),
            },
            "SubagentStart" => HookKind::SubagentStart,
            "SubagentStop" => HookKind::SubagentStop {
                agent_transcript_path: text("agent_transcript_path"),
                last_assistant_message: text("last_assistant_message"),
            },
            "Stop" => HookKind::Stop {
                stop_hook_active: map
                    .get("stop_hook_active")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                last_assistant_message: text("last_assistant_message"),
            },
            "Interrupt" => HookKind::Interrupt,
            "PreModelRequest" => HookKind::PreModelRequest(lenient(&value)),
            "PostModelRequest" => HookKind::PostModelRequest(lenient(&value)),
            _ => HookKind::Other { name },
        };
        Ok(HookEvent { common, kind })
    }

    /// The event's name as Codex spells it.
    pub fn name(&self) -> &str {
        match &self.kind {
            HookKind::SessionStart { .. } => "SessionStart",
            HookKind::SessionEnd { .. } => "SessionEnd",
            HookKind::UserPromptSubmit { .. } => "UserPromptSubmit",
            HookKind::PreToolUse(_) => "PreToolUse",
            HookKind::PermissionRequest(_) => "PermissionRequest",
            HookKind::PostToolUse(_) => "PostToolUse",
            HookKind::PreCompact { .. } => "PreCompact",
            HookKind::PostCompact { .. } => "PostCompact",
            HookKind::SubagentStart => "SubagentStart",
            HookKind::SubagentStop { .. } => "SubagentStop",
            HookKind::Stop { .. } => "Stop",
            HookKind::Interrupt => "Interrupt",
            HookKind::PreModelRequest(_) => "PreModelRequest",
            HookKind::PostModelRequest(_) => "PostModelRequest",
            HookKind::Other { name } => name,
        }
    }
}

/// Deserializes `T` field by field: a field of the wrong type is dropped, not fatal.
fn lenient<T: for<'de> Deserialize<'de> + Default>(value: &Value) -> T {
    if let Ok(parsed) = T::deserialize(value) {
        return parsed;
    }
    let Value::Object(map) = value else {
        return T::default();
    };
    let mut kept = serde_json::Map::new();
    for (key, field) in map {
        let mut probe = serde_json::Map::new();
        probe.insert(key.clone(), field.clone());
        if T::deserialize(Value::Object(probe.clone())).is_ok() || key == "session_id" {
            kept.insert(key.clone(), field.clone());
        }
    }
    T::deserialize(Value::Object(kept)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRE_TOOL_USE: &str = r#"{"session_id":"s1","turn_id":"t1","transcript_path":"/x.jsonl","cwd":"/w","hook_event_name":"PreToolUse","model":"mock-model","permission_mode":"bypassPermissions","tool_name":"Bash","tool_input":{"command":"echo hello"},"tool_use_id":"call_1"}"#;

    #[test]
    fn parses_a_real_pre_tool_use_payload() {
        let event = HookEvent::parse(PRE_TOOL_USE.as_bytes()).unwrap();
        assert_eq!(event.common.session_id, "s1");
        assert_eq!(event.common.turn_id.as_deref(), Some("t1"));
        let HookKind::PreToolUse(tool) = event.kind else {
            panic!("wrong kind")
        };
        assert_eq!(tool.tool_name, "Bash");
        assert_eq!(tool.tool_use_id.as_deref(), Some("call_1"));
        assert_eq!(tool.tool_input["command"], "echo hello");
    }

    #[test]
    fn unknown_event_names_are_kept_as_other() {
        let event =
            HookEvent::parse(br#"{"session_id":"s","hook_event_name":"Teleport"}"#).unwrap();
        assert_eq!(
            event.kind,
            HookKind::Other {
                name: "Teleport".into()
            }
        );
        assert_eq!(event.name(), "Teleport");
    }

    #[test]
    fn a_field_of_the_wrong_type_is_dropped_not_fatal() {
        let event = HookEvent::parse(
            br#"{"session_id":"s","turn_id":7,"hook_event_name":"Stop","stop_hook_active":"yes"}"#,
        )
        .unwrap();
        assert_eq!(event.common.turn_id, None);
        assert!(matches!(
            event.kind,
            HookKind::Stop {
                stop_hook_active: false,
                ..
            }
        ));
    }

    #[test]
    fn payloads_without_a_session_id_are_rejected() {
        for bad in [
            &b"[]"[..],
            b"{}",
            br#"{"session_id":""}"#,
            br#"{"session_id":5}"#,
        ] {
            assert!(
                HookEvent::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            HookEvent::parse(b"not json"),
            Err(HookParseError::NotJson(_))
        ));
    }
}
