//! `codex-otel show --list`: one line per session in the local store, most recent first: when
//! it started, where, its first prompt, how many turns of its own thread, tokens (from all its
//! model calls, sub-agents included), how long it ran and how many spans ended in error.

use super::format::{duration, short, Line, Output, Paint};
use super::totals::Usage;
use crate::export::file::{list_sessions, read_session, StoreError};
use crate::span::genai as key;
use crate::span::{SpanRecord, SpanStatus};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Longest first prompt drawn, in characters (the line is cut to the terminal anyway).
const MAX_PROMPT_CHARS: usize = 60;

/// One session's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) started: Option<SystemTime>,
    pub(crate) cwd: Option<String>,
    pub(crate) first_prompt: Option<String>,
    pub(crate) turns: usize,
    pub(crate) usage: Usage,
    pub(crate) duration: Duration,
    pub(crate) errors: usize,
}

/// The rows of every session in the store at `store`.
pub(crate) fn rows(store: &Path) -> Result<Vec<Row>, StoreError> {
    list_sessions(store)?
        .into_iter()
        .map(|session| Ok(row(session.id, &read_session(&session.path)?.spans)))
        .collect()
}

/// What `spans` (one session) say for its line.
pub(crate) fn row(id: String, spans: &[SpanRecord]) -> Row {
    let started = spans.iter().map(|s| s.start).min();
    let ended = spans.iter().map(|s| s.end).max();
    let mut turns: Vec<&SpanRecord> = spans.iter().filter(|s| is_own_turn(s, &id)).collect();
    turns.sort_by_key(|s| s.start);
    let mut usage = Usage::default();
    for span in spans {
        usage += Usage::of_call(span).unwrap_or_default();
    }
    Row {
        id,
        started,
        cwd: spans
            .iter()
            .find_map(|s| s.str_attr(key::CODEX_CWD))
            .map(str::to_owned),
        first_prompt: turns
            .iter()
            .find_map(|s| s.str_attr(key::CODEX_TURN_PROMPT))
            .map(str::to_owned),
        turns: turns.len(),
        usage,
        duration: match (started, ended) {
            (Some(start), Some(end)) => end.duration_since(start).unwrap_or_default(),
            _ => Duration::ZERO,
        },
        errors: spans
            .iter()
            .filter(|s| matches!(s.status, SpanStatus::Error(_)))
            .count(),
    }
}

/// A turn of the session's own thread (a sub-agent's turns are its own).
fn is_own_turn(span: &SpanRecord, session_id: &str) -> bool {
    span.attr(key::CODEX_TURN_INDEX).is_some()
        && span.str_attr(key::OPERATION_NAME).is_none()
        && span
            .str_attr(key::CODEX_THREAD_ID)
            .is_none_or(|thread| thread == session_id)
}

/// The list, a header line first.
pub(crate) fn render(rows: &[Row], output: Output) -> String {
    if rows.is_empty() {
        return "no sessions in the local store\n".to_owned();
    }
    let mut lines = vec![header()];
    lines.extend(rows.iter().map(line));
    lines
        .iter()
        .map(|line| line.render(output.width, output.colour) + "\n")
        .collect()
}

fn header() -> Line {
    let mut line = Line::default();
    line.push(
        format!(
            "{:<16}  {:<8}  {:>5}  {:>9}  {:>7}  {:>6}  {}",
            "started (UTC)", "session", "turns", "tokens", "time", "errors", "cwd · first prompt"
        ),
        Paint::Dim,
    );
    line
}

