//! The destinations of one process (the daemon, or a replay): it owns one durable [`Spool`]
//! and one [`Courier`] task per destination. Producers (session actors, a replay) hand spans
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

use super::courier::{Courier, Group, MAX_GROUP_SPANS};
use super::retry::DeliverySettings;
use super::spool::{name_of_key, spool_key, Spool, SpoolError};
use crate::export::{Destination, DestinationConfig, DestinationKind, MetricsSink};
use crate::logging::{Chain, Log};
use crate::paths::StateDir;
use crate::span::{SpanId, SpanRecord};
use crate::wire::{DeliveryState, DestinationStatus};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Spans of one session for one destination.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) session_id: String,
    pub(crate) spans: Vec<SpanRecord>,
    pub(crate) ack: mpsc::UnboundedSender<Ack>,
}

/// A destination is done with these spans: it acknowledged them (or they were given up on).
#[derive(Debug)]
pub(crate) struct Ack {
    /// The destination's spool key ([`DestinationHandle::key`]).
    pub(crate) destination: String,
    pub(crate) span_ids: Vec<SpanId>,
}

/// What delivery has done, for `status`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) state: DeliveryState,
    pub(crate) delivered: u64,
    pub(crate) dropped: u64,
    pub(crate) refused: u64,
    pub(crate) retries: u64,
    pub(crate) refusing: bool,
    pub(crate) last_error: Option<String>,
    pub(crate) last_error_at_ms: Option<u64>,
    pub(crate) last_success_at_ms: Option<u64>,
    /// The latest 2xx answer that was not an OTLP response (the spans counted as delivered).
    pub(crate) warning: Option<String>,
}

/// One destination's spool and bookkeeping, shared by its handles and its courier.
#[derive(Debug)]
pub(crate) struct Shared {
    key: String,
    /// The destination's name.
    pub(crate) name: String,
    spool: Mutex<Spool>,
    counters: Mutex<Counters>,
    subscribers: Mutex<HashMap<String, mpsc::UnboundedSender<Ack>>>,
    /// Notified when spans were spooled.
    pub(crate) wake: Notify,
    /// A courier is delivering this spool.
    pub(crate) running: AtomicBool,
    pub(crate) log: Log,
}

impl Shared {
    fn open(root: &Path, key: &str, settings: &DeliverySettings, log: &Log) -> Option<Self> {
        let dir = root.join(StateDir::session_file_stem(key));
        let opened = Spool::open(&dir, settings.spool_max_bytes);
        let (spool, problems) = opened.map_err(|error| log.error(&error)).ok()?;
        let shared = Shared {
            key: key.to_owned(),
            name: name_of_key(key).to_owned(),
            spool: Mutex::new(spool),
            counters: Mutex::new(Counters::default()),
            subscribers: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            running: AtomicBool::new(false),
            log: log.clone(),
        };
        for problem in problems {
            shared.discarded(&problem);
        }
        Some(shared)
    }

    /// Updates the counters.
    pub(crate) fn count(&self, change: impl FnOnce(&mut Counters)) {
        if let Ok(mut counters) = self.counters.lock() {
            change(&mut counters);
        }
    }

    /// A damaged spool file was removed: its spans count as dropped.
    fn discarded(&self, problem: &SpoolError) {
        self.log
            .write(format_args!("{}: {}", self.name, Chain(problem)));
        if let SpoolError::Damaged { spans, .. } = problem {
            self.count(|c| c.dropped += *spans as u64);
        }
    }

    /// Spools `spans`; false (logged and counted) when the spool refused them.
    fn push(&self, session_id: &str, spans: &[SpanRecord]) -> bool {
        let pushed = match self.spool.lock() {
            Ok(mut spool) => spool.push(session_id, spans),
            Err(_) => return false,
        };
        let refused = pushed.as_ref().err().map(|error| Chain(error).to_string());
        let mut log_it = None;
        self.count(|c| {
            if refused.is_some() {
                c.refused += spans.len() as u64;
            }
            if c.refusing != refused.is_some() {
                c.refusing = refused.is_some();
                log_it = Some(refused.clone());
            }
        });
        match log_it {
            Some(Some(error)) => self.log.write(format_args!(
                "{}: {error}; refusing new spans, which stay in their journals",
                self.name
            )),
            Some(None) => self
                .log
                .write(format_args!("{}: the spool takes spans again", self.name)),
            None => {}
        }
        if pushed.is_ok() {
            self.wake.notify_one();
        }
        pushed.is_ok()
    }

    /// The oldest spooled spans, up to the limits (damaged files are discarded on the way).
    pub(crate) fn read_group(&self, max_bytes: u64) -> Group {
        let mut batches = Vec::new();
        let mut problems = Vec::new();
        if let Ok(mut spool) = self.spool.lock() {
            for seq in spool.oldest(MAX_GROUP_SPANS, max_bytes) {
                match spool.read(seq) {
                    Ok(batch) => batches.push(batch),
                    Err(problem) => problems.push(problem),
                }
            }
        }
        for problem in &problems {
            self.discarded(problem);
        }
        Group::new(batches)
    }

    /// Takes `done` (by batch position) out of the spool, then tells each session.
    pub(crate) fn settle(&self, done: BTreeMap<u64, (String, Vec<SpanId>)>) {
        let mut problems = Vec::new();
        if let Ok(mut spool) = self.spool.lock() {
            for (seq, (_, ids)) in &done {
                if let Err(problem) = spool.remove(*seq, ids) {
                    problems.push(problem);
                }
            }
        }
        for problem in &problems {
            self.log
                .write(format_args!("{}: {}", self.name, Chain(problem)));
        }
        let Ok(mut subscribers) = self.subscribers.lock() else {
            return;
        };
        for (session_id, ids) in done.into_values() {
            let ack = Ack {
                destination: self.key.clone(),
                span_ids: ids,
            };
            let gone = subscribers
                .get(&session_id)
                .is_some_and(|tx| tx.send(ack).is_err());
            if gone {
                subscribers.remove(&session_id);
            }
        }
    }

    fn status(&self) -> DestinationStatus {
        let (queued_spans, queued_bytes) = self
            .spool
            .lock()
            .map(|s| (s.queued_spans() as u64, s.queued_bytes()))
            .unwrap_or_default();
        let running = self.running.load(Ordering::Relaxed);
        let counters = self.counters.lock();
        let Ok(c) = counters.as_deref() else {
            return DestinationStatus::default();
        };
        DestinationStatus {
            name: self.name.clone(),
            spool: self.key.clone(),
            state: if running {
                c.state
            } else {
                DeliveryState::Unconfigured
            },
            queued_spans,
            queued_bytes,
            delivered_spans: c.delivered,
            dropped_spans: c.dropped,
            refused_spans: c.refused,
            retries: c.retries,
            last_error: c.last_error.clone(),
            last_error_at_ms: c.last_error_at_ms,
            last_success_at_ms: c.last_success_at_ms,
            warning: c.warning.clone(),
        }
    }
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
