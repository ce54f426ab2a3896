//! Braintrust as an OTLP/HTTP destination: where to send, how to authenticate, how to route.
//!
//! Braintrust ingests OTLP/HTTP (protobuf or JSON, not gRPC) at `{api_url}/otel/v1/traces`,
//! authenticated with `Authorization: Bearer <api key>` and routed to a project with the
//! `x-bt-parent` header (`project_id:<id>` or `project_name:<name>`). Requests over 10 MB are
//! refused with 413, so batches are split below that. The `braintrust.*` span attributes that
//! shape Braintrust's UI are added by the session stage, not here.

use super::otlp::{Compression, Connection, Headers, OtlpConfig, Protocol};
use std::time::Duration;

/// Braintrust's hosted API (US). The EU data plane is `https://api-eu.braintrust.dev`.
pub const DEFAULT_API_URL: &str = "https://api.braintrust.dev";

/// The project spans go to when none is configured.
pub const DEFAULT_PROJECT: &str = "codex";

/// Braintrust refuses request bodies over 10 MB.
pub const MAX_REQUEST_BYTES: usize = 10_000_000;

/// Per-request timeout: larger than the OTLP default because requests may approach 10 MB.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The routing header.
const PARENT_HEADER: &str = "x-bt-parent";

/// The Braintrust project spans are logged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BraintrustProject {
    /// By id (`x-bt-parent: project_id:<id>`).
    Id(String),
    /// By name (`x-bt-parent: project_name:<name>`); Braintrust creates it if needed.
    Name(String),
}

/// A validated Braintrust destination.
#[derive(Clone, PartialEq, Eq)]
pub struct BraintrustConfig {
    /// The API key (secret: never logged, never written to disk).
    pub api_key: String,
    /// Where spans go.
    pub project: BraintrustProject,
    /// Base URL of the API, without the `/otel/v1/traces` path. Default: [`DEFAULT_API_URL`].
    pub api_url: String,
    /// TLS and proxy (e.g. a corporate proxy and its CA).
    pub connection: Connection,
}

impl std::fmt::Debug for BraintrustConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BraintrustConfig")
            .field("api_key", &"<redacted>")
            .field("project", &self.project)
            .field("api_url", &self.api_url)
            .field("connection", &self.connection)
            .finish()
    }
}

impl BraintrustConfig {
    /// The OTLP destination this amounts to: protobuf + gzip (what Braintrust recommends) to
    /// `{api_url}/otel/v1/traces`, with the auth and routing headers.
    pub fn to_otlp(&self) -> OtlpConfig {
        let mut config = OtlpConfig::new(
            format!("{}/otel/v1/traces", self.api_url.trim_end_matches('/')),
            Protocol::HttpProtobuf,
        );
        config.headers = self.headers();
        config.compression = Compression::Gzip;
        config.timeout = TIMEOUT;
        config.max_request_bytes = MAX_REQUEST_BYTES;
        config.connection = self.connection.clone();
        config
    }

    fn headers(&self) -> Headers {
        let mut headers = Headers::default();
        headers.insert("authorization", format!("Bearer {}", self.api_key));
        let parent = match &self.project {
            BraintrustProject::Id(id) => format!("project_id:{id}"),
            BraintrustProject::Name(name) => format!("project_name:{name}"),
        };
        headers.insert(PARENT_HEADER, parent);
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(project: BraintrustProject, api_url: &str) -> BraintrustConfig {
        BraintrustConfig {
            api_key: "sk-test".into(),
            project,
            api_url: api_url.into(),
            connection: Connection::default(),
        }
    }

    #[test]
    fn a_project_name_routes_with_project_name_and_bearer_auth() {
        let otlp = config(BraintrustProject::Name("my proj".into()), DEFAULT_API_URL).to_otlp();
        assert_eq!(otlp.endpoint, "https://api.braintrust.dev/otel/v1/traces");
        assert_eq!(otlp.headers.get("authorization"), Some("Bearer sk-test"));
        assert_eq!(
            otlp.headers.get("x-bt-parent"),
            Some("project_name:my proj")
        );
        assert_eq!(otlp.protocol, Protocol::HttpProtobuf);
        assert_eq!(otlp.max_request_bytes, MAX_REQUEST_BYTES);
    }

    #[test]
    fn a_project_id_routes_with_project_id_and_a_trailing_slash_is_ignored() {
        let otlp = config(
            BraintrustProject::Id("0b1c".into()),
            "http://localhost:8000/",
        )
        .to_otlp();
        assert_eq!(otlp.endpoint, "http://localhost:8000/otel/v1/traces");
        assert_eq!(otlp.headers.get("x-bt-parent"), Some("project_id:0b1c"));
    }

    #[test]
    fn debug_output_never_shows_the_api_key() {
        let text = format!(
            "{:?}",
            config(BraintrustProject::Name("p".into()), DEFAULT_API_URL)
        );
        assert!(!text.contains("sk-test"), "{text}");
        let text = format!(
            "{:?}",
            config(BraintrustProject::Name("p".into()), DEFAULT_API_URL).to_otlp()
        );
        assert!(!text.contains("sk-test"), "{text}");
    }
}
