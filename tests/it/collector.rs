//! codex-otel against real receivers: the header-checking OTLP sink (a Braintrust stand-in),
//! the rotel collector started from the configs we ship in `otel-config/rotel/`, and Arize
//! Phoenix. Each test exports one realistic span tree and compares what arrived with what was
//! sent: ids, parents, names, kinds, times, typed attribute values, events and status.
//!
//! A test whose component is not installed prints `SKIPPED: …` and passes, unless
//! `CODEX_OTEL_REQUIRE_RECEIVERS=1` (see `support::receivers`).

use crate::support::receivers::{
    normalize_sent, Phoenix, Rotel, Sink, SinkSpec, BT_API_KEY, BT_PROJECT, BT_TRACES_PATH,
};
use crate::support::span_tree::tree_diff;
use anyhow::{ensure, Context, Result};
use codex_otel::export::{
    BraintrustConfig, BraintrustProject, Destination, DestinationConfig, DestinationKind, Fanout,
    OtlpConfig, Protocol, ResourceConfig,
};
use codex_otel::span::genai;
use codex_otel::span::{AttrValue, SpanEvent, SpanId, SpanKind, SpanRecord, SpanStatus, TraceId};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The Phoenix project our spans are routed to (resource `openinference.project.name`).
const PHOENIX_PROJECT: &str = "codex-otel-it";

/// Exports `spans` once through a codex-otel destination built from `config`.
pub(crate) async fn export(config: &DestinationConfig, spans: &[SpanRecord]) -> Result<()> {
    let mut destination = Destination::build(config)?;
    let outcome = destination.export(spans).await;
    destination.shutdown().await;
    Ok(outcome?)
}

/// A plain OTLP destination (no headers) at `endpoint`, carrying `resource`.
pub(crate) fn otlp_destination(
    endpoint: String,
    protocol: Protocol,
    resource: ResourceConfig,
) -> DestinationConfig {
    DestinationConfig {
        name: format!("otlp {}", protocol.as_str()),
        kind: DestinationKind::Otlp(OtlpConfig::new(endpoint, protocol)),
        resource,
    }
}

/// Exports `spans` with the default resource to `endpoint` with `protocol` and no headers.
async fn export_plain(endpoint: String, protocol: Protocol, spans: &[SpanRecord]) -> Result<()> {
    export(
        &otlp_destination(endpoint, protocol, ResourceConfig::default()),
        spans,
    )
    .await
}

/// codex-otel's Braintrust destination aimed at `sink` (as its API URL). Braintrust's own
/// protocol is HTTP/protobuf; for the others its OTLP settings are kept and the protocol (and,
/// for gRPC, the endpoint) switched.
fn braintrust_destination(sink: &Sink, protocol: Protocol) -> DestinationConfig {
    let braintrust = BraintrustConfig {
        api_key: BT_API_KEY.to_owned(),
        project: BraintrustProject::Name(BT_PROJECT.to_owned()),
        api_url: sink.base_url(),
        connection: Default::default(),
    };
    let kind = match protocol {
        Protocol::HttpProtobuf => DestinationKind::Braintrust(braintrust),
        _ => {
            let mut otlp = braintrust.to_otlp();
            otlp.protocol = protocol;
            if protocol == Protocol::Grpc {
                otlp.endpoint = sink.grpc_url();
            }
            DestinationKind::Otlp(otlp)
        }
    };
    DestinationConfig {
        name: "braintrust".to_owned(),
        kind,
        resource: ResourceConfig::default(),
    }
}

fn attr(key: &str, value: AttrValue) -> (String, AttrValue) {
    (key.to_owned(), value)
}

fn text(value: &str) -> AttrValue {
    AttrValue::Str(value.to_owned())
}

/// A time `millis` after a fixed start, with a sub-microsecond part that must survive export.
fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_000_000) + Duration::from_nanos(millis * 1_000_000 + 789)
}

