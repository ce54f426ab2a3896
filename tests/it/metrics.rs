//! GenAI metrics at the fake receiver: a recorded session's token usage, model-call durations
//! and tool calls arrive as OTLP histograms and sums with the conventions' names, units and
//! bucket boundaries, over HTTP and gRPC, delta and cumulative; replays are not counted twice;
//! a failed delta window is sent with the next; Braintrust never gets metrics. The real daemon
//! sends them periodically and at `codex-otel stop`.

use crate::support::bin::Home;
use crate::support::daemon::{distinct, wait_for, Daemon, Feed};
use crate::support::fake_otlp::{FakeOtlp, HttpReply};
use crate::support::fixtures;
use codex_otel::config::destinations_from_env_and_file;
use codex_otel::export::metrics::measure::{DURATION_BUCKETS, TOKEN_BUCKETS};
use codex_otel::export::{
    DestinationConfig, DestinationKind, MetricsConfig, MetricsSink, OtlpConfig, Protocol,
    ResourceConfig, RetryAdvice, Temporality,
};
use codex_otel::paths::StateDir;
use codex_otel::session::SessionConfig;
use codex_otel::span::{genai, SpanRecord};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, HistogramDataPoint, Metric, NumberDataPoint,
};

fn session() -> Vec<SpanRecord> {
    fixtures::replay_with("parallel-tools", &SessionConfig::default())
}

/// The destinations `vars` configure.
fn configured(vars: &[(&str, String)]) -> Vec<DestinationConfig> {
    let lookup = |key: &str| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    destinations_from_env_and_file(lookup, None, &StateDir::new("/unused")).expect("valid config")
}

/// The metrics sink of the single destination `vars` configure.
fn sink(vars: &[(&str, String)]) -> MetricsSink {
    let configs = configured(vars);
    MetricsSink::build(&configs[0])
        .expect("builds")
        .expect("metrics are on")
}

fn metric<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name} in {request:?}"))
}

fn histogram_points(metric: &Metric) -> &[HistogramDataPoint] {
    match &metric.data {
        Some(metric::Data::Histogram(histogram)) => &histogram.data_points,
        other => panic!("{} is not a histogram: {other:?}", metric.name),
    }
}

fn attribute<'a>(point: &'a HistogramDataPoint, key: &str) -> Option<&'a str> {
    point
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(text) => Some(text.as_str()),
            _ => None,
        })
}

/// The sum of `key` over the session's spans whose operation is `operation`, and their count.
fn totals(spans: &[SpanRecord], operation: &str, key: &str) -> (i64, u64) {
    let chosen: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.str_attr(genai::OPERATION_NAME) == Some(operation))
        .collect();
    let sum = chosen.iter().filter_map(|s| s.int_attr(key)).sum();
    (sum, chosen.len() as u64)
}

/// (count, sum) of the token histogram points of `token_type`.
fn tokens(request: &ExportMetricsServiceRequest, token_type: &str) -> (u64, f64) {
    histogram_points(metric(request, "gen_ai.client.token.usage"))
        .iter()
        .filter(|p| attribute(p, "gen_ai.token.type") == Some(token_type))
        .fold((0, 0.0), |(count, sum), p| {
            (count + p.count, sum + p.sum.unwrap_or(0.0))
        })
}

#[tokio::test]
async fn a_sessions_metrics_arrive_over_http_as_delta_histograms_and_sums() {
    let receiver = FakeOtlp::http().await;
    let sink = sink(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url("")),
        ("CODEX_OTEL_METRICS", "true".into()),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "delta".into(),
        ),
    ]);
    let spans = session();
    sink.record(&spans);
    sink.flush().await.expect("flushes");
    let requests = receiver.metrics();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    let (input, chats) = totals(&spans, "chat", genai::USAGE_INPUT_TOKENS);
    let (output, _) = totals(&spans, "chat", genai::USAGE_OUTPUT_TOKENS);
    assert!(chats > 0 && input > 0, "the fixture has model calls");
    assert_eq!(tokens(request, "input"), (chats, input as f64));
    assert_eq!(tokens(request, "output"), (chats, output as f64));
    let usage = metric(request, "gen_ai.client.token.usage");
    assert_eq!(usage.unit, "{token}");
    let point = &histogram_points(usage)[0];
    assert_eq!(point.explicit_bounds, TOKEN_BUCKETS);
    assert_eq!(attribute(point, "gen_ai.provider.name"), Some("openai"));
    assert!(attribute(point, "gen_ai.request.model").is_some());
    let Some(metric::Data::Histogram(histogram)) = &usage.data else {
        panic!("{usage:?}");
    };
    assert_eq!(
        histogram.aggregation_temporality,
        AggregationTemporality::Delta as i32
    );
    let duration = metric(request, "gen_ai.client.operation.duration");
    assert_eq!(duration.unit, "s");
    let points = histogram_points(duration);
    assert_eq!(points[0].explicit_bounds, DURATION_BUCKETS);
    assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), chats);
    let (_, tools) = totals(&spans, "execute_tool", "");
    let Some(metric::Data::Sum(calls)) = &metric(request, "codex.tool.calls").data else {
        panic!("codex.tool.calls is not a sum");
    };
    let counted: i64 = calls
        .data_points
        .iter()
        .map(|p| match p.value {
            Some(number_data_point::Value::AsInt(n)) => n,
            _ => 0,
        })
        .sum();
    assert!(tools > 0 && calls.is_monotonic);
    assert_eq!(counted, tools as i64);
    let tool_time = histogram_points(metric(request, "codex.tool.duration"));
    assert_eq!(tool_time.iter().map(|p| p.count).sum::<u64>(), tools);
    sink.record(&spans);
    sink.flush().await.expect("nothing new");
    assert_eq!(receiver.metrics().len(), 1, "a replay is not counted again");
}

