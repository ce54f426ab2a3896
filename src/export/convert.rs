//! [`SpanRecord`] → OpenTelemetry SDK [`SpanData`] and [`ResourceConfig`] → SDK [`Resource`]:
//! the only file that knows the SDK's span and resource types.
//!
//! Conversion is total and lossless for everything a [`SpanRecord`] holds: ids are kept as
//! given (sampled, not remote), times are exact, [`AttrValue::StrList`] becomes an array of
//! strings, and [`SpanStatus::Error`] becomes an error status with its message. Every span
//! carries the instrumentation scope `codex-otel` with the crate version.

use crate::span::{AttrValue, SpanKind, SpanRecord, SpanStatus};
use opentelemetry::trace::{self as otel, SpanContext, TraceFlags, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::resource::{Resource, TelemetryResourceDetector};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The instrumentation scope name on every span we export.
pub const SCOPE_NAME: &str = "codex-otel";

/// The `service.name` used when none is configured.
pub const DEFAULT_SERVICE_NAME: &str = "codex";

/// `service.name`.
pub const SERVICE_NAME: &str = "service.name";

/// `service.version`.
pub const SERVICE_VERSION: &str = "service.version";

/// `host.name`.
pub const HOST_NAME: &str = "host.name";

/// `user.name`: the login of the user running codex-otel.
pub const USER_NAME: &str = "user.name";

/// The resource every span of a destination is sent with (the `config` stage fills it in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceConfig {
    /// `service.name`. Default: [`DEFAULT_SERVICE_NAME`].
    pub service_name: String,
    /// Every other resource attribute. Default: `service.version` = this crate's version.
    pub attributes: BTreeMap<String, String>,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        ResourceConfig {
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            attributes: BTreeMap::from([(
                SERVICE_VERSION.to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            )]),
        }
    }
}

/// The SDK resource for `config`: `telemetry.sdk.*`, the configured attributes and
/// `service.name`. Nothing is read from the process environment.
pub fn resource(config: &ResourceConfig) -> Resource {
    let attributes = config
        .attributes
        .iter()
        .filter(|(key, _)| key.as_str() != SERVICE_NAME)
        .map(|(key, value)| KeyValue::new(key.clone(), value.clone()));
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(attributes)
        .with_service_name(config.service_name.clone())
        .build()
}

/// The instrumentation scope of our spans.
fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Converts one record to the SDK's exportable form.
pub fn span_data(record: &SpanRecord) -> SpanData {
    let context = SpanContext::new(
        otel::TraceId::from_bytes(record.trace_id.0),
        otel::SpanId::from_bytes(record.span_id.0),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let mut events = SpanEvents::default();
    events.events = record
        .events
        .iter()
        .map(|event| {
            otel::Event::new(
                event.name.clone(),
                event.time,
                key_values(&event.attributes),
                0,
            )
        })
        .collect();
    SpanData {
        span_context: context,
        parent_span_id: record
            .parent_span_id
            .map_or(otel::SpanId::INVALID, |id| otel::SpanId::from_bytes(id.0)),
        parent_span_is_remote: false,
        span_kind: match record.kind {
            SpanKind::Internal => otel::SpanKind::Internal,
            SpanKind::Client => otel::SpanKind::Client,
        },
        name: Cow::Owned(record.name.clone()),
        start_time: record.start,
        end_time: record.end,
        attributes: key_values(&record.attributes),
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status: match &record.status {
            SpanStatus::Unset => otel::Status::Unset,
            SpanStatus::Error(message) => otel::Status::error(message.clone()),
        },
        instrumentation_scope: scope(),
    }
}

/// The OTLP request carrying `records` with `resource`, exactly as the OTLP exporters build it.
pub fn request(records: &[SpanRecord], resource: &Resource) -> ExportTraceServiceRequest {
    let spans = records.iter().map(span_data).collect();
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(
            spans,
            &ResourceAttributesWithSchema::from(resource),
        ),
    }
}

