//! The OTLP signals a transport carries, traces and metrics ([`Signal`]): for each, its export
//! request and response messages, its gRPC method, and how its response tells that the
//! receiver rejected part of a request.

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

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