#[tokio::test]
async fn cumulative_metrics_over_grpc_carry_the_totals_since_the_start() {
    let receiver = FakeOtlp::grpc().await;
    let sink = sink(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url("")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
        ("CODEX_OTEL_METRICS", "1".into()),
    ]);
    let spans = session();
    let (input, chats) = totals(&spans, "chat", genai::USAGE_INPUT_TOKENS);
    let half = spans.len() / 2;
    sink.record(&spans[..half]);
    sink.flush().await.expect("first flush");
    sink.record(&spans[half..]);
    sink.flush().await.expect("second flush");
    let requests = receiver.metrics();
    assert_eq!(requests.len(), 2);
    assert_eq!(tokens(&requests[1], "input"), (chats, input as f64));
    let start = |request: &ExportMetricsServiceRequest| {
        histogram_points(metric(request, "gen_ai.client.operation.duration"))[0]
            .start_time_unix_nano
    };
    assert_eq!(start(&requests[0]), start(&requests[1]));
}

#[tokio::test]
async fn a_delta_window_that_failed_is_sent_with_the_next_one() {
    let receiver =
        FakeOtlp::http_replies(vec![HttpReply::status(503), HttpReply::status(200)]).await;
    let mut config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpProtobuf);
    config.metrics = Some(MetricsConfig {
        endpoint: receiver.url("/v1/metrics"),
        temporality: Temporality::Delta,
    });
    let destination = DestinationConfig {
        name: "metrics".into(),
        kind: DestinationKind::Otlp(config),
        resource: ResourceConfig::default(),
    };
    let sink = MetricsSink::build(&destination)
        .expect("builds")
        .expect("on");
    let spans = session();
    let (input, chats) = totals(&spans, "chat", genai::USAGE_INPUT_TOKENS);
    let half = spans.len() / 2;
    sink.record(&spans[..half]);
    let error = sink.flush().await.expect_err("503");
    assert_eq!(error.retry_advice(), RetryAdvice::Retry { after: None });
    sink.record(&spans[half..]);
    sink.flush().await.expect("second flush");
    let requests = receiver.metrics();
    assert_eq!(requests.len(), 2);
    assert_eq!(tokens(&requests[1], "input"), (chats, input as f64));
    let start = |request: &ExportMetricsServiceRequest| {
        histogram_points(metric(request, "gen_ai.client.operation.duration"))[0]
            .start_time_unix_nano
    };
    assert_eq!(
        start(&requests[0]),
        start(&requests[1]),
        "one merged window"
    );
}

#[tokio::test]
async fn braintrust_and_the_local_store_never_get_metrics() {
    let configs = configured(&[
        ("TRACE_TO_BRAINTRUST", "true".into()),
        ("BRAINTRUST_API_KEY", "sk-test".into()),
        ("CODEX_OTEL_METRICS", "true".into()),
        ("CODEX_OTEL_LOCAL_STORE", "true".into()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://api.braintrust.dev/otel".into(),
        ),
    ]);
    assert_eq!(configs.len(), 3, "{configs:?}");
    for config in &configs {
        assert!(
            MetricsSink::build(config).expect("builds").is_none(),
            "{}",
            config.name
        );
    }
}

