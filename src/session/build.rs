//! Span construction: turns the session state of one finished unit (a turn, a model call, a
//! tool call, a sub-agent, a run, the session) into a [`SpanRecord`] with GenAI attributes.

use super::attrs::{json_object, Attrs, SpanRole, TurnRef};
use super::ids::{span_id, SpanKey};
use super::messages::{
    input_messages_json, openai_messages, openai_output, output_messages_json,
    system_instructions_json,
};
use super::names::{agent_display_name, chat_display_name, tool_display_name};
use super::units::{
    CallKey, ModelCall, PermissionAsk, RolloutEnd, SkillLoad, SkillOperation, SkillUse, ToolCall,
    ToolRequest, TurnBody, Usage,
};
use super::{Attachment, SessionConfig};
use crate::codex::skills::Skill;
use crate::span::genai as key;
use crate::span::{AttrValue, SpanEvent, SpanId, SpanKind, SpanRecord, SpanStatus, TraceId};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

/// Output text that Codex gives a tool call a PreToolUse hook blocked (the rest of the text
/// holds the hook's reason and the command: content, so never part of the status message).
const BLOCKED_BY_HOOK: &str = "Command blocked by PreToolUse hook";

/// How Codex ends the output of a tool call the user interrupted.
const ABORTED_BY_USER: &str = "aborted by user";

/// Everything span construction needs besides the unit itself.
#[derive(Debug)]
pub(crate) struct Builder<'a> {
    pub(crate) session_id: &'a str,
    pub(crate) trace_id: TraceId,
    /// Where the session root hangs.
    pub(crate) attachment: &'a Attachment,
    pub(crate) config: &'a SessionConfig,
}

/// Everything a span is made of before the session's ids and content policy are applied.
#[derive(Debug)]
pub(crate) struct SpanParts<'a> {
    pub(crate) key: SpanKey<'a>,
    pub(crate) parent: Option<SpanId>,
    pub(crate) name: String,
    pub(crate) kind: SpanKind,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    pub(crate) attrs: Attrs,
    pub(crate) events: Vec<SpanEvent>,
    pub(crate) status: SpanStatus,
}

/// What a turn span is made of.
#[derive(Debug)]
pub(crate) struct TurnFacts<'a> {
    pub(crate) turn_id: &'a str,
    pub(crate) body: &'a TurnBody,
    /// How the rollout (or, when finishing, an interrupt hook) ended it.
    pub(crate) how: Option<&'a RolloutEnd>,
    pub(crate) thread_id: &'a str,
    pub(crate) parent: SpanId,
    pub(crate) end: SystemTime,
    pub(crate) trigger: Option<&'a str>,
}

/// What an agent-level span (session, resumed run, sub-agent) reports.
#[derive(Debug)]
pub(crate) struct AgentSummary<'a> {
    pub(crate) key: SpanKey<'a>,
    pub(crate) parent: Option<SpanId>,
    pub(crate) agent_name: &'a str,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    pub(crate) model: Option<&'a str>,
    pub(crate) usage: Usage,
    pub(crate) input: Option<&'a str>,
    pub(crate) output: Option<&'a str>,
    /// Extra attributes (cwd, version, git, …).
    pub(crate) extra: Attrs,
}

