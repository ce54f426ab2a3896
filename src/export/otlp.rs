//! A validated OTLP destination ([`OtlpConfig`]: endpoint, protocol, headers, compression,
//! timeout, size limit, TLS, proxy and where its metrics go, [`MetricsConfig`]) and every way
//! sending to one can fail ([`OtlpError`]), each failure with its [`RetryAdvice`].
//!
//! Contract:
//! - Nothing here reads the process environment: the `config` stage resolves every setting,
//!   so one destination's settings never leak into another.
//! - Header values, proxy credentials and key files are secrets: `Debug` output and errors
//!   show header names, the proxy's host and file paths, never the values.

use super::retry;
use super::RetryAdvice;
use crate::span::SpanId;
use std::path::PathBuf;
use std::time::Duration;

/// Default per-request timeout, as in the OTLP specification.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default request body limit: 4 MiB, the default receive limit of OpenTelemetry Collector
/// gRPC receivers (HTTP receivers accept more). A bigger batch is split into several requests;
/// a single span bigger than the limit is not sent (see [`OtlpError::SpanTooLarge`]).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// The OTLP wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`). The default.
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies (`http/json`).
    HttpJson,
    /// OTLP/gRPC (`grpc`): TLS for `https://` endpoints, plaintext (h2c) for `http://` ones.
    Grpc,
}

impl Protocol {
    /// The protocol's name in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
            Protocol::Grpc => "grpc",
        }
    }
}

/// Request body compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Uncompressed. The default.
    None,
    /// gzip.
    Gzip,
}

/// HTTP headers or gRPC metadata for a destination, names lowercased, in insertion order.
/// Values may be credentials, so `Debug` shows names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// Sets `name` (case-insensitive) to `value`, replacing an earlier value.
    pub fn insert(&mut self, name: &str, value: impl Into<String>) {
        let name = name.to_ascii_lowercase();
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// The value of `name` (case-insensitive), if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every header, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// `text` with every header value (and every word of one, e.g. the token of
    /// `Bearer <token>`) replaced by `<redacted>`: for messages a receiver may echo them in.
    pub fn redact(&self, text: &str) -> String {
        let mut secrets: Vec<&str> = self
            .0
            .iter()
            .flat_map(|(_, value)| std::iter::once(value.as_str()).chain(value.split_whitespace()))
            .filter(|secret| secret.len() >= MIN_REDACTED_LEN)
            .collect();
        // Longest first, so a whole value goes before the words inside it.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.into_iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret, "<redacted>")
        })
    }
}

/// Shorter header words (`Bearer`, `Basic`, small routing values) are not worth redacting.
const MIN_REDACTED_LEN: usize = 8;

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name, "<redacted>")))
            .finish()
    }
}

/// A client certificate for mutual TLS: two PEM files, read when the destination is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The certificate (chain), PEM.
    pub cert_file: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// TLS settings of an `https://` destination. Default: the system's roots, no client
/// certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM file of the CA certificates trusted for the receiver, instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// The client certificate presented for mutual TLS.
    pub client: Option<ClientIdentity>,
}

/// How OTLP/HTTP requests reach the endpoint. gRPC destinations always connect directly.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Proxy {
    /// Straight to the endpoint. The default.
    #[default]
    Direct,
    /// Through an HTTP proxy (`CONNECT` for `https://` endpoints).
    Via {
        /// The proxy's URL, possibly with `user:password@` credentials.
        url: String,
        /// Hosts reached directly anyway, in `NO_PROXY` syntax (`host`, `.domain`, IP, CIDR,
        /// `*`).
        no_proxy: Option<String>,
    },
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proxy::Direct => f.write_str("Direct"),
            Proxy::Via { url, no_proxy } => f
                .debug_struct("Via")
                .field("url", &without_credentials(url))
                .field("no_proxy", no_proxy)
                .finish(),
        }
    }
}

/// `url` with any `user:password@` replaced by `<redacted>@` and every query value (an API
/// key may travel as `?api_key=…`) by `<redacted>`.
pub fn without_credentials(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let url = match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://<redacted>{}", &rest[at..]),
        None => url.to_owned(),
    };
    let Some((base, query)) = url.split_once('?') else {
        return url;
    };
    let (query, fragment) = query
        .split_once('#')
        .map_or((query, None), |(q, f)| (q, Some(f)));
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}=<redacted>"),
            None => pair.to_owned(),
        })
        .collect();
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    format!("{base}?{}{fragment}", redacted.join("&"))
}

/// How a destination connects, beyond its endpoint: TLS and proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    /// TLS settings (used by `https://` endpoints).
    pub tls: TlsConfig,
    /// Proxy for OTLP/HTTP.
    pub proxy: Proxy,
}

/// Aggregation temporality of exported metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporality {
    /// Totals since the sink started (the OTLP default; Prometheus-style backends).
    Cumulative,
    /// Changes since the previous export (Datadog, Dynatrace and other delta backends).
    Delta,
}

