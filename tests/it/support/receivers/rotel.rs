//! The rotel collector, started from one of the env files shipped in `otel-config/rotel/`.

use super::{accepts_connections, free_ports, repo_root, scrubbed_command, Component, Deadline};
use super::{Process, START_TIMEOUT};
use anyhow::Result;

/// A running rotel collector, configured by one of the env files in `otel-config/rotel/`.
#[derive(Debug)]
pub(crate) struct Rotel {
    process: Process,
    http_port: u16,
    grpc_port: u16,
}

impl Rotel {
    /// Starts rotel the way the config's header says (`set -a && . <file> && exec rotel-agent
    /// start`), on free ports, with `env` added (upstream endpoint, headers); batches are cut
    /// to 100 ms and retries to 5 s. `Ok(None)` when rotel is not installed.
    pub(crate) async fn start(config: &str, env: &[(&str, String)]) -> Result<Option<Self>> {
        let Some(agent) = Component::Rotel.locate()? else {
            return Ok(None);
        };
        let config = repo_root().join("otel-config/rotel").join(config);
        let [grpc_port, http_port] = free_ports()?;
        let mut command = scrubbed_command("sh");
        command.args(["-c", r#"set -a && . "$0" && set +a && exec "$1" start"#]);
        command.arg(&config).arg(agent);
        command
            .env("ROTEL_OTLP_GRPC_ENDPOINT", format!("127.0.0.1:{grpc_port}"))
            .env("ROTEL_OTLP_HTTP_ENDPOINT", format!("127.0.0.1:{http_port}"))
            .env("ROTEL_BATCH_TIMEOUT", "100ms")
            .env("ROTEL_OTLP_EXPORTER_RETRY_MAX_ELAPSED_TIME", "5s")
            .env("ROTEL_PID_FILE", "rotel.pid")
            .env("ROTEL_LOG_FILE", "rotel-daemon.log")
            .envs(env.iter().map(|(key, value)| (key, value)));
        let mut process = Process::spawn(Component::Rotel, command)?;
        let deadline = Deadline::after(START_TIMEOUT, format!("rotel on {}", config.display()));
        while !(accepts_connections(grpc_port) && accepts_connections(http_port)) {
            process.tick(&deadline).await?;
        }
        Ok(Some(Self {
            process,
            http_port,
            grpc_port,
        }))
    }

    /// The OTLP/HTTP receiver's base URL (traces go to `<url>/v1/traces`).
    pub(crate) fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The OTLP/gRPC receiver, `http://127.0.0.1:<port>`.
    pub(crate) fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// rotel's output so far (its log), for assertions on errors it reported.
    pub(crate) fn log(&self) -> String {
        self.process.log_tail()
    }
}
