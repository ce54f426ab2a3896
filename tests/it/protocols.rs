//! The export stage against an in-process OTLP receiver: every protocol delivers a batch
//! intact (ids, parents, times, typed attributes, events, status), gzip and headers arrive as
//! configured, Braintrust gets its path and routing, batches are split under the size limit,
//! and a destination that is down never stops another.

use crate::support::fake_otlp::{FakeOtlp, HttpReply, GRPC_PATH};
use crate::support::fixtures;
use codex_otel::config::destinations_from_env_and_file;
use codex_otel::export::file::{read_session, trace_file};
use codex_otel::export::{
    build_destinations, BraintrustConfig, BraintrustProject, Compression, Connection, Destination,
    DestinationConfig, DestinationKind, ExportError, Fanout, OtlpConfig, OtlpError, Protocol,
    ResourceConfig, StoreConfig,
};
use codex_otel::paths::StateDir;
use codex_otel::session::SessionConfig;
use codex_otel::span::{AttrValue, SpanEvent, SpanId, SpanKind, SpanRecord, SpanStatus, TraceId};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A time in late 2025, `nanos` after a whole second.
fn at(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(1_764_000_000_000_000_000 + nanos)
}

/// A span of the sample trace: span id `[id; 8]`, times in nanoseconds.
fn span(id: u8, parent: Option<u8>, name: &str, kind: SpanKind, times: (u64, u64)) -> SpanRecord {
    SpanRecord {
        trace_id: TraceId(*b"\x01\xa2\x0d\x7a\xb8\x19\x74\x51\xbc\x39\x67\x64\xd4\x8b\x49\xb7"),
        span_id: SpanId([id; 8]),
        parent_span_id: parent.map(|p| SpanId([p; 8])),
        name: name.into(),
        kind,
        start: at(times.0),
        end: at(times.1),
        attributes: vec![("gen_ai.operation.name".into(), AttrValue::Str(name.into()))],
        events: Vec::new(),
        status: SpanStatus::Unset,
    }
}

/// A root, a model call with every attribute type, and a failed tool call with an event.
fn sample() -> Vec<SpanRecord> {
    let root = span(
        1,
        None,
        "invoke_agent codex",
        SpanKind::Internal,
        (0, 9_000_000_123),
    );
    let mut chat = span(
        2,
        Some(1),
        "chat gpt-5",
        SpanKind::Client,
        (1_000, 2_000_000_001),
    );
    let attr = |key: &str, value| (key.to_owned(), value);
    chat.attributes.extend([
        attr("gen_ai.usage.input_tokens", AttrValue::Int(12_345)),
        attr("gen_ai.request.stream", AttrValue::Bool(true)),
        attr(
            "gen_ai.response.time_to_first_chunk",
            AttrValue::Float(0.25),
        ),
        attr(
            "gen_ai.response.finish_reasons",
            AttrValue::StrList(vec!["stop".into(), "tool_call".into()]),
        ),
        attr(
            "gen_ai.output.messages",
            AttrValue::Str("[{\"role\":\"assistant\"}]".into()),
        ),
    ]);
    let mut tool = span(
        3,
        Some(1),
        "execute_tool exec_command",
        SpanKind::Internal,
        (3_000, 4_000),
    );
    tool.events.push(SpanEvent {
        name: "codex.permission_request".into(),
        time: at(3_500),
        attributes: vec![attr(
            "codex.permission.decision",
            AttrValue::Str("allow".into()),
        )],
    });
    tool.status = SpanStatus::Error("exit status 2".into());
    vec![root, chat, tool]
}

fn otlp_destination(name: &str, config: OtlpConfig) -> DestinationConfig {
    DestinationConfig {
        name: name.into(),
        kind: DestinationKind::Otlp(config),
        resource: ResourceConfig::default(),
    }
}

async fn send(config: DestinationConfig, spans: &[SpanRecord]) -> Result<(), ExportError> {
    let mut destination = Destination::build(&config)?;
    let result = destination.export(spans).await;
    destination.shutdown().await;
    result
}

async fn roundtrip(receiver: &FakeOtlp, config: OtlpConfig) {
    send(otlp_destination("test", config), &sample())
        .await
        .expect("export succeeds");
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.spans(), sample());
}