/// Where an OTLP destination's metrics go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// The full metrics URL (HTTP: `…/v1/metrics`; gRPC: the same endpoint as spans).
    pub endpoint: String,
    /// Aggregation temporality.
    pub temporality: Temporality,
}

/// A validated OTLP destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The full URL requests go to, used as-is (HTTP: the traces path included).
    pub endpoint: String,
    /// Wire protocol.
    pub protocol: Protocol,
    /// Headers (HTTP) or metadata (gRPC) sent with every request, and nothing else.
    pub headers: Headers,
    /// Body compression.
    pub compression: Compression,
    /// Per-request timeout. Default: [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// Upper bound on an uncompressed request body. Default: [`DEFAULT_MAX_REQUEST_BYTES`].
    pub max_request_bytes: usize,
    /// TLS and proxy.
    pub connection: Connection,
    /// Where GenAI metrics go, when they are on for this destination. Default: off.
    pub metrics: Option<MetricsConfig>,
}

impl OtlpConfig {
    /// A destination at `endpoint` with every other setting at its default.
    pub fn new(endpoint: impl Into<String>, protocol: Protocol) -> Self {
        OtlpConfig {
            endpoint: endpoint.into(),
            protocol,
            headers: Headers::default(),
            compression: Compression::None,
            timeout: DEFAULT_TIMEOUT,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            connection: Connection::default(),
            metrics: None,
        }
    }
}

/// The boxed cause of a request that got no response.
pub type TransportError = Box<dyn std::error::Error + Send + Sync>;

/// Why an OTLP destination could not be built or could not deliver a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// A header name or value cannot be sent (control characters, invalid name).
    #[error("header {name:?} is not a valid HTTP header or gRPC metadata entry")]
    InvalidHeader {
        /// The header's name (its value is never shown).
        name: String,
    },
    /// The HTTP client could not be created (e.g. an unusable proxy URL or certificate).
    #[error("cannot create the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// The gRPC endpoint or its TLS settings are unusable.
    #[error("cannot set up the gRPC channel")]
    GrpcChannel(#[source] tonic::transport::Error),
    /// A CA, certificate or key file could not be read or holds no usable PEM data.
    #[error("cannot use the TLS file {path}")]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: std::io::Error,
    },
    /// The request body could not be encoded (as JSON, or compressed).
    #[error("cannot encode the request body")]
    Encode(#[source] std::io::Error),
    /// The request got no response: DNS, connection, TLS handshake, proxy or I/O failure.
    #[error("the request got no response")]
    Unreachable(#[source] TransportError),
    /// No response within the timeout.
    #[error("no response within {}", humantime::format_duration(*timeout))]
    Timeout {
        /// The configured timeout.
        timeout: Duration,
    },
    /// The receiver answered with an HTTP status other than 2xx.
    #[error("the receiver answered HTTP {status}{}", detail(message.as_deref()))]
    HttpStatus {
        /// The status code.
        status: u16,
        /// The delay its `Retry-After` header asked for.
        retry_after: Option<Duration>,
        /// The error message of the response body (OTLP `Status.message`, JSON `message` or
        /// `error`, or plain text), shortened and with header values redacted.
        message: Option<String>,
    },
    /// The receiver answered with a gRPC status other than OK.
    #[error("the receiver answered gRPC {code:?}{}", detail(Some(message.as_str())))]
    GrpcStatus {
        /// The status code.
        code: tonic::Code,
        /// Its message, shortened and with header values redacted.
        message: String,
        /// The delay of a `google.rpc.RetryInfo` detail.
        retry_after: Option<Duration>,
    },
    /// The receiver accepted the request but rejected part of it (OTLP partial success). The
    /// rest was delivered; sending the rejected part again would be rejected again.
    #[error("the receiver rejected {rejected} item(s){}", detail(Some(message.as_str())))]
    PartialSuccess {
        /// How many spans (or data points) it rejected.
        rejected: i64,
        /// Why, in its words, shortened and with header values redacted.
        message: String,
    },
    /// The receiver said 2xx but its answer is not an OTLP response (e.g. an HTML page from a
    /// wrong URL): the spans probably went nowhere. Counted as delivered, reported as a warning;
    /// sending again would get the same answer.
    #[error(
        "the receiver answered {status} with {what}, not an OTLP response: is the endpoint right?"
    )]
    NotOtlpAnswer {
        /// The HTTP status.
        status: u16,
        /// What came back instead.
        what: String,
    },
    /// A span alone encodes larger than the request limit; it was not sent (the rest of the
    /// batch was). Retrying cannot help.
    #[error("span {span_id} encodes to {size} bytes, over the {limit}-byte request limit")]
    SpanTooLarge {
        /// The span left out.
        span_id: SpanId,
        /// Its encoded request size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The destination was shut down.
    #[error("the destination is shut down")]
    Shutdown,
}

