//! GenAI message JSON (`gen_ai.input.messages` / `gen_ai.output.messages`) built from rollout
//! items, in the schema of the GenAI semantic conventions: `{role, parts: [{type, …}]}`, and
//! the same messages as an OpenAI chat message list (Braintrust's input/output of an LLM span).

use serde_json::{json, Value};

/// One part of a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    /// Plain text.
    Text(String),
    /// A reasoning summary.
    Reasoning(String),
    /// A tool call the model made.
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    /// A tool's result sent back to the model.
    ToolResponse { id: String, response: String },
}

/// One chat message: a role and its parts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChatMessage {
    pub(crate) role: String,
    pub(crate) parts: Vec<Part>,
}

impl ChatMessage {
    /// A message with a single part; Codex's `developer` role is reported as `system`.
    pub(crate) fn single(role: &str, part: Part) -> Self {
        let role = if role == "developer" { "system" } else { role };
        ChatMessage {
            role: role.to_owned(),
            parts: vec![part],
        }
    }
}

impl Part {
    fn to_json(&self) -> Value {
        match self {
            Part::Text(content) => json!({"type": "text", "content": content}),
            Part::Reasoning(content) => json!({"type": "reasoning", "content": content}),
            Part::ToolCall {
                id,
                name,
                arguments,
            } => json!({
                "type": "tool_call",
                "id": id,
                "name": name,
                "arguments": serde_json::from_str::<Value>(arguments)
                    .unwrap_or_else(|_| Value::String(arguments.clone())),
            }),
            Part::ToolResponse { id, response } => {
                json!({"type": "tool_call_response", "id": id, "response": response})
            }
        }
    }
}

/// `gen_ai.input.messages`: consecutive messages of the same role are merged into one.
pub(crate) fn input_messages_json(messages: &[ChatMessage]) -> String {
    let mut merged: Vec<ChatMessage> = Vec::new();
    for message in messages {
        match merged.last_mut() {
            Some(last) if last.role == message.role => {
                last.parts.extend(message.parts.iter().cloned())
            }
            _ => merged.push(message.clone()),
        }
    }
    let list: Vec<Value> = merged
        .iter()
        .map(|m| json!({"role": m.role, "parts": m.parts.iter().map(Part::to_json).collect::<Vec<_>>()}))
        .collect();
    Value::Array(list).to_string()
}

/// `gen_ai.output.messages`: one assistant message with every output part and its finish reason.
pub(crate) fn output_messages_json(parts: &[Part], finish_reason: &str) -> String {
    json!([{
        "role": "assistant",
        "parts": parts.iter().map(Part::to_json).collect::<Vec<_>>(),
        "finish_reason": finish_reason,
    }])
    .to_string()
}

/// `gen_ai.system_instructions`: one text part.
pub(crate) fn system_instructions_json(text: &str) -> String {
    json!([{"type": "text", "content": text}]).to_string()
}

/// The messages as an OpenAI chat message list: text as `content`, tool calls as
/// `tool_calls`, tool results as `tool` messages, reasoning dropped.
pub(crate) fn openai_messages(messages: &[ChatMessage]) -> Value {
    Value::Array(
        messages
            .iter()
            .flat_map(|m| openai_message(&m.role, &m.parts))
            .collect(),
    )
}

/// The output of a call as an OpenAI chat message list (one assistant message).
pub(crate) fn openai_output(parts: &[Part]) -> Value {
    Value::Array(openai_message("assistant", parts))
}

/// One message per tool result, then one for the text and tool calls (if any).
fn openai_message(role: &str, parts: &[Part]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut text = Vec::new();
    let mut calls = Vec::new();
    for part in parts {
        match part {
            Part::Text(content) => text.push(content.as_str()),
            Part::Reasoning(_) => {}
            Part::ToolCall {
                id,
                name,
                arguments,
            } => calls.push(json!({
                "id": id,
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            })),
            Part::ToolResponse { id, response } => {
                out.push(json!({"role": "tool", "tool_call_id": id, "content": response}))
            }
        }
    }
    if !text.is_empty() || !calls.is_empty() {
        let mut message = json!({"role": role, "content": text.join("\n")});
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(calls);
        }
        out.push(message);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_call_arguments_are_embedded_as_json_objects() {
        let out = output_messages_json(
            &[Part::ToolCall {
                id: "call_1".into(),
                name: "exec_command".into(),
                arguments: r#"{"cmd": "echo hello"}"#.into(),
            }],
            "tool_call",
        );
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value[0]["parts"][0]["arguments"]["cmd"], "echo hello");
        assert_eq!(value[0]["finish_reason"], "tool_call");
    }

    #[test]
    fn consecutive_messages_of_one_role_are_merged_and_developer_becomes_system() {
        let input = input_messages_json(&[
            ChatMessage::single("developer", Part::Text("a".into())),
            ChatMessage::single("developer", Part::Text("b".into())),
            ChatMessage::single("user", Part::Text("c".into())),
        ]);
        let value: Value = serde_json::from_str(&input).unwrap();
        assert_eq!(value.as_array().unwrap().len(), 2);
        assert_eq!(value[0]["role"], "system");
        assert_eq!(value[0]["parts"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn openai_messages_carry_text_tool_calls_and_tool_results() {
        let list = openai_messages(&[
            ChatMessage::single("user", Part::Text("list files".into())),
            ChatMessage::single(
                "assistant",
                Part::ToolCall {
                    id: "call_1".into(),
                    name: "exec_command".into(),
                    arguments: r#"{"cmd":"ls"}"#.into(),
                },
            ),
            ChatMessage::single(
                "tool",
                Part::ToolResponse {
                    id: "call_1".into(),
                    response: "a.txt".into(),
                },
            ),
        ]);
        assert_eq!(list[0], json!({"role": "user", "content": "list files"}));
        assert_eq!(list[1]["tool_calls"][0]["function"]["name"], "exec_command");
        assert_eq!(
            list[2],
            json!({"role": "tool", "tool_call_id": "call_1", "content": "a.txt"})
        );
    }

    #[test]
    fn the_output_drops_reasoning_and_keeps_the_text() {
        let parts = [Part::Reasoning("think".into()), Part::Text("done".into())];
        assert_eq!(
            openai_output(&parts),
            json!([{"role": "assistant", "content": "done"}])
        );
    }
}
