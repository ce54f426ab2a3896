//! An in-process OTLP receiver on loopback: OTLP/HTTP (protobuf or JSON bodies, optionally
//! gzip) and OTLP/gRPC (tonic, gzip accepted). It records each request's path, headers and
//! decoded payload before replying, so once an export call returns its request is here.
//! Replies can be scripted: an HTTP status with headers and a body ([`HttpReply`]), a gRPC
//! status or partial success ([`GrpcReply`]). Both also serve over TLS (see `support::pki`),
//! and both take OTLP metrics (`/v1/metrics`, scripted like traces; `MetricsService/Export`,
//! always OK).

use codex_otel::export::decode::spans_from_request;
use codex_otel::span::SpanRecord;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use std::collections::{BTreeMap, VecDeque};
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader,
};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tonic_types::{ErrorDetails, StatusExt as _};

/// The gRPC method path of OTLP trace export.
pub(crate) const GRPC_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// One request as received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// HTTP path (or [`GRPC_PATH`]).
    pub(crate) path: String,
    /// Headers or metadata, names lowercased.
    pub(crate) headers: BTreeMap<String, String>,
    /// Body size on the wire (HTTP) or encoded message size (gRPC), in bytes.
    pub(crate) body_len: usize,
    /// The decoded payload.
    pub(crate) request: ExportTraceServiceRequest,
}

impl Received {
    /// The value of header `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The request's spans as records.
    pub(crate) fn spans(&self) -> Vec<SpanRecord> {
        spans_from_request(&self.request).expect("received spans decode")
    }
}

/// What a receiver recorded: trace requests and metrics requests, in arrival order.
#[derive(Debug, Default)]
struct Logs {
    traces: Mutex<Vec<Received>>,
    metrics: Mutex<Vec<ExportMetricsServiceRequest>>,
}

type Log = Arc<Logs>;

/// What the HTTP receiver answers to every decodable request.
#[derive(Debug, Clone)]
pub(crate) struct HttpReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpReply {
    /// An empty answer with `status`.
    pub(crate) fn status(status: u16) -> Self {
        HttpReply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body and its content type.
    pub(crate) fn body(self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut reply = self.header("content-type", content_type);
        reply.body = body.into();
        reply
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} Scripted\r\n", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", self.body.len()));
        [head.into_bytes(), self.body.clone()].concat()
    }
}

/// What the gRPC receiver answers to every request.
#[derive(Debug, Clone)]
pub(crate) enum GrpcReply {
    /// OK with this response (e.g. a partial success).
    Ok(ExportTraceServiceResponse),
    /// This status code and message, with a `RetryInfo` detail when a delay is given.
    Status(tonic::Code, String, Option<Duration>),
}

impl GrpcReply {
    fn answer(&self) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match self {
            GrpcReply::Ok(response) => Ok(tonic::Response::new(response.clone())),
            GrpcReply::Status(code, message, None) => Err(tonic::Status::new(*code, message)),
            GrpcReply::Status(code, message, Some(delay)) => {
                Err(tonic::Status::with_error_details(
                    *code,
                    message,
                    ErrorDetails::with_retry_info(Some(*delay)),
                ))
            }
        }
    }
}

/// A running fake receiver; stops when dropped.
#[derive(Debug)]
pub(crate) struct FakeOtlp {
    addr: SocketAddr,
    scheme: &'static str,
    log: Log,
    task: JoinHandle<()>,
}

impl Drop for FakeOtlp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeOtlp {
    /// An OTLP/HTTP receiver answering 200 to everything it can decode.
    pub(crate) async fn http() -> Self {
        Self::http_scripted(HttpReply::status(200)).await
    }

    /// An OTLP/HTTP receiver answering `reply` to every decodable request (after recording it).
    pub(crate) async fn http_scripted(reply: HttpReply) -> Self {
        Self::http_replies(vec![reply]).await
    }

    /// An OTLP/HTTP receiver answering decodable requests with `replies` in order, the last
    /// one to every request after that.
    pub(crate) async fn http_replies(replies: Vec<HttpReply>) -> Self {
        Self::serve_http(replies, None).await
    }

    /// An OTLP/HTTPS receiver answering 200, with the TLS configuration `tls`.
    pub(crate) async fn https(tls: Arc<rustls::ServerConfig>) -> Self {
        Self::serve_http(vec![HttpReply::status(200)], Some(TlsAcceptor::from(tls))).await
    }

    async fn serve_http(replies: Vec<HttpReply>, tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Log::default();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let task = tokio::spawn(serve_http(listener, Arc::clone(&log), replies, tls));
        FakeOtlp {
            addr,
            scheme,
            log,
            task,
        }
    }

    /// An OTLP/gRPC receiver answering OK.
    pub(crate) async fn grpc() -> Self {
        Self::grpc_scripted(GrpcReply::Ok(ExportTraceServiceResponse::default()), None).await
    }

    /// An OTLP/gRPC receiver answering `reply` (after recording the request), refusing
    /// messages over `max_message_bytes` when given.
    pub(crate) async fn grpc_scripted(reply: GrpcReply, max_message_bytes: Option<usize>) -> Self {
        Self::serve_grpc(reply, max_message_bytes, None).await
    }

