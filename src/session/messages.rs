//! GenAI message JSON (`gen_ai.input.messages` / `gen_ai.output.messages`) built from rollout
//! items, in the schema of the GenAI semantic conventions: `{role, parts: [{type, …}]}`.

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
}
