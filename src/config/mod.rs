//! Configuration: the only place that reads the environment and the config file. This module
//! decides where spans go and with which OTLP resource; [`session`] holds per-session settings.
//!
//! # Destinations
//!
//! - `otlp`: exists when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
//!   `OTEL_EXPORTER_OTLP_ENDPOINT`, or a file table named `otlp`). [`env`](mod@env) documents
//!   each variable.
//! - `braintrust`: exists when `TRACE_TO_BRAINTRUST=true` or the file has a table named
//!   `braintrust`; an API key is then required.
//! - every `[[destinations]]` table of the file, by its name.
//! - `local`: the local store under the state directory. On when nothing else is configured;
//!   `CODEX_OTEL_LOCAL_STORE=true` keeps it on next to remote destinations, `false` turns it
//!   off. A file table with `kind = "file"` (default name `local`) also turns it on.
//!
//! # Precedence
//!
//! Per setting: `OTEL_EXPORTER_OTLP_TRACES_*` > `OTEL_EXPORTER_OTLP_*` > config file > default;
//! the environment always beats the file. trace-codex's `config.json` ([`config_json`]) stands
//! in for the variables it names, so it sits between the two: environment > `config.json` >
//! TOML config file > default. Environment variables apply only to the destination
//! they are about (`OTEL_EXPORTER_OTLP_*` to `otlp`, `BRAINTRUST_*` to `braintrust`), and a file
//! table with that name is merged with them; other tables read no variable (except
//! `BRAINTRUST_API_KEY` as a fallback key), so one destination's settings never reach another.
//! The exception is the proxy variables (`HTTPS_PROXY`, `NO_PROXY`, …), which describe the
//! machine's network and apply to every HTTP destination unless its table sets `proxy`
//! ([`connection`](mod@connection) has the TLS and proxy rules). Empty variables count as unset.
//!
//! # Secrets
//!
//! API keys and header values stay in memory: every `Debug` output redacts them, and errors
//! name the setting, never its value.

pub mod config_json;
pub mod env;
pub mod file;
pub mod session;
pub mod values;

mod braintrust;
mod connection;
mod metrics;
mod otlp;
mod resource;
mod setting;

use crate::export::{DestinationConfig, DestinationKind, StoreConfig};
use crate::paths::StateDir;
use file::{FileConfig, FileKind, FileSyntaxError};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use values::ValueError;

/// A variable lookup that treats empty values as unset.
type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The name of the generic OTLP destination.
pub const OTLP_DESTINATION: &str = "otlp";
/// The name of the Braintrust destination configured from the environment.
pub const BRAINTRUST_DESTINATION: &str = "braintrust";
/// The name of the local store.
pub const LOCAL_DESTINATION: &str = "local";

/// Why the destinations cannot be configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read the config file {path}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML for our schema.
    #[error("invalid config file {path}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// Where and what.
        #[source]
        source: FileSyntaxError,
    },
    /// A setting has an unusable value.
    #[error("invalid {setting}")]
    Invalid {
        /// The variable or `destinations.<name>.<field>`.
        setting: String,
        /// What is wrong with it.
        #[source]
        source: ValueError,
    },
    /// A file table of kind `otlp` has no endpoint.
    #[error("destination {destination:?} has no endpoint")]
    MissingEndpoint {
        /// The destination.
        destination: String,
    },
    /// Braintrust is enabled but no API key is configured.
    #[error(
        "destination {destination:?}: Braintrust needs an API key \
         (set BRAINTRUST_API_KEY or api_key in the config file)"
    )]
    BraintrustApiKeyMissing {
        /// The destination.
        destination: String,
    },
    /// A client certificate is configured without its key, or a key without its certificate.
    #[error("destination {destination:?}: mutual TLS needs both a client certificate and its key")]
    IncompleteClientCertificate {
        /// The destination.
        destination: String,
    },
    /// A file table sets a key of another kind (e.g. `endpoint` on `kind = "file"`).
    #[error("destination {destination:?}: {field} does not apply to its kind")]
    FieldNotForKind {
        /// The destination.
        destination: String,
        /// The key.
        field: &'static str,
    },
    /// Two destinations have the same name.
    #[error("two destinations are named {name:?}")]
    DuplicateDestination {
        /// The name.
        name: String,
    },
}

