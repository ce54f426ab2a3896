//! The trace of one session as a tree, one line per span: box-drawing indentation, name,
//! duration, then what a reader needs without clicking: the model, token usage (a model
//! call's own; an agent's or a turn's summed over the model calls below it), a tool's command,
//! exit code and permission decision (when content was captured), compaction and interrupt
//! marks, and errors. Children are ordered by start time; spans whose parent is not in the
//! store are drawn at the top level.

use super::format::{duration, short, Line, Paint};
use super::totals::Usage;
use crate::span::genai as key;
use crate::span::{AttrValue, SpanId, SpanRecord, SpanStatus};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Longest prompt, command or error message drawn, in characters.
const MAX_TEXT_CHARS: usize = 100;

/// Draws `spans` as a tree, one [`Line`] per span.
pub(crate) fn tree_lines(spans: &[SpanRecord]) -> Vec<Line> {
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
        lines: Vec::new(),
    };
    tree.draw_children(None, "");
    // Spans caught in a parent cycle are reachable from no root: draw them at the top level.
    for span in spans {
        if !tree.drawn.contains(&span.span_id) {
            tree.draw(span, "", "");
        }
    }
    tree.lines
}

struct Tree<'a> {
    children: HashMap<Option<SpanId>, Vec<&'a SpanRecord>>,
    drawn: HashSet<SpanId>,
    lines: Vec<Line>,
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
        let usage = self.usage_below(span, &mut HashSet::new());
        let mut line = Line::default();
        line.push(lead, Paint::Dim);
        describe(&mut line, span, usage);
        self.lines.push(line);
        self.draw_children(Some(span.span_id), child_prefix);
    }

    /// The usage of the model calls at and below `span` (each span visited once, so a parent
    /// cycle cannot loop).
    fn usage_below(&self, span: &SpanRecord, seen: &mut HashSet<SpanId>) -> Usage {
        if !seen.insert(span.span_id) {
            return Usage::default();
        }
        let mut usage = Usage::of_call(span).unwrap_or_default();
        for child in self.children.get(&Some(span.span_id)).into_iter().flatten() {
            usage += self.usage_below(child, seen);
        }
        usage
    }
}

/// What kind of span a line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Agent,
    Turn,
    ModelCall,
    Tool,
    Other,
}

fn role(span: &SpanRecord) -> Role {
    match span.str_attr(key::OPERATION_NAME) {
        Some("invoke_agent") => Role::Agent,
        Some("chat") => Role::ModelCall,
        Some("execute_tool") => Role::Tool,
        _ if span.attr(key::CODEX_TURN_INDEX).is_some() => Role::Turn,
        _ => Role::Other,
    }
}

/// Appends one span's facts to `line`; `usage` is what the model calls at and below it used.
fn describe(line: &mut Line, span: &SpanRecord, usage: Usage) {
    let role = role(span);
    line.push(span.name.clone(), Paint::Plain);
    line.part(duration(elapsed(span)), Paint::Dim);
    let model = span
        .str_attr(key::REQUEST_MODEL)
        .or_else(|| span.str_attr(key::RESPONSE_MODEL))
        .or_else(|| span.str_attr(key::CODEX_TURN_MODEL));
    if let Some(model) = model.filter(|m| !span.name.contains(m)) {
        line.part(format!("model={model}"), Paint::Dim);
    }
    if role == Role::ModelCall && is_compaction(span) {
        line.part("COMPACTION", Paint::Mark);
    }
    if matches!(role, Role::Agent | Role::Turn | Role::ModelCall) && usage.calls > 0 {
        line.part(format!("tokens {}", usage.counts()), Paint::Tokens);
    }
    if role == Role::Tool {
        tool_facts(line, span);
    }
    if let Some(prompt) = span.str_attr(key::CODEX_TURN_PROMPT) {
        line.part(
            format!("\"{}\"", short(prompt, MAX_TEXT_CHARS)),
            Paint::Plain,
        );
    }
    if span.events.iter().any(|e| e.name == key::EVENT_COMPACTION) {
        line.part("compacted", Paint::Mark);
    }
    if span.attr(key::CODEX_TURN_INTERRUPTED).is_some() {
        line.part("INTERRUPTED", Paint::Mark);
    }
    if let SpanStatus::Error(message) = &span.status {
        line.part(
            format!("ERROR: {}", short(message, MAX_TEXT_CHARS)),
            Paint::Error,
        );
    }
}

/// A model call that summarized the conversation for a compaction.
fn is_compaction(span: &SpanRecord) -> bool {
    span.str_attr(key::CODEX_REQUEST_KIND) == Some("compaction")
        || span.attr(key::CONVERSATION_COMPACTED).is_some()
}

/// A tool call's command (from its captured arguments), exit code and permission decision.
fn tool_facts(line: &mut Line, span: &SpanRecord) {
    if let Some(command) = span.str_attr(key::TOOL_CALL_ARGUMENTS).and_then(command_of) {
        line.part(
            format!("$ {}", short(&command, MAX_TEXT_CHARS)),
            Paint::Plain,
        );
    }
    if let Some(code) = span.int_attr(key::CODEX_TOOL_EXIT_CODE) {
        let paint = if code == 0 { Paint::Dim } else { Paint::Error };
        line.part(format!("exit={code}"), paint);
    }
    for event in &span.events {
        if event.name != key::EVENT_PERMISSION_REQUEST {
            continue;
        }
        let decision = event
            .attributes
            .iter()
            .find_map(|(k, v)| match (k.as_str(), v) {
                ("codex.permission.decision", AttrValue::Str(decision)) => Some(decision.as_str()),
                _ => None,
            })
            .unwrap_or("undecided");
        line.part(format!("permission {decision}"), Paint::Mark);
    }
}

