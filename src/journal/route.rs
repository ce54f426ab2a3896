//! The durable route of a session: the settings it was first traced with, without secrets, so a
//! resumed session (a later `codex exec resume`, a restarted daemon) keeps its destinations
//! even when the resuming environment lacks the variables, and a restarted daemon never routes
//! one session with another's environment.
//!
//! - Stored once per session as `routes/<session>.json` (mode 0600, written atomically) under
//!   the state directory: by the daemon when it first follows the session with a hook's route,
//!   or by the hook itself when no daemon heard it ([`RouteRecord::first`]). It holds the
//!   value of every route variable ([`Route::carries`]) the session saw, from its hook's
//!   environment or its `config.json`, except secrets ([`is_secret`], and any value holding a
//!   URL with credentials or a query), plus the names of the secrets that were set. Where the
//!   session attaches is among them (`TRACEPARENT`, a nested session's parent session and tool
//!   call): a resumed session keeps its first parent, and a nested session's daemon reads where
//!   its parent went from the parent's record ([`crate::daemon::lineage`]).
//! - Read back: a route variable comes from the record (set or unset as it was first), any
//!   other from the current lookup; a secret comes from the current environment or
//!   `config.json`. A secret the session had that neither provides now is missing: the session
//!   then waits (its events stay in the journal) until one does.
//! - Secrets never reach the disk: API keys, tokens, passwords, header values, URL credentials
//!   and query values.
//! - Retention removes it with the session's journal ([`forget`]).

use crate::config::config_json::{self, ConfigJson};
use crate::paths::StateDir;
use crate::wire::Route;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;

/// Why a route record could not be read or stored (the session then uses its current route).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RouteRecordError {
    /// The record exists but cannot be read or is not ours.
    #[error("cannot read the route record {path}")]
    Read {
        /// The record.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The record could not be written.
    #[error("cannot store the route record {path}")]
    Write {
        /// The record.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// The non-secret settings a session was first traced with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RouteRecord {
    /// Route variables and their values, secrets left out.
    values: BTreeMap<String, String>,
    /// Names of the secrets that were set (never their values).
    secrets: BTreeSet<String>,
}

/// Whether a variable holds a secret: an API key, token, password or header values.
pub(crate) fn is_secret(name: &str) -> bool {
    ["API_KEY", "TOKEN", "SECRET", "PASSWORD"]
        .iter()
        .any(|word| name.contains(word))
        || name.ends_with("_HEADERS")
}

/// Whether a value holds a URL with credentials (`scheme://user:password@host`) or a query
/// (where API keys are often passed: `?key=…`).
fn has_url_secret(value: &str) -> bool {
    value.split("://").skip(1).any(|rest| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        authority.contains('@') || rest.contains('?')
    })
}

impl RouteRecord {
    /// What `lookup` says about each of `names` (route variables; others are ignored).
    pub(crate) fn capture<'a>(
        names: impl IntoIterator<Item = &'a str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let mut record = RouteRecord::default();
        for name in names.into_iter().filter(|name| Route::carries(name)) {
            match lookup(name) {
                None => {}
                Some(value) if is_secret(name) || has_url_secret(&value) => {
                    record.secrets.insert(name.to_owned());
                }
                Some(value) => {
                    record.values.insert(name.to_owned(), value);
                }
            }
        }
        record
    }

    /// The record of a session first seen with its hook's `route`, `config.json` filling in what
    /// the route does not set.
    pub(crate) fn first(route: &Route, json: &ConfigJson) -> Self {
        let env = |name: &str| route.get(name).map(str::to_owned);
        let names = route
            .iter()
            .map(|(name, _)| name)
            .chain(json.iter().map(|(n, _)| n));
        Self::capture(names, config_json::layered(env, json))
    }

    /// The value of `name` for this session: see the module docs.
    pub(crate) fn get(
        &self,
        name: &str,
        current: impl Fn(&str) -> Option<String>,
    ) -> Option<String> {
        let recorded = Route::carries(name) && !is_secret(name) && !self.secrets.contains(name);
        match recorded {
            true => self.values.get(name).cloned(),
            false => current(name),
        }
    }

    /// The secrets the session had that `current` does not provide.
    pub(crate) fn missing(&self, current: impl Fn(&str) -> Option<String>) -> Vec<String> {
        self.secrets
            .iter()
            .filter(|name| current(name).is_none())
            .cloned()
            .collect()
    }

    /// The record of `session_id`, if one was stored.
    pub(crate) fn load(
        state: &StateDir,
        session_id: &str,
    ) -> Result<Option<Self>, RouteRecordError> {
        let path = path(state, session_id);
        let read_error = |source| RouteRecordError::Read {
            path: path.clone(),
            source,
        };
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|error| read_error(io::Error::new(io::ErrorKind::InvalidData, error))),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(read_error(error)),
        }
    }

    /// Stores the record of `session_id`.
    pub(crate) fn store(&self, state: &StateDir, session_id: &str) -> Result<(), RouteRecordError> {
        let path = path(state, session_id);
        let write = || {
            if let Some(dir) = path.parent() {
                StateDir::ensure_private_dir(dir)?;
            }
            let bytes = serde_json::to_vec(self).map_err(io::Error::other)?;
            StateDir::write_durably(&path, &bytes)
        };
        write().map_err(|source| RouteRecordError::Write {
            path: path.clone(),
            source,
        })
    }
}

