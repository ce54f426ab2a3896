//! What a session is traced with: the environment of its hook, with its `config.json` filling
//! in what that does not set ([`config::config_json`]), and, from its first start on, the
//! durable route record ([`crate::journal::route`]) so a resumed session keeps its
//! destinations. Only the daemon's own destinations ([`SessionContext::daemon_settings`]) read
//! the daemon's environment: a session never borrows it, nor another session's route, except
//! for one fact: a nested session's parent's route record tells the trace that parent went to
//! ([`super::lineage`]).
//!
//! Configuration problems are logged; a broken destination setup falls back to the local store.
//! A session that cannot be routed ([`Unroutable`]) is not started: its events wait in the
//! journal.

use super::{lineage, SessionContext};
use crate::config::{self, config_json};
use crate::export::DestinationConfig;
use crate::journal::route::RouteRecord;
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

/// Why a session cannot be routed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unroutable {
    /// Nothing is known of its route: no hook of it reached this daemon and none was recorded.
    NoRoute,
    /// The secrets (variable names) it was first traced with that neither its latest hook's
    /// environment nor `config.json` provides.
    MissingSecrets(Vec<String>),
}

/// The variable lookup of a hook's route; nothing at all without one.
fn env_of(route: Option<&Route>) -> impl Fn(&str) -> Option<String> + '_ {
    move |name: &str| route.and_then(|route| route.get(name)).map(str::to_owned)
}

impl SessionContext {
    /// The settings of the daemon's own environment: its default destinations, which deliver
    /// what their spools hold even when no session needs them. Never a session's route.
    pub(crate) fn daemon_settings(&self) -> RouteSettings {
        let env = |name: &str| std::env::var(name).ok();
        let json = self.config_json(env);
        self.settings(config_json::layered(env, &json))
    }

    /// The settings of `session_id` woken by `supplied` (its hook's route, `None` when no hook
    /// supplied one): its route record's, with secrets from `supplied` or `config.json`; a
    /// session without a record gets `supplied`'s, which are recorded. A nested session's
    /// parent call goes to the trace its parent's records tell ([`super::lineage`]).
    pub(crate) fn session_settings(
        &self,
        session_id: &str,
        supplied: Option<&Route>,
    ) -> Result<RouteSettings, Unroutable> {
        let mut settings = self.routed_settings(session_id, supplied)?;
        let lineage = &mut settings.session.lineage;
        lineage::resolve_parent_trace(session_id, lineage, |id| self.route_record(id));
        Ok(settings)
    }

    /// The route record of `session_id`, if one is stored and readable (else logged).
    fn route_record(&self, session_id: &str) -> Option<RouteRecord> {
        RouteRecord::load(&self.state, session_id).unwrap_or_else(|error| {
            self.log.error(&error);
            None
        })
    }

    /// The settings of `session_id` from its route record or `supplied` (see
    /// [`Self::session_settings`]).
    fn routed_settings(
        &self,
        session_id: &str,
        supplied: Option<&Route>,
    ) -> Result<RouteSettings, Unroutable> {
        let env = env_of(supplied);
        let Some(record) = self.route_record(session_id) else {
            let route = supplied.ok_or(Unroutable::NoRoute)?;
            let json = self.config_json(&env);
            if let Err(error) = RouteRecord::first(route, &json).store(&self.state, session_id) {
                self.log.error(&error);
            }
            return Ok(self.settings(config_json::layered(&env, &json)));
        };
        // `config.json` where the session first found it.
        let json = self.config_json(|name: &str| record.get(name, &env));
        let current = config_json::layered(&env, &json);
        let missing = record.missing(&current);
        if !missing.is_empty() {
            return Err(Unroutable::MissingSecrets(missing));
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
