//! Attribute keys we emit: GenAI semantic conventions (latest development names), the OpenAI
//! refinement, Braintrust's native `braintrust.*` keys and our own `codex.*` keys.
//!
//! Keys are defined here once and never written as literals at use sites.

/// `gen_ai.operation.name`: `invoke_agent`, `chat` or `execute_tool`.
pub const OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.provider.name`: always `openai` for Codex.
pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.agent.name`: `codex` for the session, the nickname for a sub-agent.
pub const AGENT_NAME: &str = "gen_ai.agent.name";
/// `gen_ai.agent.id`: the Codex thread id of an agent.
pub const AGENT_ID: &str = "gen_ai.agent.id";
/// `gen_ai.conversation.id`: the Codex session id (root thread id).
pub const CONVERSATION_ID: &str = "gen_ai.conversation.id";
/// `gen_ai.conversation.compacted`: set to `true` on the summarization call of a compaction.
pub const CONVERSATION_COMPACTED: &str = "gen_ai.conversation.compacted";
/// `gen_ai.request.model`: the model slug requested (from `turn_context`).
pub const REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.request.previous_response.id`: the call before this one in the same thread.
pub const REQUEST_PREVIOUS_RESPONSE_ID: &str = "gen_ai.request.previous_response.id";
/// `gen_ai.response.id`: the Responses API id (`resp_…`).
pub const RESPONSE_ID: &str = "gen_ai.response.id";
/// `gen_ai.response.model`: the model that answered (Codex records the requested one).
pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
/// `gen_ai.response.finish_reasons`: one per output message.
pub const RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// `gen_ai.usage.input_tokens`: input tokens, cached ones included.
pub const USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens`: output tokens, reasoning ones included.
pub const USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.usage.cache_read.input_tokens`: the cached subset of the input.
pub const USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
/// `gen_ai.usage.reasoning.output_tokens`: the reasoning subset of the output.
pub const USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
/// `gen_ai.input.messages`: JSON array of chat messages sent (opt-in content).
pub const INPUT_MESSAGES: &str = "gen_ai.input.messages";
/// `gen_ai.output.messages`: JSON array of output messages (opt-in content).
pub const OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
/// `gen_ai.system_instructions`: the base instructions (opt-in content).
pub const SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
/// `gen_ai.tool.name`: the model-facing tool name, e.g. `exec_command`.
pub const TOOL_NAME: &str = "gen_ai.tool.name";
/// `gen_ai.tool.call.id`: the Responses `call_id`.
pub const TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
/// `gen_ai.tool.type`: `function` or `extension`.
pub const TOOL_TYPE: &str = "gen_ai.tool.type";
/// `gen_ai.tool.call.arguments`: the call's arguments (opt-in content).
pub const TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
/// `gen_ai.tool.call.result`: the call's result (opt-in content).
pub const TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
/// `gen_ai.skill.name`: the skill a tool call loaded, read or ran.
pub const SKILL_NAME: &str = "gen_ai.skill.name";
/// `gen_ai.skill.description`: what the skill says it is for (content: capture only).
pub const SKILL_DESCRIPTION: &str = "gen_ai.skill.description";
/// `gen_ai.skill.source.uri`: where the skill comes from, its directory as a `file:` URI
/// (content: capture only).
pub const SKILL_SOURCE_URI: &str = "gen_ai.skill.source.uri";
/// `gen_ai.skill.resource.name`: the skill's file a tool call read or ran, relative to the
/// skill's directory (`references/style.md`).
pub const SKILL_RESOURCE_NAME: &str = "gen_ai.skill.resource.name";
/// `process.executable.name`: the program a skill's script ran with.
pub const PROCESS_EXECUTABLE_NAME: &str = "process.executable.name";
/// `process.exit.code`: the exit code of a skill's script.
pub const PROCESS_EXIT_CODE: &str = "process.exit.code";
/// `gen_ai.response.time_to_first_chunk`: seconds from request to first output.
pub const RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// `error.type`: low-cardinality error class on failed spans.
pub const ERROR_TYPE: &str = "error.type";
/// `openai.api.type`: always `responses` for Codex.
pub const OPENAI_API_TYPE: &str = "openai.api.type";

/// `openinference.span.kind`: `AGENT`, `CHAIN`, `LLM` or `TOOL` (read first by Phoenix/Arize).
pub const OPENINFERENCE_SPAN_KIND: &str = "openinference.span.kind";
/// `input.value`: the span's input as OpenInference shows it (content).
pub const INPUT_VALUE: &str = "input.value";
/// `input.mime_type`: `text/plain` or `application/json`.
pub const INPUT_MIME_TYPE: &str = "input.mime_type";
/// `output.value`: the span's output as OpenInference shows it (content).
pub const OUTPUT_VALUE: &str = "output.value";
/// `output.mime_type`: `text/plain` or `application/json`.
pub const OUTPUT_MIME_TYPE: &str = "output.mime_type";
/// `session.id`: OpenInference's session grouping (the Codex session id).
pub const SESSION_ID: &str = "session.id";

/// `braintrust.span_attributes`: JSON `{"type": "llm"|"tool"|"task", "name": …}`.
pub const BRAINTRUST_SPAN_ATTRIBUTES: &str = "braintrust.span_attributes";
/// `braintrust.metrics`: JSON token metrics in Braintrust's names.
pub const BRAINTRUST_METRICS: &str = "braintrust.metrics";
/// `braintrust.metadata`: JSON metadata (model, provider, session).
pub const BRAINTRUST_METADATA: &str = "braintrust.metadata";
/// `braintrust.input_json`: the span's input as JSON.
pub const BRAINTRUST_INPUT_JSON: &str = "braintrust.input_json";
/// `braintrust.output_json`: the span's output as JSON.
pub const BRAINTRUST_OUTPUT_JSON: &str = "braintrust.output_json";

/// `codex.session.id`: the Codex session (root thread) id.
pub const CODEX_SESSION_ID: &str = "codex.session.id";
/// `codex.parent.session_id`: on the root of a session another Codex session ran from a tool
/// call (a nested `codex exec`), that session's id (`CODEX_SESSION_ID`).
pub const CODEX_PARENT_SESSION_ID: &str = "codex.parent.session_id";
/// `codex.parent.tool_call_id`: on the root of a nested session, the call id of the parent's
/// tool call that ran it (`CODEX_TOOL_CALL_ID`); the root's parent span is that call's.
pub const CODEX_PARENT_TOOL_CALL_ID: &str = "codex.parent.tool_call_id";
/// `codex.thread.id`: the thread a span belongs to (differs from the session in sub-agents).
pub const CODEX_THREAD_ID: &str = "codex.thread.id";
/// `codex.turn.id`: the Codex turn id.
pub const CODEX_TURN_ID: &str = "codex.turn.id";
/// `codex.turn.index`: 1-based position of the turn in its thread.
pub const CODEX_TURN_INDEX: &str = "codex.turn.index";
/// `codex.turn.interrupted`: `true` on a turn the user interrupted.
pub const CODEX_TURN_INTERRUPTED: &str = "codex.turn.interrupted";
/// `codex.turn.prompt`: the user's prompt (content).
pub const CODEX_TURN_PROMPT: &str = "codex.turn.prompt";
/// `codex.turn.last_assistant_message`: the turn's final answer (content).
pub const CODEX_TURN_OUTPUT: &str = "codex.turn.last_assistant_message";
/// `codex.turn.model`: the model the turn's calls requested (not `gen_ai.request.model`, so no
/// backend takes the turn for a model call).
pub const CODEX_TURN_MODEL: &str = "codex.turn.model";
/// `codex.usage.input_tokens`: input tokens of every model call below an agent or turn span
/// (a total: backends do not add `codex.usage.*` up).
pub const CODEX_USAGE_INPUT_TOKENS: &str = "codex.usage.input_tokens";
/// `codex.usage.output_tokens`: output tokens of every model call below the span.
pub const CODEX_USAGE_OUTPUT_TOKENS: &str = "codex.usage.output_tokens";
/// `codex.usage.cache_read.input_tokens`: cached input tokens below the span.
pub const CODEX_USAGE_CACHE_READ_INPUT_TOKENS: &str = "codex.usage.cache_read.input_tokens";
/// `codex.usage.reasoning.output_tokens`: reasoning output tokens below the span.
pub const CODEX_USAGE_REASONING_OUTPUT_TOKENS: &str = "codex.usage.reasoning.output_tokens";
/// `codex.usage.total_tokens`: all tokens below the span.
pub const CODEX_USAGE_TOTAL_TOKENS: &str = "codex.usage.total_tokens";
/// `codex.usage.unknown_reason`: set instead of every `codex.usage.*` total when part of the
/// span's usage was never recorded: `not_recorded` (the rollout has model output without usage)
/// or `interrupted` (a call was cut off before its usage was recorded).
pub const CODEX_USAGE_UNKNOWN_REASON: &str = "codex.usage.unknown_reason";
/// `codex.cli_version`: the Codex CLI version.
pub const CODEX_CLI_VERSION: &str = "codex.cli_version";
/// `codex.originator`: e.g. `codex_exec`.
pub const CODEX_ORIGINATOR: &str = "codex.originator";
/// `codex.source`: how the thread was started (`exec`, `cli`, `subagent`, `resume`).
pub const CODEX_SOURCE: &str = "codex.source";
/// `codex.cwd`: the session's working directory.
pub const CODEX_CWD: &str = "codex.cwd";
/// `codex.permission_mode`: the hooks' permission mode.
pub const CODEX_PERMISSION_MODE: &str = "codex.permission_mode";
/// `codex.model_provider`: Codex's provider id.
pub const CODEX_MODEL_PROVIDER: &str = "codex.model_provider";
/// `codex.git.remote`: origin URL with credentials stripped.
pub const CODEX_GIT_REMOTE: &str = "codex.git.remote";
/// `codex.git.branch`: the checked-out branch.
pub const CODEX_GIT_BRANCH: &str = "codex.git.branch";
/// `codex.git.commit`: the HEAD commit.
pub const CODEX_GIT_COMMIT: &str = "codex.git.commit";
/// `codex.tool.hook_name`: the tool name hooks see, e.g. `Bash`.
pub const CODEX_TOOL_HOOK_NAME: &str = "codex.tool.hook_name";
/// `codex.tool.exit_code`: a command's exit code.
pub const CODEX_TOOL_EXIT_CODE: &str = "codex.tool.exit_code";
/// `codex.compaction.trigger`: `auto` or `manual`.
pub const CODEX_COMPACTION_TRIGGER: &str = "codex.compaction.trigger";
/// `codex.request.kind`: `turn` or `compaction` on a model call.
pub const CODEX_REQUEST_KIND: &str = "codex.request.kind";
/// `codex.request.attempt`: which attempt of a model request this was (1, then retries), from
/// the model-request hooks.
pub const CODEX_REQUEST_ATTEMPT: &str = "codex.request.attempt";
/// `codex.request.status`: how a model request that never completed ended (`failed` or
/// `cancelled`), from PostModelRequest.
pub const CODEX_REQUEST_STATUS: &str = "codex.request.status";
/// `codex.agent.type`: a sub-agent's role (`default`).
pub const CODEX_AGENT_TYPE: &str = "codex.agent.type";
/// `codex.content.truncated`: `true` when a content attribute was cut to its cap.
pub const CODEX_CONTENT_TRUNCATED: &str = "codex.content.truncated";
/// `codex.redactions`: how many secrets were replaced in the span's content.
pub const CODEX_REDACTIONS: &str = "codex.redactions";
/// `codex.user.*`: prefix for user metadata (`BRAINTRUST_ADDITIONAL_METADATA`).
pub const CODEX_USER_METADATA_PREFIX: &str = "codex.user.";

/// Span event for a permission request: what was asked and what was decided.
pub const EVENT_PERMISSION_REQUEST: &str = "codex.permission_request";
/// Span event for an interrupt.
pub const EVENT_INTERRUPT: &str = "codex.interrupt";
/// Span event for a compaction.
pub const EVENT_COMPACTION: &str = "codex.compaction";
