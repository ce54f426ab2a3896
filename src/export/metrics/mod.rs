//! GenAI metrics, optional and off by default: finished spans → token usage, model-call
//! durations, tool-call counts and durations ([`measure`] names the instruments) → OTLP
//! metrics to the OTLP destinations that have them on ([`MetricsConfig`](super::MetricsConfig)).
//!
//! Contract:
//! - Only [`DestinationKind::Otlp`] destinations with metrics configured get a
//!   [`MetricsSink`]; Braintrust (which ingests traces only) and the local store never do.
//! - [`MetricsSink::record`] aggregates in memory and never blocks on the network; a span id
//!   recorded before (among the last [`RECENT_SPANS`]) is not counted again, so a replayed
//!   batch does not inflate the numbers within one process.
//! - [`MetricsSink::flush`] sends one request with every series, through the same transport as
//!   spans (TLS, proxy, headers, timeout, failure classes). With cumulative temporality it
//!   sends the totals since the sink was built; with delta it sends what was recorded since the
//!   last successful flush, and a window that failed with a retryable error is folded into the
//!   next one. Nothing recorded: nothing sent.

mod aggregate;
pub mod measure;

use super::otlp::Temporality;
use super::signal::Metrics;
use super::transport::Transport;
use super::{convert, DestinationConfig, DestinationKind, ExportError};
use crate::span::{SpanId, SpanRecord};
use aggregate::Aggregates;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// How many recent span ids a sink remembers to skip replays.
pub const RECENT_SPANS: usize = 65_536;

/// One destination's metrics: aggregates recorded spans and exports them on flush.
#[derive(Debug)]
pub struct MetricsSink {
    destination: String,
    transport: Transport,
    resource: Resource,
    temporality: Temporality,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    pending: Aggregates,
    recent: VecDeque<SpanId>,
    seen: HashSet<SpanId>,
}

impl MetricsSink {
    /// The sink for `config`, or `None` when the destination takes no metrics (not OTLP, or
    /// metrics not configured). Must run inside a Tokio runtime.
    pub fn build(config: &DestinationConfig) -> Result<Option<Self>, ExportError> {
        let DestinationKind::Otlp(otlp) = &config.kind else {
            return Ok(None);
        };
        let Some(metrics) = &otlp.metrics else {
            return Ok(None);
        };
        let mut transport_config = otlp.clone();
        transport_config.endpoint = metrics.endpoint.clone();
        let transport =
            Transport::build(&transport_config).map_err(|source| ExportError::Otlp {
                destination: config.name.clone(),
                source,
            })?;
        let resource = ResourceAttributesWithSchema::from(&convert::resource(&config.resource));
        Ok(Some(MetricsSink {
            destination: config.name.clone(),
            transport,
            resource: Resource {
                attributes: resource.attributes.0,
                ..Resource::default()
            },
            temporality: metrics.temporality,
            state: Mutex::new(State {
                pending: Aggregates::new(SystemTime::now()),
                recent: VecDeque::new(),
                seen: HashSet::new(),
            }),
        }))
    }

    /// The destination's name.
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// Records the measurements of `spans` not recorded before.
    pub fn record(&self, spans: &[SpanRecord]) {
        let mut state = self.lock();
        let fresh: Vec<SpanRecord> = spans
            .iter()
            .filter(|span| state.remember(span.span_id))
            .cloned()
            .collect();
        for measurement in measure::measurements(&fresh) {
            state.pending.add(&measurement);
        }
    }

    /// Exports what was recorded (see the module docs). One attempt.
    pub async fn flush(&self) -> Result<(), ExportError> {
        let now = SystemTime::now();
        let snapshot = {
            let mut state = self.lock();
            match self.temporality {
                Temporality::Cumulative => state.pending.clone(),
                Temporality::Delta => std::mem::replace(&mut state.pending, Aggregates::new(now)),
            }
        };
        if snapshot.is_empty() {
            return Ok(());
        }
        let request = snapshot.request(&self.resource, self.temporality, now);
        let result = self.transport.send::<Metrics>(request).await;
        result.map_err(|source| {
            let retryable = matches!(
                source.retry_advice(),
                super::RetryAdvice::Retry { .. } | super::RetryAdvice::Split
            );
            if self.temporality == Temporality::Delta && retryable {
                self.lock().pending.merge(snapshot);
            }
            ExportError::Otlp {
                destination: self.destination.clone(),
                source,
            }
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Remembers `id`; false when it was already among the recent ids.
    fn remember(&mut self, id: SpanId) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        self.recent.push_back(id);
        if self.recent.len() > RECENT_SPANS {
            if let Some(oldest) = self.recent.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State {
            pending: Aggregates::new(SystemTime::UNIX_EPOCH),
            recent: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    #[test]
    fn a_span_id_is_remembered_until_it_falls_out_of_the_window() {
        let mut state = state();
        let id = |n: u64| SpanId(n.to_be_bytes());
        assert!(state.remember(id(0)));
        assert!(!state.remember(id(0)));
        for n in 1..=RECENT_SPANS as u64 {
            assert!(state.remember(id(n)));
        }
        assert_eq!(state.recent.len(), RECENT_SPANS);
        assert!(state.remember(id(0)), "forgotten after the window");
    }
}
