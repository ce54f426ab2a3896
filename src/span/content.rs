//! Content-capture policy: what may leave the session stage of prompts, messages, tool
//! arguments and results, and how large any one content attribute may be.
//!
//! The session stage builds spans with full content and applies [`ContentPolicy::apply`] to
//! every span before it leaves the stage, so no exporter ever sees content the user switched
//! off. Truncation keeps JSON valid: long strings are shortened and long arrays thinned, with
//! markers saying how much was cut, and the span gets `codex.content.truncated = true`.
//! Secrets are redacted first ([`super::redact`]); the span counts them in `codex.redactions`.

use super::genai as key;
use super::redact::Redactor;
use super::{AttrValue, SpanRecord};
use serde_json::Value;

/// Attribute keys that carry user or model content.
pub const CONTENT_KEYS: [&str; 15] = [
    key::INPUT_MESSAGES,
    key::OUTPUT_MESSAGES,
    key::SYSTEM_INSTRUCTIONS,
    key::TOOL_CALL_ARGUMENTS,
    key::TOOL_CALL_RESULT,
    key::CODEX_TURN_PROMPT,
    key::CODEX_TURN_OUTPUT,
    key::BRAINTRUST_INPUT_JSON,
    key::BRAINTRUST_OUTPUT_JSON,
    key::INPUT_VALUE,
    key::INPUT_MIME_TYPE,
    key::OUTPUT_VALUE,
    key::OUTPUT_MIME_TYPE,
    key::SKILL_DESCRIPTION,
    key::SKILL_SOURCE_URI,
];

/// Event attribute keys that carry content (the command of a permission request, …).
pub const CONTENT_EVENT_KEYS: [&str; 2] = ["codex.permission.command", "codex.permission.reason"];

/// Default cap for one content attribute, in bytes (32 KiB).
pub const DEFAULT_MAX_ATTRIBUTE_BYTES: usize = 32 * 1024;

/// Shortest a string is cut to before arrays are thinned instead.
const MIN_STRING_KEEP: usize = 64;

/// What content may be exported. Capture and redaction are on by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentPolicy {
    /// Export prompts, messages, tool arguments and results at all.
    pub capture: bool,
    /// Cap for one content attribute, in bytes of its (JSON) text.
    pub max_attribute_bytes: usize,
    /// Put the whole conversation so far on every chat span instead of only the new messages.
    pub full_history: bool,
    /// Replace secrets in captured content (`None`: redaction switched off).
    pub redactor: Option<Redactor>,
}

impl Default for ContentPolicy {
    fn default() -> Self {
        ContentPolicy {
            capture: true,
            max_attribute_bytes: DEFAULT_MAX_ATTRIBUTE_BYTES,
            full_history: false,
            redactor: Some(Redactor::default()),
        }
    }
}

impl ContentPolicy {
    /// Removes or caps content on `span` according to the policy.
    pub fn apply(&self, span: &mut SpanRecord) {
        if !self.capture {
            span.attributes
                .retain(|(k, _)| !CONTENT_KEYS.contains(&k.as_str()));
            for event in &mut span.events {
                event
                    .attributes
                    .retain(|(k, _)| !CONTENT_EVENT_KEYS.contains(&k.as_str()));
            }
            return;
        }
        let mut truncated = false;
        let mut redactions = 0;
        for (k, value) in &mut span.attributes {
            let AttrValue::Str(text) = value else {
                continue;
            };
            if !CONTENT_KEYS.contains(&k.as_str()) {
                continue;
            }
            if let Some(redactor) = &self.redactor {
                redactions += redactor.redact(text);
            }
            if text.len() > self.max_attribute_bytes {
                *text = truncate_content(text, self.max_attribute_bytes);
                truncated = true;
            }
        }
        if let Some(redactor) = &self.redactor {
            for event in &mut span.events {
                for (k, value) in &mut event.attributes {
                    if let AttrValue::Str(text) = value {
                        if CONTENT_EVENT_KEYS.contains(&k.as_str()) {
                            redactions += redactor.redact(text);
                        }
                    }
                }
            }
        }
        if redactions > 0 {
            let count = i64::try_from(redactions).unwrap_or(i64::MAX);
            span.attributes
                .push((key::CODEX_REDACTIONS.to_owned(), AttrValue::Int(count)));
        }
        if truncated {
            span.attributes.push((
                key::CODEX_CONTENT_TRUNCATED.to_owned(),
                AttrValue::Bool(true),
            ));
        }
    }
}

/// Cuts `text` to at most about `max` bytes. JSON stays valid JSON of the same shape; plain
/// text is cut at a character boundary with a marker.
pub fn truncate_content(text: &str, max: usize) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ (Value::Array(_) | Value::Object(_))) => truncate_json(value, max),
        _ => cut_string(text, max),
    }
}

