//! The export stage: finished [`SpanRecord`]s → destinations (OTLP over HTTP/protobuf,
//! HTTP/JSON or gRPC; Braintrust; the local store), and optionally GenAI [`metrics`] to the
//! OTLP destinations that take them.
//!
//! Contract:
//! - A [`Destination`] is built from a validated [`DestinationConfig`] (made by `config`) and
//!   exports one batch per call; it keeps no queue and retries nothing, so a durable spool and
//!   retries can sit on top. Calls on one destination never overlap (`&mut self`).
//! - Destinations are independent: [`Fanout`] sends a batch to each concurrently and reports
//!   each result; one failing never stops the others.
//! - Exporting the same records again sends identical content (records are final and ids
//!   deterministic), so a retry or replay can at worst repeat a span, never alter it.
//! - Secrets in configurations (API keys, header values) are never logged: `Debug` redacts them.
//!
//! For tests and real receivers the whole stage is: `build_destinations(&configs).await`, then
//! `Destination::export(&spans).await` (or [`Fanout::export`]), then `shutdown`.

pub mod braintrust;
pub mod convert;
pub mod decode;
pub mod file;
mod grpc;
mod http;
pub mod metrics;
pub mod otlp;
mod receiver;
pub mod retry;
mod signal;
mod sink;
mod tls;
mod transport;

pub use braintrust::{BraintrustConfig, BraintrustProject};
pub use convert::ResourceConfig;
pub use file::{LocalStore, StoreConfig, StoreError};
pub use metrics::MetricsSink;
pub use otlp::{
    ClientIdentity, Compression, Connection, Headers, MetricsConfig, OtlpConfig, OtlpError,
    Protocol, Proxy, Temporality, TlsConfig,
};
pub use sink::OtlpSink;

use crate::span::SpanRecord;
use std::time::Duration;

/// What to do with a batch whose export failed, by failure class (see [`retry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAdvice {
    /// The same batch may be accepted later (transport failure, timeout, throttling, server
    /// error): send it again, no sooner than `after` when the receiver said how long to wait.
    Retry {
        /// The receiver's `Retry-After` (HTTP) or `RetryInfo` (gRPC) delay, if it gave one.
        after: Option<Duration>,
    },
    /// The receiver refused the request as too large (HTTP 413, or a gRPC size limit): send
    /// the batch again in smaller parts. A batch of one span cannot be split: give it up.
    Split,
    /// Sending the same batch again cannot succeed (bad request, credentials or path; spans
    /// rejected; a span too large alone; a broken configuration): set it aside. Part of the
    /// batch may have been delivered.
    Permanent,
}

/// A validated destination: a unique name, what it is, and the resource its spans carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationConfig {
    /// Unique among the destinations of a route; names the spool directory and error reports.
    pub name: String,
    /// Where and how spans go.
    pub kind: DestinationKind,
    /// The OTLP resource (service name and attributes) sent with the spans.
    pub resource: ResourceConfig,
}

/// The kinds of destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationKind {
    /// Any OTLP receiver.
    Otlp(OtlpConfig),
    /// Braintrust's OTLP endpoint.
    Braintrust(BraintrustConfig),
    /// The local store read by `codex-otel show`.
    Store(StoreConfig),
}

/// Why a destination could not be built or could not take a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// An OTLP or Braintrust destination failed.
    #[error("destination {destination:?}")]
    Otlp {
        /// The destination's name.
        destination: String,
        /// What went wrong.
        #[source]
        source: OtlpError,
    },
    /// The local store failed.
    #[error("destination {destination:?}")]
    Store {
        /// The destination's name.
        destination: String,
        /// What went wrong.
        #[source]
        source: StoreError,
    },
    /// The task writing the local store ended without a result (it panicked).
    #[error("destination {destination:?}: the store writer stopped")]
    StoreTask {
        /// The destination's name.
        destination: String,
        /// Why the task ended.
        #[source]
        source: tokio::task::JoinError,
    },
}

