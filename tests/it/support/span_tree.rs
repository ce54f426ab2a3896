//! Span trees for golden comparisons: spans → a nested JSON tree with ids removed, times as
//! offsets from the trace start, long strings elided to a prefix plus length and hash, and
//! children in start order. Two trees compare equal when the structure, names, kinds, statuses,
//! attributes, events and timings are equal.

use codex_otel::span::{AttrValue, SpanRecord};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Strings longer than this are elided in trees.
const MAX_STRING: usize = 160;

/// Builds the normalized tree of `spans`. Panics on a duplicate span id: that is always a bug.
pub(crate) fn span_tree(spans: &[SpanRecord]) -> Value {
    let mut seen = HashSet::new();
    for span in spans {
        assert!(
            seen.insert(span.span_id),
            "duplicate span id {} ({})",
            span.span_id,
            span.name
        );
    }
    let origin = spans.iter().map(|s| s.start).min().unwrap_or(UNIX_EPOCH);
    let mut children: BTreeMap<Option<String>, Vec<&SpanRecord>> = BTreeMap::new();
    for span in spans {
        let parent = span
            .parent_span_id
            .filter(|p| seen.contains(p))
            .map(|p| p.to_string());
        children.entry(parent).or_default().push(span);
    }
    let roots = children.get(&None).cloned().unwrap_or_default();
    Value::Array(nodes(&roots, &children, origin))
}

fn nodes(
    spans: &[&SpanRecord],
    children: &BTreeMap<Option<String>, Vec<&SpanRecord>>,
    origin: SystemTime,
) -> Vec<Value> {
    let mut sorted = spans.to_vec();
    sorted.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
    sorted
        .into_iter()
        .map(|span| {
            let kids = children
                .get(&Some(span.span_id.to_string()))
                .cloned()
                .unwrap_or_default();
            let mut node = Map::new();
            node.insert("name".into(), json!(span.name));
            node.insert("kind".into(), json!(span.kind));
            node.insert("status".into(), json!(span.status));
            node.insert("start_ms".into(), json!(millis(origin, span.start)));
            node.insert("duration_ms".into(), json!(millis(span.start, span.end)));
            node.insert("attributes".into(), attributes(&span.attributes));
            let events: Vec<Value> = span
                .events
                .iter()
                .map(|e| {
                    json!({
                        "name": e.name,
                        "attributes": attributes(&e.attributes),
                        "offset_ms": millis(span.start, e.time),
                    })
                })
                .collect();
            if !events.is_empty() {
                node.insert("events".into(), Value::Array(events));
            }
            let kids = nodes(&kids, children, origin);
            if !kids.is_empty() {
                node.insert("children".into(), Value::Array(kids));
            }
            Value::Object(node)
        })
        .collect()
}

fn millis(from: SystemTime, to: SystemTime) -> i64 {
    match to.duration_since(from) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

fn attributes(attrs: &[(String, AttrValue)]) -> Value {
    let map: Map<String, Value> = attrs
        .iter()
        .map(|(k, v)| {
            let value = match v {
                AttrValue::Bool(b) => json!(b),
                AttrValue::Int(i) => json!(i),
                AttrValue::Float(f) => json!(f),
                AttrValue::Str(s) => json!(elide(s)),
                AttrValue::StrList(l) => json!(l.iter().map(|s| elide(s)).collect::<Vec<_>>()),
            };
            (k.clone(), value)
        })
        .collect();
    Value::Object(map)
}

/// A long string as its first 100 characters, its length and a short hash.
fn elide(text: &str) -> String {
    if text.len() <= MAX_STRING {
        return text.to_owned();
    }
    let head: String = text.chars().take(100).collect();
    let digest = hex::encode(&Sha256::digest(text.as_bytes())[..6]);
    format!("{head}… [{} bytes sha256:{digest}]", text.len())
}

/// A readable line diff of two trees, or `None` when they are equal.
pub(crate) fn tree_diff(expected: &Value, actual: &Value) -> Option<String> {
    if expected == actual {
        return None;
    }
    let expected = serde_json::to_string_pretty(expected).unwrap_or_default();
    let actual = serde_json::to_string_pretty(actual).unwrap_or_default();
    let diff = similar::TextDiff::from_lines(&expected, &actual);
    Some(
        diff.unified_diff()
            .context_radius(4)
            .header("expected", "actual")
            .to_string(),
    )
}

/// Compares `actual` with the golden file at `path`; with `UPDATE_GOLDEN=1` rewrites it.
pub(crate) fn assert_golden(path: &Path, actual: &Value) {
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
        std::fs::write(path, text).unwrap();
        return;
    }
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    let expected: Value = serde_json::from_str(&text).unwrap();
    if let Some(diff) = tree_diff(&expected, actual) {
        panic!("span tree differs from {}:\n{diff}", path.display());
    }
}
