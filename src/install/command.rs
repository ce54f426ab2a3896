//! How `codex-otel install` recognises a handler it wrote: [`is_ours`] is true for a `command`
//! handler running exactly the given command, or either shape of [`hook_binary`] (a hook
//! command for any absolute path): an earlier install with another `--bin`, or of the other
//! form. Nothing else counts, even when it mentions codex-otel.

use crate::hook::registration::hook_binary;
use serde_json::Value;

/// True for a handler that `install` wrote (see the module docs).
pub(super) fn is_ours(handler: &Value, command: &str) -> bool {
    if handler.get("type").and_then(Value::as_str) != Some("command") {
        return false;
    }
    let Some(run) = handler.get("command").and_then(Value::as_str) else {
        return false;
    };
    run == command || hook_binary(run).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OURS: &str = "'/opt/codex-otel' hook";

    fn handler(command: &str) -> Value {
        json!({"type": "command", "command": command})
    }

    #[test]
    fn both_shapes_are_ours_for_any_absolute_install_place() {
        for command in [
            OURS,
            "'/old/place/codex-otel' hook",
            "'/opt/codex-otel-hook'",
            r"'/home/it'\''s/codex-otel-hook'",
        ] {
            assert!(is_ours(&handler(command), OURS), "{command}");
        }
        let slim = "'/opt/codex-otel-hook'";
        assert!(
            is_ours(&handler(OURS), slim),
            "the other shape, the other way"
        );
    }

    #[test]
    fn user_handlers_that_merely_mention_codex_otel_are_not_ours() {
        for command in [
            "codex-otel hook",
            "codex-otel-hook",
            "'/bin/codex-otel' hook --verbose",
            "'/bin/codex-otel-hook' hook",
            "'/bin/codex-otel'",
            "'/bin/codex-otel-hook' --flag",
            "'/bin/other' hook",
            "'relative/codex-otel' hook",
            "'relative/codex-otel-hook'",
            "'/a' '/b/codex-otel-hook'",
            "'/a'; '/b/codex-otel-hook'",
        ] {
            assert!(!is_ours(&handler(command), OURS), "{command}");
        }
        let mcp = json!({"type": "mcp_tool", "command": OURS});
        assert!(!is_ours(&mcp, OURS));
    }
}