/// The destinations configured in the process environment, the `config.json` it points to
/// ([`config_json`], unusable files count as empty) and the file named by `CODEX_OTEL_CONFIG`.
pub fn destinations_from_env(state: &StateDir) -> Result<Vec<DestinationConfig>, ConfigError> {
    let env = |key: &str| std::env::var(key).ok();
    let (json, _) = config_json::load_from(env);
    let vars = config_json::layered(env, &json);
    let file = vars(env::CODEX_OTEL_CONFIG)
        .filter(|path| !path.trim().is_empty())
        .map(PathBuf::from);
    destinations_from_env_and_file(&vars, file.as_deref(), state)
}

/// The destinations configured by the variables `vars` returns and the TOML `file`; the local
/// store lives under `state`. See the module docs for the rules.
pub fn destinations_from_env_and_file(
    vars: impl Fn(&str) -> Option<String>,
    file: Option<&Path>,
    state: &StateDir,
) -> Result<Vec<DestinationConfig>, ConfigError> {
    let non_empty = |key: &str| vars(key).filter(|value| !value.trim().is_empty());
    let vars: Vars<'_> = &non_empty;
    let file = file.map(file::load).transpose()?.unwrap_or_default();
    let resource = resource::resource(vars, &file.resource)?;
    let kinds = destination_kinds(vars, &file, state)?;
    let mut names = HashSet::new();
    kinds
        .into_iter()
        .map(|(name, kind)| {
            if !names.insert(name.clone()) {
                return Err(ConfigError::DuplicateDestination { name });
            }
            Ok(DestinationConfig {
                name,
                kind,
                resource: resource.clone(),
            })
        })
        .collect()
}

/// Every destination by name: the file's tables (merged with the environment where the name
/// says so), then the environment-only ones, then the local store when it is wanted.
fn destination_kinds(
    vars: Vars<'_>,
    file: &FileConfig,
    state: &StateDir,
) -> Result<Vec<(String, DestinationKind)>, ConfigError> {
    let local_env = vars(env::CODEX_OTEL_LOCAL_STORE)
        .map(|value| {
            values::boolean(&value).map_err(|source| ConfigError::Invalid {
                setting: env::CODEX_OTEL_LOCAL_STORE.to_owned(),
                source,
            })
        })
        .transpose()?;
    let mut kinds = Vec::new();
    for table in &file.destinations {
        table.check_fields()?;
        let name = table.name();
        if table.kind() == FileKind::File && name == LOCAL_DESTINATION && local_env == Some(false) {
            continue;
        }
        kinds.push((name.to_owned(), table_kind(vars, table, file, state)?));
    }
    let has_table = |name: &str, kind: FileKind| {
        file.destinations
            .iter()
            .any(|t| t.name() == name && t.kind() == kind)
    };
    if !has_table(OTLP_DESTINATION, FileKind::Otlp) {
        let sources = connection::Sources {
            vars,
            otel_env: Some(vars),
            table: None,
            base_dir: &file.base_dir,
        };
        if let Some(config) = otlp::otlp(&sources, OTLP_DESTINATION)? {
            kinds.push((OTLP_DESTINATION.to_owned(), DestinationKind::Otlp(config)));
        }
    }
    if braintrust::enabled(vars)? && !has_table(BRAINTRUST_DESTINATION, FileKind::Braintrust) {
        let config =
            braintrust::braintrust(vars, true, None, &file.base_dir, BRAINTRUST_DESTINATION)?;
        kinds.push((
            BRAINTRUST_DESTINATION.to_owned(),
            DestinationKind::Braintrust(config),
        ));
    }
    let has_local = kinds.iter().any(|(name, _)| name == LOCAL_DESTINATION);
    if local_env.unwrap_or(kinds.is_empty()) && !has_local {
        let store = StoreConfig {
            dir: state.store_dir(),
        };
        kinds.push((LOCAL_DESTINATION.to_owned(), DestinationKind::Store(store)));
    }
    Ok(kinds)
}

