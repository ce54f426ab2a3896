//! A small builder for span attribute lists, plus the attribute groups several span types
//! share: token usage (GenAI and Braintrust names on model calls, `codex.usage.*` totals
//! elsewhere), each backend's span kind and display name, and readable inputs and outputs.

use super::units::Usage;
use crate::codex::rollout::TokenUsage;
use crate::span::genai as key;
use crate::span::{AttrValue, Attribute};
use serde_json::{json, Value};

/// Attributes in insertion order.
#[derive(Debug, Default)]
pub(crate) struct Attrs(pub(crate) Vec<Attribute>);

/// The turn a call belongs to, as every span under a turn names it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TurnRef<'a> {
    pub(crate) id: &'a str,
    pub(crate) index: Option<u32>,
}

impl Attrs {
    pub(crate) fn str(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.0.push((key.to_owned(), AttrValue::Str(value.into())));
        self
    }

    pub(crate) fn opt_str(&mut self, key: &str, value: Option<impl Into<String>>) -> &mut Self {
        if let Some(value) = value {
            self.str(key, value);
        }
        self
    }

    pub(crate) fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.0.push((key.to_owned(), AttrValue::Int(value)));
        self
    }

    pub(crate) fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.0.push((key.to_owned(), AttrValue::Bool(value)));
        self
    }

    pub(crate) fn list(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.0.push((key.to_owned(), AttrValue::StrList(values)));
        self
    }

    /// A JSON value as a JSON string.
    pub(crate) fn json(&mut self, key: &str, value: &Value) -> &mut Self {
        self.str(key, value.to_string())
    }

    /// The value of the string attribute `key`, if set.
    pub(crate) fn get_str(&self, key: &str) -> Option<&str> {
        self.0.iter().find_map(|(k, v)| match v {
            AttrValue::Str(text) if k == key => Some(text.as_str()),
            _ => None,
        })
    }

    /// A model call's usage: GenAI usage attributes plus `braintrust.metrics`. Only chat spans
    /// carry these, because backends add them up over every span of a trace.
    pub(crate) fn usage(&mut self, usage: &TokenUsage) -> &mut Self {
        self.int(key::USAGE_INPUT_TOKENS, usage.input_tokens)
            .int(key::USAGE_OUTPUT_TOKENS, usage.output_tokens)
            .int(
                key::USAGE_CACHE_READ_INPUT_TOKENS,
                usage.cached_input_tokens,
            )
            .int(
                key::USAGE_REASONING_OUTPUT_TOKENS,
                usage.reasoning_output_tokens,
            )
            .json(
                key::BRAINTRUST_METRICS,
                &json!({
                    "prompt_tokens": usage.input_tokens,
                    "completion_tokens": usage.output_tokens,
                    "tokens": usage.total_tokens,
                    "prompt_cached_tokens": usage.cached_input_tokens,
                    "completion_reasoning_tokens": usage.reasoning_output_tokens,
                }),
            )
    }

    /// The turn a chat or tool span belongs to: its id and its index, so cost per turn is a
    /// flat filter.
    pub(crate) fn turn(&mut self, turn: Option<TurnRef<'_>>) -> &mut Self {
        let Some(turn) = turn else { return self };
        self.str(key::CODEX_TURN_ID, turn.id);
        if let Some(index) = turn.index {
            self.int(key::CODEX_TURN_INDEX, i64::from(index));
        }
        self
    }

    /// The usage of every model call below an agent or turn span, as `codex.usage.*`: names
    /// no backend adds up, so totals are never counted twice. An unknown total is not a zero:
    /// only its reason is set.
    pub(crate) fn usage_totals(&mut self, usage: &Usage) -> &mut Self {
        let usage = match usage {
            Usage::Known(usage) => usage,
            Usage::Unknown(why) => return self.str(key::CODEX_USAGE_UNKNOWN_REASON, why.as_str()),
        };
        self.int(key::CODEX_USAGE_INPUT_TOKENS, usage.input_tokens)
            .int(key::CODEX_USAGE_OUTPUT_TOKENS, usage.output_tokens)
            .int(
                key::CODEX_USAGE_CACHE_READ_INPUT_TOKENS,
                usage.cached_input_tokens,
            )
            .int(
                key::CODEX_USAGE_REASONING_OUTPUT_TOKENS,
                usage.reasoning_output_tokens,
            )
            .int(key::CODEX_USAGE_TOTAL_TOKENS, usage.total_tokens)
    }

    /// What the span is for Phoenix/Arize (`openinference.span.kind`) and Braintrust
    /// (`braintrust.span_attributes` with its display name).
    pub(crate) fn role(&mut self, role: SpanRole, display_name: &str) -> &mut Self {
        let (openinference, braintrust) = role.names();
        self.str(key::OPENINFERENCE_SPAN_KIND, openinference).json(
            key::BRAINTRUST_SPAN_ATTRIBUTES,
            &json!({"type": braintrust, "name": display_name}),
        )
    }

    /// Texts as input and output (a prompt, a final answer); a text that is a JSON object or
    /// array (a reviewer's structured answer) is kept as JSON, never as JSON inside a string.
    pub(crate) fn text_io(&mut self, input: Option<&str>, output: Option<&str>) -> &mut Self {
        self.io(input.map(text_value), output.map(text_value))
    }

    /// Input and output as JSON values: strings are shown as text, anything else as JSON.
    pub(crate) fn io(&mut self, input: Option<Value>, output: Option<Value>) -> &mut Self {
        let sides = [
            (
                input,
                key::INPUT_VALUE,
                key::INPUT_MIME_TYPE,
                key::BRAINTRUST_INPUT_JSON,
            ),
            (
                output,
                key::OUTPUT_VALUE,
                key::OUTPUT_MIME_TYPE,
                key::BRAINTRUST_OUTPUT_JSON,
            ),
        ];
        for (value, value_key, mime_key, braintrust_key) in sides {
            let Some(value) = value else { continue };
            match &value {
                Value::String(text) => self
                    .str(value_key, text.clone())
                    .str(mime_key, "text/plain"),
                other => self
                    .json(value_key, other)
                    .str(mime_key, "application/json"),
            };
            self.json(braintrust_key, &value);
        }
        self
    }
}