fn line(row: &Row) -> Line {
    let started = row
        .started
        .map(|t| {
            humantime::format_rfc3339_seconds(t)
                .to_string()
                .replace('T', " ")
        })
        .map(|t| t.chars().take(16).collect::<String>())
        .unwrap_or_else(|| "-".to_owned());
    let tokens = row.usage.input + row.usage.output;
    let mut line = Line::default();
    line.push(
        format!(
            "{started:<16}  {:<8}  {:>5}  {tokens:>9}  {:>7}  ",
            row.id.chars().take(8).collect::<String>(),
            row.turns,
            duration(row.duration),
        ),
        Paint::Plain,
    );
    let errors = format!("{:>6}", row.errors);
    line.push(
        errors,
        if row.errors > 0 {
            Paint::Error
        } else {
            Paint::Dim
        },
    );
    line.part(row.cwd.as_deref().unwrap_or("-"), Paint::Dim);
    if let Some(prompt) = &row.first_prompt {
        line.part(
            format!("\"{}\"", short(prompt, MAX_PROMPT_CHARS)),
            Paint::Plain,
        );
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{AttrValue, SpanId, SpanKind, TraceId};
    use std::time::UNIX_EPOCH;

    fn span(id: u8, start_s: u64, end_s: u64, attrs: Vec<(&str, AttrValue)>) -> SpanRecord {
        SpanRecord {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([id; 8]),
            parent_span_id: None,
            name: format!("span {id}"),
            kind: SpanKind::Internal,
            start: UNIX_EPOCH + Duration::from_secs(start_s),
            end: UNIX_EPOCH + Duration::from_secs(end_s),
            attributes: attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            events: Vec::new(),
            status: SpanStatus::Unset,
        }
    }

    fn text(value: &str) -> AttrValue {
        AttrValue::Str(value.into())
    }

    #[test]
    fn a_row_counts_turns_tokens_of_model_calls_time_and_errors() {
        let mut failed = span(4, 30, 40, vec![(key::OPERATION_NAME, text("execute_tool"))]);
        failed.status = SpanStatus::Error("exit 1".into());
        let spans = vec![
            span(
                1,
                0,
                125,
                vec![
                    (key::OPERATION_NAME, text("invoke_agent")),
                    (key::CODEX_CWD, text("/home/dev/project")),
                ],
            ),
            span(
                3,
                60,
                100,
                vec![
                    (key::CODEX_TURN_INDEX, AttrValue::Int(2)),
                    (key::CODEX_TURN_PROMPT, text("second")),
                ],
            ),
            span(
                2,
                10,
                50,
                vec![
                    (key::CODEX_TURN_INDEX, AttrValue::Int(1)),
                    (key::CODEX_TURN_PROMPT, text("first")),
                    (key::CODEX_USAGE_INPUT_TOKENS, AttrValue::Int(1_000)),
                ],
            ),
            span(
                6,
                20,
                30,
                vec![
                    (key::CODEX_TURN_INDEX, AttrValue::Int(1)),
                    (key::CODEX_THREAD_ID, text("child-thread")),
                    (key::CODEX_TURN_PROMPT, text("a sub-agent's task")),
                ],
            ),
            span(
                5,
                11,
                12,
                vec![
                    (key::OPERATION_NAME, text("chat")),
                    (key::USAGE_INPUT_TOKENS, AttrValue::Int(120)),
                    (key::USAGE_OUTPUT_TOKENS, AttrValue::Int(8)),
                ],
            ),
            failed,
        ];
        let row = row("01a2".into(), &spans);
        assert_eq!(row.turns, 2, "the sub-agent's turn is not the session's");
        assert_eq!(row.first_prompt.as_deref(), Some("first"));
        assert_eq!(row.cwd.as_deref(), Some("/home/dev/project"));
        assert_eq!((row.usage.input, row.usage.output), (120, 8));
        assert_eq!(row.duration, Duration::from_secs(125));
        assert_eq!(row.errors, 1);
        let plain = Output {
            width: None,
            colour: false,
        };
        let drawn = render(&[row], plain);
        let second = drawn.lines().nth(1).unwrap();
        assert!(second.starts_with("1970-01-01 00:00  01a2"), "{second}");
        assert!(
            second.contains("  128  ") && second.contains("2m05s"),
            "{second}"
        );
        assert!(second.ends_with("/home/dev/project  \"first\""), "{second}");
    }

    #[test]
    fn an_empty_store_says_so() {
        let plain = Output {
            width: None,
            colour: false,
        };
        assert_eq!(render(&[], plain), "no sessions in the local store\n");
    }
}