/// `": message"`, or nothing for an empty or absent message.
fn detail(message: Option<&str>) -> String {
    match message {
        Some(message) if !message.is_empty() => format!(": {message}"),
        _ => String::new(),
    }
}

impl OtlpError {
    /// What to do with the batch that failed this way (see [`RetryAdvice`]).
    pub fn retry_advice(&self) -> RetryAdvice {
        match self {
            OtlpError::Unreachable(_) | OtlpError::Timeout { .. } => {
                RetryAdvice::Retry { after: None }
            }
            OtlpError::HttpStatus {
                status,
                retry_after,
                ..
            } => retry::for_http_status(*status, *retry_after),
            OtlpError::GrpcStatus {
                code,
                message,
                retry_after,
            } => retry::for_grpc_status(*code, message, *retry_after),
            OtlpError::InvalidHeader { .. }
            | OtlpError::HttpClient(_)
            | OtlpError::GrpcChannel(_)
            | OtlpError::TlsFile { .. }
            | OtlpError::Encode(_)
            | OtlpError::PartialSuccess { .. }
            | OtlpError::NotOtlpAnswer { .. }
            | OtlpError::SpanTooLarge { .. }
            | OtlpError::Shutdown => RetryAdvice::Permanent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_case_insensitive_and_later_values_win() {
        let mut headers = Headers::default();
        headers.insert("X-A", "1");
        headers.insert("x-a", "2");
        assert_eq!(headers.get("X-a"), Some("2"));
        assert_eq!(headers.iter().count(), 1);
    }

    #[test]
    fn debug_output_never_shows_header_values_or_proxy_credentials() {
        let mut config = OtlpConfig::new("http://x/v1/traces", Protocol::HttpProtobuf);
        config.headers.insert("authorization", "Bearer top-secret");
        config.connection.proxy = Proxy::Via {
            url: "http://user:proxy-pass@proxy.corp:3128".into(),
            no_proxy: None,
        };
        let text = format!("{config:?}");
        assert!(text.contains("authorization"), "{text}");
        assert!(text.contains("proxy.corp:3128"), "{text}");
        assert!(
            !text.contains("top-secret") && !text.contains("proxy-pass"),
            "{text}"
        );
    }

    #[test]
    fn credentials_are_cut_from_urls_and_only_from_the_authority() {
        assert_eq!(
            without_credentials("http://u:p@h:1/x@y"),
            "http://<redacted>@h:1/x@y"
        );
        assert_eq!(without_credentials("http://h/x@y"), "http://h/x@y");
    }

    #[test]
    fn query_values_are_cut_from_urls() {
        assert_eq!(
            without_credentials("https://h/v1/traces?api_key=sk-1&mode=a#top"),
            "https://h/v1/traces?api_key=<redacted>&mode=<redacted>#top"
        );
    }

    #[test]
    fn header_values_and_their_words_are_redacted_from_text() {
        let mut headers = Headers::default();
        headers.insert("authorization", "Bearer sk-secret-123");
        headers.insert("x-team", "ab");
        let text = headers.redact("bad token sk-secret-123 (Bearer sk-secret-123) for ab");
        assert_eq!(text, "bad token <redacted> (<redacted>) for ab");
    }

    #[test]
    fn each_failure_has_its_retry_advice() {
        let retry = RetryAdvice::Retry { after: None };
        assert_eq!(
            OtlpError::Unreachable("refused".into()).retry_advice(),
            retry
        );
        let timeout = OtlpError::Timeout {
            timeout: DEFAULT_TIMEOUT,
        };
        assert_eq!(timeout.retry_advice(), retry);
        let throttled = OtlpError::HttpStatus {
            status: 429,
            retry_after: Some(Duration::from_secs(2)),
            message: None,
        };
        assert_eq!(
            throttled.retry_advice(),
            RetryAdvice::Retry {
                after: Some(Duration::from_secs(2))
            }
        );
        let partial = OtlpError::PartialSuccess {
            rejected: 1,
            message: String::new(),
        };
        assert_eq!(partial.retry_advice(), RetryAdvice::Permanent);
        let unauthenticated = OtlpError::GrpcStatus {
            code: tonic::Code::Unauthenticated,
            message: String::new(),
            retry_after: None,
        };
        assert_eq!(unauthenticated.retry_advice(), RetryAdvice::Permanent);
    }

    #[test]
    fn status_errors_show_the_receivers_message() {
        let error = OtlpError::HttpStatus {
            status: 401,
            retry_after: None,
            message: Some("invalid key".into()),
        };
        assert_eq!(
            error.to_string(),
            "the receiver answered HTTP 401: invalid key"
        );
        let error = OtlpError::HttpStatus {
            status: 500,
            retry_after: None,
            message: None,
        };
        assert_eq!(error.to_string(), "the receiver answered HTTP 500");
    }
}
