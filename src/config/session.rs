//! Per-session settings read from the environment a session's hooks ran with: content capture,
//! the parent trace to attach to, and user metadata.
//!
//! An invalid value never turns content capture on: a capture setting that cannot be parsed
//! counts as "off", and each problem is reported so the caller can log it.

use super::env;
use crate::session::sampling::Sampling;
use crate::session::{ParentContext, SessionConfig};
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
        parent: parent(&vars, &mut problems),
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
            config.parent.unwrap().span_id.to_string(),
            "00f067aa0ba902b7"
        );
        let (config, _) = settings(&[
            ("CODEX_ROOT_SPAN_ID", "11111111111111111111111111111111"),
            ("CODEX_PARENT_SPAN_ID", "2222222222222222"),
        ]);
        assert_eq!(
            config.parent.unwrap().trace_id.to_string(),
            "11111111111111111111111111111111"
        );
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
