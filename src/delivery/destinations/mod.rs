//! The destinations of one process (the daemon, or a replay): it owns one durable spool
//! ([`Shared`]) and one [`Courier`] task per destination. Producers (session actors, a replay) hand spans
//! to a destination's spool ([`DestinationHandle::send`]); its courier sends them, retries by
//! failure class ([`super::retry`]), takes out what the destination acknowledged and tells the
//! sessions ([`Ack`]).
//!
//! Contract:
//! - A span leaves a spool only once its destination acknowledged it, or once it is given up
//!   on and counted as dropped: a single span the destination refuses as too large (HTTP 413
//!   down to one span, or over the request limit), or spans an OTLP partial success rejected
//!   (the response says how many, not which: the request counts as done and is not resent).
//! - Destinations are independent: each has its own spool and courier, so a slow or dead one
//!   only fills its own spool. A full spool refuses new batches rather than making anyone
//!   wait; the refused spans stay in their journals and the actor hands them over again later.
//! - One courier per spool: configurations with the same spool key ([`spool_key`]) share the
//!   courier started for the first of them. Spools found on disk at start-up whose
//!   destination no route configures yet stay dormant (state `unconfigured`) until one does.
//! - Acknowledgements of a session's spans go to the channel it attached last
//!   ([`DestinationHandle::attach`], or the channel of its last batch), after the spans left
//!   the spool, so a session that hears of them sees [`DestinationHandle::queued_for`] drop.
//! - GenAI metrics: a configuration whose metrics are on ([`MetricsSink::build`] gives a sink)
//!   shares the [`MetricsSink`] built for the first such configuration of its spool key (so
//!   the first one's metrics endpoint and temporality win). Spans are recorded once the spool
//!   accepted them, with the same checkpoint-filtered batch (see the daemon's metrics module for why).

use super::courier::Courier;
use super::retry::DeliverySettings;
use super::shared::{Ack, Shared};
use super::spool::spool_key;
use crate::export::{Destination, DestinationConfig, DestinationKind, MetricsSink};
use crate::logging::Log;
use crate::paths::StateDir;
use crate::span::SpanRecord;
use crate::wire::DestinationStatus;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Spans of one session for one destination.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) session_id: String,
    pub(crate) spans: Vec<SpanRecord>,
    pub(crate) ack: mpsc::UnboundedSender<Ack>,
}

/// A destination as session actors see it.
#[derive(Debug, Clone)]
pub(crate) struct DestinationHandle {
    shared: Arc<Shared>,
    /// The metrics of the configuration the handle was made for, when they are on.
    metrics: Option<Arc<MetricsSink>>,
}

impl DestinationHandle {
    /// Hands a batch to the destination's spool, durably; false when the spool refused it
    /// (full or unwritable: the spans stay in the journal). Acknowledgements of the session's
    /// spans go to the batch's channel from now on. Accepted spans are recorded in the
    /// destination's metrics, when they are on.
    pub(crate) async fn send(&self, batch: Batch) -> bool {
        self.attach(&batch.session_id, batch.ack);
        let shared = self.shared.clone();
        let (session_id, spans) = (batch.session_id, batch.spans);
        let accepted =
            tokio::task::spawn_blocking(move || shared.push(&session_id, &spans).then_some(spans))
                .await
                .ok()
                .flatten();
        let Some(spans) = accepted else {
            return false;
        };
        if let Some(metrics) = &self.metrics {
            metrics.record(&spans);
        }
        true
    }

    /// Sends acknowledgements of `session_id`'s spooled spans (those spooled by an earlier
    /// daemon included) to `ack`.
    pub(crate) fn attach(&self, session_id: &str, ack: mpsc::UnboundedSender<Ack>) {
        if let Ok(mut subscribers) = self.shared.subscribers.lock() {
            // Retired sessions' channels go here, so the map holds live sessions only.
            subscribers.retain(|_, tx| !tx.is_closed());
            subscribers.insert(session_id.to_owned(), ack);
        }
    }

    /// Spans of `session_id` in the spool, not yet acknowledged.
    pub(crate) fn queued_for(&self, session_id: &str) -> usize {
        self.shared
            .spool
            .lock()
            .map_or(0, |spool| spool.queued_for(session_id))
    }

    /// The destination's name.
    pub(crate) fn name(&self) -> &str {
        &self.shared.name
    }

    /// The destination's spool key: its identity in checkpoints and acknowledgements.
    pub(crate) fn key(&self) -> &str {
        &self.shared.key
    }
}

/// Every destination of the daemon: the spools found on disk and those routes configure.
#[derive(Debug)]
pub(crate) struct Destinations {
    root: PathBuf,
    settings: DeliverySettings,
    spools: Mutex<BTreeMap<String, Arc<Shared>>>,
    /// Metrics sinks by spool key, built when a configuration with metrics is first used.
    metrics: Mutex<BTreeMap<String, Arc<MetricsSink>>>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    log: Log,
}

