//! Every environment variable codex-otel reads for destinations and the resource, one
//! documented constant each. Empty values count as unset.

/// Base URL of a generic OTLP destination. Over HTTP `/v1/traces` is appended (a base path is
/// kept: `…/otel` → `…/otel/v1/traces`); over gRPC it is used as-is. Unset: no generic OTLP
/// destination (unless the config file defines one named `otlp`).
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Full traces URL of the generic OTLP destination, used as-is; wins over
/// [`OTEL_EXPORTER_OTLP_ENDPOINT`].
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// `http/protobuf` (the default), `http/json` or `grpc`, case-insensitive.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// Traces-only protocol; wins over [`OTEL_EXPORTER_OTLP_PROTOCOL`].
pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// Headers `k=v,k2=v2` with percent-encoded values, sent only to the generic OTLP destination.
pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
/// Traces-only headers; when set, [`OTEL_EXPORTER_OTLP_HEADERS`] is ignored.
pub const OTEL_EXPORTER_OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
/// `gzip` or `none` (the default).
pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// Traces-only compression; wins over [`OTEL_EXPORTER_OTLP_COMPRESSION`].
pub const OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
/// Per-request timeout in milliseconds; default 10000.
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// Traces-only timeout; wins over [`OTEL_EXPORTER_OTLP_TIMEOUT`].
pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
/// PEM file of the CA certificates trusted for the generic OTLP destination's `https://`
/// endpoint, instead of the system's roots. A relative path is taken from the current directory.
pub const OTEL_EXPORTER_OTLP_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
/// Traces-only CA file; wins over [`OTEL_EXPORTER_OTLP_CERTIFICATE`].
pub const OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
/// PEM file of the client certificate (chain) for mutual TLS; needs a client key too.
pub const OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
/// Traces-only client certificate; wins over [`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`].
pub const OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: &str =
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";
/// PEM file of the client certificate's private key (a secret: its path is shown, never its
/// content).
pub const OTEL_EXPORTER_OTLP_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
/// Traces-only client key; wins over [`OTEL_EXPORTER_OTLP_CLIENT_KEY`].
pub const OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";

/// `true` turns GenAI metrics on for every OTLP destination (never Braintrust or the local
/// store) whose config-file table does not say `metrics = false`. Default `false`.
pub const CODEX_OTEL_METRICS: &str = "CODEX_OTEL_METRICS";
/// Full metrics URL of the generic OTLP destination, used as-is. Default: the
/// [`OTEL_EXPORTER_OTLP_ENDPOINT`] base + `/v1/metrics` over HTTP, the same endpoint over gRPC,
/// else the traces URL with `/v1/traces` replaced by `/v1/metrics`.
pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// `cumulative` (the default), `delta` or `lowmemory` (delta for every codex-otel instrument),
/// for the generic OTLP destination.
pub const OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: &str =
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";

/// Proxy for `https://` OTLP/HTTP and Braintrust endpoints (`CONNECT`), every destination;
/// the lowercase `https_proxy` wins. A destination's `proxy` key in the config file wins over
/// it. gRPC destinations never use a proxy.
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
/// Proxy for `http://` OTLP/HTTP endpoints; the lowercase `http_proxy` wins.
pub const HTTP_PROXY: &str = "HTTP_PROXY";
/// Proxy for either scheme when the scheme's own variable is unset; lowercase `all_proxy` wins.
pub const ALL_PROXY: &str = "ALL_PROXY";
/// Hosts reached without the proxy: comma-separated names (`.corp` or `corp` also matches
/// subdomains), IP addresses, CIDR blocks, or `*`; the lowercase `no_proxy` wins.
pub const NO_PROXY: &str = "NO_PROXY";

/// `service.name` of every destination's resource; default `codex`.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// Resource attributes `k=v,k2=v2` (percent-encoded values); win over the config file's.
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";

/// `true` adds the Braintrust destination. Disabled by default.
pub const TRACE_TO_BRAINTRUST: &str = "TRACE_TO_BRAINTRUST";
/// Braintrust API key; required when Braintrust is enabled (here or in the file).
pub const BRAINTRUST_API_KEY: &str = "BRAINTRUST_API_KEY";
/// Braintrust project name (`x-bt-parent: project_name:<name>`); default `codex`.
pub const BRAINTRUST_PROJECT: &str = "BRAINTRUST_PROJECT";
/// Braintrust project id (`x-bt-parent: project_id:<id>`); wins over [`BRAINTRUST_PROJECT`].
pub const BRAINTRUST_PROJECT_ID: &str = "BRAINTRUST_PROJECT_ID";
/// Braintrust API base URL; default `https://api.braintrust.dev`.
pub const BRAINTRUST_API_URL: &str = "BRAINTRUST_API_URL";

