//! The session root span (`invoke_agent codex`): who ran Codex, where, with which model, and
//! the usage of every model call of the first run, sub-agents included.

use super::attrs::Attrs;
use super::build::{sum_usage, AgentSummary, Builder};
use super::ids::SpanKey;
use super::state::{SessionState, ThreadState, TurnState};
use crate::span::genai as key;
use crate::span::SpanRecord;
use serde_json::Value;

/// Builds the root span, or `None` when nothing at all is known about the session.
pub(crate) fn root_span(state: &SessionState, builder: &Builder<'_>) -> Option<SpanRecord> {
    let root_thread = root_thread(state, builder.session_id);
    let turns: Vec<&TurnState> = state
        .turn_order
        .iter()
        .filter(|id| state.turn_runs.get(*id).copied().unwrap_or(0) == 0)
        .map(|id| &state.turns[id])
        .collect();
    let own_turns: Vec<&&TurnState> = turns
        .iter()
        .filter(|t| root_thread.is_some_and(|(path, _)| t.thread_path == path))
        .collect();
    let run0 = &state.runs[0];
    let agent_ends = state.agents.values().filter_map(|a| a.emitted);
    let latest = turns
        .iter()
        .filter_map(|t| t.closed)
        .chain(agent_ends)
        .max();
    let start = root_thread
        .and_then(|(_, t)| t.started)
        .or(run0.started)
        .or(state.first_hook_at)
        .or(turns.iter().filter_map(|t| t.start).min())
        .or(latest)?;
    let end = run0.ended.flatten().or(latest).unwrap_or(start);
    let meta = root_thread.and_then(|(_, t)| t.meta.as_ref());
    let mut extra = Attrs::default();
    extra
        .str(key::CODEX_SESSION_ID, builder.session_id)
        .opt_str(
            key::CODEX_CWD,
            meta.and_then(|m| m.cwd.clone()).or(state.cwd.clone()),
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
        .opt_str(key::CODEX_PERMISSION_MODE, run0.permission_mode.clone());
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
        .and_then(|(_, t)| t.model.as_deref())
        .or(state.hook_model.as_deref());
    Some(
        builder.agent_span(AgentSummary {
            key: SpanKey::Session,
            parent: builder.config.parent.map(|p| p.span_id),
            agent_name: "codex",
            start,
            end,
            model,
            usage: sum_usage(turns.iter().flat_map(|t| t.calls.iter())),
            input: own_turns.first().and_then(|t| t.prompt.as_deref()),
            output: own_turns
                .last()
                .and_then(|t| t.last_assistant_message.as_deref()),
            extra,
        }),
    )
}

/// The root thread's file: the one whose `session_meta.id` is the session id, else the first
/// file that is not a sub-agent's.
fn root_thread<'a>(
    state: &'a SessionState,
    session_id: &str,
) -> Option<(&'a str, &'a ThreadState)> {
    let threads = || {
        state
            .thread_order
            .iter()
            .map(|p| (p.as_str(), &state.threads[p]))
    };
    threads()
        .find(|(_, t)| t.meta.as_ref().is_some_and(|m| m.id == session_id))
        .or_else(|| {
            threads().find(|(_, t)| t.meta.as_ref().is_none_or(|m| m.parent_thread_id.is_none()))
        })
}

/// `exec`, `cli`, … (a sub-agent source object is reported as `subagent`).
fn source_name(source: &Value) -> Option<String> {
    match source {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => map.keys().next().cloned(),
        _ => None,
    }
}