/// What a span stands for, in the vocabulary of each backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanRole {
    /// The session, a resumed run or a sub-agent.
    Agent,
    /// One turn: a step of an agent, not a model call.
    Turn,
    /// One model call.
    Chat,
    /// One tool call.
    Tool,
}

impl SpanRole {
    /// (`openinference.span.kind`, Braintrust span type).
    fn names(self) -> (&'static str, &'static str) {
        match self {
            SpanRole::Agent => ("AGENT", "task"),
            SpanRole::Turn => ("CHAIN", "task"),
            SpanRole::Chat => ("LLM", "llm"),
            SpanRole::Tool => ("TOOL", "tool"),
        }
    }
}

/// `text` as a JSON value: an object or array if it is one, else a string.
fn text_value(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ (Value::Object(_) | Value::Array(_))) => value,
        _ => Value::String(text.to_owned()),
    }
}

/// A tool's arguments or result as a JSON object: a JSON object stays as it is, anything else
/// is put under `field` (`{"output": "…"}`), so Braintrust never sees JSON inside a string.
pub(crate) fn json_object(text: &str, field: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => value,
        _ => json!({ field: text }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::units::UnknownUsage;

    #[test]
    fn usage_totals_use_names_that_no_backend_adds_up() {
        let mut attrs = Attrs::default();
        attrs.usage_totals(&Usage::Known(TokenUsage {
            input_tokens: 10,
            ..TokenUsage::default()
        }));
        assert!(attrs.0.iter().all(|(k, _)| k.starts_with("codex.usage.")));
        assert!(attrs
            .0
            .contains(&(key::CODEX_USAGE_INPUT_TOKENS.to_owned(), AttrValue::Int(10))));
    }

    #[test]
    fn an_unknown_total_is_a_reason_never_a_zero() {
        let mut attrs = Attrs::default();
        attrs.usage_totals(&Usage::Unknown(UnknownUsage::Interrupted));
        assert_eq!(
            attrs.0,
            [(
                key::CODEX_USAGE_UNKNOWN_REASON.to_owned(),
                AttrValue::Str("interrupted".to_owned())
            )]
        );
    }

    #[test]
    fn a_turn_is_a_chain_and_only_a_chat_is_an_llm_span() {
        let kinds: Vec<_> = [
            SpanRole::Agent,
            SpanRole::Turn,
            SpanRole::Chat,
            SpanRole::Tool,
        ]
        .map(|role| role.names())
        .to_vec();
        assert_eq!(
            kinds,
            [
                ("AGENT", "task"),
                ("CHAIN", "task"),
                ("LLM", "llm"),
                ("TOOL", "tool")
            ]
        );
    }

    #[test]
    fn tool_arguments_become_objects_and_plain_text_is_wrapped() {
        assert_eq!(json_object(r#"{"cmd":"ls"}"#, "input")["cmd"], "ls");
        assert_eq!(json_object("hello", "output"), json!({"output": "hello"}));
        assert_eq!(json_object("[1]", "output"), json!({"output": "[1]"}));
    }

    #[test]
    fn a_structured_answer_stays_json_and_prose_stays_text() {
        assert_eq!(text_value(r#"{"outcome":"allow"}"#)["outcome"], "allow");
        assert_eq!(text_value("Done."), Value::String("Done.".into()));
    }

    #[test]
    fn io_keeps_text_as_text_and_objects_as_json() {
        let mut attrs = Attrs::default();
        attrs.io(
            Some(json!({"cmd": "ls"})),
            Some(Value::String("done".into())),
        );
        assert_eq!(
            attrs.get_str(key::INPUT_MIME_TYPE),
            Some("application/json")
        );
        assert_eq!(attrs.get_str(key::OUTPUT_VALUE), Some("done"));
        let braintrust: Value =
            serde_json::from_str(attrs.get_str(key::BRAINTRUST_INPUT_JSON).unwrap()).unwrap();
        assert_eq!(braintrust["cmd"], "ls");
    }
}
