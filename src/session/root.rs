//! The session root span (`invoke_agent codex`): who ran Codex, where, with which model, and
//! the usage of every model call of the first run, sub-agents included.

use super::attrs::Attrs;
use super::build::{AgentSummary, Builder};
use super::ids::SpanKey;
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
        parent: builder.config.parent.map(|p| p.span_id),
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