/// Removes the record of `session_id` (with its journal, by retention).
pub(crate) fn forget(state: &StateDir, session_id: &str) -> io::Result<()> {
    match std::fs::remove_file(path(state, session_id)) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// `routes/<session>.json` under the state directory.
fn path(state: &StateDir, session_id: &str) -> PathBuf {
    state
        .root()
        .join("routes")
        .join(format!("{}.json", StateDir::session_file_stem(session_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const FIRST: &[(&str, &str)] = &[
        ("TRACE_TO_BRAINTRUST", "true"),
        ("BRAINTRUST_PROJECT", "p"),
        ("BRAINTRUST_API_KEY", "sk-first"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=secret"),
        ("HOME", "/home/u"),
    ];

    fn first() -> RouteRecord {
        RouteRecord::capture(FIRST.iter().map(|(k, _)| *k), lookup(FIRST))
    }

    #[test]
    fn secrets_are_recorded_by_name_only_and_other_variables_are_not_recorded() {
        let record = first();
        let text = serde_json::to_string(&record).expect("json");
        assert!(
            !text.contains("sk-first") && !text.contains("secret\""),
            "{text}"
        );
        assert!(
            text.contains("BRAINTRUST_API_KEY") && text.contains("\"p\""),
            "{text}"
        );
        assert!(!text.contains("HOME"), "{text}");
    }

    #[test]
    fn a_resumed_session_keeps_its_route_and_takes_secrets_from_now() {
        let record = first();
        let now = lookup(&[
            ("BRAINTRUST_API_KEY", "sk-now"),
            ("BRAINTRUST_PROJECT", "other"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://new"),
            ("HOME", "/home/v"),
        ]);
        assert_eq!(
            record.get("TRACE_TO_BRAINTRUST", &now).as_deref(),
            Some("true")
        );
        assert_eq!(record.get("BRAINTRUST_PROJECT", &now).as_deref(), Some("p"));
        assert_eq!(record.get("OTEL_EXPORTER_OTLP_ENDPOINT", &now), None);
        assert_eq!(
            record.get("BRAINTRUST_API_KEY", &now).as_deref(),
            Some("sk-now")
        );
        assert_eq!(record.get("HOME", &now).as_deref(), Some("/home/v"));
        assert_eq!(record.missing(&now), ["OTEL_EXPORTER_OTLP_HEADERS"]);
    }

    #[test]
    fn a_url_with_credentials_is_recorded_by_name_and_taken_from_now() {
        let names = ["OTEL_EXPORTER_OTLP_ENDPOINT", "BRAINTRUST_API_URL"];
        let first = lookup(&[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://user:pw@collector:4318/x",
            ),
            ("BRAINTRUST_API_URL", "https://bt.example/a@b"),
        ]);
        let record = RouteRecord::capture(names, first);
        let text = serde_json::to_string(&record).expect("json");
        assert!(
            !text.contains("pw@") && text.contains("bt.example"),
            "{text}"
        );
        let now = lookup(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:pw2@collector")]);
        assert_eq!(
            record.get("OTEL_EXPORTER_OTLP_ENDPOINT", &now).as_deref(),
            Some("https://user:pw2@collector")
        );
        assert!(record.missing(&now).is_empty());
    }

    #[test]
    fn secrets_are_keys_tokens_passwords_and_headers() {
        for name in [
            "BRAINTRUST_API_KEY",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "X_TOKEN",
        ] {
            assert!(is_secret(name), "{name}");
        }
        for name in [
            "BRAINTRUST_PROJECT",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            "PLUGIN_DATA",
        ] {
            assert!(!is_secret(name), "{name}");
        }
    }

    #[test]
    fn a_record_survives_a_restart_and_a_damaged_one_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(dir.path());
        assert!(RouteRecord::load(&state, "s").expect("none").is_none());
        first().store(&state, "s").expect("store");
        assert_eq!(RouteRecord::load(&state, "s").expect("load"), Some(first()));
        std::fs::write(path(&state, "s"), "{").expect("damage");
        assert!(RouteRecord::load(&state, "s").is_err());
        forget(&state, "s").expect("forget");
        assert!(RouteRecord::load(&state, "s").expect("gone").is_none());
    }
}