fn cut_string(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let marker_room = 40.min(max / 2);
    let mut end = max.saturating_sub(marker_room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} bytes truncated]", &text[..end], text.len() - end)
}

/// Cuts a JSON value to about `max` bytes in linear time: first every string longer than one
/// common cap is cut to it (the largest cap that saves enough, found from the sorted lengths),
/// then, while still too long, the middle of the largest array gives way to a marker. Each step
/// serializes the value once; thinning repeats at most [`MAX_THINNING_ROUNDS`] times.
fn truncate_json(mut value: Value, max: usize) -> String {
    let text = value.to_string();
    if text.len() <= max {
        return text;
    }
    let mut lengths = Vec::new();
    string_lengths(&value, &mut lengths);
    let longer = |cap: usize| lengths.iter().filter(|len| **len > cap).count();
    if let Some(cap) = string_cap(lengths.clone(), text.len() - max) {
        let original = value.clone();
        cap_strings(&mut value, cap);
        // The cap was found from raw lengths: escapes make strings longer in JSON, so the cut
        // may keep far less than `max`. A few more cuts from the original, each raising the
        // cap by half of what is left over spread over the cut strings, keep the last that
        // fits: a bounded number of passes, so still linear.
        let (mut cap, mut kept) = (cap, value.to_string().len());
        for _ in 0..RAISE_ROUNDS {
            if kept >= max - max / 8 {
                break;
            }
            let raised = cap + (max - kept) / (2 * longer(cap).max(1));
            let mut again = original.clone();
            cap_strings(&mut again, raised);
            let len = again.to_string().len();
            if len > max {
                break;
            }
            (cap, kept, value) = (raised, len, again);
        }
    }
    let mut text = value.to_string();
    for _ in 0..MAX_THINNING_ROUNDS {
        if text.len() <= max || !thin_largest_array(&mut value, text.len() - max) {
            break;
        }
        text = value.to_string();
    }
    text
}

/// Cuts that raise the common string cap towards the limit, at most.
const RAISE_ROUNDS: usize = 3;

/// Thinning rounds before a value that still does not fit is given up on (left too long).
const MAX_THINNING_ROUNDS: usize = 8;

fn string_lengths(value: &Value, out: &mut Vec<usize>) {
    match value {
        Value::String(s) => out.push(s.len()),
        Value::Array(items) => items.iter().for_each(|v| string_lengths(v, out)),
        Value::Object(map) => map.values().for_each(|v| string_lengths(v, out)),
        _ => {}
    }
}

/// The largest length (at least [`MIN_STRING_KEEP`]) that, with every longer string cut to it,
/// saves `excess` bytes and a margin for markers and escapes; `None` when strings are short.
fn string_cap(mut lengths: Vec<usize>, excess: usize) -> Option<usize> {
    lengths.sort_unstable_by(|a, b| b.cmp(a));
    let needed = excess + excess / 16 + 64;
    let mut above = 0usize;
    for (k, &len) in lengths.iter().enumerate() {
        above += len;
        let count = k + 1;
        let next = lengths.get(count).copied().unwrap_or(0);
        // With the `count` longest strings cut to `cap`, the saving is above - count * cap.
        let cap = (above.saturating_sub(needed) / count).min(len);
        if cap >= next || count == lengths.len() {
            return (len > MIN_STRING_KEEP).then_some(cap.max(MIN_STRING_KEEP));
        }
    }
    None
}

fn cap_strings(value: &mut Value, cap: usize) {
    match value {
        Value::String(s) if s.len() > cap => *s = cut_string(s, cap),
        Value::Array(items) => items.iter_mut().for_each(|v| cap_strings(v, cap)),
        Value::Object(map) => map.values_mut().for_each(|v| cap_strings(v, cap)),
        _ => {}
    }
}

/// Replaces a middle block of the largest array (of at least 3 items) that saves `excess`
/// bytes with one marker string; false when there is no such array.
fn thin_largest_array(value: &mut Value, excess: usize) -> bool {
    let Some(items) = largest_array(value) else {
        return false;
    };
    let sizes: Vec<usize> = items.iter().map(|v| v.to_string().len() + 1).collect();
    let len = items.len();
    let (mut start, mut end) = (len / 2, len / 2);
    let mut saved = 0;
    while saved < excess + 32 && (start > 1 || end < len - 1) {
        if end < len - 1 && (end - len / 2 <= len / 2 - start || start <= 1) {
            saved += sizes[end];
            end += 1;
        } else {
            start -= 1;
            saved += sizes[start];
        }
    }
    if start == end {
        return false;
    }
    let dropped = end - start;
    let marker = Value::String(format!("…[{dropped} items truncated]"));
    items.splice(start..end, [marker]);
    true
}

