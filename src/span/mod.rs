//! Our output vocabulary: finished spans, independent of the OpenTelemetry SDK.
//!
//! The session stage produces [`SpanRecord`]s and the export stage consumes them; neither
//! imports the other. A record is complete when it is produced: ids, times, attributes, events
//! and status are final, so exporting the same record twice sends identical content.

pub mod content;
pub mod genai;
pub mod redact;

use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// A 16-byte trace id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TraceId(#[serde(with = "hex_bytes")] pub [u8; 16]);

/// An 8-byte span id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SpanId(#[serde(with = "hex_bytes")] pub [u8; 8]);

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Display for SpanId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The span kinds codex-otel emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// In-process work: agent invocations, turns, tool executions.
    Internal,
    /// A call to a remote service: model calls.
    Client,
}

/// A span's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "code", content = "message")]
pub enum SpanStatus {
    /// Nothing is known to have gone wrong.
    Unset,
    /// The operation failed; the string says how.
    Error(String),
}

/// An attribute value. OTLP allows no maps through the SDK, so structured content travels as
/// JSON strings (the GenAI conventions allow that on spans).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A boolean.
    Bool(bool),
    /// A signed integer (token counts, exit codes).
    Int(i64),
    /// A floating-point number (seconds).
    Float(f64),
    /// A string, JSON documents included.
    Str(String),
    /// A list of strings (finish reasons, tags).
    StrList(Vec<String>),
}

/// One attribute: a key from [`genai`] (or a `codex.*`/`braintrust.*` key) and its value.
pub type Attribute = (String, AttrValue);

/// A timestamped event inside a span (a permission request, an interrupt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    /// Event name, e.g. `codex.permission_request`.
    pub name: String,
    /// When it happened.
    #[serde(with = "unix_nanos")]
    pub time: SystemTime,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
}

/// A finished span, ready to export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// The trace it belongs to: one per Codex session.
    pub trace_id: TraceId,
    /// Its own id, deterministic from (session, kind, natural key).
    pub span_id: SpanId,
    /// Its parent, or `None` for the session root (unless a parent trace was configured).
    pub parent_span_id: Option<SpanId>,
    /// Span name, e.g. `chat mock-model`.
    pub name: String,
    /// Span kind.
    pub kind: SpanKind,
    /// Start time.
    #[serde(with = "unix_nanos")]
    pub start: SystemTime,
    /// End time, never before `start`.
    #[serde(with = "unix_nanos")]
    pub end: SystemTime,
    /// Attributes in a stable order.
    pub attributes: Vec<Attribute>,
    /// Events in time order.
    pub events: Vec<SpanEvent>,
    /// Outcome.
    pub status: SpanStatus,
}

impl SpanRecord {
    /// The value of attribute `key`, if set.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The integer value of attribute `key`, if set and an integer.
    pub fn int_attr(&self, key: &str) -> Option<i64> {
        match self.attr(key) {
            Some(AttrValue::Int(v)) => Some(*v),
            _ => None,
        }
    }

    /// The string value of attribute `key`, if set and a string.
    pub fn str_attr(&self, key: &str) -> Option<&str> {
        match self.attr(key) {
            Some(AttrValue::Str(v)) => Some(v),
            _ => None,
        }
    }
}

mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; N];
        hex::decode_to_slice(text, &mut out).map_err(D::Error::custom)?;
        Ok(out)
    }
}

mod unix_nanos {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let nanos = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        s.serialize_u64(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        Ok(UNIX_EPOCH + Duration::from_nanos(u64::deserialize(d)?))
    }
}
