//! The durable, non-secret part of each session's route: which environment a session was
//! traced with, so a restarted daemon routes it with its own settings, never another's.
//!
//! Contract:
//! - A hook's [`Route`] is stored per session as `routes/<session>.json` (0600, written
//!   temp-then-rename) with every secret value left out: [`RouteDescriptor::secret_names`]
//!   lists the variables whose values stayed in memory only.
//! - After a restart, a session whose descriptor names no secret is routed with the stored
//!   route ([`RouteDescriptor::complete_route`]). One that needs secrets, or has no
//!   descriptor, waits ([`Resolved::Waiting`]) until a hook of that same session supplies its
//!   route again; its journal keeps its events meanwhile.
//! - A variable is secret when its name says so (`KEY`, `TOKEN`, `SECRET`, `PASSWORD`,
//!   `HEADERS`, `AUTH`) or when it is a URL carrying credentials or a query.

use crate::paths::StateDir;
use crate::wire::Route;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What is stored of one session's route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteDescriptor {
    /// The route's variables whose values are not secret.
    pub public: BTreeMap<String, String>,
    /// The route's variables whose values were left out.
    pub secret_names: Vec<String>,
}

/// Where a session's route comes from when no hook supplied it to this daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The stored route is complete: route with it.
    Stored(Route),
    /// The route needs credentials only a hook of the session can supply (or nothing is known).
    Waiting,
}

impl RouteDescriptor {
    /// The storable part of `route`.
    pub fn of(route: &Route) -> Self {
        let mut descriptor = RouteDescriptor::default();
        for (name, value) in route.iter() {
            match is_secret(name, value) {
                true => descriptor.secret_names.push(name.to_owned()),
                false => {
                    descriptor.public.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        descriptor
    }

    /// The route itself when nothing secret was left out.
    pub fn complete_route(&self) -> Option<Route> {
        let pairs = self.public.iter().map(|(k, v)| (k.into(), v.into()));
        self.secret_names
            .is_empty()
            .then(|| Route::from_vars(pairs))
    }
}

/// `routes/<session>.json`.
pub fn route_file(state: &StateDir, session_id: &str) -> PathBuf {
    state
        .root()
        .join("routes")
        .join(format!("{}.json", StateDir::session_file_stem(session_id)))
}

/// Stores the non-secret part of `route` for `session_id`.
pub fn store(state: &StateDir, session_id: &str, route: &Route) -> std::io::Result<()> {
    let path = route_file(state, session_id);
    if let Some(dir) = path.parent() {
        StateDir::ensure_private_dir(dir)?;
    }
    let bytes = serde_json::to_vec(&RouteDescriptor::of(route)).map_err(std::io::Error::other)?;
    StateDir::write_durably(&path, &bytes)
}

/// The route a restarted daemon may use for `session_id`.
pub fn resolve(state: &StateDir, session_id: &str) -> Resolved {
    let stored = std::fs::read(route_file(state, session_id))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<RouteDescriptor>(&bytes).ok());
    match stored.and_then(|d| d.complete_route()) {
        Some(route) => Resolved::Stored(route),
        None => Resolved::Waiting,
    }
}

fn is_secret(name: &str, value: &str) -> bool {
    let secret_name = ["KEY", "TOKEN", "SECRET", "PASSWORD", "HEADERS", "AUTH"]
        .iter()
        .any(|word| name.contains(word));
    let url_with_credentials = value.contains("://")
        && (value.contains('?')
            || value.split("://").nth(1).is_some_and(|r| {
                r.split(['/', '?', '#'])
                    .next()
                    .is_some_and(|a| a.contains('@'))
            }));
    secret_name || url_with_credentials
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(pairs: &[(&str, &str)]) -> Route {
        Route::from_vars(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())))
    }

    #[test]
    fn secrets_never_reach_the_disk_and_make_a_restarted_session_wait() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let with_key = route(&[
            ("TRACE_TO_BRAINTRUST", "true"),
            ("BRAINTRUST_API_KEY", "sk-secret"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://u:pw@h:4318"),
        ]);
        store(&state, "a", &with_key).unwrap();
        let text = std::fs::read_to_string(route_file(&state, "a")).unwrap();
        assert!(
            !text.contains("sk-secret") && !text.contains("pw@"),
            "{text}"
        );
        assert_eq!(resolve(&state, "a"), Resolved::Waiting);
    }

    #[test]
    fn a_route_without_secrets_is_restored_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let plain = route(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
            ("OTEL_SERVICE_NAME", "b"),
        ]);
        store(&state, "b", &plain).unwrap();
        assert_eq!(resolve(&state, "b"), Resolved::Stored(plain));
        assert_eq!(resolve(&state, "never-seen"), Resolved::Waiting);
    }
}
