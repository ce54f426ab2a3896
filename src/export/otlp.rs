//! One OTLP destination: an `opentelemetry_otlp::SpanExporter` built explicitly from an
//! [`OtlpConfig`] and driven directly with batches of `SpanData` (no tracer, no processor).
//!
//! Contract:
//! - Every setting comes from the [`OtlpConfig`], so one destination's settings never leak into
//!   another. The SDK still reads `OTEL_EXPORTER_OTLP_*` from the process environment when a
//!   value is left unset, so endpoint, protocol and timeout are always set, and the headers are
//!   pinned at the transport: over HTTP a client wrapper replaces every request header with the
//!   configured set (and undoes a gzip encoding the configuration did not ask for); over gRPC an
//!   interceptor replaces the metadata. The one setting the SDK may still take from the
//!   environment is gRPC compression when the configuration says none.
//! - One [`OtlpSink::export`] call sends one batch in as many requests as needed to keep each
//!   request body under [`OtlpConfig::max_request_bytes`], measured exactly as the SDK encodes it.
//! - Each request is one attempt bounded by [`OtlpConfig::timeout`]; the SDK's own retries are
//!   disabled so that retrying has a single owner above this stage.
//! - Header values are secrets: they are never logged, and `Debug` prints only their names.

use super::convert::{self, ResourceConfig};
use crate::span::{SpanId, SpanRecord};
use async_trait::async_trait;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{
    ExporterBuildError, RetryPolicy, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::SpanExporter as _;
use opentelemetry_sdk::Resource;
use prost::Message as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use std::io::Read as _;
use std::ops::Range;
use std::time::Duration;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

/// Default per-request timeout, as in the OTLP specification.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default request body limit: 4 MiB, the default receive limit of OpenTelemetry Collector
/// gRPC receivers (HTTP receivers accept more). A bigger batch is split into several requests;
/// a single span bigger than the limit is not sent (see [`OtlpError::SpanTooLarge`]).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// The `User-Agent` sent unless the configuration sets one.
const USER_AGENT: &str = concat!("codex-otel/", env!("CARGO_PKG_VERSION"));

/// Allowance for compression framing over an uncompressed body that fits the limit.
const COMPRESSION_SLACK_BYTES: usize = 1024;

/// The OTLP wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`). The default.
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies (`http/json`).
    HttpJson,
    /// OTLP/gRPC (`grpc`).
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
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name, "<redacted>")))
            .finish()
    }
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
        }
    }
}

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
    /// The HTTP client could not be created.
    #[error("cannot create the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// The SDK rejected the configuration (bad endpoint, missing transport feature).
    #[error("cannot build the OTLP exporter")]
    Build(#[source] ExporterBuildError),
    /// A request failed: connection error, timeout or a non-success response.
    #[error("OTLP export failed")]
    Send(#[source] OTelSdkError),
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
}

/// A built OTLP destination.
#[derive(Debug)]
pub struct OtlpSink {
    exporter: opentelemetry_otlp::SpanExporter,
    resource: Resource,
    protocol: Protocol,
    max_request_bytes: usize,
}

impl OtlpSink {
    /// Builds the exporter for `config`, sending spans with `resource`. Must run inside a
    /// Tokio runtime (the gRPC channel and the HTTP client need one).
    pub fn build(config: &OtlpConfig, resource: &ResourceConfig) -> Result<Self, OtlpError> {
        let mut exporter = match config.protocol {
            Protocol::HttpProtobuf | Protocol::HttpJson => build_http(config)?,
            Protocol::Grpc => build_grpc(config)?,
        };
        let resource = convert::resource(resource);
        exporter.set_resource(&resource);
        Ok(OtlpSink {
            exporter,
            resource,
            protocol: config.protocol,
            max_request_bytes: config.max_request_bytes,
        })
    }

    /// Sends `spans`, split into requests under the size limit, in order. Stops at the first
    /// failed request; spans too large to send alone are skipped and the first is reported at the end.
    pub async fn export(&self, spans: &[SpanRecord]) -> Result<(), OtlpError> {
        let mut too_large = None;
        for (range, size) in plan_requests(spans.len(), self.max_request_bytes, |r| {
            self.encoded_len(&spans[r])
        }) {
            if size > self.max_request_bytes {
                too_large.get_or_insert(OtlpError::SpanTooLarge {
                    span_id: spans[range.start].span_id,
                    size,
                    limit: self.max_request_bytes,
                });
                continue;
            }
            let batch = spans[range].iter().map(convert::span_data).collect();
            self.exporter.export(batch).await.map_err(OtlpError::Send)?;
        }
        too_large.map_or(Ok(()), Err)
    }

    /// Releases the transport. Later exports fail.
    pub fn shutdown(&mut self) {
        // Shutting down twice or after a failure has nothing left to release.
        let _ = self.exporter.shutdown();
    }

    /// The request body size of `spans`, encoded exactly as the SDK will encode it.
    fn encoded_len(&self, spans: &[SpanRecord]) -> usize {
        let request = convert::request(spans, &self.resource);
        match self.protocol {
            Protocol::HttpJson => {
                serde_json::to_vec_pretty(&request).map_or(usize::MAX, |v| v.len())
            }
            Protocol::HttpProtobuf | Protocol::Grpc => request.encoded_len(),
        }
    }
}

/// Splits `0..len` into consecutive ranges whose measured size is at most `limit`, halving any
/// range that is too big. Each range comes with its size; a single item over the limit stays
/// alone with its (too big) size.
fn plan_requests(
    len: usize,
    limit: usize,
    measure: impl Fn(Range<usize>) -> usize,
) -> Vec<(Range<usize>, usize)> {
    let mut plan = Vec::new();
    let mut pending: Vec<Range<usize>> = Vec::new();
    pending.push(0..len);
    while let Some(range) = pending.pop() {
        if range.is_empty() {
            continue;
        }
        let size = measure(range.clone());
        if size <= limit || range.len() == 1 {
            plan.push((range, size));
        } else {
            let middle = range.start + range.len() / 2;
            pending.push(middle..range.end);
            pending.push(range.start..middle);
        }
    }
    plan
}

fn build_http(config: &OtlpConfig) -> Result<opentelemetry_otlp::SpanExporter, OtlpError> {
    let inner = reqwest::Client::builder()
        .timeout(config.timeout)
        .build()
        .map_err(OtlpError::HttpClient)?;
    let client = PinnedHttpClient {
        inner,
        headers: header_map(&config.headers)?,
        compression: config.compression,
    };
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(config.endpoint.clone())
        .with_protocol(match config.protocol {
            Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
            Protocol::HttpProtobuf | Protocol::Grpc => opentelemetry_otlp::Protocol::HttpBinary,
        })
        .with_timeout(config.timeout)
        .with_retry_policy(RetryPolicy::disabled())
        .with_max_request_body_size(
            config
                .max_request_bytes
                .saturating_add(COMPRESSION_SLACK_BYTES),
        )
        .with_http_client(client);
    if config.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    builder.build().map_err(OtlpError::Build)
}

fn build_grpc(config: &OtlpConfig) -> Result<opentelemetry_otlp::SpanExporter, OtlpError> {
    let metadata = metadata_map(&config.headers)?;
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(config.endpoint.clone())
        .with_protocol(opentelemetry_otlp::Protocol::Grpc)
        .with_timeout(config.timeout)
        .with_retry_policy(RetryPolicy::disabled())
        .with_interceptor(move |mut request: tonic::Request<()>| {
            *request.metadata_mut() = metadata.clone();
            Ok(request)
        });
    if config.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    // Without roots the SDK's default TLS config trusts nobody; use the system's, as the
    // HTTP client does, so corporate CAs work too.
    if config.endpoint.to_ascii_lowercase().starts_with("https://") {
        builder =
            builder.with_tls_config(tonic::transport::ClientTlsConfig::new().with_enabled_roots());
    }
    builder.build().map_err(OtlpError::Build)
}

fn header_map(headers: &Headers) -> Result<HeaderMap, OtlpError> {
    let mut map = HeaderMap::new();
    map.insert(
        reqwest::header::USER_AGENT,
        HeaderValue::from_static(USER_AGENT),
    );
    for (name, value) in headers.iter() {
        let invalid = || OtlpError::InvalidHeader {
            name: name.to_owned(),
        };
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let mut header_value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        header_value.set_sensitive(true);
        map.insert(header_name, header_value);
    }
    Ok(map)
}

fn metadata_map(headers: &Headers) -> Result<MetadataMap, OtlpError> {
    let mut map = MetadataMap::new();
    map.insert("user-agent", MetadataValue::from_static(USER_AGENT));
    for (name, value) in headers.iter() {
        let invalid = || OtlpError::InvalidHeader {
            name: name.to_owned(),
        };
        let key = MetadataKey::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = MetadataValue::try_from(value).map_err(|_| invalid())?;
        map.insert(key, value);
    }
    Ok(map)
}

/// The HTTP client every OTLP/HTTP destination uses: reqwest, with the request's headers and
/// encoding pinned to the destination's configuration (see the module docs).
struct PinnedHttpClient {
    inner: reqwest::Client,
    headers: HeaderMap,
    compression: Compression,
}

impl std::fmt::Debug for PinnedHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedHttpClient")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl HttpClient for PinnedHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = pin_request(request, &self.headers, self.compression)?;
        self.inner.send_bytes(request).await
    }
}