/// The shell command in a tool call's arguments (`cmd` or `command`, a string or an argv).
fn command_of(arguments: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(arguments).ok()?;
    let command = value.get("cmd").or_else(|| value.get("command"))?;
    match command {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Array(parts) => {
            let words: Vec<&str> = parts.iter().filter_map(|p| p.as_str()).collect();
            (!words.is_empty()).then(|| words.join(" "))
        }
        _ => None,
    }
}

fn elapsed(span: &SpanRecord) -> Duration {
    span.end
        .duration_since(span.start)
        .unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{SpanEvent, SpanKind, TraceId};
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

    fn text(value: &str) -> AttrValue {
        AttrValue::Str(value.into())
    }

    fn render(spans: &[SpanRecord]) -> String {
        tree_lines(spans)
            .iter()
            .map(|line| line.render(None, false) + "\n")
            .collect()
    }

    fn chat(id: u8, start_ms: u64, input: i64, kind: &str) -> SpanRecord {
        with(
            span(id, Some(2), "chat gpt-5", start_ms, start_ms + 400),
            &[
                (key::OPERATION_NAME, text("chat")),
                (key::REQUEST_MODEL, text("gpt-5")),
                (key::CODEX_REQUEST_KIND, text(kind)),
                (key::USAGE_INPUT_TOKENS, AttrValue::Int(input)),
                (
                    key::USAGE_CACHE_READ_INPUT_TOKENS,
                    AttrValue::Int(input / 3),
                ),
                (key::USAGE_OUTPUT_TOKENS, AttrValue::Int(40)),
                (key::USAGE_REASONING_OUTPUT_TOKENS, AttrValue::Int(10)),
            ],
        )
    }

    fn session() -> Vec<SpanRecord> {
        let mut tool = with(
            span(4, Some(2), "execute_tool exec_command", 1_500, 1_750),
            &[
                (key::OPERATION_NAME, text("execute_tool")),
                (key::TOOL_NAME, text("exec_command")),
                (key::TOOL_CALL_ARGUMENTS, text(r#"{"cmd":"ls /nope"}"#)),
                (key::CODEX_TOOL_EXIT_CODE, AttrValue::Int(2)),
            ],
        );
        tool.status = SpanStatus::Error("exit status 2\nstderr: no such file".into());
        tool.events.push(SpanEvent {
            name: key::EVENT_PERMISSION_REQUEST.into(),
            time: UNIX_EPOCH,
            attributes: vec![("codex.permission.decision".into(), text("approved"))],
        });
        let mut turn = with(
            span(2, Some(1), "turn 1", 900, 3_000),
            &[
                (key::CODEX_TURN_INDEX, AttrValue::Int(1)),
                (key::CODEX_TURN_MODEL, text("gpt-5")),
                (key::CODEX_TURN_PROMPT, text("fix the build\nplease")),
                (key::CODEX_TURN_INTERRUPTED, AttrValue::Bool(true)),
                // A turn's own total is never added to its calls' usage.
                (key::CODEX_USAGE_INPUT_TOKENS, AttrValue::Int(999)),
            ],
        );
        turn.events.push(SpanEvent {
            name: key::EVENT_COMPACTION.into(),
            time: UNIX_EPOCH,
            attributes: Vec::new(),
        });
        vec![
            // Listed out of order on purpose: the tree orders children by start time.
            tool,
            chat(3, 1_000, 300, "turn"),
            chat(5, 2_000, 600, "compaction"),
            with(
                span(1, None, "invoke_agent codex", 0, 3_725_000),
                &[
                    (key::OPERATION_NAME, text("invoke_agent")),
                    (key::REQUEST_MODEL, text("gpt-5")),
                ],
            ),
            turn,
        ]
    }

    #[test]
    fn a_session_is_drawn_with_what_it_did_and_what_each_part_cost() {
        let expected = "\
invoke_agent codex  1h02m  model=gpt-5  tokens in=900 cached=300 out=80 reasoning=20
└── turn 1  2.1s  model=gpt-5  tokens in=900 cached=300 out=80 reasoning=20  \"fix the build…\"  compacted  INTERRUPTED
    ├── chat gpt-5  400ms  tokens in=300 cached=100 out=40 reasoning=10
    ├── execute_tool exec_command  250ms  $ ls /nope  exit=2  permission approved  ERROR: exit status 2…
    └── chat gpt-5  400ms  COMPACTION  tokens in=600 cached=200 out=40 reasoning=10
";
        assert_eq!(render(&session()), expected);
    }

    #[test]
    fn a_command_is_read_from_a_string_or_an_argv() {
        assert_eq!(command_of(r#"{"cmd":"ls -la"}"#).as_deref(), Some("ls -la"));
        assert_eq!(
            command_of(r#"{"command":["bash","-lc","make"]}"#).as_deref(),
            Some("bash -lc make")
        );
        assert_eq!(command_of(r#"{"path":"x"}"#), None);
        assert_eq!(command_of("not json"), None);
    }

    #[test]
    fn spans_whose_parent_is_missing_are_drawn_at_the_top_level() {
        let spans = vec![
            span(1, None, "root", 0, 10),
            span(2, Some(9), "orphan", 5, 6),
        ];
        assert_eq!(render(&spans), "root  10ms\norphan  1ms\n");
    }

    #[test]
    fn a_parent_cycle_neither_loops_nor_hides_spans() {
        let spans = vec![span(1, Some(2), "a", 0, 1), span(2, Some(1), "b", 0, 1)];
        let drawn = render(&spans);
        assert_eq!(drawn.lines().count(), 2, "{drawn}");
    }
}
