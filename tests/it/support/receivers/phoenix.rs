//! Arize Phoenix, a real LLM-tracing backend, read back through its REST API.

use super::ARRIVAL_TIMEOUT;
use super::{free_ports, get_json, repo_root, scrubbed_command, Component, Deadline, Process};
use anyhow::Result;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long Phoenix may take to answer `/healthz` (7–10 s on an idle 2-core machine).
const PHOENIX_START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running Arize Phoenix, started through `tests/receivers/phoenix_loopback.py` with a fresh
/// working directory (its SQLite database lives there).
#[derive(Debug)]
pub(crate) struct Phoenix {
    process: Process,
    http_port: u16,
    grpc_port: u16,
    client: reqwest::Client,
}

impl Phoenix {
    /// Starts Phoenix and waits for `/healthz`; `Ok(None)` when it is not installed.
    pub(crate) async fn start() -> Result<Option<Self>> {
        let Some(python) = Component::Phoenix.locate()? else {
            return Ok(None);
        };
        let [http_port, grpc_port] = free_ports()?;
        let mut command = scrubbed_command(python);
        command.arg(repo_root().join("tests/receivers/phoenix_loopback.py"));
        command
            .env("PHOENIX_HOST", "127.0.0.1")
            .env("PHOENIX_PORT", http_port.to_string())
            .env("PHOENIX_GRPC_PORT", grpc_port.to_string())
            .env("PHOENIX_WORKING_DIR", "phoenix-data")
            .env("PHOENIX_TELEMETRY_ENABLED", "false")
            .env("PHOENIX_ALLOW_EXTERNAL_RESOURCES", "false")
            .env("PHOENIX_DISABLE_AGENT_ASSISTANT", "true");
        let mut process = Process::spawn(Component::Phoenix, command)?;
        let client = reqwest::Client::new();
        let health = format!("http://127.0.0.1:{http_port}/healthz");
        let deadline = Deadline::after(PHOENIX_START_TIMEOUT, "Phoenix's /healthz");
        let started = Instant::now();
        while !client
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            process.tick(&deadline).await?;
        }
        eprintln!("Phoenix ready in {:?}", started.elapsed());
        Ok(Some(Self {
            process,
            http_port,
            grpc_port,
            client,
        }))
    }

    /// The OTLP/HTTP traces URL (protobuf only: Phoenix answers JSON with 415).
    pub(crate) fn traces_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/traces", self.http_port)
    }

    /// The OTLP/gRPC receiver, `http://127.0.0.1:<port>`.
    pub(crate) fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// Waits until project `project` holds `count` spans of trace `trace_id` (hex) and returns
    /// them as the REST API gives them (`GET /v1/projects/{project}/spans`), sorted by span id.
    pub(crate) async fn wait_for_spans(
        &mut self,
        project: &str,
        trace_id: &str,
        count: usize,
    ) -> Result<Vec<Value>> {
        let url = format!(
            "http://127.0.0.1:{}/v1/projects/{project}/spans?trace_id={trace_id}&limit=1000",
            self.http_port
        );
        let what = format!("{count} spans of trace {trace_id} in Phoenix project {project}");
        let deadline = Deadline::after(ARRIVAL_TIMEOUT, what);
        loop {
            let (status, body) = get_json(&self.client, &url).await?;
            let spans = body["data"].as_array().cloned().unwrap_or_default();
            if status == 200 && spans.len() >= count {
                return Ok(sorted_by(spans, "/context/span_id"));
            }
            if let Err(err) = self.process.tick(&deadline).await {
                return Err(err.context(format!("last answer: {status} {body}")));
            }
        }
    }
}

fn sorted_by(mut values: Vec<Value>, pointer: &str) -> Vec<Value> {
    values.sort_by(|a, b| {
        let key = |v: &Value| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        key(a).cmp(&key(b))
    });
    values
}
