//! The Braintrust destination: the seed plugin's variables (`TRACE_TO_BRAINTRUST`,
//! `BRAINTRUST_*`), merged with a file table named `braintrust`, and any other
//! `kind = "braintrust"` table.
//!
//! Per setting, for the table named `braintrust` (or the environment alone): environment >
//! file > default. Within one source a project id wins over a project name. Other tables use
//! their own settings and fall back to `BRAINTRUST_API_KEY` only for the key. TLS files come
//! from the table only, the proxy as for every HTTP destination (see [`super::connection`]).

use super::connection::{connection, Sources};
use super::env;
use super::file::FileDestination;
use super::values;
use super::{ConfigError, Vars};
use crate::export::braintrust::{DEFAULT_API_URL, DEFAULT_PROJECT};
use crate::export::{BraintrustConfig, BraintrustProject, Protocol};

/// Whether `TRACE_TO_BRAINTRUST` asks for the Braintrust destination.
pub(super) fn enabled(vars: Vars<'_>) -> Result<bool, ConfigError> {
    vars(env::TRACE_TO_BRAINTRUST)
        .map(|value| {
            values::boolean(&value).map_err(|source| ConfigError::Invalid {
                setting: env::TRACE_TO_BRAINTRUST.to_owned(),
                source,
            })
        })
        .transpose()
        .map(|enabled| enabled.unwrap_or(false))
}

/// The destination `name` from `table` (its paths relative to `base_dir`) and, when
/// `merge_env`, the `BRAINTRUST_*` variables.
pub(super) fn braintrust(
    vars: Vars<'_>,
    merge_env: bool,
    table: Option<&FileDestination>,
    base_dir: &std::path::Path,
    name: &str,
) -> Result<BraintrustConfig, ConfigError> {
    let env = |key: &str| if merge_env { vars(key) } else { None };
    let from_table = |get: fn(&FileDestination) -> Option<&String>| table.and_then(get).cloned();
    let api_key = env(env::BRAINTRUST_API_KEY)
        .or_else(|| from_table(|t| t.api_key.as_ref()))
        .or_else(|| vars(env::BRAINTRUST_API_KEY))
        .ok_or_else(|| ConfigError::BraintrustApiKeyMissing {
            destination: name.to_owned(),
        })?;
    let project = env(env::BRAINTRUST_PROJECT_ID)
        .map(BraintrustProject::Id)
        .or_else(|| env(env::BRAINTRUST_PROJECT).map(BraintrustProject::Name))
        .or_else(|| from_table(|t| t.project_id.as_ref()).map(BraintrustProject::Id))
        .or_else(|| from_table(|t| t.project.as_ref()).map(BraintrustProject::Name))
        .unwrap_or_else(|| BraintrustProject::Name(DEFAULT_PROJECT.to_owned()));
    let (setting, url) = match env(env::BRAINTRUST_API_URL) {
        Some(url) => (env::BRAINTRUST_API_URL.to_owned(), url),
        None => (
            format!("destinations.{name}.api_url"),
            from_table(|t| t.api_url.as_ref()).unwrap_or_else(|| DEFAULT_API_URL.to_owned()),
        ),
    };
    let api_url = values::url(&url).map_err(|source| ConfigError::Invalid { setting, source })?;
    let sources = Sources {
        vars,
        otel_env: None,
        table,
        base_dir,
    };
    let connection = connection(&sources, &api_url, Protocol::HttpProtobuf, name)?;
    Ok(BraintrustConfig {
        api_key,
        project,
        api_url,
        connection,
    })
}
