//! The Codex command line `codex-otel run` starts: the user's `codex exec …`, with codex-otel's
//! hooks supplied for that invocation only.
//!
//! Contract:
//! - The command must contain an `exec` argument after its program (`codex exec …`,
//!   `npx codex exec …`, `codex exec resume …`); right after the first one go one
//!   `-c hooks.<Event>=[<matcher group>]` per event of [`EVENTS`] (the same
//!   group `codex-otel install` writes, as inline TOML), then
//!   `--dangerously-bypass-hook-trust` unless the command has it already. Everything else is
//!   passed unchanged, in order.
//! - Why `-c` and the bypass: Codex 0.169 and 0.171 load `-c hooks.…` as their own
//!   "session flags" layer, next to (never instead of) the user's `config.toml`, `hooks.json`
//!   and plugins, so nothing of the user's setup is hidden or changed. Codex runs only trusted
//!   hooks, and trust for that layer can only be stored in the user's `config.toml`
//!   (`-c hooks.state.…` is ignored): the bypass flag is the one per-invocation way.

use crate::hook::registration::{NonUtf8Path, EVENTS};
use std::ffi::OsString;

/// Codex's flag that runs hooks nobody has trusted, for one invocation.
pub(crate) const BYPASS_TRUST_FLAG: &str = "--dangerously-bypass-hook-trust";
/// The subcommand `run` needs in the command.
const EXEC: &str = "exec";

/// Why the Codex command line cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CommandError {
    /// Nothing was given after `--`.
    #[error("no command to run: pass it after `--`, e.g. `codex-otel run -- codex exec \"…\"`")]
    Empty,
    /// The command has no `exec` argument.
    #[error("`{program}` is not run with `exec`: `codex-otel run` traces `codex exec …`")]
    NoExec {
        /// The command's program.
        program: String,
    },
    /// The hook binary cannot be named in a command.
    #[error("cannot name the hook binary")]
    Hook(#[source] NonUtf8Path),
    /// A hook group cannot be written as TOML.
    #[error("cannot write the hooks of {event} as a -c override")]
    Toml {
        /// The event.
        event: &'static str,
        /// The cause.
        #[source]
        source: toml::ser::Error,
    },
}

/// The `-c` values registering `hook_command` for every event.
pub(crate) fn hook_overrides(hook_command: &str) -> Result<Vec<String>, CommandError> {
    EVENTS
        .iter()
        .map(|spec| {
            let group = spec.group(hook_command);
            let groups =
                toml::Value::try_from(vec![group]).map_err(|source| CommandError::Toml {
                    event: spec.event,
                    source,
                })?;
            Ok(format!("hooks.{}={groups}", spec.event))
        })
        .collect()
}

/// `command` with `overrides` (each after a `-c`) and the bypass flag inserted after its
/// first `exec` (see the module docs).
pub(crate) fn with_hooks(
    command: &[OsString],
    overrides: &[String],
) -> Result<Vec<OsString>, CommandError> {
    let (program, args) = command.split_first().ok_or(CommandError::Empty)?;
    let exec = args
        .iter()
        .position(|arg| arg == EXEC)
        .ok_or_else(|| CommandError::NoExec {
            program: program.to_string_lossy().into_owned(),
        })?;
    let bypassed = args.iter().any(|arg| arg == BYPASS_TRUST_FLAG);
    let mut line = vec![program.clone()];
    line.extend_from_slice(&args[..=exec]);
    for value in overrides {
        line.push("-c".into());
        line.push(value.into());
    }
    if !bypassed {
        line.push(BYPASS_TRUST_FLAG.into());
    }
    line.extend(args[exec + 1..].iter().cloned());
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn hooks_and_the_bypass_go_right_after_exec_and_the_rest_is_kept() {
        let overrides = ["hooks.Stop=[]".to_owned()];
        let built = with_hooks(
            &line(&["npx", "codex", "exec", "resume", "id", "hi"]),
            &overrides,
        );
        let expected = [
            "npx",
            "codex",
            "exec",
            "-c",
            "hooks.Stop=[]",
            BYPASS_TRUST_FLAG,
            "resume",
            "id",
            "hi",
        ];
        assert_eq!(built.unwrap(), line(&expected));
    }

    #[test]
    fn a_bypass_the_user_passed_is_not_repeated() {
        let command = line(&["codex", "exec", BYPASS_TRUST_FLAG, "exec the plan"]);
        let built = with_hooks(&command, &[]).unwrap();
        assert_eq!(built, command, "only the first `exec` counts");
    }

    #[test]
    fn a_command_without_exec_is_refused() {
        assert!(matches!(with_hooks(&[], &[]), Err(CommandError::Empty)));
        let refused = with_hooks(&line(&["codex", "resume"]), &[]);
        assert!(matches!(refused, Err(CommandError::NoExec { program }) if program == "codex"));
    }

    #[test]
    fn every_event_gets_the_group_install_writes_as_inline_toml() {
        let overrides = hook_overrides("'/opt/codex-otel-hook' --run=t").unwrap();
        assert_eq!(overrides.len(), EVENTS.len());
        for (value, spec) in overrides.iter().zip(EVENTS) {
            let (key, toml_text) = value.split_once('=').unwrap();
            assert_eq!(key, format!("hooks.{}", spec.event));
            let parsed: toml::Table = format!("v = {toml_text}").parse().unwrap();
            let json = serde_json::to_value(&parsed["v"]).unwrap();
            let expected = spec.group("'/opt/codex-otel-hook' --run=t");
            assert_eq!(json, serde_json::json!([expected]), "{value}");
        }
    }
}
