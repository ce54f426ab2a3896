//! Display names that tell the story, for backends that show a name other than the span name
//! (Braintrust's `braintrust.span_attributes.name`): a compaction's summary call, a shell
//! call's command (content capture on only), a sub-agent's nickname and role. Span names stay
//! the GenAI semantic conventions'.

use crate::span::content::ContentPolicy;

/// Longest command shown in a tool span's display name, in characters.
const MAX_COMMAND_IN_NAME: usize = 80;

/// A sub-agent's display name: its nickname and role, e.g. `Ada (explorer)`.
pub(crate) fn agent_display_name(agent_name: &str, role: Option<&str>) -> String {
    match role {
        Some(role) => format!("{agent_name} ({role})"),
        None => format!("invoke_agent {agent_name}"),
    }
}

/// A model call's display name: a compaction's summary call says so.
pub(crate) fn chat_display_name(model: &str, compaction: bool) -> String {
    if compaction {
        format!("compaction summary ({model})")
    } else {
        format!("chat {model}")
    }
}

/// The command a shell tool call ran, from its JSON arguments (`cmd` or `command`).
fn shell_command(arguments: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(arguments).ok()?;
    match value.get("cmd").or_else(|| value.get("command"))? {
        serde_json::Value::String(cmd) => Some(cmd.clone()),
        serde_json::Value::Array(words) => Some(
            words
                .iter()
                .filter_map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

/// `$ {command}`, cut to [`MAX_COMMAND_IN_NAME`] characters.
fn command_display_name(command: &str) -> String {
    let line = command.lines().next().unwrap_or_default();
    let mut name: String = line.chars().take(MAX_COMMAND_IN_NAME).collect();
    if name.len() < command.len() {
        name.push('…');
    }
    format!("$ {name}")
}

/// A tool call's display name: the command of a shell call when content is captured
/// (redacted), else the tool's name.
pub(crate) fn tool_display_name(name: &str, arguments: &str, content: &ContentPolicy) -> String {
    match shell_command(arguments).filter(|_| content.capture) {
        Some(mut command) => {
            if let Some(redactor) = &content.redactor {
                redactor.redact(&mut command);
            }
            command_display_name(&command)
        }
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHELL: &str = r#"{"cmd": "echo hello", "yield_time_ms": 2000}"#;

    #[test]
    fn a_shell_call_shows_its_command_only_with_content_on() {
        let on = ContentPolicy::default();
        assert_eq!(
            tool_display_name("exec_command", SHELL, &on),
            "$ echo hello"
        );
        let off = ContentPolicy {
            capture: false,
            ..ContentPolicy::default()
        };
        assert_eq!(
            tool_display_name("exec_command", SHELL, &off),
            "exec_command"
        );
    }

    #[test]
    fn a_command_is_redacted_and_cut_to_its_first_line() {
        let secret = r#"{"cmd": "curl -H 'Authorization: Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123456789' x\nsecond"}"#;
        let name = tool_display_name("exec_command", secret, &ContentPolicy::default());
        assert!(!name.contains("abcdefghijklmnop"), "{name}");
        assert!(!name.contains("second"), "{name}");
        let long = format!(r#"{{"command": ["bash", "-lc", "{}"]}}"#, "x".repeat(200));
        let name = tool_display_name("shell", &long, &ContentPolicy::default());
        assert_eq!(name.chars().count(), 2 + MAX_COMMAND_IN_NAME + 1);
    }

    #[test]
    fn a_tool_without_a_command_keeps_its_name() {
        let name = tool_display_name("apply_patch", "*** Begin Patch", &ContentPolicy::default());
        assert_eq!(name, "apply_patch");
    }

    #[test]
    fn compaction_and_sub_agents_are_named_for_what_they_are() {
        assert_eq!(
            chat_display_name("gpt-5", true),
            "compaction summary (gpt-5)"
        );
        assert_eq!(chat_display_name("gpt-5", false), "chat gpt-5");
        assert_eq!(
            agent_display_name("Darwin", Some("explorer")),
            "Darwin (explorer)"
        );
        assert_eq!(agent_display_name("codex", None), "invoke_agent codex");
    }
}
