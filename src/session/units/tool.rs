//! [`ToolCall`]: one tool call, holding what the rollout recorded (the request, the command's
//! exit, the output) and what the hooks said (the hook's tool name, permission requests)
//! together. It is ready once the rollout has both its request and its output.

use super::skill::SkillUse;
use super::TurnIx;
use std::time::SystemTime;

/// A PermissionRequest hook, attached to the tool call it was about.
#[derive(Debug, Clone)]
pub(crate) struct PermissionAsk {
    pub(crate) received_at: Option<SystemTime>,
    pub(crate) command: Option<String>,
    pub(crate) reason: Option<String>,
}

/// What hooks said about one tool call.
#[derive(Debug, Default)]
pub(crate) struct ToolHooks {
    pub(crate) hook_name: Option<String>,
    pub(crate) permission_requests: Vec<PermissionAsk>,
}

/// The call as the model made it (a `function_call` or `custom_tool_call` record).
#[derive(Debug)]
pub(crate) struct ToolRequest {
    pub(crate) turn: TurnIx,
    pub(crate) name: String,
    pub(crate) namespace: Option<String>,
    pub(crate) item_type: String,
    pub(crate) arguments: String,
    pub(crate) start: Option<SystemTime>,
}

/// How the command a call ran ended (`item_completed` of a command execution), and the skill
/// it used.
#[derive(Debug, Default)]
pub(crate) struct ExecFacts {
    pub(crate) exit_code: Option<i64>,
    pub(crate) status: Option<String>,
    pub(crate) skill: Option<SkillUse>,
}

/// Where a tool call is in its life.
#[derive(Debug)]
pub(crate) enum ToolPhase {
    /// Only hooks have named it so far.
    Announced,
    /// The rollout recorded the request; no output yet.
    Running(ToolRequest),
    /// The output is recorded: ready to be emitted.
    Finished {
        request: ToolRequest,
        at: SystemTime,
        output: String,
    },
}

/// One tool call.
#[derive(Debug)]
pub(crate) struct ToolCall {
    pub(crate) call_id: String,
    pub(crate) hooks: ToolHooks,
    pub(crate) exec: ExecFacts,
    pub(crate) phase: ToolPhase,
}

impl ToolCall {
    /// A call nothing is known of yet.
    pub(crate) fn new(call_id: &str) -> Self {
        ToolCall {
            call_id: call_id.to_owned(),
            hooks: ToolHooks::default(),
            exec: ExecFacts::default(),
            phase: ToolPhase::Announced,
        }
    }

    /// Records the request; a request already recorded is kept (a record read twice).
    pub(crate) fn request(&mut self, request: ToolRequest) {
        if matches!(self.phase, ToolPhase::Announced) {
            self.phase = ToolPhase::Running(request);
        }
    }

    /// Records the output; false when the call has no request to attach it to.
    pub(crate) fn finish(&mut self, at: SystemTime, output: String) -> bool {
        match std::mem::replace(&mut self.phase, ToolPhase::Announced) {
            ToolPhase::Running(request) => {
                self.phase = ToolPhase::Finished {
                    request,
                    at,
                    output,
                };
                true
            }
            other => {
                self.phase = other;
                false
            }
        }
    }

    /// The request, once recorded.
    pub(crate) fn request_ref(&self) -> Option<&ToolRequest> {
        match &self.phase {
            ToolPhase::Announced => None,
            ToolPhase::Running(request) | ToolPhase::Finished { request, .. } => Some(request),
        }
    }

    /// The output and its time, once recorded.
    pub(crate) fn output(&self) -> Option<(SystemTime, &str)> {
        match &self.phase {
            ToolPhase::Finished { at, output, .. } => Some((*at, output)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn request(name: &str) -> ToolRequest {
        ToolRequest {
            turn: TurnIx(0),
            name: name.into(),
            namespace: None,
            item_type: "function_call".into(),
            arguments: "{}".into(),
            start: None,
        }
    }

    #[test]
    fn a_call_is_announced_then_running_then_finished() {
        let mut call = ToolCall::new("c1");
        assert!(call.request_ref().is_none());
        call.request(request("exec_command"));
        assert_eq!(call.request_ref().unwrap().name, "exec_command");
        assert!(call.finish(UNIX_EPOCH, "ok".into()));
        assert_eq!(call.output(), Some((UNIX_EPOCH, "ok")));
    }

    #[test]
    fn an_output_without_a_request_is_refused_and_changes_nothing() {
        let mut call = ToolCall::new("c1");
        assert!(!call.finish(UNIX_EPOCH, "ok".into()));
        assert!(matches!(call.phase, ToolPhase::Announced));
    }

    #[test]
    fn a_request_read_twice_keeps_the_first() {
        let mut call = ToolCall::new("c1");
        call.request(request("first"));
        call.request(request("second"));
        assert_eq!(call.request_ref().unwrap().name, "first");
    }
}