impl ExportError {
    /// What to do with the batch that failed this way.
    pub fn retry_advice(&self) -> RetryAdvice {
        match self {
            ExportError::Otlp { source, .. } => source.retry_advice(),
            ExportError::Store { source, .. } => match source {
                StoreError::Dir { .. } | StoreError::Write { .. } | StoreError::Read { .. } => {
                    RetryAdvice::Retry { after: None }
                }
                _ => RetryAdvice::Permanent,
            },
            ExportError::StoreTask { source, .. } if source.is_cancelled() => {
                RetryAdvice::Retry { after: None }
            }
            ExportError::StoreTask { .. } => RetryAdvice::Permanent,
        }
    }
}

/// A built destination.
#[derive(Debug)]
pub struct Destination {
    name: String,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    /// Boxed: an exporter is ten times the size of a store.
    Otlp(Box<OtlpSink>),
    Store(LocalStore),
}

impl Destination {
    /// Builds `config`. Must run inside a Tokio runtime.
    pub fn build(config: &DestinationConfig) -> Result<Self, ExportError> {
        let otlp = |otlp: &OtlpConfig| {
            OtlpSink::build(otlp, &config.resource)
                .map(Box::new)
                .map_err(|source| ExportError::Otlp {
                    destination: config.name.clone(),
                    source,
                })
        };
        let sink = match &config.kind {
            DestinationKind::Otlp(otlp_config) => Sink::Otlp(otlp(otlp_config)?),
            DestinationKind::Braintrust(braintrust) => Sink::Otlp(otlp(&braintrust.to_otlp())?),
            DestinationKind::Store(store) => Sink::Store(LocalStore::new(store, &config.resource)),
        };
        Ok(Destination {
            name: config.name.clone(),
            sink,
        })
    }

    /// The destination's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends one batch. On error part of the batch may have been delivered.
    pub async fn export(&mut self, spans: &[SpanRecord]) -> Result<(), ExportError> {
        if spans.is_empty() {
            return Ok(());
        }
        match &self.sink {
            Sink::Otlp(sink) => sink
                .export(spans)
                .await
                .map_err(|source| ExportError::Otlp {
                    destination: self.name.clone(),
                    source,
                }),
            Sink::Store(store) => {
                let (store, spans) = (store.clone(), spans.to_vec());
                tokio::task::spawn_blocking(move || store.append(&spans))
                    .await
                    .map_err(|source| ExportError::StoreTask {
                        destination: self.name.clone(),
                        source,
                    })?
                    .map_err(|source| ExportError::Store {
                        destination: self.name.clone(),
                        source,
                    })
            }
        }
    }

    /// Releases the destination's transport; later exports fail.
    pub async fn shutdown(&mut self) {
        match &mut self.sink {
            Sink::Otlp(sink) => sink.shutdown(),
            Sink::Store(_) => {}
        }
    }
}

/// Builds every destination of `configs`, in order; the first that cannot be built fails the
/// whole set. Must run inside a Tokio runtime.
pub async fn build_destinations(
    configs: &[DestinationConfig],
) -> Result<Vec<Destination>, ExportError> {
    configs.iter().map(Destination::build).collect()
}

/// One batch sent to several independent destinations.
#[derive(Debug)]
pub struct Fanout {
    destinations: Vec<Destination>,
}

/// The outcome of one destination in a [`Fanout::export`].
#[derive(Debug)]
pub struct DestinationResult {
    /// The destination's name.
    pub destination: String,
    /// Its result.
    pub result: Result<(), ExportError>,
}

impl Fanout {
    /// Fans out to `destinations`.
    pub fn new(destinations: Vec<Destination>) -> Self {
        Fanout { destinations }
    }

    /// The destinations, in order.
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// Sends `spans` to every destination concurrently; one result per destination, in order.
    pub async fn export(&mut self, spans: &[SpanRecord]) -> Vec<DestinationResult> {
        let sends = self.destinations.iter_mut().map(|destination| async move {
            DestinationResult {
                destination: destination.name.clone(),
                result: destination.export(spans).await,
            }
        });
        futures_util::future::join_all(sends).await
    }

    /// Shuts every destination down.
    pub async fn shutdown(&mut self) {
        for destination in &mut self.destinations {
            destination.shutdown().await;
        }
    }
}
