//! OTLP trace requests → [`SpanRecord`]s: the inverse of [`super::convert`], used to read the
//! local store back and by receivers in tests.
//!
//! What [`super::convert`] produces comes back unchanged. Anything else OTLP can express is
//! mapped to the closest record: SERVER/PRODUCER/CONSUMER kinds become
//! [`SpanKind::Internal`], an OK status becomes [`SpanStatus::Unset`], and attribute values
//! that are neither scalars nor arrays of strings become their OTLP/JSON text. Links and
//! resources are not part of a record and are dropped.

use crate::span::{AttrValue, SpanEvent, SpanId, SpanKind, SpanRecord, SpanStatus, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, status, Span};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a span in a request cannot become a record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A trace id is not 16 bytes.
    #[error("span {span:?}: trace id has {len} bytes, expected 16")]
    TraceIdLength {
        /// The span's name.
        span: String,
        /// The length found.
        len: usize,
    },
    /// A span id or parent span id is not 8 bytes.
    #[error("span {span:?}: span id has {len} bytes, expected 8")]
    SpanIdLength {
        /// The span's name.
        span: String,
        /// The length found.
        len: usize,
    },
}

/// Every span of `request`, in request order.
pub fn spans_from_request(
    request: &ExportTraceServiceRequest,
) -> Result<Vec<SpanRecord>, DecodeError> {
    request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .flat_map(|scope| &scope.spans)
        .map(span_record)
        .collect()
}

/// One OTLP span as a record.
pub fn span_record(span: &Span) -> Result<SpanRecord, DecodeError> {
    let trace_id =
        TraceId(
            span.trace_id
                .as_slice()
                .try_into()
                .map_err(|_| DecodeError::TraceIdLength {
                    span: span.name.clone(),
                    len: span.trace_id.len(),
                })?,
        );
    let parent_span_id = match span.parent_span_id.as_slice() {
        [] => None,
        bytes => Some(span_id(&span.name, bytes)?),
    };
    Ok(SpanRecord {
        trace_id,
        span_id: span_id(&span.name, &span.span_id)?,
        parent_span_id,
        name: span.name.clone(),
        kind: if span.kind == span::SpanKind::Client as i32 {
            SpanKind::Client
        } else {
            SpanKind::Internal
        },
        start: time(span.start_time_unix_nano),
        end: time(span.end_time_unix_nano),
        attributes: attributes(&span.attributes),
        events: span
            .events
            .iter()
            .map(|event| SpanEvent {
                name: event.name.clone(),
                time: time(event.time_unix_nano),
                attributes: attributes(&event.attributes),
            })
            .collect(),
        status: match &span.status {
            Some(s) if s.code == status::StatusCode::Error as i32 => {
                SpanStatus::Error(s.message.clone())
            }
            _ => SpanStatus::Unset,
        },
    })
}

fn span_id(name: &str, bytes: &[u8]) -> Result<SpanId, DecodeError> {
    bytes
        .try_into()
        .map(SpanId)
        .map_err(|_| DecodeError::SpanIdLength {
            span: name.to_owned(),
            len: bytes.len(),
        })
}

fn time(unix_nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nanos)
}

fn attributes(key_values: &[KeyValue]) -> Vec<(String, AttrValue)> {
    key_values
        .iter()
        .map(|kv| (kv.key.clone(), value(kv.value.as_ref())))
        .collect()
}

fn value(any: Option<&AnyValue>) -> AttrValue {
    match any.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::BoolValue(v)) => AttrValue::Bool(*v),
        Some(any_value::Value::IntValue(v)) => AttrValue::Int(*v),
        Some(any_value::Value::DoubleValue(v)) => AttrValue::Float(*v),
        Some(any_value::Value::StringValue(v)) => AttrValue::Str(v.clone()),
        Some(any_value::Value::ArrayValue(array)) => string_list(&array.values)
            .map_or_else(|| AttrValue::Str(json_text(any)), AttrValue::StrList),
        _ => AttrValue::Str(json_text(any)),
    }
}

fn string_list(values: &[AnyValue]) -> Option<Vec<String>> {
    values
        .iter()
        .map(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn json_text(any: Option<&AnyValue>) -> String {
    serde_json::to_string(&any).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::convert::{request, resource, ResourceConfig};

    fn record(parent: Option<SpanId>, status: SpanStatus) -> SpanRecord {
        SpanRecord {
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
            parent_span_id: parent,
            name: "execute_tool exec_command".into(),
            kind: SpanKind::Internal,
            start: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
            end: UNIX_EPOCH + Duration::from_nanos(1_700_000_001_000_000_000),
            attributes: vec![
                ("b".into(), AttrValue::Bool(false)),
                ("i".into(), AttrValue::Int(i64::MAX)),
                ("f".into(), AttrValue::Float(1.25)),
                ("s".into(), AttrValue::Str("{\"a\":1}".into())),
                ("l".into(), AttrValue::StrList(vec!["stop".into()])),
            ],
            events: vec![SpanEvent {
                name: "codex.permission_request".into(),
                time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_500_000_000),
                attributes: vec![("decision".into(), AttrValue::Str("allow".into()))],
            }],
            status,
        }
    }

    #[test]
    fn converted_records_decode_to_themselves() {
        let records = vec![
            record(None, SpanStatus::Unset),
            record(Some(SpanId([3; 8])), SpanStatus::Error("exit 1".into())),
        ];
        let req = request(&records, &resource(&ResourceConfig::default()));
        assert_eq!(spans_from_request(&req).expect("decodes"), records);
    }

    #[test]
    fn a_short_trace_id_is_an_error_not_a_panic() {
        let mut req = request(
            &[record(None, SpanStatus::Unset)],
            &resource(&ResourceConfig::default()),
        );
        req.resource_spans[0].scope_spans[0].spans[0].trace_id = vec![1, 2, 3];
        assert!(matches!(
            spans_from_request(&req),
            Err(DecodeError::TraceIdLength { len: 3, .. })
        ));
    }

    #[test]
    fn structured_values_become_their_json_text() {
        let any = AnyValue {
            value: Some(any_value::Value::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue {
                    values: vec![AnyValue {
                        value: Some(any_value::Value::IntValue(4)),
                    }],
                },
            )),
        };
        let AttrValue::Str(text) = value(Some(&any)) else {
            panic!("expected a string");
        };
        assert!(text.contains("intValue"), "{text}");
    }
}
