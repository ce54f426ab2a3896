//! Per-session settings read from the environment a session's hooks ran with: content capture,
//! where the session runs from ([`lineage`]: the parent trace to join, the parent session's
//! tool call), and user metadata.
//!
//! An invalid value never turns content capture on: a capture setting that cannot be parsed
//! counts as "off", and each problem is reported so the caller can log it.

use super::env;
use crate::session::ids::trace_id_for_session;
use crate::session::sampling::Sampling;
use crate::session::{Lineage, ParentCall, ParentContext, SessionConfig};
use crate::span::content::ContentPolicy;
use crate::span::redact::Redactor;

/// Builds the session settings from a variable lookup; returns them with a description of each
/// value that was ignored or read as "off".
pub fn session_config(vars: impl Fn(&str) -> Option<String>) -> (SessionConfig, Vec<String>) {
    let mut problems = Vec::new();
    let mut flag =
        |name: &str, default: Switch, invalid: Switch| match vars(name).as_deref().map(str::trim) {
            None | Some("") => default == Switch::On,
            Some(text) => super::values::boolean(text).unwrap_or_else(|_| {
                problems.push(format!(
                    "{name} is not a boolean; reading it as {invalid:?}"
                ));
                invalid == Switch::On
            }),
        };
    // An unreadable capture switch reads as off: a typo must never leak content.
    let capture = flag(env::CODEX_OTEL_CAPTURE_CONTENT, Switch::On, Switch::Off)
        & flag(
            env::OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
            Switch::On,
            Switch::Off,
        );
    let full_history = flag(env::CODEX_OTEL_FULL_HISTORY, Switch::Off, Switch::Off);
    let always = flag(env::CODEX_OTEL_SAMPLE_ALWAYS, Switch::Off, Switch::On);
    // An unreadable redaction switch reads as on: a typo must never leak a secret.
    let redact = flag(env::CODEX_OTEL_REDACT, Switch::On, Switch::On);
    let mut content = ContentPolicy {
        capture,
        full_history,
        ..ContentPolicy::default()
    };
    if redact {
        match redactor(&vars) {
            Ok(redactor) => content.redactor = Some(redactor),
            Err(problem) => {
                problems.push(problem);
                content.capture = false;
            }
        }
    } else {
        content.redactor = None;
    }
    if let Some(text) = vars(env::CODEX_OTEL_MAX_ATTRIBUTE_BYTES) {
        match text.trim().parse::<usize>() {
            Ok(bytes) if bytes >= 256 => content.max_attribute_bytes = bytes,
            _ => problems.push(format!(
                "{} must be a number of bytes >= 256",
                env::CODEX_OTEL_MAX_ATTRIBUTE_BYTES
            )),
        }
    }
    let sampling = Sampling {
        ratio: ratio(&vars, &mut problems),
        always,
    };
    let config = SessionConfig {
        content,
        lineage: lineage(&vars, &mut problems),
        metadata: metadata(&vars, &mut problems),
        git: None,
        sampling,
    };
    (config, problems)
}

/// A boolean setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Switch {
    On,
    Off,
}

/// The built-in redaction rules plus `CODEX_OTEL_REDACT_PATTERNS` (a JSON array of regular
/// expressions). Patterns that cannot be used switch content capture off for the session: a
/// secret the user asked to hide must not leave unredacted.
fn redactor(vars: &impl Fn(&str) -> Option<String>) -> Result<Redactor, String> {
    let name = env::CODEX_OTEL_REDACT_PATTERNS;
    let patterns = match vars(name).filter(|v| !v.trim().is_empty()) {
        None => Vec::new(),
        Some(text) => serde_json::from_str::<Vec<String>>(&text).map_err(|_| {
            format!("{name} is not a JSON array of strings; content capture is off")
        })?,
    };
    Redactor::with_patterns(patterns)
        .map_err(|error| format!("{name}: {error}; content capture is off"))
}