#[tokio::test]
async fn http_protobuf_delivers_a_batch_intact() {
    let receiver = FakeOtlp::http().await;
    let endpoint = receiver.url("/v1/traces");
    roundtrip(&receiver, OtlpConfig::new(endpoint, Protocol::HttpProtobuf)).await;
    let request = &receiver.received()[0];
    assert_eq!(request.path, "/v1/traces");
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf")
    );
    let resource = request.request.resource_spans[0]
        .resource
        .as_ref()
        .expect("resource");
    let service = resource
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.as_ref()?.value.clone());
    assert_eq!(service, Some(Value::StringValue("codex".into())));
    let scope = request.request.resource_spans[0].scope_spans[0]
        .scope
        .as_ref()
        .expect("scope");
    assert_eq!(scope.name, "codex-otel");
    assert_eq!(scope.version, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn http_json_delivers_a_batch_intact() {
    let receiver = FakeOtlp::http().await;
    let endpoint = receiver.url("/custom/traces");
    roundtrip(&receiver, OtlpConfig::new(endpoint, Protocol::HttpJson)).await;
    let request = &receiver.received()[0];
    assert_eq!(request.path, "/custom/traces");
    assert_eq!(request.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn grpc_delivers_a_batch_intact() {
    let receiver = FakeOtlp::grpc().await;
    roundtrip(&receiver, OtlpConfig::new(receiver.url(""), Protocol::Grpc)).await;
    assert_eq!(receiver.received()[0].path, GRPC_PATH);
}

#[tokio::test]
async fn gzip_and_custom_headers_arrive_over_http() {
    let receiver = FakeOtlp::http().await;
    let mut config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpProtobuf);
    config.compression = Compression::Gzip;
    config.headers.insert("Authorization", "Bearer abc");
    config.headers.insert("x-team", "obs");
    roundtrip(&receiver, config).await;
    let request = &receiver.received()[0];
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert_eq!(request.header("authorization"), Some("Bearer abc"));
    assert_eq!(request.header("x-team"), Some("obs"));
    let agent = request.header("user-agent").expect("user agent");
    assert!(agent.starts_with("codex-otel/"), "{agent}");
}

#[tokio::test]
async fn gzip_and_metadata_arrive_over_grpc() {
    let receiver = FakeOtlp::grpc().await;
    let mut config = OtlpConfig::new(receiver.url(""), Protocol::Grpc);
    config.compression = Compression::Gzip;
    config.headers.insert("authorization", "Bearer grpc");
    roundtrip(&receiver, config).await;
    let request = &receiver.received()[0];
    assert_eq!(request.header("authorization"), Some("Bearer grpc"));
    assert_eq!(request.header("grpc-encoding"), Some("gzip"));
}

#[tokio::test]
async fn braintrust_gets_its_path_bearer_key_and_project_routing() {
    let receiver = FakeOtlp::http().await;
    let config = DestinationConfig {
        name: "braintrust".into(),
        kind: DestinationKind::Braintrust(BraintrustConfig {
            api_key: "sk-test".into(),
            project: BraintrustProject::Name("codex traces".into()),
            api_url: receiver.url(""),
            connection: Connection::default(),
        }),
        resource: ResourceConfig::default(),
    };
    send(config, &sample()).await.expect("export succeeds");
    let request = &receiver.received()[0];
    assert_eq!(request.path, "/otel/v1/traces");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(
        request.header("x-bt-parent"),
        Some("project_name:codex traces")
    );
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert_eq!(receiver.spans(), sample());
}

#[tokio::test]
async fn the_configured_environment_reaches_the_receiver() {
    let receiver = FakeOtlp::http().await;
    let base = receiver.url("/base");
    let vars = |key: &str| match key {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(base.clone()),
        "OTEL_EXPORTER_OTLP_HEADERS" => Some("x-api-key=a%20b".to_owned()),
        "OTEL_SERVICE_NAME" => Some("svc".to_owned()),
        _ => None,
    };
    let configs = destinations_from_env_and_file(vars, None, &StateDir::new("/unused"))
        .expect("valid config");
    let mut fanout = Fanout::new(build_destinations(&configs).await.expect("builds"));
    let results = fanout.export(&sample()).await;
    assert!(results.iter().all(|r| r.result.is_ok()), "{results:?}");
    let request = &receiver.received()[0];
    assert_eq!(request.path, "/base/v1/traces");
    assert_eq!(request.header("x-api-key"), Some("a b"));
}

#[tokio::test]
async fn fan_out_delivers_to_a_live_destination_when_another_is_down() {
    let receiver = FakeOtlp::http().await;
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("addr")
    };
    let mut down = OtlpConfig::new(format!("http://{closed}/v1/traces"), Protocol::HttpProtobuf);
    down.timeout = Duration::from_secs(2);
    let configs = [
        otlp_destination("down", down),
        otlp_destination(
            "up",
            OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpJson),
        ),
    ];
    let mut fanout = Fanout::new(build_destinations(&configs).await.expect("builds"));
    let results = fanout.export(&sample()).await;
    assert_eq!(results[0].destination, "down");
    assert!(
        matches!(
            &results[0].result,
            Err(ExportError::Otlp {
                source: OtlpError::Unreachable(_),
                ..
            })
        ),
        "{results:?}"
    );
    assert_eq!(results[1].destination, "up");
    assert!(results[1].result.is_ok(), "{results:?}");
    assert_eq!(receiver.spans(), sample());
}

