//! GenAI metrics of an OTLP destination ([`MetricsConfig`]): off unless asked for.
//!
//! - On or off: the table's `metrics` key, else `CODEX_OTEL_METRICS` (every OTLP destination),
//!   else off. Braintrust and the local store never take metrics, and neither does an OTLP
//!   destination whose endpoint is on `braintrust.dev`.
//! - Endpoint, for the generic destination: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` as-is >
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/metrics` over HTTP) > the table's
//!   `metrics_endpoint`; for other tables only that key; then, for every destination, the
//!   traces endpoint itself over gRPC or with its `/v1/traces` replaced by `/v1/metrics` over
//!   HTTP. A custom HTTP traces path without a metrics endpoint leaves metrics off (`codex-otel
//!   doctor` says so).
//! - Temporality: `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (generic destination) >
//!   the table's `metrics_temporality` > cumulative.
//!
//! The metrics requests use the destination's headers, TLS, proxy and timeout.

use super::connection::Sources;
use super::env;
use super::setting::{parse, resolve};
use super::values;
use super::ConfigError;
use crate::export::{MetricsConfig, Protocol, Temporality};

/// The host suffix of Braintrust's API, which ingests traces only.
const BRAINTRUST_HOST: &str = "braintrust.dev";

/// The metrics settings of destination `name`, whose spans go to `traces_endpoint`.
pub(super) fn metrics(
    sources: &Sources<'_>,
    traces_endpoint: &str,
    protocol: Protocol,
    name: &str,
) -> Result<Option<MetricsConfig>, ConfigError> {
    let enabled = match sources.table.and_then(|t| t.metrics) {
        Some(enabled) => enabled,
        None => (sources.vars)(env::CODEX_OTEL_METRICS)
            .map(|value| parse(env::CODEX_OTEL_METRICS, &value, values::boolean))
            .transpose()?
            .unwrap_or(false),
    };
    if !enabled {
        return Ok(None);
    }
    let Some(endpoint) = endpoint(sources, traces_endpoint, protocol, name)? else {
        return Ok(None);
    };
    if host(&endpoint).is_some_and(|host| host.ends_with(BRAINTRUST_HOST)) {
        return Ok(None);
    }
    let temporality = resolve(
        sources.otel_env.and_then(|vars| {
            let key = env::OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE;
            vars(key).map(|value| (key, value))
        }),
        sources
            .table
            .and_then(|t| t.metrics_temporality.as_deref())
            .map(|value| (format!("destinations.{name}.metrics_temporality"), value)),
        values::temporality,
    )?
    .unwrap_or(Temporality::Cumulative);
    Ok(Some(MetricsConfig {
        endpoint,
        temporality,
    }))
}

/// The metrics URL by the rules of the module docs; `None` when none can be derived.
fn endpoint(
    sources: &Sources<'_>,
    traces_endpoint: &str,
    protocol: Protocol,
    name: &str,
) -> Result<Option<String>, ConfigError> {
    if let Some(vars) = sources.otel_env {
        if let Some(url) = vars(env::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) {
            return parse(env::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, &url, values::url).map(Some);
        }
        if let Some(url) = vars(env::OTEL_EXPORTER_OTLP_ENDPOINT) {
            let base = parse(env::OTEL_EXPORTER_OTLP_ENDPOINT, &url, values::url)?;
            return Ok(Some(match protocol {
                Protocol::Grpc => base,
                Protocol::HttpProtobuf | Protocol::HttpJson => values::signal_url(&base, "metrics"),
            }));
        }
    }
    if let Some(url) = sources.table.and_then(|t| t.metrics_endpoint.as_deref()) {
        let setting = format!("destinations.{name}.metrics_endpoint");
        return parse(&setting, url, values::url).map(Some);
    }
    Ok(match protocol {
        Protocol::Grpc => Some(traces_endpoint.to_owned()),
        Protocol::HttpProtobuf | Protocol::HttpJson => traces_endpoint
            .trim_end_matches('/')
            .strip_suffix("/v1/traces")
            .map(|base| values::signal_url(base, "metrics")),
    })
}