fn key_values(attributes: &[(String, AttrValue)]) -> Vec<KeyValue> {
    attributes
        .iter()
        .map(|(key, value)| KeyValue::new(key.clone(), otel_value(value)))
        .collect()
}

fn otel_value(value: &AttrValue) -> Value {
    match value {
        AttrValue::Bool(v) => Value::Bool(*v),
        AttrValue::Int(v) => Value::I64(*v),
        AttrValue::Float(v) => Value::F64(*v),
        AttrValue::Str(v) => Value::String(v.clone().into()),
        AttrValue::StrList(items) => Value::Array(Array::String(
            items.iter().cloned().map(StringValue::from).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{SpanEvent, SpanId, TraceId};
    use std::time::{Duration, UNIX_EPOCH};

    fn record() -> SpanRecord {
        SpanRecord {
            trace_id: TraceId([7; 16]),
            span_id: SpanId([8; 8]),
            parent_span_id: Some(SpanId([9; 8])),
            name: "chat m".into(),
            kind: SpanKind::Client,
            start: UNIX_EPOCH + Duration::from_nanos(1_000),
            end: UNIX_EPOCH + Duration::from_nanos(5_000),
            attributes: vec![
                ("b".into(), AttrValue::Bool(true)),
                ("i".into(), AttrValue::Int(-3)),
                ("f".into(), AttrValue::Float(0.5)),
                ("s".into(), AttrValue::Str("x".into())),
                ("l".into(), AttrValue::StrList(vec!["a".into(), "b".into()])),
            ],
            events: vec![SpanEvent {
                name: "e".into(),
                time: UNIX_EPOCH + Duration::from_nanos(2_000),
                attributes: vec![("k".into(), AttrValue::Int(1))],
            }],
            status: SpanStatus::Error("boom".into()),
        }
    }

    #[test]
    fn a_record_keeps_its_ids_times_and_typed_attributes() {
        let data = span_data(&record());
        assert_eq!(data.span_context.trace_id().to_bytes(), [7; 16]);
        assert_eq!(data.span_context.span_id().to_bytes(), [8; 8]);
        assert!(data.span_context.is_sampled());
        assert_eq!(data.parent_span_id.to_bytes(), [9; 8]);
        assert_eq!(data.span_kind, otel::SpanKind::Client);
        assert_eq!(data.start_time, record().start);
        assert_eq!(data.end_time, record().end);
        let values: Vec<Value> = data.attributes.iter().map(|kv| kv.value.clone()).collect();
        assert_eq!(
            values,
            vec![
                Value::Bool(true),
                Value::I64(-3),
                Value::F64(0.5),
                Value::String("x".into()),
                Value::Array(Array::String(vec!["a".into(), "b".into()])),
            ]
        );
        assert_eq!(data.events.events.len(), 1);
        assert_eq!(data.events.events[0].attributes[0].value, Value::I64(1));
        assert_eq!(data.status, otel::Status::error("boom"));
        assert_eq!(data.instrumentation_scope.name(), SCOPE_NAME);
    }

    #[test]
    fn a_root_has_an_invalid_parent_and_an_unset_status() {
        let mut root = record();
        root.parent_span_id = None;
        root.status = SpanStatus::Unset;
        let data = span_data(&root);
        assert_eq!(data.parent_span_id, otel::SpanId::INVALID);
        assert_eq!(data.status, otel::Status::Unset);
    }

    #[test]
    fn the_resource_has_the_service_name_and_configured_attributes() {
        let mut config = ResourceConfig {
            service_name: "svc".into(),
            ..ResourceConfig::default()
        };
        config
            .attributes
            .insert("deployment.environment".into(), "ci".into());
        let resource = resource(&config);
        let get = |key: &'static str| resource.get(&opentelemetry::Key::from_static_str(key));
        assert_eq!(get("service.name"), Some(Value::from("svc")));
        assert_eq!(get("deployment.environment"), Some(Value::from("ci")));
        assert_eq!(
            get("service.version"),
            Some(Value::from(env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(get("telemetry.sdk.language"), Some(Value::from("rust")));
    }
}
