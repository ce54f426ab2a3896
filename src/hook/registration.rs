//! How Codex is told to run codex-otel's hook, the facts `install`, `run` and `doctor` share:
//! the hooks file's name ([`HOOKS_FILE`]), the events codex-otel registers for with the
//! matcher group of each ([`EVENTS`]), and the handler command for a binary ([`hook_command`])
//! and back ([`hook_binary`]).
//!
//! Contract:
//! - [`hook_command`] for a `codex-otel` binary is `'<dir>/codex-otel-hook'` when the slim hook
//!   binary ([`HOOK_BIN_NAME`]) is an executable file in the same directory, else
//!   `'<codex-otel>' hook` (both run the same hook code). Paths are single-quoted for
//!   `$SHELL -c`.
//! - [`hook_binary`] reads either shape back, for any absolute path whose file name fits it
//!   (`codex-otel` before ` hook`, `codex-otel-hook` alone); nothing else is a hook command.

use super::spawn::{CLI_BIN_NAME, HOOK_BIN_NAME};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// The hooks file's name inside `$CODEX_HOME`.
pub const HOOKS_FILE: &str = "hooks.json";

/// How codex-otel registers for one Codex hook event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHook {
    /// The event name, as Codex spells it.
    pub event: &'static str,
    /// The matcher of the group (`"*"`, every tool, source, agent type or trigger) for the
    /// events that have a matcher input; `None` where Codex ignores or lacks one.
    pub matcher: Option<&'static str>,
    /// The handler's timeout in seconds: 10 s (the hook itself takes milliseconds); Stop gets
    /// 15 s so the opt-in flush on turn end (bounded by [`super::FLUSH_TIMEOUT`], 10 s)
    /// finishes before Codex would kill it; Codex clamps SessionEnd and Interrupt to 3 s.
    pub timeout_secs: u64,
}

impl EventHook {
    const fn new(event: &'static str, matcher: Option<&'static str>, timeout_secs: u64) -> Self {
        EventHook {
            event,
            matcher,
            timeout_secs,
        }
    }

    /// The matcher group registering `command` for this event (JSON, the shape of both
    /// `hooks.json` and a `-c hooks.<event>=…` override).
    pub(crate) fn group(&self, command: &str) -> Value {
        let handler = json!({"type": "command", "command": command, "timeout": self.timeout_secs});
        let mut group = json!({ "hooks": [handler] });
        if let Some(matcher) = self.matcher {
            group["matcher"] = matcher.into();
        }
        group
    }
}

/// Every hook event of Codex CLI 0.169 and 0.171: the 12 documented ones in the order a session
/// fires them, then the two that fire around every model request; codex-otel records all of
/// them. `plugin/hooks/hooks.json` registers the same set (a test checks it).
pub const EVENTS: [EventHook; 14] = [
    EventHook::new("SessionStart", Some("*"), 10),
    EventHook::new("UserPromptSubmit", None, 10),
    EventHook::new("PreToolUse", Some("*"), 10),
    EventHook::new("PermissionRequest", Some("*"), 10),
    EventHook::new("PostToolUse", Some("*"), 10),
    EventHook::new("PreCompact", Some("*"), 10),
    EventHook::new("PostCompact", Some("*"), 10),
    EventHook::new("SubagentStart", Some("*"), 10),
    EventHook::new("SubagentStop", Some("*"), 10),
    EventHook::new("Stop", None, 15),
    EventHook::new("Interrupt", None, 3),
    EventHook::new("SessionEnd", None, 3),
    EventHook::new("PreModelRequest", None, 10),
    EventHook::new("PostModelRequest", None, 10),
];

/// The binary's path cannot be written into a hook command (a JSON string).
#[derive(Debug, thiserror::Error)]
#[error("the hook binary's path {path} is not valid UTF-8")]
pub struct NonUtf8Path {
    /// The binary.
    pub path: PathBuf,
}

/// The shell command a handler runs for the codex-otel binary `bin` (see the module docs).
pub fn hook_command(bin: &Path) -> Result<String, NonUtf8Path> {
    let slim = bin.with_file_name(HOOK_BIN_NAME);
    if is_executable_file(&slim) {
        quoted(&slim)
    } else {
        Ok(format!("{} hook", quoted(bin)?))
    }
}

/// The binary a hook command of [`hook_command`] runs, in either form: `'<dir>/codex-otel'
/// hook` or `'<dir>/codex-otel-hook'`, with an absolute path; `None` for any other command.
pub fn hook_binary(command: &str) -> Option<PathBuf> {
    let (quoted_path, name) = match command.strip_suffix(" hook") {
        Some(quoted_path) => (quoted_path, CLI_BIN_NAME),
        None => (command, HOOK_BIN_NAME),
    };
    unquoted(quoted_path)
        .filter(|path| path.is_absolute() && path.file_name() == Some(name.as_ref()))
}

/// Whether `path` is an executable file (following symlinks).
fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `path` single-quoted for the shell: `'` becomes `'\''`.
fn quoted(path: &Path) -> Result<String, NonUtf8Path> {
    let text = path.to_str().ok_or_else(|| NonUtf8Path {
        path: path.to_owned(),
    })?;
    Ok(format!("'{}'", text.replace('\'', r"'\''")))
}

/// The path `word` quotes, when `word` is exactly what [`quoted`] makes of it.
fn unquoted(word: &str) -> Option<PathBuf> {
    let inner = word.strip_prefix('\'')?.strip_suffix('\'')?;
    let path = PathBuf::from(inner.replace(r"'\''", "'"));
    (quoted(&path).ok()? == word).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_path_is_single_quoted_so_the_shell_runs_it_verbatim() {
        let command = hook_command(Path::new("/home/a b/it's/codex-otel")).unwrap();
        assert_eq!(command, r"'/home/a b/it'\''s/codex-otel' hook");
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", &command.replace(" hook", "")])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("/home/a b/it's/codex-otel"), "{stderr}");
    }

    #[test]
    fn the_slim_hook_binary_beside_codex_otel_is_preferred_when_executable() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("codex-otel");
        let slim = dir.path().join("codex-otel-hook");
        let with_subcommand = format!("'{}' hook", bin.display());
        assert_eq!(
            hook_command(&bin).unwrap(),
            with_subcommand,
            "no slim binary"
        );
        fs::write(&slim, "").unwrap();
        assert_eq!(
            hook_command(&bin).unwrap(),
            with_subcommand,
            "not executable"
        );
        fs::set_permissions(&slim, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(hook_command(&bin).unwrap(), format!("'{}'", slim.display()));
    }
}