impl Builder<'_> {
    pub(crate) fn id(&self, key: SpanKey<'_>) -> SpanId {
        span_id(self.session_id, key)
    }

    /// Finishes `parts` into a record: ids from the session, content policy applied.
    pub(crate) fn span(&self, parts: SpanParts<'_>) -> SpanRecord {
        let mut span = SpanRecord {
            trace_id: self.trace_id,
            span_id: self.id(parts.key),
            parent_span_id: parts.parent,
            name: parts.name,
            kind: parts.kind,
            start: parts.start,
            end: parts.end.max(parts.start),
            attributes: parts.attrs.0,
            events: parts.events,
            status: parts.status,
        };
        self.config.content.apply(&mut span);
        span
    }

    /// `invoke_agent …` for the session, a resumed run or a sub-agent.
    pub(crate) fn agent_span(&self, summary: AgentSummary<'_>) -> SpanRecord {
        let role = summary.extra.get_str(key::CODEX_AGENT_TYPE);
        let display = agent_display_name(summary.agent_name, role);
        let mut attrs = Attrs::default();
        attrs
            .str(key::OPERATION_NAME, "invoke_agent")
            .str(key::PROVIDER_NAME, "openai")
            .str(key::AGENT_NAME, summary.agent_name)
            .str(key::CONVERSATION_ID, self.session_id)
            .str(key::SESSION_ID, self.session_id)
            .opt_str(key::REQUEST_MODEL, summary.model)
            .usage_totals(&summary.usage)
            .role(SpanRole::Agent, &display)
            .text_io(summary.input, summary.output)
            .json(
                key::BRAINTRUST_METADATA,
                &json!({"session_id": self.session_id, "provider": "openai"}),
            );
        attrs.0.extend(summary.extra.0);
        let name = format!("invoke_agent {}", summary.agent_name);
        self.span(SpanParts {
            key: summary.key,
            parent: summary.parent,
            name,
            kind: SpanKind::Internal,
            start: summary.start,
            end: summary.end,
            attrs,
            events: Vec::new(),
            status: SpanStatus::Unset,
        })
    }

    /// The span of one turn.
    pub(crate) fn turn_span(&self, facts: TurnFacts<'_>) -> SpanRecord {
        let TurnFacts {
            turn_id,
            body: turn,
            how,
            thread_id,
            parent,
            end,
            trigger,
        } = facts;
        let name = format!("turn {}", turn.index);
        let mut attrs = Attrs::default();
        attrs
            .str(key::CODEX_SESSION_ID, self.session_id)
            .str(key::SESSION_ID, self.session_id)
            .str(key::CODEX_THREAD_ID, thread_id)
            .str(key::CODEX_TURN_ID, turn_id)
            .int(key::CODEX_TURN_INDEX, i64::from(turn.index))
            .opt_str(key::CODEX_TURN_MODEL, turn.model.clone())
            .usage_totals(&turn.usage)
            .opt_str(key::CODEX_TURN_PROMPT, turn.prompt.clone())
            .opt_str(key::CODEX_TURN_OUTPUT, turn.last_assistant_message.clone())
            .role(SpanRole::Turn, &name)
            .text_io(
                turn.prompt.as_deref(),
                turn.last_assistant_message.as_deref(),
            );
        let mut events = Vec::new();
        for (at, response_id) in &turn.compactions {
            let mut event = Attrs::default();
            event
                .str("codex.compaction.response_id", response_id.clone())
                .opt_str(key::CODEX_COMPACTION_TRIGGER, trigger);
            events.push(SpanEvent {
                name: key::EVENT_COMPACTION.to_owned(),
                time: at.unwrap_or(end),
                attributes: event.0,
            });
        }
        if let Some(RolloutEnd::Aborted { at, reason }) = how {
            attrs.bool(key::CODEX_TURN_INTERRUPTED, true);
            events.push(SpanEvent {
                name: key::EVENT_INTERRUPT.to_owned(),
                time: at.unwrap_or(end),
                attributes: vec![(
                    "codex.interrupt.reason".to_owned(),
                    AttrValue::Str(reason.clone()),
                )],
            });
        }
        let mut status = SpanStatus::Unset;
        if let Some(RolloutEnd::Complete {
            error: Some(error), ..
        }) = how
        {
            attrs.str(key::ERROR_TYPE, error.kind.clone());
            status = SpanStatus::Error(error.message.clone());
        }
        let start = turn.start.unwrap_or(end);
        self.span(SpanParts {
            key: SpanKey::Turn(turn_id),
            parent: Some(parent),
            name,
            kind: SpanKind::Internal,
            start,
            end,
            attrs,
            events,
            status,
        })
    }

    /// `chat {model}` for one model call.
    pub(crate) fn chat_span(
        &self,
        turn: Option<TurnRef<'_>>,
        parent: SpanId,
        call: &ModelCall,
    ) -> SpanRecord {
        let compaction = call.is_compaction();
        let model = call.model.as_deref().unwrap_or("unknown");
        let reason = call.finish_reason();
        let mut attrs = self.chat_request(model, Some(&call.thread_id), turn, compaction);
        attrs
            .opt_str(key::RESPONSE_ID, call.response_id())
            .opt_str(
                key::REQUEST_PREVIOUS_RESPONSE_ID,
                call.previous_response_id.clone(),
            )
            .usage(&call.usage)
            .list(key::RESPONSE_FINISH_REASONS, vec![reason.to_owned()]);
        if compaction {
            attrs.bool(key::CONVERSATION_COMPACTED, true);
        }
        if let Some(text) = &call.system_instructions {
            attrs.str(key::SYSTEM_INSTRUCTIONS, system_instructions_json(text));
        }
        attrs
            .str(key::INPUT_MESSAGES, input_messages_json(&call.inputs))
            .str(
                key::OUTPUT_MESSAGES,
                output_messages_json(&call.outputs, reason),
            )
            .io(
                Some(openai_messages(&call.inputs)),
                Some(openai_output(&call.outputs)),
            );
        let name = format!("chat {model}");
        let key = match &call.key {
            CallKey::Response(id) => SpanKey::Chat(id),
            CallKey::Position { thread, index } => SpanKey::ChatAt(thread, *index),
        };
        self.span(SpanParts {
            key,
            parent: Some(parent),
            name,
            kind: SpanKind::Client,
            start: call.start,
            end: call.end,
            attrs,
            events: Vec::new(),
            status: SpanStatus::Unset,
        })
    }

    /// What every `chat {model}` span says of its request, completed or not: operation,
    /// provider, model, API, conversation, thread, turn, whether it asked for a compaction's
    /// summary, its display name and the model Braintrust prices it by.
    pub(crate) fn chat_request(
        &self,
        model: &str,
        thread_id: Option<&str>,
        turn: Option<TurnRef<'_>>,
        compaction: bool,
    ) -> Attrs {
        let mut attrs = Attrs::default();
        attrs
            .str(key::OPERATION_NAME, "chat")
            .str(key::PROVIDER_NAME, "openai")
            .str(key::REQUEST_MODEL, model)
            .str(key::OPENAI_API_TYPE, "responses")
            .str(key::CONVERSATION_ID, self.session_id)
            .opt_str(key::CODEX_THREAD_ID, thread_id)
            .turn(turn)
            .str(
                key::CODEX_REQUEST_KIND,
                if compaction { "compaction" } else { "turn" },
            )
            .role(SpanRole::Chat, &chat_display_name(model, compaction))
            .json(
                key::BRAINTRUST_METADATA,
                &json!({"model": model, "provider": "openai"}),
            );
        attrs
    }

    /// `execute_tool {name}` for one requested tool call; `fallback_end` closes a call that
    /// never got output (with an error).
    pub(crate) fn tool_span(
        &self,
        turn: TurnRef<'_>,
        call: &ToolCall,
        tool: &ToolRequest,
        fallback_end: Option<SystemTime>,
    ) -> SpanRecord {
        let (end, result) = match call.output() {
            Some((at, text)) => (at, Some(text)),
            None => (fallback_end.or(tool.start).unwrap_or(UNIX_EPOCH), None),
        };
        let error = tool_error(call, result);
        let mut attrs = Attrs::default();
        attrs
            .str(key::OPERATION_NAME, "execute_tool")
            .str(key::TOOL_NAME, tool.name.clone())
            .str(key::TOOL_CALL_ID, call.call_id.clone())
            .str(
                key::TOOL_TYPE,
                if matches!(
                    tool.item_type.as_str(),
                    "custom_tool_call" | "web_search_call" | "image_generation_call"
                ) {
                    "extension"
                } else {
                    "function"
                },
            )
            .str(key::TOOL_CALL_ARGUMENTS, tool.arguments.clone())
            .opt_str(key::TOOL_CALL_RESULT, result)
            .opt_str("codex.tool.namespace", tool.namespace.clone())
            .opt_str(key::CODEX_TOOL_HOOK_NAME, call.hooks.hook_name.clone())
            .str(key::CONVERSATION_ID, self.session_id)
            .turn(Some(turn))
            .role(
                SpanRole::Tool,
                &tool_display_name(&tool.name, &tool.arguments, &self.config.content),
            )
            .io(
                Some(json_object(&tool.arguments, "input")),
                result.map(|text| json_object(text, "output")),
            );
        if let Some(code) = call.exec.exit_code {
            attrs.int(key::CODEX_TOOL_EXIT_CODE, code);
        }
        let mut name = format!("execute_tool {}", tool.name);
        if let Some(skill) = &call.exec.skill {
            skill_use_attrs(&mut attrs, skill, call.exec.exit_code);
            name = format!("{name} {}", skill.name_suffix());
        }
        if let Some((error_type, _)) = &error {
            attrs.str(key::ERROR_TYPE, *error_type);
        }
        let start = tool.start.unwrap_or(end);
        let events = permission_events(call, tool, start);
        let status = error.map_or(SpanStatus::Unset, |(_, message)| SpanStatus::Error(message));
        let parent = self.id(SpanKey::Turn(turn.id));
        self.span(SpanParts {
            key: SpanKey::Tool(&call.call_id),
            parent: Some(parent),
            name,
            kind: SpanKind::Internal,
            start,
            end,
            attrs,
            events,
            status,
        })
    }
}

