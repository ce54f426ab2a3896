//! The marker that keeps a `codex-otel run` invocation from being recorded twice, and the file
//! through which its hooks tell `run` which session they recorded.
//!
//! Contract:
//! - `codex-otel run` starts Codex with [`RUN_ENV`] set to a fresh token ([`is_token`]) and
//!   supplies, for that invocation only, hooks running `<hook> --run=<token>` ([`RUN_ARG`]).
//!   Codex hands its whole environment to every hook, so each hook knows whether it runs under
//!   `run` and whether it is `run`'s own ([`role`]):
//!   - the token of the argument equals the variable's: `run`'s hook, which records the event;
//!   - the variable is set but the argument is missing or differs: the same hook registered
//!     another way (the plugin, `codex-otel install`'s `hooks.json`), which records nothing,
//!     so no event of the invocation is journaled twice;
//!   - the variable is unset or empty: an ordinary hook, which records.
//! - `run`'s hook appends the session id of every `SessionStart` it records to
//!   `runs/<token>` in the state directory ([`note_session`], 0600 in a 0700 directory);
//!   `run` reads the distinct ids back in order ([`sessions`]) once Codex has exited.

use crate::paths::StateDir;
use std::io::{self, Write as _};
use std::path::PathBuf;

/// Environment variable naming the `codex-otel run` invocation Codex runs under.
pub const RUN_ENV: &str = "CODEX_OTEL_RUN";
/// Prefix of the hook argument naming the invocation whose hook this is.
pub const RUN_ARG: &str = "--run=";

/// Longest token accepted.
const MAX_TOKEN_LEN: usize = 64;

/// What a hook does about [`RUN_ENV`] (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role<'a> {
    /// No `run` is involved: record as usual.
    Plain,
    /// `run`'s own hook for the invocation with this token: record, and note the session.
    Run(&'a str),
    /// Another registration of the hook under `run`: record nothing.
    Skip,
}

/// The role of a hook given [`RUN_ENV`]'s value and its own `--run=` token.
pub fn role<'a>(env_token: Option<&str>, arg_token: Option<&'a str>) -> Role<'a> {
    match (env_token.filter(|t| !t.is_empty()), arg_token) {
        (None, _) => Role::Plain,
        (Some(env), Some(arg)) if env == arg => Role::Run(arg),
        (Some(_), _) => Role::Skip,
    }
}

/// Whether `token` can name an invocation: 1 to 64 ASCII letters, digits or `-`.
pub fn is_token(token: &str) -> bool {
    (1..=MAX_TOKEN_LEN).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `runs/<token>`: the sessions the invocation's hooks recorded.
fn sessions_file(state: &StateDir, token: &str) -> PathBuf {
    state
        .root()
        .join("runs")
        .join(StateDir::session_file_stem(token))
}

/// Appends `session_id` to the invocation's sessions file.
pub fn note_session(state: &StateDir, token: &str, session_id: &str) -> io::Result<()> {
    let path = sessions_file(state, token);
    if let Some(dir) = path.parent() {
        StateDir::ensure_private_dir(dir)?;
    }
    let mut file = StateDir::open_private_append(&path)?;
    file.write_all(format!("{session_id}\n").as_bytes())
}

/// The distinct sessions the invocation's hooks noted, first seen first (none when no hook
/// ran). The file is removed once read.
pub fn sessions(state: &StateDir, token: &str) -> io::Result<Vec<String>> {
    let path = sessions_file(state, token);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    std::fs::remove_file(&path)?;
    let mut ids: Vec<String> = Vec::new();
    for id in text.lines().filter(|id| !id.is_empty()) {
        if !ids.iter().any(|seen| seen == id) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hook_carrying_the_runs_token_records_under_run() {
        assert_eq!(role(None, None), Role::Plain);
        assert_eq!(role(Some(""), None), Role::Plain);
        assert_eq!(role(None, Some("t1")), Role::Plain);
        assert_eq!(role(Some("t1"), Some("t1")), Role::Run("t1"));
        assert_eq!(role(Some("t1"), None), Role::Skip);
        assert_eq!(role(Some("t1"), Some("t2")), Role::Skip);
    }

    #[test]
    fn tokens_are_short_and_file_name_safe() {
        assert!(is_token("1a2b-c3"));
        for bad in ["", "../x", "a b", "a/b", &"x".repeat(65)] {
            assert!(!is_token(bad), "{bad}");
        }
    }

    #[test]
    fn noted_sessions_come_back_once_each_in_order_and_the_file_goes() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert!(sessions(&state, "t").unwrap().is_empty());
        for id in ["s2", "s1", "s2"] {
            note_session(&state, "t", id).unwrap();
        }
        assert_eq!(sessions(&state, "t").unwrap(), ["s2", "s1"]);
        assert!(sessions(&state, "t").unwrap().is_empty());
    }
}
