//! One OTLP destination's transport, whatever its protocol and whichever signal it carries:
//! encodes a request exactly as it goes on the wire, sends it, and reads the answer.
//!
//! Contract:
//! - [`Transport::encoded_len`] is the size of the body [`Transport::send`] would send
//!   (before compression), so requests can be planned under a size limit.
//! - An answer with an OTLP partial success that rejected items is an
//!   [`OtlpError::PartialSuccess`]; one that only carries a warning (nothing rejected) is a
//!   success. An empty or undecodable success body is a full success. (The OpenTelemetry SDK's
//!   exporters only log partial successes, one reason this crate drives the transport itself.)

use super::grpc::GrpcTransport;
use super::http::{shorten, HttpTransport};
use super::otlp::{Headers, OtlpConfig, OtlpError, Protocol};
use super::tls;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;

/// An OTLP signal: its request and response messages and its gRPC method.
pub(crate) trait Signal {
    /// The export request.
    type Request: prost::Message + serde::Serialize + Send + Sync + 'static;
    /// The export response.
    type Response: prost::Message + Default + Send + Sync + 'static;
    /// The gRPC method path of `Export`.
    const GRPC_PATH: &'static str;
    /// How many items the receiver rejected, and why, when it rejected any.
    fn rejected(response: &Self::Response) -> Option<(i64, String)>;
}

/// Traces.
#[derive(Debug)]
pub(crate) struct Traces;

impl Signal for Traces {
    type Request = ExportTraceServiceRequest;
    type Response = ExportTraceServiceResponse;
    const GRPC_PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    fn rejected(response: &Self::Response) -> Option<(i64, String)> {
        let partial = response.partial_success.as_ref()?;
        (partial.rejected_spans > 0)
            .then(|| (partial.rejected_spans, partial.error_message.clone()))
    }
}

/// Metrics.
#[derive(Debug)]
pub(crate) struct Metrics;

impl Signal for Metrics {
    type Request = ExportMetricsServiceRequest;
    type Response = ExportMetricsServiceResponse;
    const GRPC_PATH: &'static str =
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

    fn rejected(response: &Self::Response) -> Option<(i64, String)> {
        let partial = response.partial_success.as_ref()?;
        (partial.rejected_data_points > 0)
            .then(|| (partial.rejected_data_points, partial.error_message.clone()))
    }
}

/// A built transport.
#[derive(Debug)]
pub(crate) struct Transport {
    inner: Inner,
    protocol: Protocol,
    /// The configured headers, whose values are redacted from receivers' messages.
    headers: Headers,
}

#[derive(Debug)]
enum Inner {
    Http(HttpTransport),
    Grpc(GrpcTransport),
}

impl Transport {
    /// The transport for `config`, its TLS files read. Must run inside a Tokio runtime.
    pub(crate) fn build(config: &OtlpConfig) -> Result<Self, OtlpError> {
        let tls = tls::load(&config.connection.tls)?;
        let inner = match config.protocol {
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                Inner::Http(HttpTransport::build(config, tls)?)
            }
            Protocol::Grpc => Inner::Grpc(GrpcTransport::build(config, tls)?),
        };
        Ok(Transport {
            inner,
            protocol: config.protocol,
            headers: config.headers.clone(),
        })
    }

    /// The uncompressed body size of `request`.
    pub(crate) fn encoded_len<S: Signal>(&self, request: &S::Request) -> usize {
        match self.protocol {
            Protocol::HttpJson => serde_json::to_vec(request).map_or(usize::MAX, |v| v.len()),
            Protocol::HttpProtobuf | Protocol::Grpc => request.encoded_len(),
        }
    }

    /// Sends `request`: one attempt.
    pub(crate) async fn send<S: Signal>(&self, request: S::Request) -> Result<(), OtlpError> {
        let rejected = match &self.inner {
            Inner::Grpc(grpc) => S::rejected(&grpc.call::<S>(request, &self.headers).await?),
            Inner::Http(http) if self.protocol == Protocol::HttpJson => {
                let body = serde_json::to_vec(&request).map_err(|e| OtlpError::Encode(e.into()))?;
                let answer = http.post(body, "application/json", &self.headers).await?;
                json_rejected(&answer)
            }
            Inner::Http(http) => {
                let body = request.encode_to_vec();
                let answer = http
                    .post(body, "application/x-protobuf", &self.headers)
                    .await?;
                S::Response::decode(answer.as_slice())
                    .ok()
                    .and_then(|response| S::rejected(&response))
            }
        };
        match rejected {
            Some((rejected, message)) => Err(OtlpError::PartialSuccess {
                rejected,
                message: shorten(&self.headers.redact(&message)),
            }),
            None => Ok(()),
        }
    }
}

/// The rejected count and message of an OTLP/JSON answer of any signal, when it rejected
/// anything. Tolerant: the count may be a number or (as protobuf's JSON mapping writes 64-bit
/// integers) a string, and field names may be camelCase or snake_case.
fn json_rejected(body: &[u8]) -> Option<(i64, String)> {
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    let partial = answer
        .get("partialSuccess")
        .or_else(|| answer.get("partial_success"))?
        .as_object()?;
    let rejected = partial
        .iter()
        .find(|(key, _)| key.starts_with("rejected"))
        .and_then(|(_, count)| {
            count
                .as_i64()
                .or_else(|| count.as_str().and_then(|text| text.parse().ok()))
        })
        .filter(|count| *count > 0)?;
    let message = partial
        .get("errorMessage")
        .or_else(|| partial.get("error_message"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    Some((rejected, message.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

    fn response(rejected: i64, message: &str) -> ExportTraceServiceResponse {
        ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message.into(),
            }),
        }
    }

    #[test]
    fn only_rejected_spans_make_a_partial_success() {
        assert_eq!(
            Traces::rejected(&response(2, "bad ids")),
            Some((2, "bad ids".into()))
        );
        assert_eq!(Traces::rejected(&response(0, "just a warning")), None);
        assert_eq!(
            Traces::rejected(&ExportTraceServiceResponse::default()),
            None
        );
    }

    #[test]
    fn json_answers_of_any_signal_report_rejections_with_numbers_or_strings() {
        let go = br#"{"partialSuccess":{"rejectedSpans":"4","errorMessage":"y"}}"#;
        assert_eq!(json_rejected(go), Some((4, "y".into())));
        let metrics = br#"{"partial_success":{"rejected_data_points":2}}"#;
        assert_eq!(json_rejected(metrics), Some((2, String::new())));
        let warning = br#"{"partialSuccess":{"rejectedSpans":0,"errorMessage":"w"}}"#;
        assert_eq!(json_rejected(warning), None);
        assert_eq!(json_rejected(b"{}"), None);
        assert_eq!(json_rejected(b""), None);
    }
}