/// The state directory (see [`crate::paths`]).
pub const CODEX_OTEL_HOME: &str = crate::paths::CODEX_OTEL_HOME;
/// Path of the TOML config file. Unset: no config file.
pub const CODEX_OTEL_CONFIG: &str = "CODEX_OTEL_CONFIG";
/// `true` keeps the local store on next to remote destinations; `false` turns it off even
/// when nothing else is configured. Unset: the local store is on exactly when no other
/// destination is configured (or the config file declares it).
pub const CODEX_OTEL_LOCAL_STORE: &str = "CODEX_OTEL_LOCAL_STORE";

/// `CODEX_OTEL_CAPTURE_CONTENT`: `false` removes prompts, messages, tool arguments and results
/// from everything exported. Default `true`.
pub const CODEX_OTEL_CAPTURE_CONTENT: &str = "CODEX_OTEL_CAPTURE_CONTENT";
/// The standard switch with the same effect as [`CODEX_OTEL_CAPTURE_CONTENT`]; either one set to
/// `false` turns capture off.
pub const OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: &str =
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
/// `CODEX_OTEL_FULL_HISTORY`: `true` puts the whole conversation on every chat span instead of
/// only the messages new since the previous call. Default `false`.
pub const CODEX_OTEL_FULL_HISTORY: &str = "CODEX_OTEL_FULL_HISTORY";
/// `CODEX_OTEL_MAX_ATTRIBUTE_BYTES`: cap for one content attribute. Default 32768.
pub const CODEX_OTEL_MAX_ATTRIBUTE_BYTES: &str = "CODEX_OTEL_MAX_ATTRIBUTE_BYTES";
/// `TRACEPARENT`: a W3C traceparent; the session joins that trace under that span.
pub const TRACEPARENT: &str = "TRACEPARENT";
/// `CODEX_ROOT_SPAN_ID`: the seed plugin's parent trace id (32 hex digits).
pub const CODEX_ROOT_SPAN_ID: &str = "CODEX_ROOT_SPAN_ID";
/// `CODEX_PARENT_SPAN_ID`: the seed plugin's parent span id (16 hex digits).
pub const CODEX_PARENT_SPAN_ID: &str = "CODEX_PARENT_SPAN_ID";
/// `CODEX_SESSION_ID`: set by Codex for every tool command it runs (not for its hooks): the
/// running session's id. A `codex exec` started by such a command sees it, and its session
/// root hangs under that session's tool call ([`CODEX_TOOL_CALL_ID`]).
pub const CODEX_SESSION_ID: &str = "CODEX_SESSION_ID";
/// `CODEX_TOOL_CALL_ID`: set by Codex for every tool command it runs: the call id of the tool
/// call running it.
pub const CODEX_TOOL_CALL_ID: &str = "CODEX_TOOL_CALL_ID";
/// `BRAINTRUST_ADDITIONAL_METADATA`: a JSON object of user metadata for the session root.
pub const BRAINTRUST_ADDITIONAL_METADATA: &str = "BRAINTRUST_ADDITIONAL_METADATA";
/// `CODEX_OTEL_SAMPLE_RATIO`: fraction of sessions exported, decided by session id. Default 1.
pub const CODEX_OTEL_SAMPLE_RATIO: &str = "CODEX_OTEL_SAMPLE_RATIO";
/// `CODEX_OTEL_SAMPLE_ALWAYS`: `true` keeps this session whatever the ratio (e.g. CI runs).
pub const CODEX_OTEL_SAMPLE_ALWAYS: &str = "CODEX_OTEL_SAMPLE_ALWAYS";
/// `CODEX_OTEL_REDACT`: `false` switches secret redaction in captured content off. Default on.
pub const CODEX_OTEL_REDACT: &str = "CODEX_OTEL_REDACT";
/// `CODEX_OTEL_REDACT_PATTERNS`: a JSON array of extra regular expressions to redact.
pub const CODEX_OTEL_REDACT_PATTERNS: &str = "CODEX_OTEL_REDACT_PATTERNS";