/// The host of `url`, lowercased.
fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = host_port.split(':').next()?;
    Some(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::FileDestination;
    use crate::config::Vars;
    use std::path::Path;

    fn sources<'a>(vars: Vars<'a>, otel: bool, table: Option<&'a FileDestination>) -> Sources<'a> {
        Sources {
            vars,
            otel_env: otel.then_some(vars),
            table,
            base_dir: Path::new(""),
        }
    }

    fn on(key: &str) -> Option<String> {
        (key == env::CODEX_OTEL_METRICS).then(|| "true".to_owned())
    }

    #[test]
    fn metrics_are_off_by_default_and_a_table_overrides_the_variable() {
        let none = |_: &str| None;
        let http = Protocol::HttpProtobuf;
        let traces = "http://c:4318/v1/traces";
        assert_eq!(
            metrics(&sources(&none, false, None), traces, http, "d").expect("ok"),
            None
        );
        let enabled = metrics(&sources(&on, false, None), traces, http, "d").expect("ok");
        assert_eq!(
            enabled,
            Some(MetricsConfig {
                endpoint: "http://c:4318/v1/metrics".into(),
                temporality: Temporality::Cumulative,
            })
        );
        let off = FileDestination {
            metrics: Some(false),
            ..FileDestination::default()
        };
        assert_eq!(
            metrics(&sources(&on, false, Some(&off)), traces, http, "d").expect("ok"),
            None
        );
    }

    #[test]
    fn the_generic_destination_reads_the_metrics_variables() {
        let vars = |key: &str| match key {
            env::CODEX_OTEL_METRICS => Some("1".to_owned()),
            env::OTEL_EXPORTER_OTLP_ENDPOINT => Some("http://g:4318/base".to_owned()),
            env::OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE => Some("delta".to_owned()),
            _ => None,
        };
        let config = metrics(
            &sources(&vars, true, None),
            "http://t/custom",
            Protocol::HttpJson,
            "otlp",
        )
        .expect("ok")
        .expect("on");
        assert_eq!(config.endpoint, "http://g:4318/base/v1/metrics");
        assert_eq!(config.temporality, Temporality::Delta);
        let grpc = metrics(
            &sources(&vars, true, None),
            "http://g:4317",
            Protocol::Grpc,
            "otlp",
        )
        .expect("ok")
        .expect("on");
        assert_eq!(grpc.endpoint, "http://g:4318/base");
    }

    #[test]
    fn a_custom_traces_path_or_braintrust_gets_no_metrics() {
        let http = Protocol::HttpProtobuf;
        let custom = metrics(&sources(&on, false, None), "http://c/ingest", http, "d").expect("ok");
        assert_eq!(custom, None);
        let braintrust = "https://api.braintrust.dev/otel/v1/traces";
        assert_eq!(
            metrics(&sources(&on, false, None), braintrust, http, "d").expect("ok"),
            None
        );
        let table = FileDestination {
            metrics_endpoint: Some("http://c/metrics-in".into()),
            metrics_temporality: Some("lowmemory".into()),
            ..FileDestination::default()
        };
        let config = metrics(
            &sources(&on, false, Some(&table)),
            "http://c/ingest",
            http,
            "d",
        )
        .expect("ok")
        .expect("on");
        assert_eq!(config.endpoint, "http://c/metrics-in");
        assert_eq!(config.temporality, Temporality::Delta);
    }

    #[test]
    fn hosts_are_read_past_credentials_and_ports() {
        assert_eq!(
            host("https://u:p@API.Braintrust.dev:443/x").as_deref(),
            Some("api.braintrust.dev")
        );
        assert_eq!(host("no-scheme"), None);
    }
}