#[tokio::test]
async fn a_rejecting_receiver_is_an_export_error() {
    let receiver = FakeOtlp::http_scripted(HttpReply::status(500)).await;
    let config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpProtobuf);
    let result = send(otlp_destination("rejecting", config), &sample()).await;
    assert!(
        matches!(
            result,
            Err(ExportError::Otlp {
                source: OtlpError::HttpStatus { status: 500, .. },
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(receiver.received().len(), 1, "one attempt, no retries");
}

#[tokio::test]
async fn a_large_batch_is_split_into_requests_under_the_limit_in_order() {
    let receiver = FakeOtlp::http().await;
    let spans = fixtures::replay_with("subagent", &SessionConfig::default());
    let mut config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpJson);
    config.max_request_bytes = 64 * 1024;
    send(otlp_destination("small", config), &spans)
        .await
        .expect("export succeeds");
    let received = receiver.received();
    assert!(received.len() > 1, "{} request(s)", received.len());
    assert!(received.iter().all(|r| r.body_len <= 64 * 1024));
    assert_eq!(receiver.spans(), spans);
}

#[tokio::test]
async fn a_span_too_large_to_send_is_reported_and_the_rest_still_arrive() {
    let receiver = FakeOtlp::grpc().await;
    let mut spans = sample();
    spans[1]
        .attributes
        .push(("big".into(), AttrValue::Str("x".repeat(64 * 1024))));
    let mut config = OtlpConfig::new(receiver.url(""), Protocol::Grpc);
    config.max_request_bytes = 32 * 1024;
    let result = send(otlp_destination("grpc", config), &spans).await;
    assert!(
        matches!(
            result,
            Err(ExportError::Otlp { source: OtlpError::SpanTooLarge { span_id, .. }, .. })
                if span_id == spans[1].span_id
        ),
        "{result:?}"
    );
    assert_eq!(receiver.spans(), vec![spans[0].clone(), spans[2].clone()]);
}

#[tokio::test]
async fn the_local_store_destination_reads_back_what_it_was_sent() {
    let state = tempfile::tempdir().expect("tempdir");
    let dir = state.path().join("spans");
    let config = DestinationConfig {
        name: "local".into(),
        kind: DestinationKind::Store(StoreConfig { dir: dir.clone() }),
        resource: ResourceConfig::default(),
    };
    let spans = fixtures::replay_with("shell", &SessionConfig::default());
    send(config.clone(), &spans).await.expect("first export");
    send(config, &spans).await.expect("re-export");
    let stored = read_session(&trace_file(&dir, spans[0].trace_id)).expect("reads");
    assert_eq!(stored.spans, spans);
    assert_eq!(stored.malformed_lines, 0);
}

#[tokio::test]
async fn show_draws_a_session_exported_to_the_local_store() {
    let home = crate::support::bin::Home::new();
    let spans = fixtures::replay_with("shell", &SessionConfig::default());
    let config = DestinationConfig {
        name: "local".into(),
        kind: DestinationKind::Store(StoreConfig {
            dir: home.state().store_dir(),
        }),
        resource: ResourceConfig::default(),
    };
    send(config, &spans).await.expect("export succeeds");
    let session = "01a20d7a-b819-7451-bc39-6764d48b49b7";
    for args in [
        vec!["show", "01a20d7a"],
        vec!["show", "--last"],
        vec!["show", session],
    ] {
        let output = home.command(&args).output().expect("runs");
        assert!(output.status.success(), "{args:?}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut lines = stdout.lines();
        assert_eq!(
            lines.next(),
            Some(format!("session {session} · {} spans", spans.len()).as_str())
        );
        assert!(
            lines
                .next()
                .is_some_and(|root| root.starts_with("invoke_agent")),
            "{stdout}"
        );
        let drawn = lines.filter(|line| !line.starts_with("total ")).count();
        assert_eq!(drawn, spans.len() - 1, "{stdout}");
    }
    let output = home.command(&["show", "ffff"]).output().expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no stored session"));
}
