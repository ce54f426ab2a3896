//! The TOML config file (`$CODEX_OTEL_CONFIG`): raw tables, read once, validated by the caller.
//!
//! ```toml
//! [resource]                       # extra resource attributes ("service.name" allowed)
//! "deployment.environment" = "dev"
//!
//! [[destinations]]
//! name = "collector"               # default: the kind's name ("otlp", "braintrust", "local")
//! kind = "otlp"                    # otlp | braintrust | file
//! endpoint = "http://localhost:4318/v1/traces"   # full traces URL, used as-is
//! protocol = "http/protobuf"       # http/protobuf | http/json | grpc
//! compression = "gzip"             # gzip | none
//! timeout_ms = 10000
//! max_request_bytes = 4194304
//! headers = { authorization = "Bearer …" }
//! ca_file = "certs/ca.pem"         # CA trusted instead of the system's (https endpoints)
//! cert_file = "certs/client.pem"   # mutual TLS: client certificate …
//! key_file = "certs/client.key"    # … and its key (both or neither)
//! proxy = "http://proxy.corp:3128" # or "none"; default: $HTTPS_PROXY / $HTTP_PROXY (HTTP only)
//! metrics = true                   # GenAI metrics here too; default: $CODEX_OTEL_METRICS
//! metrics_endpoint = "http://localhost:4318/v1/metrics"  # default: derived from endpoint
//! metrics_temporality = "delta"    # cumulative (default) | delta | lowmemory
//!
//! [[destinations]]
//! kind = "braintrust"
//! api_key = "…"                    # default: $BRAINTRUST_API_KEY
//! project = "codex"                # or project_id = "…"
//! api_url = "https://api.braintrust.dev"
//! # ca_file, cert_file, key_file and proxy as above
//!
//! [[destinations]]
//! kind = "file"                    # the local store; `path` overrides its directory
//! ```
//!
//! Unknown keys are errors, and so are keys that do not belong to the table's kind. Parse
//! errors report the line and the parser's message, never the offending text, which may hold
//! a secret. Relative file paths are relative to the config file's directory.

use super::ConfigError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Extra resource attributes.
    #[serde(default)]
    pub resource: BTreeMap<String, String>,
    /// Destinations, in order.
    #[serde(default)]
    pub destinations: Vec<FileDestination>,
    /// The directory relative paths are resolved against: the file's own (empty when the
    /// text was parsed without a file).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl FileConfig {
    /// `path` resolved against [`FileConfig::base_dir`].
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.base_dir.join(path)
    }
}

/// A destination's kind in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// An OTLP receiver.
    Otlp,
    /// Braintrust.
    Braintrust,
    /// The local store.
    File,
}

impl FileKind {
    /// The kind's name, also the default destination name ("file" → "local").
    pub fn default_name(self) -> &'static str {
        match self {
            FileKind::Otlp => "otlp",
            FileKind::Braintrust => "braintrust",
            FileKind::File => "local",
        }
    }
}

/// One `[[destinations]]` table.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDestination {
    /// Unique name; default [`FileKind::default_name`].
    pub name: Option<String>,
    /// What it is.
    pub kind: Option<FileKind>,
    /// OTLP: full traces URL.
    pub endpoint: Option<String>,
    /// OTLP: protocol name.
    pub protocol: Option<String>,
    /// OTLP: headers (secret values).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// OTLP: `gzip` or `none`.
    pub compression: Option<String>,
    /// OTLP: per-request timeout.
    pub timeout_ms: Option<u64>,
    /// OTLP: request body limit.
    pub max_request_bytes: Option<usize>,
    /// OTLP and Braintrust: PEM file of the trusted CA certificates.
    pub ca_file: Option<PathBuf>,
    /// OTLP and Braintrust: PEM file of the client certificate for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// OTLP and Braintrust: PEM file of the client certificate's key.
    pub key_file: Option<PathBuf>,
    /// OTLP and Braintrust: proxy URL, or `none`.
    pub proxy: Option<String>,
    /// OTLP: GenAI metrics on or off.
    pub metrics: Option<bool>,
    /// OTLP: full metrics URL.
    pub metrics_endpoint: Option<String>,
    /// OTLP: `cumulative`, `delta` or `lowmemory`.
    pub metrics_temporality: Option<String>,
    /// Braintrust: API key (secret).
    pub api_key: Option<String>,
    /// Braintrust: project name.
    pub project: Option<String>,
    /// Braintrust: project id.
    pub project_id: Option<String>,
    /// Braintrust: API base URL.
    pub api_url: Option<String>,
    /// File: store directory.
    pub path: Option<PathBuf>,
}

impl std::fmt::Debug for FileDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDestination")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("endpoint", &self.endpoint)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field(
                "proxy",
                &self
                    .proxy
                    .as_deref()
                    .map(crate::export::otlp::without_credentials),
            )
            .finish_non_exhaustive()
    }
}

impl FileDestination {
    /// The table's kind; `otlp` when omitted.
    pub fn kind(&self) -> FileKind {
        self.kind.unwrap_or(FileKind::Otlp)
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        self.name
            .as_deref()
            .unwrap_or_else(|| self.kind().default_name())
    }