/// Where an array lies inside a value.
enum Step {
    Index(usize),
    Key(String),
}

/// The largest array of at least 3 items (by serialized size) that is not inside another one.
fn largest_array(value: &mut Value) -> Option<&mut Vec<Value>> {
    let (_, path) = largest_array_path(value)?;
    let mut at = value;
    for step in path {
        at = match (at, step) {
            (Value::Array(items), Step::Index(i)) => items.get_mut(i)?,
            (Value::Object(map), Step::Key(k)) => map.get_mut(&k)?,
            _ => return None,
        };
    }
    at.as_array_mut()
}

fn largest_array_path(value: &Value) -> Option<(usize, Vec<Step>)> {
    let candidates: Vec<(Step, &Value)> = match value {
        Value::Array(items) if items.len() >= 3 => {
            return Some((value.to_string().len(), Vec::new()))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (Step::Index(i), v))
            .collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        _ => return None,
    };
    candidates
        .into_iter()
        .filter_map(|(step, child)| {
            let (size, mut path) = largest_array_path(child)?;
            path.insert(0, step);
            Some((size, path))
        })
        .max_by_key(|(size, _)| *size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{SpanId, SpanKind, SpanStatus, TraceId};
    use std::time::UNIX_EPOCH;

    fn span_with(attrs: Vec<(&str, &str)>) -> SpanRecord {
        SpanRecord {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            parent_span_id: None,
            name: "chat m".into(),
            kind: SpanKind::Client,
            start: UNIX_EPOCH,
            end: UNIX_EPOCH,
            attributes: attrs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), AttrValue::Str(v.to_owned())))
                .collect(),
            events: Vec::new(),
            status: SpanStatus::Unset,
        }
    }

    #[test]
    fn capture_off_removes_every_content_attribute_and_keeps_the_rest() {
        let mut span = span_with(vec![
            (key::INPUT_MESSAGES, "[]"),
            (key::TOOL_CALL_ARGUMENTS, "{}"),
            (key::REQUEST_MODEL, "m"),
        ]);
        let policy = ContentPolicy {
            capture: false,
            ..ContentPolicy::default()
        };
        policy.apply(&mut span);
        let keys: Vec<&str> = span.attributes.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec![key::REQUEST_MODEL]);
    }

    #[test]
    fn truncated_messages_stay_valid_json_of_the_same_shape() {
        let long = "x".repeat(10_000);
        let messages = serde_json::json!([
            {"role": "user", "parts": [{"type": "text", "content": long}]},
            {"role": "assistant", "parts": [{"type": "text", "content": "short"}]}
        ])
        .to_string();
        let cut = truncate_content(&messages, 1_000);
        assert!(cut.len() <= 1_000, "{}", cut.len());
        let parsed: Value = serde_json::from_str(&cut).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 2);
        assert_eq!(parsed[1]["parts"][0]["content"], "short");
        assert!(parsed[0]["parts"][0]["content"]
            .as_str()
            .unwrap()
            .contains("bytes truncated"));
    }

    #[test]
    fn many_small_items_are_thinned_with_a_marker() {
        let items: Vec<Value> = (0..2_000)
            .map(|i| Value::from(format!("item {i}")))
            .collect();
        let cut = truncate_content(&Value::Array(items).to_string(), 2_000);
        assert!(cut.len() <= 2_000);
        let parsed: Vec<Value> = serde_json::from_str(&cut).unwrap();
        assert_eq!(parsed[0], "item 0");
        assert!(parsed
            .iter()
            .any(|v| v.as_str().is_some_and(|s| s.contains("items truncated"))));
    }

    #[test]
    fn many_long_strings_are_cut_to_one_common_length_in_one_pass() {
        let parts: Vec<Value> = (0..150)
            .map(|i| serde_json::json!({"id": i, "response": "r".repeat(200 + 3 * i)}))
            .collect();
        let value = serde_json::json!([{"role": "tool", "parts": parts}]);
        let cut = truncate_content(&value.to_string(), 32 * 1024);
        assert!(cut.len() <= 32 * 1024, "{}", cut.len());
        let parsed: Value = serde_json::from_str(&cut).unwrap();
        let parts = parsed[0]["parts"].as_array().unwrap();
        assert_eq!(
            parts.len(),
            150,
            "strings are cut before any item is dropped"
        );
        let kept: Vec<usize> = parts
            .iter()
            .map(|p| {
                p["response"]
                    .as_str()
                    .unwrap()
                    .split('…')
                    .next()
                    .unwrap()
                    .len()
            })
            .collect();
        assert!(
            kept.iter().all(|k| *k == kept[0]),
            "one common cap: {kept:?}"
        );
    }

    #[test]
    fn content_full_of_escapes_keeps_most_of_the_cap() {
        let parts: Vec<Value> = (0..100)
            .map(|i| Value::from(format!("{i}: {}", "line \"quoted\"\n\t".repeat(150))))
            .collect();
        let cut = truncate_content(&Value::Array(parts).to_string(), 32 * 1024);
        assert!(cut.len() <= 32 * 1024, "{}", cut.len());
        assert!(cut.len() >= 24 * 1024, "kept only {} bytes", cut.len());
        let parsed: Vec<Value> = serde_json::from_str(&cut).unwrap();
        assert_eq!(parsed.len(), 100);
    }

    #[test]
    fn a_thinned_array_keeps_its_first_and_last_items() {
        let items: Vec<Value> = (0..5_000).map(Value::from).collect();
        let cut = truncate_content(&Value::Array(items).to_string(), 1_000);
        assert!(cut.len() <= 1_000, "{}", cut.len());
        let parsed: Vec<Value> = serde_json::from_str(&cut).unwrap();
        assert_eq!(parsed[0], 0);
        assert_eq!(parsed.last().unwrap(), &Value::from(4_999));
    }

    #[test]
    fn ten_megabytes_in_ten_thousand_strings_are_cut_to_the_cap() {
        // Quadratic for a cut that re-serializes the whole value after each string it shortens.
        let items: Vec<Value> = (0..10_000)
            .map(|i| serde_json::json!({"id": i, "output": "o".repeat(1_000)}))
            .collect();
        let text = Value::Array(items).to_string();
        assert!(text.len() > 10_000_000);
        let cut = truncate_content(&text, 32 * 1024);
        assert!(cut.len() <= 32 * 1024, "{}", cut.len());
        let parsed: Vec<Value> = serde_json::from_str(&cut).unwrap();
        assert_eq!(parsed[0]["id"], 0);
        assert_eq!(parsed.last().unwrap()["id"], 9_999);
    }

    #[test]
    fn the_cut_of_a_mixed_value_is_exactly_this() {
        // Pins the result: a change to the cutting rules shows here first.
        let value = serde_json::json!({
            "a": "x".repeat(300),
            "b": ["y".repeat(200), "z\n".repeat(100), 1, 2, 3, 4, 5, 6, 7, 8],
            "c": "w".repeat(150),
            "d": {"e": "v".repeat(90), "f": [true, null, 0.5]},
        });
        let cut = truncate_content(&value.to_string(), 800);
        // One common cap, first 112 bytes, then raised to 138 because that cut left room: 98
        // kept and the marker; the 90-byte string stays whole.
        assert!(cut.len() <= 800, "{}", cut.len());
        let kept =
            |c: &str, n: usize, gone: usize| format!("{}…[{gone} bytes truncated]", c.repeat(n));
        let expected = serde_json::json!({
            "a": kept("x", 98, 202),
            "b": [kept("y", 98, 102), kept("z\n", 49, 102), 1, 2, 3, 4, 5, 6, 7, 8],
            "c": kept("w", 98, 52),
            "d": {"e": "v".repeat(90), "f": [true, null, 0.5]},
        });
        assert_eq!(cut, expected.to_string());
    }

    #[test]
    fn secrets_in_content_are_redacted_and_counted_by_default() {
        let mut span = span_with(vec![
            (
                key::TOOL_CALL_ARGUMENTS,
                r#"{"cmd":"curl -H 'Authorization: Bearer abcdefgh12345'"}"#,
            ),
            (key::REQUEST_MODEL, "sk-proj-abcdefghijklmnopqrstuvwxyz"),
        ]);
        ContentPolicy::default().apply(&mut span);
        let args = span.str_attr(key::TOOL_CALL_ARGUMENTS).unwrap();
        assert!(args.contains("[REDACTED:bearer_token]") && !args.contains("abcdefgh12345"));
        assert_eq!(span.int_attr(key::CODEX_REDACTIONS), Some(1));
        let untouched = span.str_attr(key::REQUEST_MODEL).unwrap();
        assert!(
            untouched.starts_with("sk-proj"),
            "only content attributes are redacted"
        );
    }

    #[test]
    fn capping_marks_the_span_as_truncated() {
        let long = "y".repeat(100);
        let mut span = span_with(vec![(key::CODEX_TURN_PROMPT, &long)]);
        let policy = ContentPolicy {
            max_attribute_bytes: 50,
            ..ContentPolicy::default()
        };
        policy.apply(&mut span);
        assert!(span.str_attr(key::CODEX_TURN_PROMPT).unwrap().len() <= 50);
        assert_eq!(
            span.attr(key::CODEX_CONTENT_TRUNCATED),
            Some(&AttrValue::Bool(true))
        );
    }
}
