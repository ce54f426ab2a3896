//! A small builder for span attribute lists, plus the attribute groups several span types
//! share: token usage (GenAI and Braintrust names) and Braintrust's span type and metadata.

use crate::codex::rollout::TokenUsage;
use crate::span::genai as key;
use crate::span::{AttrValue, Attribute};
use serde_json::{json, Value};

/// Attributes in insertion order.
#[derive(Debug, Default)]
pub(crate) struct Attrs(pub(crate) Vec<Attribute>);

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

    /// GenAI usage attributes plus `braintrust.metrics`.
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

    /// `braintrust.span_attributes` with a type (`llm`, `tool`, `task`) and a display name.
    pub(crate) fn braintrust_type(&mut self, kind: &str, name: &str) -> &mut Self {
        self.json(
            key::BRAINTRUST_SPAN_ATTRIBUTES,
            &json!({"type": kind, "name": name}),
        )
    }

    /// `braintrust.input_json` / `braintrust.output_json` from optional texts.
    pub(crate) fn braintrust_io(&mut self, input: Option<&str>, output: Option<&str>) -> &mut Self {
        if let Some(input) = input {
            self.json(key::BRAINTRUST_INPUT_JSON, &Value::String(input.to_owned()));
        }
        if let Some(output) = output {
            self.json(
                key::BRAINTRUST_OUTPUT_JSON,
                &Value::String(output.to_owned()),
            );
        }
        self
    }
}