    /// An OTLP/gRPC receiver over TLS answering OK.
    pub(crate) async fn grpcs(tls: tonic::transport::ServerTlsConfig) -> Self {
        let ok = GrpcReply::Ok(ExportTraceServiceResponse::default());
        Self::serve_grpc(ok, None, Some(tls)).await
    }

    async fn serve_grpc(
        reply: GrpcReply,
        max_message_bytes: Option<usize>,
        tls: Option<tonic::transport::ServerTlsConfig>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Log::default();
        let gzip = tonic::codec::CompressionEncoding::Gzip;
        let mut service =
            TraceServiceServer::new(GrpcService(Arc::clone(&log), reply)).accept_compressed(gzip);
        if let Some(limit) = max_message_bytes {
            service = service.max_decoding_message_size(limit);
        }
        let metrics =
            MetricsServiceServer::new(GrpcMetrics(Arc::clone(&log))).accept_compressed(gzip);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            server = server.tls_config(tls).expect("server tls");
        }
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let task = tokio::spawn(async move {
            // A client that fails the TLS handshake ends its connection, not the server.
            let _ = server
                .add_service(service)
                .add_service(metrics)
                .serve_with_incoming(incoming)
                .await;
        });
        FakeOtlp {
            addr,
            scheme,
            log,
            task,
        }
    }

    /// `http(s)://127.0.0.1:<port><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// `127.0.0.1:<port>`.
    pub(crate) fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Every trace request so far, in arrival order.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.log.traces.lock().expect("log").clone()
    }

    /// Every metrics request so far, in arrival order.
    pub(crate) fn metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.log.metrics.lock().expect("log").clone()
    }

    /// Every span so far, in arrival order.
    pub(crate) fn spans(&self) -> Vec<SpanRecord> {
        self.received().iter().flat_map(Received::spans).collect()
    }
}

type Replies = Arc<Mutex<VecDeque<HttpReply>>>;

async fn serve_http(listener: TcpListener, log: Log, replies: Replies, tls: Option<TlsAcceptor>) {
    let mut connections = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let (log, replies, tls) = (Arc::clone(&log), Arc::clone(&replies), tls.clone());
        connections.spawn(async move {
            match tls {
                None => serve_connection(stream, log, replies).await,
                // A failed handshake (unknown CA, missing client certificate) drops the client.
                Some(tls) => {
                    if let Ok(stream) = tls.accept(stream).await {
                        serve_connection(stream, log, replies).await;
                    }
                }
            }
        });
    }
}

/// Serves HTTP/1.1 requests with a `Content-Length` body on one kept-alive connection.
async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    log: Log,
    replies: Replies,
) {
    let mut stream = BufReader::new(stream);
    while let Some((path, headers, body)) = read_request(&mut stream).await {
        let response = if path.ends_with("/v1/metrics") {
            match decode::<ExportMetricsServiceRequest>(&headers, &body) {
                Some(request) => {
                    log.metrics.lock().expect("log").push(request);
                    next_reply(&replies).to_bytes()
                }
                None => HttpReply::status(400).to_bytes(),
            }
        } else {
            match decode::<ExportTraceServiceRequest>(&headers, &body) {
                Some(request) => {
                    log.traces.lock().expect("log").push(Received {
                        path,
                        headers,
                        body_len: body.len(),
                        request,
                    });
                    next_reply(&replies).to_bytes()
                }
                None => HttpReply::status(400).to_bytes(),
            }
        };
        if stream.get_mut().write_all(&response).await.is_err() {
            return;
        }
    }
}

/// The next scripted reply; the last one stays.
fn next_reply(replies: &Replies) -> HttpReply {
    let mut replies = replies.lock().expect("replies");
    match replies.len() {
        0 => HttpReply::status(200),
        1 => replies[0].clone(),
        _ => replies
            .pop_front()
            .unwrap_or_else(|| HttpReply::status(200)),
    }
}

type HttpRequest = (String, BTreeMap<String, String>, Vec<u8>);

async fn read_request<S: AsyncRead + Unpin>(stream: &mut BufReader<S>) -> Option<HttpRequest> {
    let mut line = String::new();
    stream.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        line.clear();
        stream.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
        let Some((name, value)) = line.trim_end().split_once(':') else {
            break;
        };
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let len = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await.ok()?;
    Some((path, headers, body))
}

fn decode<M: prost::Message + Default + serde::de::DeserializeOwned>(
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> Option<M> {
    let body = match headers.get("content-encoding").map(String::as_str) {
        Some("gzip") => {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut plain)
                .ok()?;
            plain
        }
        None => body.to_vec(),
        Some(_) => return None,
    };
    match headers.get("content-type").map(String::as_str) {
        Some("application/json") => serde_json::from_slice(&body).ok(),
        Some("application/x-protobuf") => M::decode(body.as_slice()).ok(),
        _ => None,
    }
}

struct GrpcService(Log, GrpcReply);

#[tonic::async_trait]
impl TraceService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers = request
            .metadata()
            .clone()
            .into_headers()
            .iter()
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect();
        let request = request.into_inner();
        self.0.traces.lock().expect("log").push(Received {
            path: GRPC_PATH.to_owned(),
            headers,
            body_len: request.encoded_len(),
            request,
        });
        self.1.answer()
    }
}

struct GrpcMetrics(Log);

#[tonic::async_trait]
impl MetricsService for GrpcMetrics {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0
            .metrics
            .lock()
            .expect("log")
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}
