//! Export failures against scripted receivers: every HTTP status and gRPC code lands in its
//! failure class ([`RetryAdvice`]) with the receiver's delay and message, partial successes
//! are reported and not retried, and unreachable or silent receivers are worth retrying.

use crate::support::fake_otlp::{FakeOtlp, GrpcReply, HttpReply};
use crate::support::fixtures;
use codex_otel::export::{
    Destination, DestinationConfig, DestinationKind, ExportError, OtlpConfig, OtlpError, Protocol,
    ResourceConfig, RetryAdvice,
};
use codex_otel::session::SessionConfig;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message as _;
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;

const RETRY: RetryAdvice = RetryAdvice::Retry { after: None };

/// Exports the recorded `shell` session to `config`, one attempt.
async fn export_to(config: OtlpConfig) -> Result<(), ExportError> {
    let config = DestinationConfig {
        name: "scripted".into(),
        kind: DestinationKind::Otlp(config),
        resource: ResourceConfig::default(),
    };
    let mut destination = Destination::build(&config)?;
    destination
        .export(&fixtures::replay_with("shell", &SessionConfig::default()))
        .await
}

/// The OTLP error of a failed export.
fn otlp_error(result: Result<(), ExportError>) -> OtlpError {
    match result {
        Err(ExportError::Otlp { source, .. }) => source,
        other => panic!("expected an OTLP error, got {other:?}"),
    }
}

fn partial(rejected: i64, message: &str) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message: message.into(),
        }),
    }
}

#[tokio::test]
async fn each_http_status_lands_in_its_failure_class_after_one_attempt() {
    let cases = [
        (400, RetryAdvice::Permanent),
        (401, RetryAdvice::Permanent),
        (403, RetryAdvice::Permanent),
        (404, RetryAdvice::Permanent),
        (408, RETRY),
        (413, RetryAdvice::Split),
        (422, RetryAdvice::Permanent),
        (500, RETRY),
        (502, RETRY),
        (504, RETRY),
    ];
    for (status, expected) in cases {
        let receiver = FakeOtlp::http_scripted(HttpReply::status(status)).await;
        let config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpProtobuf);
        let error = export_to(config).await.expect_err("scripted failure");
        assert_eq!(error.retry_advice(), expected, "{status}: {error:?}");
        assert_eq!(receiver.received().len(), 1, "{status}: one attempt");
    }
}

#[tokio::test]
async fn retry_after_in_seconds_or_as_an_http_date_is_the_retry_delay() {
    let receiver = FakeOtlp::http_scripted(HttpReply::status(429).header("Retry-After", "7")).await;
    let config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpJson);
    let error = export_to(config).await.expect_err("throttled");
    assert_eq!(
        error.retry_advice(),
        RetryAdvice::Retry {
            after: Some(Duration::from_secs(7))
        }
    );
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    let receiver =
        FakeOtlp::http_scripted(HttpReply::status(503).header("retry-after", &date)).await;
    let config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpProtobuf);
    let error = export_to(config).await.expect_err("unavailable");
    let RetryAdvice::Retry { after: Some(after) } = error.retry_advice() else {
        panic!("{error:?}");
    };
    assert!(
        (Duration::from_secs(100)..=Duration::from_secs(120)).contains(&after),
        "{after:?}"
    );
}

#[tokio::test]
async fn the_receivers_message_is_kept_without_the_configured_secrets() {
    let body = r#"{"error":{"message":"token sk-live-abcdef123 is revoked"}}"#;
    let receiver =
        FakeOtlp::http_scripted(HttpReply::status(401).body("application/json", body)).await;
    let mut config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpProtobuf);
    config
        .headers
        .insert("authorization", "Bearer sk-live-abcdef123");
    let error = otlp_error(export_to(config).await);
    assert_eq!(
        error.to_string(),
        "the receiver answered HTTP 401: token <redacted> is revoked"
    );
}

#[tokio::test]
async fn a_partial_success_is_reported_and_not_retried_over_every_protocol() {
    let protobuf = HttpReply::status(200).body(
        "application/x-protobuf",
        partial(2, "duplicate span").encode_to_vec(),
    );
    let json = HttpReply::status(200).body(
        "application/json",
        r#"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"duplicate span"}}"#,
    );
    let receivers = [
        (
            FakeOtlp::http_scripted(protobuf).await,
            Protocol::HttpProtobuf,
        ),
        (FakeOtlp::http_scripted(json).await, Protocol::HttpJson),
        (
            FakeOtlp::grpc_scripted(GrpcReply::Ok(partial(2, "duplicate span")), None).await,
            Protocol::Grpc,
        ),
    ];
    for (receiver, protocol) in receivers {
        let path = if protocol == Protocol::Grpc {
            ""
        } else {
            "/v1/traces"
        };
        let error = otlp_error(export_to(OtlpConfig::new(receiver.url(path), protocol)).await);
        assert!(
            matches!(&error, OtlpError::PartialSuccess { rejected: 2, message } if message == "duplicate span"),
            "{protocol:?}: {error:?}"
        );
        assert_eq!(error.retry_advice(), RetryAdvice::Permanent);
    }
    let warning = FakeOtlp::grpc_scripted(GrpcReply::Ok(partial(0, "slow down")), None).await;
    export_to(OtlpConfig::new(warning.url(""), Protocol::Grpc))
        .await
        .expect("a warning without rejected spans is a success");
}