/// `CODEX_OTEL_SAMPLE_RATIO`: a fraction from 0 to 1; anything else keeps every session.
fn ratio(vars: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> f64 {
    let Some(text) = vars(env::CODEX_OTEL_SAMPLE_RATIO).filter(|v| !v.trim().is_empty()) else {
        return 1.0;
    };
    match text.trim().parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => ratio,
        _ => {
            problems.push(format!(
                "{} must be a number from 0 to 1; keeping every session",
                env::CODEX_OTEL_SAMPLE_RATIO
            ));
            1.0
        }
    }
}

/// Where the session runs from: the trace it joins ([`parent`]) and the tool call of the Codex
/// session that ran it ([`parent_call`]).
pub(crate) fn lineage(
    vars: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Lineage {
    let joined = parent(vars, problems);
    Lineage {
        joined,
        call: parent_call(vars, joined),
    }
}

/// `CODEX_SESSION_ID` + `CODEX_TOOL_CALL_ID`, both set: the tool call of the Codex session
/// that ran this one. Its trace, as far as the environment tells: the joined trace (a
/// `TRACEPARENT` the parent passed down), else the parent session's own.
fn parent_call(
    vars: &impl Fn(&str) -> Option<String>,
    joined: Option<ParentContext>,
) -> Option<ParentCall> {
    let value = |name| {
        vars(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let session_id = value(env::CODEX_SESSION_ID)?;
    let tool_call_id = value(env::CODEX_TOOL_CALL_ID)?;
    let trace_id = joined.map_or_else(|| trace_id_for_session(&session_id), |j| j.trace_id);
    Some(ParentCall {
        session_id,
        tool_call_id,
        trace_id,
    })
}

/// `TRACEPARENT`, else the seed plugin's `CODEX_ROOT_SPAN_ID` + `CODEX_PARENT_SPAN_ID`.
fn parent(
    vars: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Option<ParentContext> {
    if let Some(value) = vars(env::TRACEPARENT).filter(|v| !v.trim().is_empty()) {
        let parsed = ParentContext::from_traceparent(&value);
        if parsed.is_none() {
            problems.push(format!(
                "{} is not a W3C traceparent; ignored",
                env::TRACEPARENT
            ));
        }
        return parsed;
    }
    let root = vars(env::CODEX_ROOT_SPAN_ID)?;
    let span = vars(env::CODEX_PARENT_SPAN_ID).unwrap_or_default();
    let parsed = ParentContext::from_hex(root.trim(), span.trim());
    if parsed.is_none() {
        problems.push(format!(
            "{} (32 hex digits) and {} (16 hex digits) do not name a span; ignored",
            env::CODEX_ROOT_SPAN_ID,
            env::CODEX_PARENT_SPAN_ID
        ));
    }
    parsed
}

/// `BRAINTRUST_ADDITIONAL_METADATA`: a JSON object; non-string values are kept as JSON text.
fn metadata(
    vars: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Vec<(String, String)> {
    let Some(text) = vars(env::BRAINTRUST_ADDITIONAL_METADATA).filter(|v| !v.trim().is_empty())
    else {
        return Vec::new();
    };
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text) {
        Ok(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
        Err(_) => {
            problems.push(format!(
                "{} is not a JSON object; ignored",
                env::BRAINTRUST_ADDITIONAL_METADATA
            ));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> (SessionConfig, Vec<String>) {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        session_config(|k| map.get(k).cloned())
    }

    #[test]
    fn content_is_captured_by_default_and_either_switch_turns_it_off() {
        assert!(settings(&[]).0.content.capture);
        assert!(
            !settings(&[("CODEX_OTEL_CAPTURE_CONTENT", "false")])
                .0
                .content
                .capture
        );
        assert!(
            !settings(&[(
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
                "false"
            )])
            .0
            .content
            .capture
        );
    }

    #[test]
    fn an_unreadable_capture_setting_means_off_and_is_reported() {
        let (config, problems) = settings(&[("CODEX_OTEL_CAPTURE_CONTENT", "flase")]);
        assert!(!config.content.capture);
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn traceparent_wins_over_the_seed_plugin_variables() {
        let (config, _) = settings(&[
            (
                "TRACEPARENT",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("CODEX_ROOT_SPAN_ID", "11111111111111111111111111111111"),
            ("CODEX_PARENT_SPAN_ID", "2222222222222222"),
        ]);
        assert_eq!(
            config.lineage.joined.unwrap().span_id.to_string(),
            "00f067aa0ba902b7"
        );
        let (config, _) = settings(&[
            ("CODEX_ROOT_SPAN_ID", "11111111111111111111111111111111"),
            ("CODEX_PARENT_SPAN_ID", "2222222222222222"),
        ]);
        assert_eq!(
            config.lineage.joined.unwrap().trace_id.to_string(),
            "11111111111111111111111111111111"
        );
    }

    const PARENT: &str = "019de0a1-7c3a-7d42-9a51-2f6e8b1c0d34";

    #[test]
    fn a_parent_call_needs_both_variables_and_goes_to_the_parents_trace() {
        let (config, problems) = settings(&[
            ("CODEX_SESSION_ID", PARENT),
            ("CODEX_TOOL_CALL_ID", " call_0002_9e74711f "),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        let call = config.lineage.call.expect("a parent call");
        assert_eq!(
            (call.session_id.as_str(), call.tool_call_id.as_str()),
            (PARENT, "call_0002_9e74711f")
        );
        assert_eq!(call.trace_id, trace_id_for_session(PARENT));
        for half in [
            &[("CODEX_SESSION_ID", PARENT)][..],
            &[("CODEX_TOOL_CALL_ID", "call_1")],
            &[("CODEX_SESSION_ID", PARENT), ("CODEX_TOOL_CALL_ID", " ")],
        ] {
            assert_eq!(settings(half).0.lineage.call, None, "{half:?}");
        }
    }

    #[test]
    fn a_parent_call_with_a_traceparent_goes_to_the_traceparents_trace() {
        let (config, _) = settings(&[
            ("CODEX_SESSION_ID", PARENT),
            ("CODEX_TOOL_CALL_ID", "call_1"),
            (
                "TRACEPARENT",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        ]);
        let call = config.lineage.call.expect("a parent call");
        assert_eq!(
            call.trace_id.to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(config.lineage.joined.is_some());
    }

    #[test]
    fn redaction_is_on_by_default_and_a_bad_user_pattern_turns_capture_off() {
        assert!(settings(&[]).0.content.redactor.is_some());
        assert!(settings(&[("CODEX_OTEL_REDACT", "false")])
            .0
            .content
            .redactor
            .is_none());
        let (config, problems) = settings(&[("CODEX_OTEL_REDACT_PATTERNS", r#"["ACME-\\d+"]"#)]);
        assert!(
            problems.is_empty() && config.content.capture,
            "{problems:?}"
        );
        let (config, problems) = settings(&[("CODEX_OTEL_REDACT_PATTERNS", r#"["("]"#)]);
        assert_eq!(problems.len(), 1);
        assert!(!config.content.capture);
    }

    #[test]
    fn sampling_reads_a_ratio_and_a_per_session_override() {
        assert_eq!(settings(&[]).0.sampling.ratio, 1.0);
        let (config, problems) = settings(&[
            ("CODEX_OTEL_SAMPLE_RATIO", "0.1"),
            ("CODEX_OTEL_SAMPLE_ALWAYS", "true"),
        ]);
        assert!(problems.is_empty());
        assert_eq!(config.sampling.ratio, 0.1);
        assert!(config.sampling.always);
        let (config, problems) = settings(&[("CODEX_OTEL_SAMPLE_RATIO", "2")]);
        assert_eq!((config.sampling.ratio, problems.len()), (1.0, 1));
    }

    #[test]
    fn additional_metadata_becomes_string_pairs() {
        let (config, problems) = settings(&[(
            "BRAINTRUST_ADDITIONAL_METADATA",
            r#"{"team":"infra","run":7}"#,
        )]);
        assert!(problems.is_empty());
        assert_eq!(
            config.metadata,
            vec![("run".into(), "7".into()), ("team".into(), "infra".into())]
        );
        assert_eq!(
            settings(&[("BRAINTRUST_ADDITIONAL_METADATA", "[1]")])
                .1
                .len(),
            1
        );
    }
}