/// Replaces `request`'s headers with `headers` (keeping its content type) and makes its body
/// encoding match `compression`.
fn pin_request(
    request: Request<Bytes>,
    headers: &HeaderMap,
    compression: Compression,
) -> Result<Request<Bytes>, HttpError> {
    let (mut parts, mut body) = request.into_parts();
    let content_type = parts.headers.get(CONTENT_TYPE).cloned();
    let encoding = parts.headers.get(CONTENT_ENCODING).cloned();
    parts.headers = headers.clone();
    if let Some(content_type) = content_type {
        parts.headers.insert(CONTENT_TYPE, content_type);
    }
    match (compression, encoding) {
        (Compression::Gzip, Some(encoding)) => {
            parts.headers.insert(CONTENT_ENCODING, encoding);
        }
        (Compression::None, Some(_)) => {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(body.as_ref()).read_to_end(&mut plain)?;
            body = Bytes::from(plain);
        }
        (_, None) => {}
    }
    Ok(Request::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn pinned() -> HeaderMap {
        let mut headers = Headers::default();
        headers.insert("Authorization", "Bearer secret");
        header_map(&headers).expect("valid headers")
    }

    #[test]
    fn headers_are_case_insensitive_and_later_values_win() {
        let mut headers = Headers::default();
        headers.insert("X-A", "1");
        headers.insert("x-a", "2");
        assert_eq!(headers.get("X-a"), Some("2"));
        assert_eq!(headers.iter().count(), 1);
    }

    #[test]
    fn debug_output_never_shows_header_values() {
        let mut config = OtlpConfig::new("http://x/v1/traces", Protocol::HttpProtobuf);
        config.headers.insert("authorization", "Bearer top-secret");
        let text = format!("{config:?}");
        assert!(text.contains("authorization"), "{text}");
        assert!(!text.contains("top-secret"), "{text}");
    }

    #[test]
    fn a_pinned_request_carries_exactly_the_configured_headers() {
        let request = Request::builder()
            .header("authorization", "Bearer leaked-from-env")
            .header("x-env", "1")
            .header(CONTENT_TYPE, "application/x-protobuf")
            .body(Bytes::from_static(b"body"))
            .expect("request");
        let pinned = pin_request(request, &pinned(), Compression::None).expect("pins");
        let names: Vec<&str> = pinned.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(pinned.headers()["authorization"], "Bearer secret");
        assert_eq!(pinned.headers()[CONTENT_TYPE], "application/x-protobuf");
        assert_eq!(pinned.headers()["user-agent"], USER_AGENT);
    }

    #[test]
    fn a_gzip_body_the_configuration_did_not_ask_for_is_sent_plain() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(b"payload").expect("gzip");
        let request = Request::builder()
            .header(CONTENT_ENCODING, "gzip")
            .body(Bytes::from(encoder.finish().expect("gzip")))
            .expect("request");
        let pinned = pin_request(request, &pinned(), Compression::None).expect("pins");
        assert_eq!(pinned.body().as_ref(), b"payload");
        assert!(pinned.headers().get(CONTENT_ENCODING).is_none());
    }

    #[test]
    fn a_configured_gzip_encoding_is_kept() {
        let request = Request::builder()
            .header(CONTENT_ENCODING, "gzip")
            .body(Bytes::from_static(b"\x1f\x8b"))
            .expect("request");
        let pinned = pin_request(request, &pinned(), Compression::Gzip).expect("pins");
        assert_eq!(pinned.headers()[CONTENT_ENCODING], "gzip");
    }

    #[test]
    fn an_invalid_header_value_is_rejected_by_name() {
        let mut headers = Headers::default();
        headers.insert("x-bad", "line\nbreak");
        assert!(matches!(
            header_map(&headers),
            Err(OtlpError::InvalidHeader { name }) if name == "x-bad"
        ));
    }

    #[test]
    fn requests_are_split_until_each_fits_and_keep_their_order() {
        // Each item weighs 10; the limit holds 3 items.
        let plan = plan_requests(7, 30, |r| r.len() * 10);
        let ranges: Vec<Range<usize>> = plan.iter().map(|(r, _)| r.clone()).collect();
        assert_eq!(ranges.iter().map(|r| r.len()).sum::<usize>(), 7);
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        assert!(plan.iter().all(|(_, size)| *size <= 30));
        assert_eq!(plan_requests(3, 30, |r| r.len() * 10).len(), 1);
    }

    #[test]
    fn an_item_over_the_limit_is_planned_alone_with_its_size() {
        let plan = plan_requests(3, 30, |r| if r.contains(&1) { 100 } else { r.len() });
        assert!(plan.contains(&(1..2, 100)), "{plan:?}");
        assert!(plan_requests(0, 30, |_| 0).is_empty());
    }
}
