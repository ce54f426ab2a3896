//! Parsing one rollout line: the envelope is read with its payload left raw, and a payload is
//! only built into a JSON tree when its record (or its `type`) is one codex-otel uses, so the
//! large records it ignores (`world_state`, `token_count`, items of other kinds) cost a scan,
//! not a tree.

use super::*;
use serde_json::value::RawValue;
use std::borrow::Cow;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(default)]
    ordinal: Option<u64>,
    #[serde(rename = "type", default, borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
}

/// A payload's `type`, read without building the payload.
#[derive(Deserialize)]
struct PayloadKind<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Cow<'a, str>,
}

/// `response_item` types codex-otel reads.
const RESPONSE_KINDS: [&str; 10] = [
    "web_search_call",
    "image_generation_call",
    "message",
    "reasoning",
    "function_call",
    "custom_tool_call",
    "local_shell_call",
    "function_call_output",
    "custom_tool_call_output",
    "local_shell_call_output",
];

/// `event_msg` types codex-otel reads.
const EVENT_KINDS: [&str; 7] = [
    "exec_command_end",
    "patch_apply_end",
    "task_started",
    "task_complete",
    "turn_aborted",
    "item_completed",
    "token_count",
];

/// The payload as a JSON tree when its `type` is one of `used`, else just that type.
fn tree_if_used(raw: &str, used: &[&str]) -> Result<Value, String> {
    let kind = serde_json::from_str::<PayloadKind<'_>>(raw)
        .map(|k| k.kind.into_owned())
        .unwrap_or_default();
    if !used.contains(&kind.as_str()) {
        return Err(kind);
    }
    serde_json::from_str(raw).map_err(|_| kind)
}

impl RolloutLine {
    /// Parses one line. Only invalid JSON (or a non-object) is an error.
    pub fn parse(line: &[u8]) -> Result<Self, serde_json::Error> {
        let envelope: Envelope<'_> = serde_json::from_slice(line)?;
        let payload = envelope.payload.map_or("null", RawValue::get);
        let record = match envelope.kind.as_ref() {
            "session_meta" => typed(payload, RolloutRecord::SessionMeta, "session_meta"),
            "turn_context" => typed(payload, RolloutRecord::TurnContext, "turn_context"),
            "token_usage_record" => typed(payload, RolloutRecord::TokenUsage, "token_usage_record"),
            "compacted" => typed(payload, RolloutRecord::Compacted, "compacted"),
            "response_item" => RolloutRecord::ResponseItem(
                tree_if_used(payload, &RESPONSE_KINDS)
                    .map_or_else(ResponseItem::Other, |tree| response_item(&tree)),
            ),
            "event_msg" => RolloutRecord::Event(
                tree_if_used(payload, &EVENT_KINDS)
                    .map_or_else(EventMsg::Other, |tree| event_msg(&tree)),
            ),
            other => RolloutRecord::Other(other.to_owned()),
        };
        Ok(RolloutLine {
            timestamp: envelope
                .timestamp
                .as_deref()
                .and_then(crate::codex::parse_timestamp),
            ordinal: envelope.ordinal,
            record,
        })
    }
}

fn typed<T: for<'de> Deserialize<'de>>(
    payload: &str,
    wrap: fn(T) -> RolloutRecord,
    name: &str,
) -> RolloutRecord {
    match serde_json::from_str::<T>(payload) {
        Ok(value) => wrap(value),
        Err(_) => RolloutRecord::Other(name.to_owned()),
    }
}

pub(super) fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn u64_field(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(Value::as_u64)
}

