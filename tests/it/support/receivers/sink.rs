//! The header-checking OTLP sink (`tests/receivers/otlp_sink.py`) and the normalized span
//! shape that both what was sent and what the sink recorded are turned into.

use super::{get_json, repo_root, scrubbed_command, Component, Deadline, Process};
use super::{ARRIVAL_TIMEOUT, START_TIMEOUT};
use anyhow::{anyhow, bail, Context, Result};
use codex_otel::span::{AttrValue, SpanRecord, SpanStatus};
use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// The API key the Braintrust-style sink demands (as `authorization: Bearer <key>`).
pub(crate) const BT_API_KEY: &str = "sk-codex-otel-test";
/// The Braintrust project the Braintrust-style sink demands (`x-bt-parent: project_name:<it>`).
pub(crate) const BT_PROJECT: &str = "codex-otel-it";
/// The path Braintrust serves OTLP traces on.
pub(crate) const BT_TRACES_PATH: &str = "/otel/v1/traces";

/// What the OTLP sink accepts and demands.
#[derive(Debug, Clone)]
pub(crate) struct SinkSpec {
    /// The one HTTP path that takes traces.
    pub(crate) path: String,
    /// Required headers: `name` (present) or `name=value` (exact value).
    pub(crate) required_headers: Vec<String>,
}

impl SinkSpec {
    /// A plain OTLP receiver at `/v1/traces` that demands no header.
    pub(crate) fn plain() -> Self {
        Self {
            path: "/v1/traces".to_owned(),
            required_headers: Vec::new(),
        }
    }

    /// A Braintrust stand-in: `/otel/v1/traces`, demanding [`BT_API_KEY`] and [`BT_PROJECT`].
    pub(crate) fn braintrust() -> Self {
        Self {
            path: BT_TRACES_PATH.to_owned(),
            required_headers: vec![
                format!("authorization=Bearer {BT_API_KEY}"),
                format!("x-bt-parent=project_name:{BT_PROJECT}"),
            ],
        }
    }
}

/// A running `otlp_sink.py`, serving OTLP over HTTP and gRPC.
#[derive(Debug)]
pub(crate) struct Sink {
    process: Process,
    http_port: u16,
    grpc_port: u16,
    path: String,
    client: reqwest::Client,
}

impl Sink {
    /// Starts a sink; `Ok(None)` when it is not installed (see the module doc).
    pub(crate) async fn start(spec: &SinkSpec) -> Result<Option<Self>> {
        let Some(python) = Component::Sink.locate()? else {
            return Ok(None);
        };
        let script = repo_root().join("tests/receivers/otlp_sink.py");
        let mut command = scrubbed_command(python);
        command
            .arg(script)
            .args(["--port", "0", "--grpc-port", "0"]);
        command.args(["--path", &spec.path, "--port-file", "ports.json"]);
        for header in &spec.required_headers {
            command.args(["--require-header", header]);
        }
        let mut process = Process::spawn(Component::Sink, command)?;
        let port_file = process.path("ports.json");
        let deadline = Deadline::after(START_TIMEOUT, "the sink's port file");
        let ports: Value = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break serde_json::from_str(&text).context("parsing the sink's port file")?;
            }
            process.tick(&deadline).await?;
        };
        let port = |key: &str| {
            ports[key]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| anyhow!("no {key} port in {ports}"))
        };
        Ok(Some(Self {
            http_port: port("http")?,
            grpc_port: port("grpc")?,
            process,
            path: spec.path.clone(),
            client: reqwest::Client::new(),
        }))
    }

    /// `http://127.0.0.1:<port>`: the base URL (an "API URL" before `/otel/v1/traces`).
    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The full URL of the traces path.
    pub(crate) fn traces_url(&self) -> String {
        format!("{}{}", self.base_url(), self.path)
    }

    /// The gRPC endpoint, `http://127.0.0.1:<port>`.
    pub(crate) fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// Every request recorded so far (accepted and rejected), as the sink reports them.
    pub(crate) async fn requests(&self) -> Result<Vec<Value>> {
        let url = format!("{}/_sink/requests", self.base_url());
        match get_json(&self.client, &url).await? {
            (200, Value::Array(records)) => Ok(records),
            (status, body) => bail!("GET {url}: {status} {body}"),
        }
    }

    /// Waits until accepted requests hold at least `count` spans; returns them normalized and
    /// sorted by span id. On timeout the error lists every request, rejected ones included.
    pub(crate) async fn wait_for_spans(&mut self, count: usize) -> Result<Vec<Value>> {
        let what = format!("{count} spans at the sink");
        let deadline = Deadline::after(ARRIVAL_TIMEOUT, what);
        loop {
            let requests = self.requests().await?;
            let spans = accepted_spans(&requests)?;
            if spans.len() >= count {
                return Ok(spans);
            }
            if let Err(err) = self.process.tick(&deadline).await {
                return Err(err.context(format!("requests so far: {requests:#?}")));
            }
        }
    }
}

