//! The handler command `codex-otel install` registers, and how to recognise one it wrote.
//!
//! Contract:
//! - [`hook_command`] for a `codex-otel` binary is `'<dir>/codex-otel-hook'` when the slim hook
//!   binary ([`HOOK_BIN_NAME`]) is an executable file in the same directory, else
//!   `'<codex-otel>' hook` (both run the same hook code). Paths are single-quoted for
//!   `$SHELL -c`.
//! - [`is_ours`] recognises a `command` handler running exactly the given command, or either
//!   shape for any absolute path whose file name fits it (`codex-otel` before ` hook`,
//!   `codex-otel-hook` alone): an earlier install with another `--bin`, or of the other form.
//!   Nothing else counts, even when it mentions codex-otel.

use super::Error;
use crate::hook::spawn::{CLI_BIN_NAME, HOOK_BIN_NAME};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// The shell command a handler runs for the codex-otel binary `bin` (see the module docs).
pub fn hook_command(bin: &Path) -> Result<String, Error> {
    let slim = bin.with_file_name(HOOK_BIN_NAME);
    if is_executable_file(&slim) {
        quoted(&slim)
    } else {
        Ok(format!("{} hook", quoted(bin)?))
    }
}

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

/// The binary a hook command written by `install` runs, in either form: `'<dir>/codex-otel'
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
fn quoted(path: &Path) -> Result<String, Error> {
    let text = path.to_str().ok_or_else(|| Error::NonUtf8Path {
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
    use serde_json::json;
    use std::fs;

    const OURS: &str = "'/opt/codex-otel' hook";

    fn handler(command: &str) -> Value {
        json!({"type": "command", "command": command})
    }

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