/// The destination one table of `file` describes.
fn table_kind(
    vars: Vars<'_>,
    table: &file::FileDestination,
    file: &FileConfig,
    state: &StateDir,
) -> Result<DestinationKind, ConfigError> {
    let name = table.name();
    Ok(match table.kind() {
        FileKind::Otlp => {
            let sources = connection::Sources {
                vars,
                otel_env: (name == OTLP_DESTINATION).then_some(vars),
                table: Some(table),
                base_dir: &file.base_dir,
            };
            let config =
                otlp::otlp(&sources, name)?.ok_or_else(|| ConfigError::MissingEndpoint {
                    destination: name.to_owned(),
                })?;
            DestinationKind::Otlp(config)
        }
        FileKind::Braintrust => DestinationKind::Braintrust(braintrust::braintrust(
            vars,
            name == BRAINTRUST_DESTINATION,
            Some(table),
            &file.base_dir,
            name,
        )?),
        FileKind::File => DestinationKind::Store(StoreConfig {
            dir: table.path.clone().unwrap_or_else(|| state.store_dir()),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{BraintrustProject, Compression, OtlpConfig, Protocol};
    use std::time::Duration;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn state() -> StateDir {
        StateDir::new("/state")
    }

    fn with_file(
        pairs: &[(&str, &str)],
        toml: &str,
    ) -> Result<Vec<DestinationConfig>, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("codex-otel.toml");
        std::fs::write(&path, toml).expect("write");
        destinations_from_env_and_file(vars(pairs), Some(&path), &state())
    }

    fn only_env(pairs: &[(&str, &str)]) -> Vec<DestinationConfig> {
        destinations_from_env_and_file(vars(pairs), None, &state()).expect("valid")
    }

    fn otlp_of(configs: &[DestinationConfig], name: &str) -> OtlpConfig {
        match configs.iter().find(|c| c.name == name).map(|c| &c.kind) {
            Some(DestinationKind::Otlp(config)) => config.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    fn names(configs: &[DestinationConfig]) -> Vec<&str> {
        configs.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn with_nothing_configured_the_only_destination_is_the_local_store() {
        let configs = only_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]);
        assert_eq!(names(&configs), ["local"]);
        assert_eq!(
            configs[0].kind,
            DestinationKind::Store(StoreConfig {
                dir: "/state/spans".into()
            })
        );
    }

    #[test]
    fn a_generic_http_endpoint_gets_the_traces_path_and_a_grpc_one_does_not() {
        let configs = only_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/base")]);
        assert_eq!(names(&configs), ["otlp"]);
        assert_eq!(
            otlp_of(&configs, "otlp").endpoint,
            "http://c:4318/base/v1/traces"
        );
        let configs = only_env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ]);
        let otlp = otlp_of(&configs, "otlp");
        assert_eq!(
            (otlp.endpoint.as_str(), otlp.protocol),
            ("http://c:4317", Protocol::Grpc)
        );
    }

    #[test]
    fn signal_specific_variables_beat_generic_ones_which_beat_the_file() {
        let env = [
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g:2"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1500"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ];
        let toml = "[[destinations]]\nname = \"otlp\"\nendpoint = \"http://f:3/v1/traces\"\n\
                    protocol = \"grpc\"\ntimeout_ms = 99\ncompression = \"none\"\n\
                    max_request_bytes = 1000\n";
        let otlp = otlp_of(&with_file(&env, toml).expect("valid"), "otlp");
        assert_eq!(otlp.endpoint, "http://t:1/custom");
        assert_eq!(otlp.protocol, Protocol::HttpJson);
        assert_eq!(otlp.timeout, Duration::from_millis(1500));
        assert_eq!(otlp.compression, Compression::Gzip);
        assert_eq!(otlp.max_request_bytes, 1000);
        let from_file = otlp_of(&with_file(&[], toml).expect("valid"), "otlp");
        assert_eq!(from_file.endpoint, "http://f:3/v1/traces");
        assert_eq!(from_file.protocol, Protocol::Grpc);
        assert_eq!(from_file.timeout, Duration::from_millis(99));
    }

    #[test]
    fn environment_headers_override_file_headers_by_name() {
        let toml = "[[destinations]]\nname = \"otlp\"\nendpoint = \"http://f/v1/traces\"\n\
                    headers = { Authorization = \"Bearer file\", x-team = \"a\" }\n";
        let env = [(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20env,x-more=1",
        )];
        let headers = otlp_of(&with_file(&env, toml).expect("valid"), "otlp").headers;
        assert_eq!(headers.get("authorization"), Some("Bearer env"));
        assert_eq!(headers.get("x-team"), Some("a"));
        assert_eq!(headers.get("x-more"), Some("1"));
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-generic=1"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-traces=2"),
        ];
        let headers = otlp_of(&only_env(&env), "otlp").headers;
        assert_eq!(
            (headers.get("x-generic"), headers.get("x-traces")),
            (None, Some("2"))
        );
    }

    #[test]
    fn other_file_tables_read_no_otel_variable() {
        let toml = "[[destinations]]\nname = \"collector\"\nendpoint = \"http://c/v1/traces\"\n";
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=secret"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ];
        let configs = with_file(&env, toml).expect("valid");
        assert_eq!(names(&configs), ["collector", "otlp"]);
        let collector = otlp_of(&configs, "collector");
        assert_eq!(collector.protocol, Protocol::HttpProtobuf);
        assert_eq!(collector.headers.get("authorization"), None);
    }

    #[test]
    fn braintrust_from_the_environment_routes_by_project_id_first() {
        let env = [
            ("TRACE_TO_BRAINTRUST", "true"),
            ("BRAINTRUST_API_KEY", "sk-1"),
            ("BRAINTRUST_PROJECT", "name"),
            ("BRAINTRUST_PROJECT_ID", "id-1"),
            ("BRAINTRUST_API_URL", "http://bt.local:8000"),
        ];
        let configs = only_env(&env);
        assert_eq!(names(&configs), ["braintrust"]);
        let DestinationKind::Braintrust(bt) = &configs[0].kind else {
            panic!("{configs:?}");
        };
        assert_eq!(bt.project, BraintrustProject::Id("id-1".into()));
        let otlp = bt.to_otlp();
        assert_eq!(otlp.endpoint, "http://bt.local:8000/otel/v1/traces");
        assert_eq!(otlp.headers.get("authorization"), Some("Bearer sk-1"));
        assert_eq!(otlp.headers.get("x-bt-parent"), Some("project_id:id-1"));
    }

    #[test]
    fn braintrust_without_an_api_key_is_a_clear_error() {
        let error =
            destinations_from_env_and_file(vars(&[("TRACE_TO_BRAINTRUST", "1")]), None, &state())
                .expect_err("no key");
        assert!(matches!(error, ConfigError::BraintrustApiKeyMissing { .. }));
        assert!(error.to_string().contains("BRAINTRUST_API_KEY"), "{error}");
    }

    #[test]
    fn a_braintrust_table_merges_with_the_environment_and_defaults_the_project() {
        let toml = "[[destinations]]\nkind = \"braintrust\"\napi_key = \"sk-file\"\n";
        let configs = with_file(&[("BRAINTRUST_API_KEY", "sk-env")], toml).expect("valid");
        let DestinationKind::Braintrust(bt) = &configs[0].kind else {
            panic!("{configs:?}");
        };
        assert_eq!(bt.api_key, "sk-env");
        assert_eq!(bt.project, BraintrustProject::Name("codex".into()));
        assert_eq!(bt.api_url, "https://api.braintrust.dev");
    }

    #[test]
    fn the_local_store_variable_adds_or_removes_the_store() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g"),
            ("CODEX_OTEL_LOCAL_STORE", "true"),
        ];
        assert_eq!(names(&only_env(&env)), ["otlp", "local"]);
        assert!(only_env(&[("CODEX_OTEL_LOCAL_STORE", "off")]).is_empty());
        let toml = "[[destinations]]\nkind = \"file\"\n";
        let configs = with_file(&[("CODEX_OTEL_LOCAL_STORE", "false")], toml).expect("valid");
        assert!(configs.is_empty(), "{configs:?}");
    }

    #[test]
    fn invalid_values_name_the_setting_but_not_the_value() {
        let error = destinations_from_env_and_file(
            vars(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g"),
                (
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "authorization=Bearer%zzsecret",
                ),
            ]),
            None,
            &state(),
        )
        .expect_err("bad header");
        let text = format!("{error} {error:?}");
        assert!(text.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{text}");
        assert!(!text.contains("secret"), "{text}");
        let error = with_file(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")], "")
            .expect_err("bad url");
        assert!(matches!(
            error,
            ConfigError::Invalid {
                source: ValueError::Url,
                ..
            }
        ));
    }

    #[test]
    fn file_mistakes_are_errors() {
        let missing = with_file(&[], "[[destinations]]\nname = \"c\"\n");
        assert!(matches!(missing, Err(ConfigError::MissingEndpoint { .. })));
        let duplicate = "[[destinations]]\nkind = \"file\"\n[[destinations]]\nkind = \"file\"\n";
        assert!(matches!(
            with_file(&[], duplicate),
            Err(ConfigError::DuplicateDestination { name }) if name == "local"
        ));
        let clash = "[[destinations]]\nname = \"otlp\"\nkind = \"file\"\n";
        assert!(matches!(
            with_file(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g")], clash),
            Err(ConfigError::DuplicateDestination { .. })
        ));
        let unreadable = destinations_from_env_and_file(
            vars(&[]),
            Some(Path::new("/nonexistent/codex-otel.toml")),
            &state(),
        );
        assert!(matches!(unreadable, Err(ConfigError::ReadFile { .. })));
    }

    #[test]
    fn every_destination_carries_the_resource() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g"),
            ("OTEL_SERVICE_NAME", "svc"),
            ("CODEX_OTEL_LOCAL_STORE", "yes"),
        ];
        let configs = only_env(&env);
        assert_eq!(configs.len(), 2);
        assert!(configs.iter().all(|c| c.resource.service_name == "svc"));
    }

    #[test]
    fn tls_and_proxy_settings_reach_each_destination_by_its_own_rules() {
        let toml = "[[destinations]]\nname = \"gateway\"\nendpoint = \"https://gw/v1/traces\"\n\
                    ca_file = \"gw-ca.pem\"\nproxy = \"none\"\n\
                    [[destinations]]\nkind = \"braintrust\"\napi_key = \"k\"\n";
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/pki/ca.pem"),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/pki/me.pem"),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/pki/me.key"),
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("NO_PROXY", "collector"),
        ];
        let configs = with_file(&env, toml).expect("valid");
        let otlp = otlp_of(&configs, "otlp");
        assert_eq!(otlp.connection.tls.ca_file, Some("/pki/ca.pem".into()));
        assert!(otlp.connection.tls.client.is_some());
        let via = crate::export::Proxy::Via {
            url: "http://proxy:3128".into(),
            no_proxy: Some("collector".into()),
        };
        assert_eq!(otlp.connection.proxy, via);
        let gateway = otlp_of(&configs, "gateway");
        assert!(gateway
            .connection
            .tls
            .ca_file
            .is_some_and(|ca| ca.ends_with("gw-ca.pem") && ca.is_absolute()));
        assert_eq!(gateway.connection.proxy, crate::export::Proxy::Direct);
        let DestinationKind::Braintrust(bt) = &configs[1].kind else {
            panic!("{configs:?}");
        };
        assert_eq!(bt.connection.proxy, via);
        assert_eq!(bt.connection.tls, crate::export::TlsConfig::default());
        let incomplete = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c"),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/pki/me.key"),
        ];
        assert!(matches!(
            destinations_from_env_and_file(vars(&incomplete), None, &state()),
            Err(ConfigError::IncompleteClientCertificate { .. })
        ));
    }

    #[test]
    fn debug_output_of_destinations_never_shows_secrets() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://g"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=hdr-secret"),
            ("TRACE_TO_BRAINTRUST", "true"),
            ("BRAINTRUST_API_KEY", "key-secret"),
        ];
        let text = format!("{:?}", only_env(&env));
        assert!(
            !text.contains("hdr-secret") && !text.contains("key-secret"),
            "{text}"
        );
    }
}
