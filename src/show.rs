//! `codex-otel show`: draws a session's trace from the local store as a tree on stdout.
//!
//! One line per span: box-drawing indentation, name, duration, then the facts not already in
//! the name (model, tool), token usage on model calls and agent spans, and an `ERROR` mark
//! with the message. Children are ordered by start time; spans whose parent is not in the
//! store are drawn at the top level. With no session and no `--last`, the most recent session
//! is drawn.

use crate::cli::ShowArgs;
use crate::export::file::{find_session, read_session};
use crate::paths::StateDir;
use crate::span::genai as key;
use crate::span::{SpanId, SpanRecord, SpanStatus};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

/// Longest error message drawn, in characters.
const MAX_ERROR_CHARS: usize = 100;

/// Entry point of the command.
pub fn main(args: &ShowArgs) -> anyhow::Result<()> {
    let store = StateDir::from_env().store_dir();
    let query = if args.last {
        None
    } else {
        args.session.as_deref()
    };
    let session = find_session(&store, query)?;
    let read = read_session(&session.path)?;
    if read.malformed_lines > 0 {
        eprintln!(
            "codex-otel: skipped {} unreadable line(s) in {}",
            read.malformed_lines,
            session.path.display()
        );
    }
    println!("session {} · {} spans", session.id, read.spans.len());
    print!("{}", render_tree(&read.spans));
    Ok(())
}

/// Draws `spans` as a tree, one line per span.
pub fn render_tree(spans: &[SpanRecord]) -> String {
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_id).collect();
    let mut children: HashMap<Option<SpanId>, Vec<&SpanRecord>> = HashMap::new();
    for span in spans {
        let parent = span.parent_span_id.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(span);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| (a.start, &a.name, a.span_id).cmp(&(b.start, &b.name, b.span_id)));
    }
    let mut tree = Tree {
        children,
        drawn: HashSet::new(),
        out: String::new(),
    };
    tree.draw_children(None, "");
    // Spans caught in a parent cycle are reachable from no root: draw them at the top level.
    for span in spans {
        if !tree.drawn.contains(&span.span_id) {
            tree.draw(span, "", "");
        }
    }
    tree.out
}

struct Tree<'a> {
    children: HashMap<Option<SpanId>, Vec<&'a SpanRecord>>,
    drawn: HashSet<SpanId>,
    out: String,
}

impl<'a> Tree<'a> {
    fn draw_children(&mut self, parent: Option<SpanId>, prefix: &str) {
        let list = self.children.get(&parent).cloned().unwrap_or_default();
        let top = parent.is_none();
        for (i, span) in list.iter().enumerate() {
            let last = i + 1 == list.len();
            let (branch, continuation) = match (top, last) {
                (true, _) => ("", ""),
                (false, false) => ("├── ", "│   "),
                (false, true) => ("└── ", "    "),
            };
            self.draw(
                span,
                &format!("{prefix}{branch}"),
                &format!("{prefix}{continuation}"),
            );
        }
    }

    fn draw(&mut self, span: &'a SpanRecord, lead: &str, child_prefix: &str) {
        if !self.drawn.insert(span.span_id) {
            return;
        }
        let _ = writeln!(self.out, "{lead}{}", describe(span, lead.is_empty()));
        self.draw_children(Some(span.span_id), child_prefix);
    }
}

/// One span's line, without indentation. `top` spans show token totals.
fn describe(span: &SpanRecord, top: bool) -> String {
    let mut parts = vec![span.name.clone(), duration(span)];
    let model = span
        .str_attr(key::REQUEST_MODEL)
        .or_else(|| span.str_attr(key::RESPONSE_MODEL));
    for (label, value) in [("model", model), ("tool", span.str_attr(key::TOOL_NAME))] {
        if let Some(value) = value.filter(|v| !span.name.contains(v)) {
            parts.push(format!("{label}={value}"));
        }
    }
    let operation = span.str_attr(key::OPERATION_NAME);
    if top || matches!(operation, Some("chat" | "invoke_agent")) {
        parts.extend(tokens(span));
    }
    if let Some(prompt) = span.str_attr(key::CODEX_TURN_PROMPT) {
        parts.push(format!("\"{}\"", short(prompt)));
    }
    if span.attr(key::CODEX_TURN_INTERRUPTED).is_some() {
        parts.push("INTERRUPTED".to_owned());
    }
    if let SpanStatus::Error(message) = &span.status {
        parts.push(format!("ERROR: {}", short(message)));
    }
    parts.join("  ")
}

fn tokens(span: &SpanRecord) -> Option<String> {
    let counts: Vec<String> = [
        ("in", key::USAGE_INPUT_TOKENS),
        ("cached", key::USAGE_CACHE_READ_INPUT_TOKENS),
        ("out", key::USAGE_OUTPUT_TOKENS),
        ("reasoning", key::USAGE_REASONING_OUTPUT_TOKENS),
    ]
    .into_iter()
    .filter_map(|(label, k)| span.int_attr(k).map(|n| format!("{label}={n}")))
    .collect();
    (!counts.is_empty()).then(|| format!("tokens {}", counts.join(" ")))
}