impl Destinations {
    /// Opens every spool under `root` (one directory per spool key, dormant until configured).
    pub(crate) fn new(
        root: &Path,
        settings: DeliverySettings,
        tracker: TaskTracker,
        cancel: CancellationToken,
        log: Log,
    ) -> Self {
        let mut spools = BTreeMap::new();
        let entries = std::fs::read_dir(root).ok();
        for entry in entries.into_iter().flatten().flatten() {
            let key = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && StateDir::session_file_stem(&key) == key {
                if let Some(shared) = Shared::open(root, &key, &settings, &log) {
                    spools.insert(key, Arc::new(shared));
                }
            }
        }
        Destinations {
            root: root.to_owned(),
            settings,
            spools: Mutex::new(spools),
            metrics: Mutex::new(BTreeMap::new()),
            tracker,
            cancel,
            log,
        }
    }

    /// The destinations of `configs`, starting the tasks not running yet and building the
    /// metrics sinks not built yet. A destination that cannot be built (or whose spool cannot
    /// be opened) is logged and left out; metrics that cannot be built are logged and left off.
    pub(crate) fn for_configs(&self, configs: &[DestinationConfig]) -> Vec<DestinationHandle> {
        let Ok(mut spools) = self.spools.lock() else {
            return Vec::new();
        };
        let mut chosen = Vec::new();
        for config in configs {
            let key = spool_key(config);
            if !spools.contains_key(&key) {
                match Shared::open(&self.root, &key, &self.settings, &self.log) {
                    Some(shared) => spools.insert(key.clone(), Arc::new(shared)),
                    None => continue,
                };
            }
            let Some(shared) = spools.get(&key) else {
                continue;
            };
            if !shared.running.load(Ordering::Relaxed) {
                match Destination::build(config) {
                    Ok(destination) => self.spawn(shared.clone(), destination, config),
                    Err(error) => {
                        self.log.error(&error);
                        continue;
                    }
                }
            }
            chosen.push(DestinationHandle {
                shared: shared.clone(),
                metrics: self.metrics_for(&key, config),
            });
        }
        chosen
    }

    /// The metrics sink of `config` (spool key `key`) when its metrics are on: the one built
    /// for the key before, else a new one.
    fn metrics_for(&self, key: &str, config: &DestinationConfig) -> Option<Arc<MetricsSink>> {
        let metrics_on =
            matches!(&config.kind, DestinationKind::Otlp(otlp) if otlp.metrics.is_some());
        if !metrics_on {
            return None;
        }
        let mut sinks = self.metrics.lock().ok()?;
        if let Some(sink) = sinks.get(key) {
            return Some(sink.clone());
        }
        match MetricsSink::build(config) {
            Ok(sink) => {
                let sink = Arc::new(sink?);
                sinks.insert(key.to_owned(), sink.clone());
                Some(sink)
            }
            Err(error) => {
                self.log.error(&error);
                None
            }
        }
    }

    /// Every metrics sink built so far, with its spool key.
    pub(crate) fn metrics_sinks(&self) -> Vec<(String, Arc<MetricsSink>)> {
        self.metrics
            .lock()
            .map(|sinks| sinks.iter().map(|(k, s)| (k.clone(), s.clone())).collect())
            .unwrap_or_default()
    }

    /// Every destination's status, by spool key.
    pub(crate) fn stats(&self) -> Vec<DestinationStatus> {
        self.shared().iter().map(|s| s.status()).collect()
    }

    /// True while a configured destination has spans to deliver.
    pub(crate) fn busy(&self) -> bool {
        self.shared().iter().any(|s| {
            s.running.load(Ordering::Relaxed)
                && s.spool.lock().is_ok_and(|spool| spool.queued_spans() > 0)
        })
    }

    /// Every session with spans in some spool, configured or dormant.
    pub(crate) fn spooled_sessions(&self) -> HashSet<String> {
        let mut sessions = HashSet::new();
        for shared in self.shared() {
            if let Ok(spool) = shared.spool.lock() {
                sessions.extend(spool.sessions().map(str::to_owned));
            }
        }
        sessions
    }

    fn shared(&self) -> Vec<Arc<Shared>> {
        self.spools
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    fn spawn(&self, shared: Arc<Shared>, destination: Destination, config: &DestinationConfig) {
        shared.running.store(true, Ordering::Relaxed);
        let courier = Courier::new(shared, destination, config, self.settings, &self.cancel);
        self.tracker.spawn(courier.run());
    }
}

#[cfg(test)]
mod tests;