#[tokio::test]
async fn metrics_stay_off_unless_asked_for() {
    let receiver = FakeOtlp::http().await;
    let configs = configured(&[("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url(""))]);
    assert!(MetricsSink::build(&configs[0]).expect("builds").is_none());
}

#[tokio::test]
async fn codex_otel_replay_sends_the_sessions_metrics_with_its_spans() {
    let receiver = FakeOtlp::http().await;
    let state = tempfile::tempdir().unwrap();
    let scenario = crate::support::fixtures::scenario_dir("shell");
    let endpoint = receiver.url("");
    let home = state.path().to_owned();
    // The receiver runs on this test's runtime, so the blocking child waits on another thread.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_codex-otel"))
            .arg("replay")
            .arg(scenario.join("hooks.ndjson"))
            .arg("--transcripts")
            .arg(scenario.join("rollouts"))
            .env("CODEX_OTEL_HOME", home)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("CODEX_OTEL_METRICS", "true")
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(receiver.spans().len(), 5);
    let names: Vec<String> = receiver
        .metrics()
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.clone())
        .collect();
    assert!(
        names.iter().any(|n| n == "gen_ai.client.token.usage"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "codex.tool.calls"), "{names:?}");
}

/// How long the daemon tests wait for anything (a healthy run needs about a second).
const DAEMON_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The real daemon with metrics on: an OTLP receiver taking spans and metrics, a Braintrust
/// receiver, the `shell` session fed through the hook, and `codex-otel flush` run.
struct DaemonRig {
    home: Home,
    otlp: FakeOtlp,
    braintrust: FakeOtlp,
    /// Runs until the test ends (or `codex-otel stop`).
    _daemon: Daemon,
    /// Serves the receivers; dropped last.
    _runtime: tokio::runtime::Runtime,
}

impl DaemonRig {
    /// Feeds and flushes the `shell` session, metrics flushed every `interval_ms`.
    fn flushed(interval_ms: u64) -> DaemonRig {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let otlp = runtime.block_on(FakeOtlp::http());
        let braintrust = runtime.block_on(FakeOtlp::http());
        let home = Home::new();
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.url("")),
            ("CODEX_OTEL_METRICS", "true".to_owned()),
            ("TRACE_TO_BRAINTRUST", "true".to_owned()),
            ("BRAINTRUST_API_KEY", "sk-metrics-test".to_owned()),
            ("BRAINTRUST_API_URL", braintrust.url("")),
            ("OTEL_METRIC_EXPORT_INTERVAL", interval_ms.to_string()),
            ("CODEX_OTEL_DAEMON_QUIET_SECS", "600".to_owned()),
        ];
        let daemon = Daemon::start(&home, &env);
        let feed = Feed::fixture("shell", &home.outer().join("shell"));
        feed.feed(&home, &env, 0..feed.steps.len());
        feed.poke(&home);
        let rig = DaemonRig {
            home,
            otlp,
            braintrust,
            _daemon: daemon,
            _runtime: runtime,
        };
        rig.cli(&["flush", "--timeout", "60"]);
        let spans = fixtures::replay_with("shell", &SessionConfig::default()).len();
        assert_eq!(distinct(&rig.otlp.spans()).0.len(), spans);
        assert_eq!(distinct(&rig.braintrust.spans()).0.len(), spans);
        rig
    }

    /// Runs `codex-otel <args>` on the rig's state directory; it must succeed.
    fn cli(&self, args: &[&str]) {
        let output = self.home.command(args).output().expect("run codex-otel");
        assert!(output.status.success(), "codex-otel {args:?}: {output:?}");
    }
}

/// The value of the monotonic sum `name`, over its points.
fn sum_of(request: &ExportMetricsServiceRequest, name: &str) -> i64 {
    let Some(metric::Data::Sum(sum)) = &metric(request, name).data else {
        panic!("{name} is not a sum");
    };
    assert!(sum.is_monotonic, "{name}");
    let value = |point: &NumberDataPoint| match point.value {
        Some(number_data_point::Value::AsInt(n)) => n,
        other => panic!("{name} holds {other:?}"),
    };
    sum.data_points.iter().map(value).sum()
}

/// `request` carries the `shell` session's exact usage (from the mock's ground truth) and its
/// one tool call.
fn assert_shell_session(request: &ExportMetricsServiceRequest) {
    let calls = fixtures::model_calls("shell");
    let count = calls.len() as u64;
    let input: i64 = calls.iter().map(|c| c.input_tokens).sum();
    let output: i64 = calls.iter().map(|c| c.output_tokens).sum();
    assert_eq!(tokens(request, "input"), (count, input as f64));
    assert_eq!(tokens(request, "output"), (count, output as f64));
    assert_eq!(sum_of(request, "codex.tool.calls"), 1);
}

#[test]
fn the_daemon_sends_a_sessions_metrics_to_otlp_and_never_to_braintrust() {
    let rig = DaemonRig::flushed(200);
    // Flushes run one after the other: the second request after `flush` returned was taken
    // after it returned, when every span was recorded (they are recorded when spooled).
    let after_flush = rig.otlp.metrics().len();
    let last = wait_for("two metrics flushes", DAEMON_TIMEOUT, || {
        let requests = rig.otlp.metrics();
        (requests.len() >= after_flush + 2).then(|| requests.last().cloned())
    });
    assert_shell_session(&last.expect("a request"));
    assert!(rig.braintrust.metrics().is_empty());
}

#[test]
fn codex_otel_stop_sends_the_metrics_no_periodic_flush_sent_yet() {
    let rig = DaemonRig::flushed(3_600_000);
    assert!(
        rig.otlp.metrics().is_empty(),
        "no periodic flush within an hour"
    );
    rig.cli(&["stop"]);
    // The socket goes once the daemon finished shutting down, last metrics flush included.
    let socket = rig.home.state().socket();
    wait_for("the daemon to stop", DAEMON_TIMEOUT, || {
        (!socket.exists()).then_some(())
    });
    let requests = rig.otlp.metrics();
    assert_eq!(requests.len(), 1, "one flush, at shutdown");
    assert_shell_session(&requests[0]);
    assert!(rig.braintrust.metrics().is_empty());
}
