//! The little the hook reads of a payload: that it is one JSON object, its `session_id` and
//! its `hook_event_name`.
//!
//! One pass of serde_json over the bytes validates the whole document and borrows the two
//! strings; every other value is skipped without being built, so a payload of many megabytes
//! costs about one scan. Errors keep only the position of a JSON error: serde's messages can
//! quote the payload, which must never reach the log.

use serde::Deserialize;
use std::borrow::Cow;

/// Why a payload cannot be journaled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The bytes are not UTF-8.
    #[error("payload is not UTF-8")]
    NotUtf8,
    /// The document does not start with `{`.
    #[error("payload is not a JSON object")]
    NotObject,
    /// The document is not valid JSON, or a field has the wrong type.
    #[error("payload is not valid ({category} error at line {line} column {column})")]
    Invalid {
        /// `syntax`, `data` (wrong type, duplicate field) or `eof` (truncated).
        category: &'static str,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// `session_id` is absent or empty.
    #[error("payload has no session_id")]
    MissingSessionId,
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    hook_event_name: Option<Cow<'a, str>>,
}

/// A validated payload.
#[derive(Debug)]
pub(crate) struct Payload<'a> {
    json: &'a [u8],
    session_id: Cow<'a, str>,
    event_name: Option<Cow<'a, str>>,
}

impl<'a> Payload<'a> {
    /// Validates `bytes` (one JSON object with a non-empty string `session_id`).
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, PayloadError> {
        let text = std::str::from_utf8(bytes).map_err(|_| PayloadError::NotUtf8)?;
        if !text.trim_start().starts_with('{') {
            return Err(PayloadError::NotObject);
        }
        let probe: Probe<'a> = serde_json::from_str(text).map_err(|e| PayloadError::Invalid {
            category: match e.classify() {
                serde_json::error::Category::Syntax => "syntax",
                serde_json::error::Category::Data => "data",
                serde_json::error::Category::Eof => "eof",
                serde_json::error::Category::Io => "io",
            },
            line: e.line(),
            column: e.column(),
        })?;
        let session_id = probe
            .session_id
            .filter(|id| !id.is_empty())
            .ok_or(PayloadError::MissingSessionId)?;
        Ok(Payload {
            json: bytes,
            session_id,
            event_name: probe.hook_event_name,
        })
    }

    /// The payload as received.
    pub(crate) fn json(&self) -> &'a [u8] {
        self.json
    }

    /// The session (root thread) id.
    pub(crate) fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The event name, when present.
    pub(crate) fn event_name(&self) -> Option<&str> {
        self.event_name.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STOP: &[u8] = br#"{"session_id":"01a20d7a-b819","turn_id":"t","hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"done\n"}"#;

    #[test]
    fn a_real_shaped_payload_yields_its_session_and_event() {
        let payload = Payload::parse(STOP).unwrap();
        assert_eq!(payload.session_id(), "01a20d7a-b819");
        assert_eq!(payload.event_name(), Some("Stop"));
        assert_eq!(payload.json(), STOP);
    }

    #[test]
    fn escaped_session_ids_are_unescaped() {
        let payload = Payload::parse(br#"{"session_id":"a\/b\u0041"}"#).unwrap();
        assert_eq!(payload.session_id(), "a/bA");
    }

    fn kind(error: &PayloadError) -> &'static str {
        match error {
            PayloadError::NotUtf8 => "not utf-8",
            PayloadError::NotObject => "not an object",
            PayloadError::Invalid { category, .. } => category,
            PayloadError::MissingSessionId => "no session",
        }
    }

    #[test]
    fn unusable_payloads_are_refused_with_a_reason() {
        let cases: [(&[u8], &str); 8] = [
            (b"", "not an object"),
            (b"[\"s\"]", "not an object"),
            (b"\xff{}", "not utf-8"),
            (br#"{"session_id":"s""#, "eof"),
            (br#"{"session_id":"s"} x"#, "syntax"),
            (br#"{"session_id":5}"#, "data"),
            (br#"{"hook_event_name":"Stop"}"#, "no session"),
            (br#"{"session_id":""}"#, "no session"),
        ];
        for (bytes, expected) in cases {
            let error = Payload::parse(bytes).unwrap_err();
            let input = String::from_utf8_lossy(bytes);
            assert_eq!(kind(&error), expected, "{input:?} -> {error:?}");
        }
    }

    #[test]
    fn error_messages_never_quote_the_payload() {
        let error = Payload::parse(br#"{"session_id":"s","x":"secret-value" oops}"#).unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}