/// The spans of the accepted requests, normalized and sorted by span id.
fn accepted_spans(requests: &[Value]) -> Result<Vec<Value>> {
    let mut spans = Vec::new();
    for request in requests.iter().filter(|r| r["rejected"] == false) {
        let list = request["spans"]
            .as_array()
            .context("a record without spans")?;
        for span in list {
            spans.push(normalize_received(span)?);
        }
    }
    spans.sort_by(|a, b| a["span_id"].as_str().cmp(&b["span_id"].as_str()));
    Ok(spans)
}

/// `SPAN_KIND_CLIENT` → `client`, `STATUS_CODE_ERROR` → `error`.
fn enum_suffix(value: &Value, prefix: &str) -> Result<String> {
    let name = value.as_str().context("an enum that is not a string")?;
    let suffix = name.strip_prefix(prefix).context("an unexpected enum")?;
    Ok(suffix.to_ascii_lowercase())
}

/// One span as flattened by the sink → the normalized shape of [`normalize_sent`].
fn normalize_received(span: &Value) -> Result<Value> {
    let parent = match span["parent_span_id"].as_str() {
        Some("") | None => Value::Null,
        Some(id) => json!(id),
    };
    let events: Vec<Value> = span["events"]
        .as_array()
        .context("span without events list")?
        .iter()
        .map(|e| {
            let (name, time, attributes) = (&e["name"], &e["time_unix_nano"], &e["attributes"]);
            json!({"name": name, "time_unix_nano": time, "attributes": attributes})
        })
        .collect();
    Ok(json!({
        "trace_id": span["trace_id"],
        "span_id": span["span_id"],
        "parent_span_id": parent,
        "name": span["name"],
        "kind": enum_suffix(&span["kind"], "SPAN_KIND_")?,
        "start_unix_nano": span["start_time_unix_nano"],
        "end_unix_nano": span["end_time_unix_nano"],
        "status": {
            "code": enum_suffix(&span["status"]["code"], "STATUS_CODE_")?,
            "message": span["status"]["message"],
        },
        "attributes": span["attributes"],
        "events": events,
    }))
}

fn unix_nanos(time: SystemTime) -> u64 {
    let nanos = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

fn attr_json(value: &AttrValue) -> Value {
    match value {
        AttrValue::Bool(v) => json!(v),
        AttrValue::Int(v) => json!(v),
        AttrValue::Float(v) => json!(v),
        AttrValue::Str(v) => json!(v),
        AttrValue::StrList(v) => json!(v),
    }
}

fn attrs_json(attributes: &[(String, AttrValue)]) -> Value {
    let map: Map<String, Value> = attributes
        .iter()
        .map(|(key, value)| (key.clone(), attr_json(value)))
        .collect();
    Value::Object(map)
}

/// Sent spans in the normalized shape the sink's spans are turned into: hex ids (parent
/// `null` for a root), kind and status code in lower case, times in Unix nanoseconds,
/// attributes as a typed JSON object; sorted by span id.
pub(crate) fn normalize_sent(spans: &[SpanRecord]) -> Vec<Value> {
    let mut out: Vec<Value> = spans.iter().map(normalize_record).collect();
    out.sort_by(|a, b| a["span_id"].as_str().cmp(&b["span_id"].as_str()));
    out
}

fn normalize_record(span: &SpanRecord) -> Value {
    let (code, message) = match &span.status {
        SpanStatus::Unset => ("unset", ""),
        SpanStatus::Error(message) => ("error", message.as_str()),
    };
    let events: Vec<Value> = span
        .events
        .iter()
        .map(|e| {
            let (time, attributes) = (unix_nanos(e.time), attrs_json(&e.attributes));
            json!({"name": e.name, "time_unix_nano": time, "attributes": attributes})
        })
        .collect();
    json!({
        "trace_id": span.trace_id.to_string(),
        "span_id": span.span_id.to_string(),
        "parent_span_id": span.parent_span_id.map(|p| p.to_string()),
        "name": span.name,
        "kind": span.kind,
        "start_unix_nano": unix_nanos(span.start),
        "end_unix_nano": unix_nanos(span.end),
        "status": {"code": code, "message": message},
        "attributes": attrs_json(&span.attributes),
        "events": events,
    })
}
