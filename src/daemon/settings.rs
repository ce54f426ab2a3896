//! What a session is traced with: the environment of its hook (the daemon's own for an empty
//! route, e.g. a session woken at start-up), with its `config.json` filling in what that does
//! not set ([`config::config_json`]), and, from its first start on, the durable route record
//! ([`route_record`](super::route_record)) so a resumed session keeps its destinations.
//!
//! Configuration problems are logged; a broken destination setup falls back to the local store.
//! A resumed session whose secrets neither its current environment nor `config.json` provide
//! is not started ([`MissingSecrets`]): its events wait in the journal.

use super::route_record::RouteRecord;
use super::SessionContext;
use crate::config::{self, config_json};
use crate::export::DestinationConfig;
use crate::session::SessionConfig;
use crate::wire::Route;
use std::path::PathBuf;

/// What one route configures for a session.
#[derive(Debug)]
pub(crate) struct RouteSettings {
    pub(crate) session: SessionConfig,
    pub(crate) destinations: Vec<DestinationConfig>,
    /// Where every hook event of the session is recorded ([`crate::record`]).
    pub(crate) record_file: Option<PathBuf>,
}

/// The secrets (variable names) a resumed session was first traced with and cannot get now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MissingSecrets(pub(crate) Vec<String>);

/// The variable lookup of a hook's route: the daemon's environment when the route is empty.
fn env_of(route: &Route) -> impl Fn(&str) -> Option<String> + '_ {
    move |name: &str| match route.is_empty() {
        true => std::env::var(name).ok(),
        false => route.get(name).map(str::to_owned),
    }
}

impl SessionContext {
    /// The settings of a hook's route alone (no session record).
    pub(crate) fn route_settings(&self, route: &Route) -> RouteSettings {
        let env = env_of(route);
        let json = self.config_json(&env);
        self.settings(config_json::layered(env, &json))
    }

    /// The settings of `session_id` woken by `route`: its route record's, with secrets from
    /// `route` or `config.json`; a session without a record gets `route`'s, which are recorded.
    pub(crate) fn session_settings(
        &self,
        session_id: &str,
        route: &Route,
    ) -> Result<RouteSettings, MissingSecrets> {
        let env = env_of(route);
        let record = RouteRecord::load(&self.state, session_id).unwrap_or_else(|error| {
            self.log.error(&error);
            None
        });
        let Some(record) = record else {
            let json = self.config_json(&env);
            let lookup = config_json::layered(&env, &json);
            let carried = match route.is_empty() {
                true => Route::from_env(),
                false => route.clone(),
            };
            let names = carried
                .iter()
                .map(|(name, _)| name)
                .chain(json.iter().map(|(n, _)| n));
            if let Err(error) = RouteRecord::capture(names, &lookup).store(&self.state, session_id)
            {
                self.log.error(&error);
            }
            return Ok(self.settings(lookup));
        };
        // `config.json` where the session first found it.
        let json = self.config_json(|name: &str| record.get(name, &env));
        let current = config_json::layered(&env, &json);
        let missing = record.missing(&current);
        if !missing.is_empty() {
            return Err(MissingSecrets(missing));
        }
        Ok(self.settings(|name: &str| record.get(name, &current)))
    }

    /// The `config.json` the variables point to (empty, and logged, when unusable).
    fn config_json(&self, vars: impl Fn(&str) -> Option<String>) -> config_json::ConfigJson {
        let (json, problem) = config_json::load_from(vars);
        if let Some(problem) = problem {
            self.log.error(&problem);
        }
        json
    }

    /// The settings `lookup` describes.
    fn settings(&self, lookup: impl Fn(&str) -> Option<String>) -> RouteSettings {
        let (session, problems) = config::session::session_config(&lookup);
        for problem in problems {
            self.log.write(problem);
        }
        let file = lookup(config::env::CODEX_OTEL_CONFIG).map(PathBuf::from);
        let destinations =
            config::destinations_from_env_and_file(&lookup, file.as_deref(), &self.state)
                .unwrap_or_else(|error| {
                    self.log.error(&error);
                    config::destinations_from_env_and_file(|_| None, None, &self.state)
                        .unwrap_or_default()
                });
        let record_file = match record_file(lookup(config_json::RECORD_FILE)) {
            Ok(file) => file,
            Err(RelativeRecordFile) => {
                self.log.write(format_args!(
                    "{} must be an absolute path; not recording",
                    config_json::RECORD_FILE
                ));
                None
            }
        };
        RouteSettings {
            session,
            destinations,
            record_file,
        }
    }
}

/// A record file setting that is not an absolute path.
#[derive(Debug, PartialEq, Eq)]
struct RelativeRecordFile;

/// The record file a setting names: only an absolute path counts (the daemon's working
/// directory is not the user's).
fn record_file(value: Option<String>) -> Result<Option<PathBuf>, RelativeRecordFile> {
    match value.map(PathBuf::from) {
        Some(path) if !path.is_absolute() => Err(RelativeRecordFile),
        path => Ok(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_absolute_record_file_is_used() {
        assert_eq!(record_file(None), Ok(None));
        assert_eq!(
            record_file(Some("/r/events.ndjson".into())),
            Ok(Some(PathBuf::from("/r/events.ndjson")))
        );
        assert_eq!(
            record_file(Some("events.ndjson".into())),
            Err(RelativeRecordFile)
        );
    }
}
