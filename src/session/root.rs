//! The session root span (`invoke_agent codex`): who ran Codex, where, with which model, and
//! the usage of every model call of the first run, sub-agents included. It hangs where the
//! session's [`Attachment`] says; a nested session's root names its parent session and call.

use super::attrs::Attrs;
use super::build::{AgentSummary, Builder};
use super::ids::SpanKey;
use super::lineage::Attachment;
use super::units::{SessionState, Thread};
use crate::span::genai as key;
use crate::span::SpanRecord;
use serde_json::Value;

/// Builds the root span, or `None` when nothing at all is known about the session.
pub(crate) fn root_span(state: &SessionState, builder: &Builder<'_>) -> Option<SpanRecord> {
    let root_thread = root_thread(state, builder.session_id);
    let run0 = &state.runs[0];
    let tally = &run0.tally;
    let agent_ends = state.agents.values().filter_map(|a| a.end());
    let latest = tally.last_end.into_iter().chain(agent_ends).max();
    let start = root_thread
        .and_then(|t| t.started)
        .or(run0.started_at())
        .or(state.facts.first_hook_at)
        .or(tally.first_start)
        .or(latest)?;
    let end = run0.ended().flatten().or(latest).unwrap_or(start);
    let meta = root_thread.and_then(|t| t.meta.as_ref());
    let mut extra = Attrs::default();
    extra
        .str(key::CODEX_SESSION_ID, builder.session_id)
        .opt_str(
            key::CODEX_CWD,
            meta.and_then(|m| m.cwd.clone()).or(state.facts.cwd.clone()),
        )
        .opt_str(
            key::CODEX_CLI_VERSION,
            meta.and_then(|m| m.cli_version.clone()),
        )
        .opt_str(
            key::CODEX_ORIGINATOR,
            meta.and_then(|m| m.originator.clone()),
        )
        .opt_str(key::CODEX_SOURCE, meta.and_then(|m| source_name(&m.source)))
        .opt_str(
            key::CODEX_MODEL_PROVIDER,
            meta.and_then(|m| m.model_provider.clone()),
        )
        .opt_str(key::CODEX_PERMISSION_MODE, run0.permission_mode());
    parent_call_attrs(&mut extra, builder.attachment);
    if let Some(git) = &builder.config.git {
        extra
            .opt_str(key::CODEX_GIT_REMOTE, git.remote.clone())
            .opt_str(key::CODEX_GIT_BRANCH, git.branch.clone())
            .opt_str(key::CODEX_GIT_COMMIT, git.commit.clone());
    }
    for (name, value) in &builder.config.metadata {
        extra.str(
            &format!("{}{name}", key::CODEX_USER_METADATA_PREFIX),
            value.clone(),
        );
    }
    let model = root_thread
        .and_then(|t| t.model.as_deref())
        .or(state.facts.hook_model.as_deref());
    Some(builder.agent_span(AgentSummary {
        key: SpanKey::Session,
        parent: builder.attachment.parent_span(),
        agent_name: "codex",
        start,
        end,
        model,
        usage: tally.usage,
        input: tally.first.text.as_deref(),
        output: tally.last.text.as_deref(),
        extra,
    }))
}

/// `codex.parent.*` on the root of a session run by another session's tool call.
fn parent_call_attrs(extra: &mut Attrs, attachment: &Attachment) {
    if let Attachment::Nested(call) = attachment {
        extra
            .str(key::CODEX_PARENT_SESSION_ID, call.session_id.as_str())
            .str(key::CODEX_PARENT_TOOL_CALL_ID, call.tool_call_id.as_str());
    }
}

/// The root thread's file: the one whose `session_meta.id` is the session id, else the first
/// file that is not a sub-agent's.
fn root_thread<'a>(state: &'a SessionState, session_id: &str) -> Option<&'a Thread> {
    let own = state
        .thread_by_id
        .get(session_id)
        .map(|ix| &state.threads[ix.0]);
    own.or_else(|| state.threads.iter().find(|t| !t.is_child()))
}

/// `exec`, `cli`, … (a sub-agent source object is reported as `subagent`).
fn source_name(source: &Value) -> Option<String> {
    match source {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => map.keys().next().cloned(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codex::hook_event::HookEvent;
    use crate::session::ids::span_id;
    use crate::session::{Lineage, ParentCall, SessionConfig, SessionMachine};
    use crate::span::TraceId;
    use std::time::{Duration, UNIX_EPOCH};

    /// The root span of a session that only started, with `lineage`.
    fn root_of(session_id: &str, lineage: Lineage) -> SpanRecord {
        let config = SessionConfig {
            lineage,
            ..SessionConfig::default()
        };
        let mut machine = SessionMachine::new(session_id, config);
        let start = format!(
            r#"{{"session_id":"{session_id}","hook_event_name":"SessionStart","source":"startup","cwd":"/w"}}"#
        );
        let event = HookEvent::parse(start.as_bytes()).expect("a SessionStart payload");
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut spans = machine.push_hook(&event, Some(at));
        spans.extend(machine.finish());
        let root = spans
            .into_iter()
            .find(|s| s.span_id == span_id(session_id, SpanKey::Session));
        root.expect("a root span")
    }

    #[test]
    fn a_nested_sessions_root_hangs_under_the_parents_tool_span_and_names_the_parent() {
        let call = ParentCall {
            session_id: "parent".to_owned(),
            tool_call_id: "call_1".to_owned(),
            trace_id: TraceId([7; 16]),
        };
        let lineage = Lineage {
            joined: None,
            call: Some(call),
        };
        let root = root_of("child", lineage);
        assert_eq!(root.trace_id, TraceId([7; 16]));
        assert_eq!(
            root.parent_span_id,
            Some(span_id("parent", SpanKey::Tool("call_1")))
        );
        assert_eq!(root.str_attr(key::CODEX_PARENT_SESSION_ID), Some("parent"));
        assert_eq!(
            root.str_attr(key::CODEX_PARENT_TOOL_CALL_ID),
            Some("call_1")
        );
    }

    #[test]
    fn a_top_level_sessions_root_has_no_parent_and_no_parent_attributes() {
        let root = root_of("s", Lineage::default());
        assert_eq!(root.parent_span_id, None);
        assert_eq!(root.attr(key::CODEX_PARENT_SESSION_ID), None);
        assert_eq!(root.attr(key::CODEX_PARENT_TOOL_CALL_ID), None);
    }
}
