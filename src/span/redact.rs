//! Secret redaction in captured content: common credential formats (OpenAI, Anthropic, AWS,
//! GitHub, Google, Braintrust, Slack keys; bearer and basic authorization values; private key
//! blocks; passwords in URLs) plus user-supplied patterns are replaced by `[REDACTED:<kind>]`
//! before a span leaves the session stage. On by default.
//!
//! Replacements contain no quote or backslash, so redacting inside JSON text keeps it valid.

use regex::Regex;
use std::sync::OnceLock;

/// One kind of secret and how to find it. When the pattern has a group named `secret`, only
/// that group is replaced (the rest, e.g. `Bearer ` or a URL's user name, stays).
struct Rule {
    kind: &'static str,
    pattern: &'static str,
}

const RULES: [Rule; 13] = [
    Rule {
        kind: "private_key",
        pattern: r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    },
    Rule {
        kind: "anthropic_key",
        pattern: r"\bsk-ant-[A-Za-z0-9_-]{20,}",
    },
    Rule {
        kind: "openai_key",
        pattern: r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
    },
    Rule {
        kind: "aws_access_key_id",
        pattern: r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b",
    },
    Rule {
        kind: "aws_secret_access_key",
        pattern: r#"(?i)aws_secret_access_key["']?\s*[=:]\s*["']?(?P<secret>[A-Za-z0-9/+=]{40})"#,
    },
    Rule {
        kind: "github_token",
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
    },
    Rule {
        kind: "google_api_key",
        pattern: r"\bAIza[0-9A-Za-z_-]{35}",
    },
    Rule {
        kind: "braintrust_key",
        pattern: r#"(?i)braintrust_api_key["']?\s*[=:]\s*["']?(?P<secret>[A-Za-z0-9_-]{16,})"#,
    },
    Rule {
        kind: "slack_token",
        pattern: r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    },
    Rule {
        kind: "slack_webhook",
        pattern: r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+",
    },
    Rule {
        kind: "bearer_token",
        pattern: r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=-]{8,})",
    },
    Rule {
        kind: "basic_auth",
        pattern: r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})",
    },
    Rule {
        kind: "url_password",
        pattern: r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:(?P<secret>[^/\s@]+)@",
    },
];

fn builtin() -> &'static [(&'static str, Regex)] {
    static COMPILED: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        RULES
            .iter()
            .filter_map(|rule| Regex::new(rule.pattern).ok().map(|re| (rule.kind, re)))
            .collect()
    })
}

/// Why a user pattern was refused.
#[derive(Debug, thiserror::Error)]
#[error("redaction pattern {index} is not a valid regular expression")]
pub struct PatternError {
    /// Its position in the list (the pattern itself may hold a secret and is not shown).
    pub index: usize,
    /// The parser's complaint.
    #[source]
    pub source: regex::Error,
}

/// The built-in rules plus the user's patterns.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    patterns: Vec<String>,
    user: Vec<Regex>,
}

impl PartialEq for Redactor {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

impl Eq for Redactor {}

impl Redactor {
    /// A redactor with the built-in rules and `patterns` (regular expressions, redacted as
    /// `[REDACTED:custom]`).
    pub fn with_patterns(patterns: Vec<String>) -> Result<Self, PatternError> {
        let user = patterns
            .iter()
            .enumerate()
            .map(|(index, p)| Regex::new(p).map_err(|source| PatternError { index, source }))
            .collect::<Result<_, _>>()?;
        Ok(Redactor { patterns, user })
    }

    /// Redacts `text` in place; returns how many secrets were replaced.
    pub fn redact(&self, text: &mut String) -> usize {
        let mut count = 0;
        for (kind, re) in builtin() {
            count += replace(text, re, kind);
        }
        for re in &self.user {
            count += replace(text, re, "custom");
        }
        count
    }
}

fn replace(text: &mut String, re: &Regex, kind: &str) -> usize {
    if !re.is_match(text) {
        return 0;
    }
    let marker = format!("[REDACTED:{kind}]");
    let mut count = 0;
    let replaced = re.replace_all(text, |caps: &regex::Captures<'_>| {
        count += 1;
        let whole = caps.get(0).map_or("", |m| m.as_str());
        match caps.name("secret") {
            Some(secret) => {
                let start = secret.start() - caps.get(0).map_or(0, |m| m.start());
                format!(
                    "{}{marker}{}",
                    &whole[..start],
                    &whole[start + secret.len()..]
                )
            }
            None => marker.clone(),
        }
    });
    *text = replaced.into_owned();
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(input: &str) -> (String, usize) {
        let mut text = input.to_owned();
        let count = Redactor::default().redact(&mut text);
        (text, count)
    }

    #[test]
    fn every_builtin_kind_is_found() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----";
        let cases = [
            (
                "key sk-proj-abcdefghijklmnopqrstuvwxyz012345 here",
                "openai_key",
            ),
            ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "anthropic_key"),
            ("AKIAIOSFODNN7EXAMPLE", "aws_access_key_id"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key",
            ),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_token"),
            ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "google_api_key"),
            (
                "BRAINTRUST_API_KEY=bt-0123456789abcdef0123",
                "braintrust_key",
            ),
            ("xoxb-123456789012-abcdefghij", "slack_token"),
            (
                "https://hooks.slack.com/services/T000/B000/XXXX",
                "slack_webhook",
            ),
            ("Authorization: Bearer eyJhbGciOi.abc.def", "bearer_token"),
            ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "basic_auth"),
            (
                "git clone https://user:hunter2secret@example.com/r.git",
                "url_password",
            ),
            (pem, "private_key"),
        ];
        for (input, kind) in cases {
            let (text, count) = redacted(input);
            assert!(
                count >= 1 && text.contains(&format!("[REDACTED:{kind}]")),
                "{input} -> {text}"
            );
        }
    }

    #[test]
    fn context_around_a_secret_is_kept() {
        let (text, _) = redacted("curl -H 'Authorization: Bearer abcdefgh12345' https://x");
        assert_eq!(
            text,
            "curl -H 'Authorization: Bearer [REDACTED:bearer_token]' https://x"
        );
        let (text, _) = redacted("https://alice:s3cr3tpass@host/path");
        assert_eq!(text, "https://alice:[REDACTED:url_password]@host/path");
    }

    #[test]
    fn ordinary_text_and_json_stay_unchanged_and_valid() {
        let json = r#"[{"role":"user","parts":[{"type":"text","content":"please run echo hello; token sk-abcdefghijklmnopqrstuvwxyz"}]}]"#;
        let (text, count) = redacted(json);
        assert_eq!(count, 1);
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_ok(),
            "{text}"
        );
        let (text, count) = redacted("echo hello && ls -la /tmp");
        assert_eq!((text.as_str(), count), ("echo hello && ls -la /tmp", 0));
    }

    #[test]
    fn user_patterns_are_applied_and_bad_ones_refused() {
        let redactor = Redactor::with_patterns(vec![r"ACME-\d{6}".into()]).unwrap();
        let mut text = "ticket ACME-123456".to_owned();
        assert_eq!(redactor.redact(&mut text), 1);
        assert_eq!(text, "ticket [REDACTED:custom]");
        assert!(Redactor::with_patterns(vec!["(".into()]).is_err());
    }
}