/// The name Codex's own skill loads are given as a tool (`gen_ai.tool.name`).
const LOAD_SKILL_TOOL: &str = "load_skill";

impl Builder<'_> {
    /// `execute_tool load_skill <name>` under `turn`: a load Codex made itself, at `fallback`
    /// when the rollout gave the message no time.
    pub(crate) fn skill_load_span(
        &self,
        turn: TurnRef<'_>,
        load: &SkillLoad,
        fallback: SystemTime,
    ) -> SpanRecord {
        let at = load.at.unwrap_or(fallback);
        let arguments = json!({ "name": load.skill.name });
        let mut attrs = Attrs::default();
        attrs
            .str(key::OPERATION_NAME, "execute_tool")
            .str(key::TOOL_NAME, LOAD_SKILL_TOOL)
            .str(key::TOOL_TYPE, "extension")
            .str(key::TOOL_CALL_ARGUMENTS, arguments.to_string())
            .str(key::TOOL_CALL_RESULT, load.instructions.clone())
            .str(key::CONVERSATION_ID, self.session_id)
            .turn(Some(turn))
            .role(
                SpanRole::Tool,
                &format!("{LOAD_SKILL_TOOL} {}", load.skill.name),
            )
            .io(
                Some(arguments),
                Some(json_object(&load.instructions, "instructions")),
            );
        skill_attrs(&mut attrs, &load.skill);
        self.span(SpanParts {
            key: SpanKey::SkillLoad(turn.id, &load.skill.name),
            parent: Some(self.id(SpanKey::Turn(turn.id))),
            name: format!("execute_tool {LOAD_SKILL_TOOL} {}", load.skill.name),
            kind: SpanKind::Internal,
            start: at,
            end: at,
            attrs,
            events: Vec::new(),
            status: SpanStatus::Unset,
        })
    }
}

