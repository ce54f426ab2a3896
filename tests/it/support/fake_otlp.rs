//! An in-process OTLP receiver on loopback: OTLP/HTTP (protobuf or JSON bodies, optionally
//! gzip) and OTLP/gRPC (tonic, gzip accepted). It records each request's path, headers and
//! decoded payload before replying, so once an export call returns its request is here.
//! HTTP replies can be scripted with a status code.

use codex_otel::export::decode::spans_from_request;
use codex_otel::span::SpanRecord;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

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

type Log = Arc<Mutex<Vec<Received>>>;

/// A running fake receiver; stops when dropped.
#[derive(Debug)]
pub(crate) struct FakeOtlp {
    addr: SocketAddr,
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
        Self::http_replying(200).await
    }

    /// An OTLP/HTTP receiver answering `status` to every decodable request (after recording it).
    pub(crate) async fn http_replying(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Log::default();
        let task = tokio::spawn(serve_http(listener, Arc::clone(&log), status));
        FakeOtlp { addr, log, task }
    }

    /// An OTLP/gRPC receiver.
    pub(crate) async fn grpc() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Log::default();
        let service = TraceServiceServer::new(GrpcService(Arc::clone(&log)))
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let task = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await
                .expect("grpc server");
        });
        FakeOtlp { addr, log, task }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }

    /// Every span so far, in arrival order.
    pub(crate) fn spans(&self) -> Vec<SpanRecord> {
        self.received().iter().flat_map(Received::spans).collect()
    }
}

async fn serve_http(listener: TcpListener, log: Log, status: u16) {
    let mut connections = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        connections.spawn(serve_connection(stream, Arc::clone(&log), status));
    }
}

/// Serves HTTP/1.1 requests with a `Content-Length` body on one kept-alive connection.
async fn serve_connection(stream: TcpStream, log: Log, status: u16) {
    let mut stream = BufReader::new(stream);
    while let Some((path, headers, body)) = read_request(&mut stream).await {
        let reply = match decode(&headers, &body) {
            Some(request) => {
                log.lock().expect("log").push(Received {
                    path,
                    headers,
                    body_len: body.len(),
                    request,
                });
                status
            }
            None => 400,
        };
        let response = format!("HTTP/1.1 {reply} Scripted\r\ncontent-length: 0\r\n\r\n");
        if stream
            .get_mut()
            .write_all(response.as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

type HttpRequest = (String, BTreeMap<String, String>, Vec<u8>);

async fn read_request(stream: &mut BufReader<TcpStream>) -> Option<HttpRequest> {
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

fn decode(headers: &BTreeMap<String, String>, body: &[u8]) -> Option<ExportTraceServiceRequest> {
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
        Some("application/x-protobuf") => ExportTraceServiceRequest::decode(body.as_slice()).ok(),
        _ => None,
    }
}

struct GrpcService(Log);

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
        self.0.lock().expect("log").push(Received {
            path: GRPC_PATH.to_owned(),
            headers,
            body_len: request.encoded_len(),
            request,
        });
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}