/// A realistic Codex trace: session → turn → (chat, execute_tool that failed). `seed` makes
/// its trace and span ids unique to one test.
fn sample_trace(seed: u8) -> Vec<SpanRecord> {
    let trace_id = TraceId([
        seed, 0x5e, 0x55, 0x10, 0x4e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    ]);
    let id = |n: u8| SpanId([seed, n, 0xa0, 0xb1, 0xc2, 0xd3, 0xe4, n]);
    let span = |n: u8, parent: Option<u8>, name: &str, kind, start, end| SpanRecord {
        trace_id,
        span_id: id(n),
        parent_span_id: parent.map(id),
        name: name.to_owned(),
        kind,
        start: at(start),
        end: at(end),
        attributes: Vec::new(),
        events: Vec::new(),
        status: SpanStatus::Unset,
    };
    let mut root = span(1, None, "invoke_agent codex", SpanKind::Internal, 0, 9_000);
    root.attributes = vec![
        attr(genai::OPERATION_NAME, text("invoke_agent")),
        attr(genai::PROVIDER_NAME, text("openai")),
        attr(genai::AGENT_NAME, text("codex")),
        attr(
            genai::CONVERSATION_ID,
            text("01a20d7a-b819-7451-bc39-6764d48b49b7"),
        ),
        attr(genai::USAGE_INPUT_TOKENS, AttrValue::Int(12)),
        attr(genai::USAGE_OUTPUT_TOKENS, AttrValue::Int(34)),
    ];
    let mut turn = span(2, Some(1), "turn 1", SpanKind::Internal, 100, 8_900);
    turn.attributes = vec![
        attr(genai::CODEX_TURN_INDEX, AttrValue::Int(1)),
        attr(genai::CODEX_TURN_PROMPT, text("list the files")),
        attr(genai::CODEX_TURN_INTERRUPTED, AttrValue::Bool(false)),
    ];
    let chat = span(
        3,
        Some(2),
        "chat gpt-5.1-codex",
        SpanKind::Client,
        200,
        2_500,
    );
    let tool = span(
        4,
        Some(2),
        "execute_tool exec_command",
        SpanKind::Internal,
        2_600,
        3_100,
    );
    vec![root, turn, chat_span(chat), tool_span(tool)]
}

fn chat_span(mut chat: SpanRecord) -> SpanRecord {
    let input = json!([{
        "role": "user",
        "parts": [{"type": "text", "content": "list the files"}],
    }]);
    let output = json!([{
        "role": "assistant",
        "parts": [{"type": "text", "content": "Running ls."}],
        "finish_reason": "stop",
    }]);
    chat.attributes = vec![
        attr(genai::OPERATION_NAME, text("chat")),
        attr(genai::PROVIDER_NAME, text("openai")),
        attr(genai::REQUEST_MODEL, text("gpt-5.1-codex")),
        attr(genai::RESPONSE_ID, text("resp_0c1d2e3f")),
        attr(genai::USAGE_INPUT_TOKENS, AttrValue::Int(12)),
        attr(genai::USAGE_CACHE_READ_INPUT_TOKENS, AttrValue::Int(0)),
        attr(genai::USAGE_OUTPUT_TOKENS, AttrValue::Int(34)),
        attr(
            genai::RESPONSE_FINISH_REASONS,
            AttrValue::StrList(vec!["stop".to_owned()]),
        ),
        attr(genai::RESPONSE_TIME_TO_FIRST_CHUNK, AttrValue::Float(0.375)),
        attr(genai::INPUT_MESSAGES, text(&input.to_string())),
        attr(genai::OUTPUT_MESSAGES, text(&output.to_string())),
    ];
    chat
}