/// The `gen_ai.skill.*` (and, for a run, `process.*`) attributes of a tool call that used a
/// skill.
fn skill_use_attrs(attrs: &mut Attrs, used: &SkillUse, exit_code: Option<i64>) {
    skill_attrs(attrs, &used.skill);
    match &used.operation {
        SkillOperation::Load => {}
        SkillOperation::ReadResource(resource) => {
            attrs.str(key::SKILL_RESOURCE_NAME, resource.clone());
        }
        SkillOperation::Run {
            resource,
            executable,
        } => {
            attrs
                .str(key::SKILL_RESOURCE_NAME, resource.clone())
                .str(key::PROCESS_EXECUTABLE_NAME, executable.clone());
            if let Some(code) = exit_code {
                attrs.int(key::PROCESS_EXIT_CODE, code);
            }
        }
    }
}

/// The skill's own attributes: name, description and source (its directory as a `file:` URI;
/// description and source are content, exported only with capture on).
fn skill_attrs(attrs: &mut Attrs, skill: &Skill) {
    attrs
        .str(key::SKILL_NAME, skill.name.clone())
        .opt_str(key::SKILL_DESCRIPTION, skill.description.clone())
        .str(key::SKILL_SOURCE_URI, format!("file://{}", skill.dir()));
}