fn duration(span: &SpanRecord) -> String {
    let elapsed = span
        .end
        .duration_since(span.start)
        .unwrap_or(Duration::ZERO);
    let millis = elapsed.as_millis();
    match elapsed.as_secs() {
        0 => format!("{millis}ms"),
        1..=59 => format!("{:.1}s", elapsed.as_secs_f64()),
        secs => format!("{}m{:02}s", secs / 60, secs % 60),
    }
}

fn short(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    if line.chars().count() > MAX_ERROR_CHARS || line.len() < message.trim_end().len() {
        let cut: String = line.chars().take(MAX_ERROR_CHARS).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{AttrValue, SpanKind, TraceId};
    use std::time::UNIX_EPOCH;

    fn span(id: u8, parent: Option<u8>, name: &str, start_ms: u64, end_ms: u64) -> SpanRecord {
        SpanRecord {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([id; 8]),
            parent_span_id: parent.map(|p| SpanId([p; 8])),
            name: name.into(),
            kind: SpanKind::Internal,
            start: UNIX_EPOCH + Duration::from_millis(start_ms),
            end: UNIX_EPOCH + Duration::from_millis(end_ms),
            attributes: Vec::new(),
            events: Vec::new(),
            status: SpanStatus::Unset,
        }
    }

    fn with(mut span: SpanRecord, attrs: &[(&str, AttrValue)]) -> SpanRecord {
        span.attributes = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        span
    }

    fn session() -> Vec<SpanRecord> {
        let usage = |input, cached, output, reasoning| {
            vec![
                (key::USAGE_INPUT_TOKENS, AttrValue::Int(input)),
                (key::USAGE_CACHE_READ_INPUT_TOKENS, AttrValue::Int(cached)),
                (key::USAGE_OUTPUT_TOKENS, AttrValue::Int(output)),
                (
                    key::USAGE_REASONING_OUTPUT_TOKENS,
                    AttrValue::Int(reasoning),
                ),
            ]
        };
        let mut root_attrs = usage(300, 100, 40, 10);
        root_attrs.push((key::OPERATION_NAME, AttrValue::Str("invoke_agent".into())));
        root_attrs.push((key::REQUEST_MODEL, AttrValue::Str("gpt-5".into())));
        let mut chat_attrs = usage(300, 100, 40, 10);
        chat_attrs.push((key::OPERATION_NAME, AttrValue::Str("chat".into())));
        chat_attrs.push((key::REQUEST_MODEL, AttrValue::Str("gpt-5".into())));
        let mut tool = with(
            span(4, Some(2), "execute_tool exec_command", 1_500, 1_750),
            &[(key::TOOL_NAME, AttrValue::Str("exec_command".into()))],
        );
        tool.status = SpanStatus::Error("exit status 1\nstderr: no such file".into());
        vec![
            // Listed out of order on purpose: the tree orders children by start time.
            tool,
            with(span(3, Some(2), "chat gpt-5", 1_000, 1_400), &chat_attrs),
            with(span(1, None, "invoke_agent codex", 0, 65_000), &root_attrs),
            with(
                span(2, Some(1), "turn 1", 900, 2_000),
                &[
                    (key::REQUEST_MODEL, AttrValue::Str("gpt-5".into())),
                    (
                        key::CODEX_TURN_PROMPT,
                        AttrValue::Str("fix the build\nplease".into()),
                    ),
                    (key::CODEX_TURN_INTERRUPTED, AttrValue::Bool(true)),
                ],
            ),
        ]
    }

    #[test]
    fn a_session_is_drawn_as_an_ordered_tree_with_tokens_prompts_and_errors() {
        let expected = "\
invoke_agent codex  1m05s  model=gpt-5  tokens in=300 cached=100 out=40 reasoning=10
└── turn 1  1.1s  model=gpt-5  \"fix the build…\"  INTERRUPTED
    ├── chat gpt-5  400ms  tokens in=300 cached=100 out=40 reasoning=10
    └── execute_tool exec_command  250ms  ERROR: exit status 1…
";
        assert_eq!(render_tree(&session()), expected);
    }

    #[test]
    fn spans_whose_parent_is_missing_are_drawn_at_the_top_level() {
        let spans = vec![
            span(1, None, "root", 0, 10),
            span(2, Some(9), "orphan", 5, 6),
        ];
        assert_eq!(render_tree(&spans), "root  10ms\norphan  1ms\n");
    }

    #[test]
    fn a_parent_cycle_neither_loops_nor_hides_spans() {
        let spans = vec![span(1, Some(2), "a", 0, 1), span(2, Some(1), "b", 0, 1)];
        let drawn = render_tree(&spans);
        assert_eq!(drawn.lines().count(), 2, "{drawn}");
    }

    #[test]
    fn long_error_messages_are_cut() {
        let message = "x".repeat(300);
        assert_eq!(short(&message).chars().count(), MAX_ERROR_CHARS + 1);
        assert_eq!(short("plain"), "plain");
    }
}
