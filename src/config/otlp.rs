//! OTLP destinations: the generic one (`OTEL_EXPORTER_OTLP_*`, merged with a file table named
//! `otlp`) and any other `kind = "otlp"` table of the config file.
//!
//! Per setting, for the generic destination: `OTEL_EXPORTER_OTLP_TRACES_*` >
//! `OTEL_EXPORTER_OTLP_*` > the file table > default. Headers merge per name, environment
//! over file; the traces-only header variable replaces the generic one as a whole. Other
//! tables read no environment variable.

use super::connection::{connection, Sources};
use super::env;
use super::file::FileDestination;
use super::metrics::metrics;
use super::setting::{parse, resolve};
use super::values;
use super::{ConfigError, Vars};
use crate::export::otlp::{DEFAULT_MAX_REQUEST_BYTES, DEFAULT_TIMEOUT};
use crate::export::{Compression, Headers, OtlpConfig, Protocol};

/// An environment setting: the traces-only variable, then the generic one.
pub(super) fn env_pick(
    vars: Option<Vars<'_>>,
    traces: &'static str,
    generic: &'static str,
) -> Option<(&'static str, String)> {
    let vars = vars?;
    vars(traces)
        .map(|v| (traces, v))
        .or_else(|| vars(generic).map(|v| (generic, v)))
}

/// The destination for `sources.table` (or none), reading the `OTEL_*` variables when
/// `sources.otel_env` is given. `None` when neither the environment nor the table names an
/// endpoint and there is no table.
pub(super) fn otlp(sources: &Sources<'_>, name: &str) -> Result<Option<OtlpConfig>, ConfigError> {
    let (vars, table) = (sources.otel_env, sources.table);
    let field = |field: &str| format!("destinations.{name}.{field}");
    let protocol = resolve(
        env_pick(
            vars,
            env::OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
            env::OTEL_EXPORTER_OTLP_PROTOCOL,
        ),
        table
            .and_then(|t| t.protocol.as_deref())
            .map(|p| (field("protocol"), p)),
        values::protocol,
    )?
    .unwrap_or(Protocol::HttpProtobuf);
    let Some(endpoint) = endpoint(vars, table, protocol, &field("endpoint"))? else {
        return match table {
            Some(_) => Err(ConfigError::MissingEndpoint {
                destination: name.to_owned(),
            }),
            None => Ok(None),
        };
    };
    let mut config = OtlpConfig::new(endpoint, protocol);
    config.headers = headers(vars, table, &field("headers"))?;
    config.compression = resolve(
        env_pick(
            vars,
            env::OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
            env::OTEL_EXPORTER_OTLP_COMPRESSION,
        ),
        table
            .and_then(|t| t.compression.as_deref())
            .map(|c| (field("compression"), c)),
        values::compression,
    )?
    .unwrap_or(Compression::None);
    config.timeout = match env_pick(
        vars,
        env::OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
        env::OTEL_EXPORTER_OTLP_TIMEOUT,
    ) {
        Some((setting, value)) => parse(setting, &value, values::millis)?,
        None => table
            .and_then(|t| t.timeout_ms)
            .map_or(DEFAULT_TIMEOUT, std::time::Duration::from_millis),
    };
    config.max_request_bytes = table
        .and_then(|t| t.max_request_bytes)
        .unwrap_or(DEFAULT_MAX_REQUEST_BYTES);
    config.connection = connection(sources, &config.endpoint, protocol, name)?;
    config.metrics = metrics(sources, &config.endpoint, protocol, name)?;
    Ok(Some(config))
}

/// `…TRACES_ENDPOINT` as-is > `…_ENDPOINT` (+ `/v1/traces` over HTTP) > the table's, as-is.
fn endpoint(
    vars: Option<Vars<'_>>,
    table: Option<&FileDestination>,
    protocol: Protocol,
    file_setting: &str,
) -> Result<Option<String>, ConfigError> {
    if let Some(vars) = vars {
        if let Some(url) = vars(env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
            return parse(env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, &url, values::url).map(Some);
        }
        if let Some(url) = vars(env::OTEL_EXPORTER_OTLP_ENDPOINT) {
            let base = parse(env::OTEL_EXPORTER_OTLP_ENDPOINT, &url, values::url)?;
            return Ok(Some(match protocol {
                Protocol::Grpc => base,
                Protocol::HttpProtobuf | Protocol::HttpJson => values::signal_url(&base, "traces"),
            }));
        }
    }
    table
        .and_then(|t| t.endpoint.as_deref())
        .map(|url| parse(file_setting, url, values::url))
        .transpose()
}

/// The table's headers, then the environment's over them.
fn headers(
    vars: Option<Vars<'_>>,
    table: Option<&FileDestination>,
    file_setting: &str,
) -> Result<Headers, ConfigError> {
    let mut headers = Headers::default();
    for (name, value) in table.iter().flat_map(|t| &t.headers) {
        values::insert_header(&mut headers, name, value).map_err(|source| {
            ConfigError::Invalid {
                setting: file_setting.to_owned(),
                source,
            }
        })?;
    }
    if let Some((setting, text)) = env_pick(
        vars,
        env::OTEL_EXPORTER_OTLP_TRACES_HEADERS,
        env::OTEL_EXPORTER_OTLP_HEADERS,
    ) {
        for (name, value) in parse(setting, &text, values::headers)?.iter() {
            headers.insert(name, value);
        }
    }
    Ok(headers)
}