    /// Fails when a key that belongs to another kind is set.
    pub fn check_fields(&self) -> Result<(), ConfigError> {
        let otlp = [
            ("endpoint", self.endpoint.is_some()),
            ("protocol", self.protocol.is_some()),
            ("headers", !self.headers.is_empty()),
            ("compression", self.compression.is_some()),
            ("timeout_ms", self.timeout_ms.is_some()),
            ("metrics", self.metrics.is_some()),
            ("metrics_endpoint", self.metrics_endpoint.is_some()),
            ("metrics_temporality", self.metrics_temporality.is_some()),
        ];
        let braintrust = [
            ("api_key", self.api_key.is_some()),
            ("project", self.project.is_some()),
            ("project_id", self.project_id.is_some()),
            ("api_url", self.api_url.is_some()),
        ];
        let file = [("path", self.path.is_some())];
        let size = [("max_request_bytes", self.max_request_bytes.is_some())];
        let network = [
            ("ca_file", self.ca_file.is_some()),
            ("cert_file", self.cert_file.is_some()),
            ("key_file", self.key_file.is_some()),
            ("proxy", self.proxy.is_some()),
        ];
        let foreign: Vec<&[(&'static str, bool)]> = match self.kind() {
            FileKind::Otlp => vec![&braintrust, &file],
            FileKind::Braintrust => vec![&otlp, &file, &size],
            FileKind::File => vec![&otlp, &braintrust, &size, &network],
        };
        match foreign.into_iter().flatten().find(|(_, set)| *set) {
            Some((field, _)) => Err(ConfigError::FieldNotForKind {
                destination: self.name().to_owned(),
                field,
            }),
            None => Ok(()),
        }
    }
}

/// Why the file's text is not a valid config: the parser's message and the line, without
/// the offending text.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FileSyntaxError {
    /// 1-based line of the error.
    pub line: usize,
    /// What the parser expected.
    pub message: String,
}

/// Reads and parses the file at `path`.
pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    let mut config = parse(&text).map_err(|source| ConfigError::ParseFile {
        path: path.to_owned(),
        source,
    })?;
    config.base_dir = path.parent().map(Path::to_owned).unwrap_or_default();
    Ok(config)
}

/// Parses the file's text.
pub fn parse(text: &str) -> Result<FileConfig, FileSyntaxError> {
    toml::from_str(text).map_err(|error: toml::de::Error| FileSyntaxError {
        line: error.span().map_or(1, |span| {
            1 + text.as_bytes()[..span.start.min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
        }),
        message: error.message().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses() {
        let config = parse(
            r#"
            [resource]
            "deployment.environment" = "dev"

            [[destinations]]
            name = "collector"
            endpoint = "http://localhost:4317"
            protocol = "grpc"
            headers = { authorization = "Bearer x" }
            timeout_ms = 500

            [[destinations]]
            kind = "braintrust"
            project_id = "p1"

            [[destinations]]
            kind = "file"
            "#,
        )
        .expect("parses");
        assert_eq!(config.resource["deployment.environment"], "dev");
        let names: Vec<&str> = config.destinations.iter().map(|d| d.name()).collect();
        assert_eq!(names, ["collector", "braintrust", "local"]);
        assert_eq!(config.destinations[0].kind(), FileKind::Otlp);
        assert_eq!(config.destinations[0].timeout_ms, Some(500));
        assert!(config.destinations.iter().all(|d| d.check_fields().is_ok()));
    }

    #[test]
    fn unknown_keys_are_errors_with_a_line_and_no_value() {
        let error = parse("[[destinations]]\nkind = \"otlp\"\nendpont = \"secret-ish\"\n")
            .expect_err("typo");
        assert_eq!(error.line, 3);
        assert!(!error.to_string().contains("secret-ish"), "{error}");
    }

    #[test]
    fn relative_paths_are_resolved_against_the_files_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("codex-otel.toml");
        std::fs::write(
            &path,
            "[[destinations]]\nendpoint = \"https://c\"\nca_file = \"ca.pem\"\n",
        )
        .expect("write");
        let config = load(&path).expect("loads");
        let ca = config.destinations[0].ca_file.as_deref().expect("ca_file");
        assert_eq!(config.resolve(ca), dir.path().join("ca.pem"));
        assert_eq!(
            config.resolve(Path::new("/abs/ca.pem")),
            Path::new("/abs/ca.pem")
        );
    }

    #[test]
    fn a_key_of_another_kind_is_an_error() {
        let config =
            parse("[[destinations]]\nkind = \"file\"\nendpoint = \"http://x\"\n").expect("parses");
        assert!(matches!(
            config.destinations[0].check_fields(),
            Err(ConfigError::FieldNotForKind {
                field: "endpoint",
                ..
            })
        ));
        let config = parse(
            "[[destinations]]\nkind = \"file\"\nproxy = \"none\"\n\
                            [[destinations]]\nkind = \"braintrust\"\nca_file = \"ca.pem\"\n",
        )
        .expect("parses");
        assert!(matches!(
            config.destinations[0].check_fields(),
            Err(ConfigError::FieldNotForKind { field: "proxy", .. })
        ));
        assert!(config.destinations[1].check_fields().is_ok());
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let config = parse(
            "[[destinations]]\nkind = \"braintrust\"\napi_key = \"sk-1\"\n\
             [[destinations]]\nheaders = { authorization = \"Bearer sk-2\" }\n",
        )
        .expect("parses");
        let text = format!("{config:?}");
        assert!(!text.contains("sk-1") && !text.contains("sk-2"), "{text}");
    }
}