/// The error class and message of a failed tool call, if it failed.
fn tool_error(call: &ToolCall, result: Option<&str>) -> Option<(&'static str, String)> {
    let Some(result) = result else {
        return Some((
            "no_output",
            "the tool call never produced output".to_owned(),
        ));
    };
    if result.trim_end().ends_with(ABORTED_BY_USER) {
        return Some(("interrupted", "the tool call was interrupted".to_owned()));
    }
    if result.starts_with(BLOCKED_BY_HOOK) {
        return Some(("blocked_by_hook", BLOCKED_BY_HOOK.to_owned()));
    }
    match (call.exec.exit_code, call.exec.status.as_deref()) {
        (Some(code), _) if code != 0 => {
            Some(("exit_code", format!("command exited with code {code}")))
        }
        (_, Some(status @ ("failed" | "declined"))) => {
            Some(("command_failed", format!("command {status}")))
        }
        _ => None,
    }
}

fn permission_events(call: &ToolCall, tool: &ToolRequest, fallback: SystemTime) -> Vec<SpanEvent> {
    let decision = match (call.exec.exit_code, call.output()) {
        (Some(_), _) => "approved",
        (None, Some((_, text))) if text.contains("rejected") || text.contains("denied") => "denied",
        _ => "unknown",
    };
    let tool_name = call.hooks.hook_name.as_deref().unwrap_or(&tool.name);
    let event = |ask: &PermissionAsk| {
        let mut attrs = Attrs::default();
        attrs
            .str("codex.permission.tool", tool_name)
            .opt_str("codex.permission.command", ask.command.clone())
            .opt_str("codex.permission.reason", ask.reason.clone())
            .str("codex.permission.decision", decision);
        SpanEvent {
            name: key::EVENT_PERMISSION_REQUEST.to_owned(),
            time: ask.received_at.unwrap_or(fallback),
            attributes: attrs.0,
        }
    };
    call.hooks.permission_requests.iter().map(event).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_reports_its_program_and_exit_code() {
        let run = SkillUse {
            skill: Skill {
                name: "greeting".into(),
                description: None,
                file: "/home/dev/.codex/skills/greeting/SKILL.md".into(),
            },
            operation: SkillOperation::Run {
                resource: "scripts/greet.sh".into(),
                executable: "greet.sh".into(),
            },
        };
        let mut attrs = Attrs::default();
        skill_use_attrs(&mut attrs, &run, Some(3));
        assert_eq!(attrs.get_str(key::SKILL_NAME), Some("greeting"));
        assert_eq!(
            attrs.get_str(key::SKILL_RESOURCE_NAME),
            Some("scripts/greet.sh")
        );
        assert_eq!(
            attrs.get_str(key::PROCESS_EXECUTABLE_NAME),
            Some("greet.sh")
        );
        assert_eq!(
            attrs.get_str(key::SKILL_SOURCE_URI),
            Some("file:///home/dev/.codex/skills/greeting")
        );
        assert!(attrs
            .0
            .iter()
            .any(|(k, v)| k == key::PROCESS_EXIT_CODE && *v == crate::span::AttrValue::Int(3)));
    }
}