fn tool_span(mut tool: SpanRecord) -> SpanRecord {
    tool.attributes = vec![
        attr(genai::OPERATION_NAME, text("execute_tool")),
        attr(genai::TOOL_NAME, text("exec_command")),
        attr(genai::TOOL_CALL_ID, text("call_7f3a")),
        attr(genai::TOOL_CALL_ARGUMENTS, text(r#"{"cmd":"ls /nope"}"#)),
        attr(genai::CODEX_TOOL_EXIT_CODE, AttrValue::Int(2)),
        attr(genai::ERROR_TYPE, text("exit_code")),
    ];
    tool.events = vec![SpanEvent {
        name: genai::EVENT_PERMISSION_REQUEST.to_owned(),
        time: at(2_650),
        attributes: vec![
            attr("codex.permission.decision", text("approved")),
            attr("codex.permission.automatic", AttrValue::Bool(true)),
        ],
    }];
    tool.status = SpanStatus::Error("command exited with code 2".to_owned());
    tool
}

/// Fails with a readable diff unless `received` equals what `sent` normalizes to.
fn assert_same_spans(sent: &[SpanRecord], received: &[Value]) -> Result<()> {
    let expected = Value::Array(normalize_sent(sent));
    let actual = Value::Array(received.to_vec());
    if let Some(diff) = tree_diff(&expected, &actual) {
        anyhow::bail!("received spans differ from the sent ones:\n{diff}");
    }
    Ok(())
}

/// Every accepted request's `field` (e.g. the content type), to check how spans travelled.
async fn accepted_field(sink: &Sink, pointer: &str) -> Result<Vec<Value>> {
    let requests = sink.requests().await?;
    ensure!(
        requests.iter().all(|r| r["rejected"] == false),
        "the sink rejected a request: {requests:#?}"
    );
    Ok(requests
        .iter()
        .map(|r| r.pointer(pointer).cloned().unwrap_or(Value::Null))
        .collect())
}

/// codex-otel's Braintrust destination → sink directly, over `protocol`.
async fn direct_to_braintrust_sink(protocol: Protocol, seed: u8) -> Result<Option<Sink>> {
    let Some(mut sink) = Sink::start(&SinkSpec::braintrust()).await? else {
        return Ok(None);
    };
    let sent = sample_trace(seed);
    export(&braintrust_destination(&sink, protocol), &sent).await?;
    let received = sink.wait_for_spans(sent.len()).await?;
    assert_same_spans(&sent, &received)?;
    Ok(Some(sink))
}

#[tokio::test]
async fn the_sink_receives_the_tree_over_http_protobuf_with_braintrust_headers() -> Result<()> {
    let Some(sink) = direct_to_braintrust_sink(Protocol::HttpProtobuf, 1).await? else {
        return Ok(());
    };
    let types = accepted_field(&sink, "/content_type").await?;
    ensure!(
        types.iter().all(|t| t == "application/x-protobuf"),
        "{types:?}"
    );
    let paths = accepted_field(&sink, "/path").await?;
    ensure!(paths.iter().all(|p| p == BT_TRACES_PATH), "{paths:?}");
    let encodings = accepted_field(&sink, "/content_encoding").await?;
    ensure!(encodings.iter().all(|e| e == "gzip"), "{encodings:?}");
    Ok(())
}

#[tokio::test]
async fn the_sink_receives_the_tree_over_http_json_with_braintrust_headers() -> Result<()> {
    let Some(sink) = direct_to_braintrust_sink(Protocol::HttpJson, 2).await? else {
        return Ok(());
    };
    let types = accepted_field(&sink, "/content_type").await?;
    ensure!(types.iter().all(|t| t == "application/json"), "{types:?}");
    Ok(())
}

#[tokio::test]
async fn the_sink_receives_the_tree_over_grpc_with_braintrust_headers() -> Result<()> {
    let Some(sink) = direct_to_braintrust_sink(Protocol::Grpc, 3).await? else {
        return Ok(());
    };
    let transports = accepted_field(&sink, "/transport").await?;
    ensure!(transports.iter().all(|t| t == "grpc"), "{transports:?}");
    Ok(())
}

#[tokio::test]
async fn the_comparison_fails_on_a_swapped_parent_or_a_changed_attribute_type() -> Result<()> {
    let Some(mut sink) = direct_to_braintrust_sink(Protocol::HttpProtobuf, 10).await? else {
        return Ok(());
    };
    let received = sink.wait_for_spans(4).await?;
    let mut swapped = sample_trace(10);
    let (turn, chat) = (swapped[1].span_id, swapped[2].span_id);
    swapped[1].parent_span_id = Some(chat);
    swapped[2].parent_span_id = Some(turn);
    ensure!(
        assert_same_spans(&swapped, &received).is_err(),
        "a swapped parent went unnoticed"
    );
    let mut retyped = sample_trace(10);
    let tokens = retyped[2]
        .attributes
        .iter_mut()
        .find(|(k, _)| k == genai::USAGE_INPUT_TOKENS);
    tokens.context("no input tokens")?.1 = AttrValue::Float(12.0);
    ensure!(
        assert_same_spans(&retyped, &received).is_err(),
        "an int sent as a float went unnoticed"
    );
    Ok(())
}

#[tokio::test]
async fn an_export_without_braintrust_headers_is_refused_and_reported() -> Result<()> {
    let Some(sink) = Sink::start(&SinkSpec::braintrust()).await? else {
        return Ok(());
    };
    let outcome = export_plain(sink.traces_url(), Protocol::HttpProtobuf, &sample_trace(4)).await;
    ensure!(outcome.is_err(), "a 401 must fail the export");
    let requests = sink.requests().await?;
    ensure!(
        requests.len() == 1 && requests[0]["rejected"] == true && requests[0]["status"] == 401,
        "expected one rejected request: {requests:#?}"
    );
    Ok(())
}

/// The env that points a rotel config's exporter at `sink` as Braintrust.
fn braintrust_env(sink: &Sink) -> Vec<(&'static str, String)> {
    vec![
        ("BRAINTRUST_API_URL", sink.base_url()),
        ("BRAINTRUST_API_KEY", BT_API_KEY.to_owned()),
        ("BRAINTRUST_PARENT", format!("project_name:{BT_PROJECT}")),
    ]
}

/// Starts rotel from `config` with `env`, exports `sent` into it over `protocol`, and checks
/// that `sink` received the same spans. Returns `false` when rotel is not installed.
async fn through_rotel(
    config: &str,
    env: &[(&str, String)],
    protocol: Protocol,
    sink: &mut Sink,
    sent: &[SpanRecord],
) -> Result<bool> {
    let Some(rotel) = Rotel::start(config, env).await? else {
        return Ok(false);
    };
    let endpoint = match protocol {
        Protocol::Grpc => rotel.grpc_url(),
        _ => format!("{}/v1/traces", rotel.http_url()),
    };
    export_plain(endpoint, protocol, sent).await?;
    let received = sink
        .wait_for_spans(sent.len())
        .await
        .with_context(|| rotel.log())?;
    assert_same_spans(sent, &received)?;
    Ok(true)
}

#[tokio::test]
async fn rotel_from_braintrust_http_env_forwards_with_the_headers_it_adds() -> Result<()> {
    let Some(mut sink) = Sink::start(&SinkSpec::braintrust()).await? else {
        return Ok(());
    };
    let env = braintrust_env(&sink);
    let sent = sample_trace(5);
    if !through_rotel(
        "braintrust-http.env",
        &env,
        Protocol::Grpc,
        &mut sink,
        &sent,
    )
    .await?
    {
        return Ok(());
    }
    let agents = accepted_field(&sink, "/headers/user-agent").await?;
    let via_rotel = |a: &Value| a.as_str().is_some_and(|a| a.starts_with("Rotel"));
    ensure!(agents.iter().all(via_rotel), "{agents:?}");
    Ok(())
}

#[tokio::test]
async fn rotel_from_forward_grpc_env_forwards_over_grpc_with_the_headers_it_adds() -> Result<()> {
    let Some(mut sink) = Sink::start(&SinkSpec::braintrust()).await? else {
        return Ok(());
    };
    let headers =
        format!("authorization=Bearer {BT_API_KEY},x-bt-parent=project_name:{BT_PROJECT}");
    let env = [
        ("ROTEL_OTLP_EXPORTER_ENDPOINT", sink.grpc_url()),
        ("ROTEL_OTLP_EXPORTER_CUSTOM_HEADERS", headers),
    ];
    let sent = sample_trace(6);
    if !through_rotel(
        "forward-grpc.env",
        &env,
        Protocol::HttpProtobuf,
        &mut sink,
        &sent,
    )
    .await?
    {
        return Ok(());
    }
    let transports = accepted_field(&sink, "/transport").await?;
    ensure!(transports.iter().all(|t| t == "grpc"), "{transports:?}");
    Ok(())
}

#[tokio::test]
async fn the_rotel_fan_out_delivers_the_same_tree_to_both_destinations() -> Result<()> {
    let Some(mut braintrust) = Sink::start(&SinkSpec::braintrust()).await? else {
        return Ok(());
    };
    let Some(mut phoenix) = Sink::start(&SinkSpec::plain()).await? else {
        return Ok(());
    };
    let Some(first) = Rotel::start("braintrust-http.env", &braintrust_env(&braintrust)).await?
    else {
        return Ok(());
    };
    let phoenix_env = [("PHOENIX_GRPC_ENDPOINT", phoenix.grpc_url())];
    let Some(second) = Rotel::start("fanout-phoenix.env", &phoenix_env).await? else {
        return Ok(());
    };
    let sent = sample_trace(7);
    let mut fanout = Fanout::new(vec![
        Destination::build(&otlp_destination(
            first.grpc_url(),
            Protocol::Grpc,
            ResourceConfig::default(),
        ))?,
        Destination::build(&otlp_destination(
            second.grpc_url(),
            Protocol::Grpc,
            ResourceConfig::default(),
        ))?,
    ]);
    let results = fanout.export(&sent).await;
    fanout.shutdown().await;
    for outcome in results {
        outcome.result.with_context(|| outcome.destination)?;
    }
    for (sink, rotel) in [(&mut braintrust, &first), (&mut phoenix, &second)] {
        let received = sink
            .wait_for_spans(sent.len())
            .await
            .with_context(|| rotel.log())?;
        assert_same_spans(&sent, &received)?;
    }
    Ok(())
}

/// Phoenix's view of one sent span: what it must have kept and how it classified it.
fn phoenix_view(span: &Value) -> Value {
    let attrs = &span["attributes"];
    let events: Vec<Value> = span["events"]
        .as_array()
        .map(|events| events.iter().map(|e| e["name"].clone()).collect())
        .unwrap_or_default();
    json!({
        "span_id": span["context"]["span_id"],
        "trace_id": span["context"]["trace_id"],
        "parent_id": span["parent_id"],
        "name": span["name"],
        "span_kind": span["span_kind"],
        "status_code": span["status_code"],
        "operation": attrs[genai::OPERATION_NAME],
        "input_tokens": attrs[genai::USAGE_INPUT_TOKENS],
        "output_tokens": attrs[genai::USAGE_OUTPUT_TOKENS],
        "model": attrs[genai::REQUEST_MODEL],
        "tool": attrs[genai::TOOL_NAME],
        "events": events,
    })
}

/// What [`phoenix_view`] must show for `sent`: ids, parents, names and `gen_ai.*` kept, the
/// session classified AGENT, the chat span LLM, the tool span TOOL, the failed tool ERROR.
fn expected_phoenix_view(sent: &[SpanRecord]) -> Vec<Value> {
    let mut views: Vec<Value> = sent
        .iter()
        .map(|span| {
            let kind = match span.str_attr(genai::OPERATION_NAME) {
                Some("invoke_agent") => "AGENT",
                Some("chat") => "LLM",
                Some("execute_tool") => "TOOL",
                _ => "UNKNOWN",
            };
            let status = match span.status {
                SpanStatus::Unset => "UNSET",
                SpanStatus::Error(_) => "ERROR",
            };
            json!({
                "span_id": span.span_id.to_string(),
                "trace_id": span.trace_id.to_string(),
                "parent_id": span.parent_span_id.map(|p| p.to_string()),
                "name": span.name,
                "span_kind": kind,
                "status_code": status,
                "operation": span.str_attr(genai::OPERATION_NAME),
                "input_tokens": span.int_attr(genai::USAGE_INPUT_TOKENS),
                "output_tokens": span.int_attr(genai::USAGE_OUTPUT_TOKENS),
                "model": span.str_attr(genai::REQUEST_MODEL),
                "tool": span.str_attr(genai::TOOL_NAME),
                "events": span.events.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    views.sort_by(|a, b| a["span_id"].as_str().cmp(&b["span_id"].as_str()));
    views
}

#[tokio::test]
async fn phoenix_stores_the_tree_sent_over_http_and_grpc_and_sees_an_llm_span() -> Result<()> {
    let Some(mut phoenix) = Phoenix::start().await? else {
        return Ok(());
    };
    let mut resource = ResourceConfig::default();
    resource.attributes.insert(
        "openinference.project.name".to_owned(),
        PHOENIX_PROJECT.to_owned(),
    );
    for (protocol, seed) in [(Protocol::HttpProtobuf, 8), (Protocol::Grpc, 9)] {
        let sent = sample_trace(seed);
        let endpoint = match protocol {
            Protocol::Grpc => phoenix.grpc_url(),
            _ => phoenix.traces_url(),
        };
        export(
            &otlp_destination(endpoint, protocol, resource.clone()),
            &sent,
        )
        .await?;
        let trace_id = sent[0].trace_id.to_string();
        let stored = phoenix
            .wait_for_spans(PHOENIX_PROJECT, &trace_id, sent.len())
            .await?;
        let actual = Value::Array(stored.iter().map(phoenix_view).collect());
        let expected = Value::Array(expected_phoenix_view(&sent));
        if let Some(diff) = tree_diff(&expected, &actual) {
            anyhow::bail!("Phoenix's spans for {protocol:?} differ:\n{diff}");
        }
        let chat = stored
            .iter()
            .find(|s| s["span_kind"] == "LLM")
            .context("no LLM span")?;
        let derived = &chat["attributes"];
        ensure!(
            derived["llm.token_count.total"] == 46
                && derived["llm.model_name"] == "gpt-5.1-codex"
                && derived["llm.input_messages.0.message.content"] == "list the files",
            "Phoenix did not map the chat span's gen_ai.* attributes: {chat:#}"
        );
    }
    Ok(())
}