#[tokio::test]
async fn each_grpc_code_lands_in_its_failure_class_with_its_retry_info() {
    let three = Some(Duration::from_secs(3));
    let cases = [
        (tonic::Code::Unavailable, None, RETRY),
        (
            tonic::Code::ResourceExhausted,
            three,
            RetryAdvice::Retry { after: three },
        ),
        (tonic::Code::DeadlineExceeded, None, RETRY),
        (tonic::Code::InvalidArgument, None, RetryAdvice::Permanent),
        (tonic::Code::Unauthenticated, None, RetryAdvice::Permanent),
        (tonic::Code::PermissionDenied, None, RetryAdvice::Permanent),
    ];
    for (code, delay, expected) in cases {
        let reply = GrpcReply::Status(code, "scripted".into(), delay);
        let receiver = FakeOtlp::grpc_scripted(reply, None).await;
        let error = otlp_error(export_to(OtlpConfig::new(receiver.url(""), Protocol::Grpc)).await);
        assert!(
            matches!(&error, OtlpError::GrpcStatus { code: c, message, .. } if *c == code && message == "scripted"),
            "{error:?}"
        );
        assert_eq!(error.retry_advice(), expected, "{code:?}");
    }
}

#[tokio::test]
async fn a_grpc_message_over_the_receivers_limit_asks_for_a_split() {
    let ok = GrpcReply::Ok(ExportTraceServiceResponse::default());
    let receiver = FakeOtlp::grpc_scripted(ok, Some(1024)).await;
    let error = export_to(OtlpConfig::new(receiver.url(""), Protocol::Grpc))
        .await
        .expect_err("too large");
    assert_eq!(error.retry_advice(), RetryAdvice::Split, "{error:?}");
}

#[tokio::test]
async fn a_closed_port_is_unreachable_and_worth_retrying_over_every_protocol() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("addr")
    };
    for (protocol, path) in [(Protocol::HttpProtobuf, "/v1/traces"), (Protocol::Grpc, "")] {
        let config = OtlpConfig::new(format!("http://{closed}{path}"), protocol);
        let error = otlp_error(export_to(config).await);
        assert!(
            matches!(error, OtlpError::Unreachable(_)),
            "{protocol:?}: {error:?}"
        );
        assert_eq!(error.retry_advice(), RETRY);
    }
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_and_is_worth_retrying() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Accepts connections and holds them open without a byte of answer.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    for (protocol, path) in [(Protocol::HttpJson, "/v1/traces"), (Protocol::Grpc, "")] {
        let mut config = OtlpConfig::new(format!("http://{addr}{path}"), protocol);
        config.timeout = Duration::from_millis(300);
        let error = otlp_error(export_to(config).await);
        assert!(
            matches!(error, OtlpError::Timeout { timeout } if timeout == Duration::from_millis(300)),
            "{protocol:?}: {error:?}"
        );
        assert_eq!(error.retry_advice(), RETRY);
    }
    silent.abort();
}

#[test]
fn a_2xx_page_that_is_not_otlp_counts_as_delivered_with_a_warning_in_status_and_doctor() {
    use crate::support::bin::Home;
    use crate::support::daemon::{wait_for, Daemon, Feed};
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // A wrong URL often answers 200 with a web page: that is no OTLP receiver.
    let page = HttpReply::status(200).body("text/html; charset=utf-8", "<html>Welcome</html>");
    let receiver = runtime.block_on(FakeOtlp::http_scripted(page));
    let home = Home::new();
    let env = [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url("/"))];
    let daemon = Daemon::start(&home, &env);
    let feed = Feed::fixture("shell", &home.outer().join("shell"));
    feed.feed(&home, &env, 0..feed.steps.len());
    let warned = wait_for("a warning in status", Duration::from_secs(30), || {
        let status = daemon.try_status()?;
        status
            .destinations
            .into_iter()
            .find(|d| d.warning.is_some())
    });
    let warning = warned.warning.clone().unwrap_or_default();
    assert!(warning.contains("200 with a text/html body"), "{warning}");
    assert!(
        warned.delivered_spans > 0 && warned.last_error.is_none(),
        "{warned:?}"
    );
    let status = home.command(&["status"]).output().expect("runs");
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains("warning: the receiver answered 200"),
        "{shown}"
    );
    let mut doctor = home.command(&["doctor"]);
    doctor.envs(env.iter().map(|(k, v)| (k, v)));
    let report = doctor.output().expect("runs");
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("wrong path: the receiver answered 200"),
        "{report}"
    );
    drop(daemon);
}