fn texts_of(content: Option<&Value>, text_key: &str) -> Vec<String> {
    let Some(Value::Array(parts)) = content else {
        return Vec::new();
    };
    parts
        .iter()
        .filter_map(|part| part.get(text_key).and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

fn response_item(payload: &Value) -> ResponseItem {
    let kind = str_field(payload, "type").unwrap_or_default();
    match kind.as_str() {
        "message" => ResponseItem::Message(Message {
            id: str_field(payload, "id"),
            role: str_field(payload, "role").unwrap_or_default(),
            texts: texts_of(payload.get("content"), "text"),
            kinds: payload
                .pointer("/internal_chat_message_metadata_passthrough/content_item_kinds")
                .and_then(Value::as_array)
                .map(|kinds| {
                    kinds
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }),
        "reasoning" => ResponseItem::Reasoning {
            id: str_field(payload, "id"),
            summary: texts_of(payload.get("summary"), "text"),
        },
        "function_call" | "custom_tool_call" | "local_shell_call" => {
            match str_field(payload, "call_id") {
                Some(call_id) => ResponseItem::ToolCall(ToolCall {
                    name: str_field(payload, "name").unwrap_or_else(|| kind.clone()),
                    namespace: str_field(payload, "namespace"),
                    arguments: match payload.get("arguments").or_else(|| payload.get("input")) {
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => payload
                            .get("action")
                            .map(Value::to_string)
                            .unwrap_or_default(),
                    },
                    call_id,
                    item_type: kind,
                }),
                None => ResponseItem::Other(kind),
            }
        }
        "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" => {
            match str_field(payload, "call_id") {
                Some(call_id) => ResponseItem::ToolOutput {
                    call_id,
                    output: match payload.get("output") {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Object(o))
                            if o.get("content").is_some_and(Value::is_string) =>
                        {
                            o["content"].as_str().unwrap_or_default().to_owned()
                        }
                        Some(other) => other.to_string(),
                        None => String::new(),
                    },
                },
                None => ResponseItem::Other(kind),
            }
        }
        "web_search_call" | "image_generation_call" => match str_field(payload, "id") {
            Some(id) => ResponseItem::HostedToolCall(HostedToolCall {
                name: kind.trim_end_matches("_call").to_owned(),
                arguments: hosted_arguments(payload),
                status: str_field(payload, "status"),
                item_type: kind,
                id,
            }),
            None => ResponseItem::Other(kind),
        },
        _ => ResponseItem::Other(kind),
    }
}

/// What a hosted call was asked: a search's action (with its query), an image's revised prompt.
fn hosted_arguments(payload: &Value) -> String {
    let asked = payload
        .get("action")
        .cloned()
        .or_else(|| {
            let prompt = payload.get("revised_prompt")?;
            Some(serde_json::json!({ "revised_prompt": prompt }))
        })
        .unwrap_or_else(|| serde_json::json!({}));
    asked.to_string()
}

fn event_msg(payload: &Value) -> EventMsg {
    let kind = str_field(payload, "type").unwrap_or_default();
    let turn_id = str_field(payload, "turn_id");
    match (kind.as_str(), turn_id) {
        ("task_started", Some(turn_id)) => EventMsg::TaskStarted {
            turn_id,
            trace_id: str_field(payload, "trace_id"),
        },
        ("task_complete", Some(turn_id)) => EventMsg::TaskComplete {
            turn_id,
            last_agent_message: str_field(payload, "last_agent_message"),
            time_to_first_token_ms: u64_field(payload, "time_to_first_token_ms"),
            error: payload
                .get("error")
                .filter(|e| e.is_object())
                .and_then(TurnError::from_payload),
        },
        ("turn_aborted", turn_id) => EventMsg::TurnAborted {
            turn_id,
            reason: str_field(payload, "reason"),
        },
        ("item_completed", turn_id) => EventMsg::ItemCompleted {
            turn_id,
            item: item(payload.get("item").unwrap_or(&Value::Null)),
            started_at_ms: u64_field(payload, "started_at_ms"),
            completed_at_ms: u64_field(payload, "completed_at_ms"),
        },
        ("exec_command_end" | "patch_apply_end", _) => match str_field(payload, "call_id") {
            Some(call_id) => EventMsg::CommandEnd {
                call_id,
                exit_code: payload.get("exit_code").and_then(Value::as_i64),
                status: payload
                    .get("success")
                    .and_then(Value::as_bool)
                    .map(|ok| if ok { "completed" } else { "failed" }.to_owned()),
            },
            None => EventMsg::Other(kind),
        },
        ("token_count", _) => EventMsg::TokenCount {
            total: usage_at(payload, "/info/total_token_usage"),
            last: usage_at(payload, "/info/last_token_usage"),
        },
        _ => EventMsg::Other(kind),
    }
}

fn usage_at(payload: &Value, pointer: &str) -> Option<TokenUsage> {
    let value = payload.pointer(pointer)?;
    TokenUsage::deserialize(value).ok()
}

/// One `parsed_cmd` part: a `read` with its path, else its command text.
fn command_action(part: &Value) -> Option<CommandAction> {
    match (str_field(part, "type").as_deref(), str_field(part, "path")) {
        (Some("read"), Some(path)) => Some(CommandAction::Read { path }),
        _ => str_field(part, "cmd").map(|cmd| CommandAction::Other { cmd }),
    }
}

fn item(value: &Value) -> Item {
    let kind = str_field(value, "type").unwrap_or_default();
    let id = str_field(value, "id").unwrap_or_default();
    match kind.as_str() {
        "CommandExecution" => Item::CommandExecution {
            id,
            exit_code: value.get("exit_code").and_then(Value::as_i64),
            status: str_field(value, "status"),
            actions: value
                .get("parsed_cmd")
                .and_then(Value::as_array)
                .map(|parts| parts.iter().filter_map(command_action).collect())
                .unwrap_or_default(),
        },
        "CollabAgentToolCall" => Item::CollabAgentToolCall {
            id,
            tool: str_field(value, "tool").unwrap_or_default(),
            receiver_thread_ids: value
                .get("receiver_thread_ids")
                .and_then(Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        },
        "ContextCompaction" => Item::ContextCompaction,
        _ => Item::Other(kind),
    }
}
