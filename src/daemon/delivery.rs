//! Delivery: one task per destination exports the batches session actors hand it, retrying
//! with exponential backoff and jitter until the destination accepts, and acknowledges the
//! delivered span ids back to the actor on the batch's channel.
//!
//! Destinations are shared by every session whose route configures the same destination (equal
//! configuration, secrets included); a slow or dead destination only delays its own queue.

use crate::export::{Destination, DestinationConfig};
use crate::logging::Log;
use crate::span::{SpanId, SpanRecord};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Batches waiting for one destination; a full queue makes the sending actor wait
/// (backpressure costs latency, never data).
const QUEUE_BATCHES: usize = 256;
/// First retry delay; doubles per failed attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest delay between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Spans of one session for one destination.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) spans: Vec<SpanRecord>,
    pub(crate) ack: mpsc::UnboundedSender<Ack>,
}

/// A destination accepted these spans.
#[derive(Debug)]
pub(crate) struct Ack {
    pub(crate) destination: String,
    pub(crate) span_ids: Vec<SpanId>,
}

/// What `status` reports per destination.
#[derive(Debug, Clone, Default)]
pub(crate) struct DestinationStats {
    pub(crate) queued_batches: u64,
    pub(crate) delivered_spans: u64,
    pub(crate) failed_attempts: u64,
    pub(crate) last_error: Option<String>,
}

/// A running destination task.
#[derive(Debug, Clone)]
pub(crate) struct DestinationHandle {
    pub(crate) config: DestinationConfig,
    tx: mpsc::Sender<Batch>,
    pub(crate) stats: Arc<Mutex<DestinationStats>>,
}

impl DestinationHandle {
    /// Queues a batch, waiting while the queue is full; false when the task has stopped.
    pub(crate) async fn send(&self, batch: Batch) -> bool {
        if let Ok(mut stats) = self.stats.lock() {
            stats.queued_batches += 1;
        }
        self.tx.send(batch).await.is_ok()
    }

    /// The destination's name.
    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }
}

/// The destination tasks of the daemon, created on first use.
#[derive(Debug)]
pub(crate) struct Destinations {
    handles: Mutex<Vec<DestinationHandle>>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    log: Log,
}

impl Destinations {
    pub(crate) fn new(tracker: TaskTracker, cancel: CancellationToken, log: Log) -> Self {
        Destinations {
            handles: Mutex::new(Vec::new()),
            tracker,
            cancel,
            log,
        }
    }

    /// The running tasks for `configs`, starting the missing ones. A destination that cannot
    /// be built is logged and left out.
    pub(crate) fn for_configs(&self, configs: &[DestinationConfig]) -> Vec<DestinationHandle> {
        let Ok(mut handles) = self.handles.lock() else {
            return Vec::new();
        };
        let mut chosen = Vec::new();
        for config in configs {
            if let Some(existing) = handles.iter().find(|h| h.config == *config) {
                chosen.push(existing.clone());
                continue;
            }
            match Destination::build(config) {
                Ok(destination) => {
                    let handle = self.spawn(config.clone(), destination);
                    handles.push(handle.clone());
                    chosen.push(handle);
                }
                Err(error) => self.log.error(&error),
            }
        }
        chosen
    }

    /// Every destination's name and statistics.
    pub(crate) fn stats(&self) -> Vec<(String, DestinationStats)> {
        let handles = self.handles.lock().map(|h| h.clone()).unwrap_or_default();
        handles
            .iter()
            .map(|h| {
                (
                    h.config.name.clone(),
                    h.stats.lock().map(|s| s.clone()).unwrap_or_default(),
                )
            })
            .collect()
    }

    /// True while any destination has batches not yet delivered.
    pub(crate) fn busy(&self) -> bool {
        self.stats().iter().any(|(_, s)| s.queued_batches > 0)
    }

    fn spawn(&self, config: DestinationConfig, destination: Destination) -> DestinationHandle {
        let (tx, rx) = mpsc::channel(QUEUE_BATCHES);
        let stats = Arc::new(Mutex::new(DestinationStats::default()));
        let task = DestinationTask {
            destination,
            stats: stats.clone(),
            cancel: self.cancel.clone(),
            log: self.log.clone(),
        };
        self.tracker.spawn(task.run(rx));
        DestinationHandle { config, tx, stats }
    }
}

struct DestinationTask {
    destination: Destination,
    stats: Arc<Mutex<DestinationStats>>,
    cancel: CancellationToken,
    log: Log,
}

impl DestinationTask {
    async fn run(mut self, mut rx: mpsc::Receiver<Batch>) {
        loop {
            let batch = tokio::select! {
                batch = rx.recv() => batch,
                () = self.cancel.cancelled() => None,
            };
            let Some(batch) = batch else { break };
            if !self.deliver(&batch).await {
                break;
            }
        }
        self.destination.shutdown().await;
    }

    /// Exports until accepted; false when cancelled first.
    async fn deliver(&mut self, batch: &Batch) -> bool {
        let mut attempt: u32 = 0;
        loop {
            match self.destination.export(&batch.spans).await {
                Ok(()) => {
                    self.update(|s| {
                        s.queued_batches = s.queued_batches.saturating_sub(1);
                        s.delivered_spans += batch.spans.len() as u64;
                        s.last_error = None;
                    });
                    let span_ids = batch.spans.iter().map(|s| s.span_id).collect();
                    let destination = self.destination.name().to_owned();
                    let _ = batch.ack.send(Ack {
                        destination,
                        span_ids,
                    });
                    return true;
                }
                Err(error) => {
                    let message = error_chain(&error);
                    if attempt == 0 {
                        self.log.write(format_args!(
                            "{}: {message}; retrying",
                            self.destination.name()
                        ));
                    }
                    self.update(|s| {
                        s.failed_attempts += 1;
                        s.last_error = Some(message);
                    });
                    attempt = attempt.saturating_add(1);
                    tokio::select! {
                        () = tokio::time::sleep(backoff(attempt)) => {}
                        () = self.cancel.cancelled() => return false,
                    }
                }
            }
        }
    }

    fn update(&self, change: impl FnOnce(&mut DestinationStats)) {
        if let Ok(mut stats) = self.stats.lock() {
            change(&mut stats);
        }
    }
}

/// The error and its sources, joined (no values of secrets ever appear in our errors).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Exponential backoff with ±25 % jitter, capped at [`MAX_BACKOFF`].
fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1u32 << attempt.min(8))
        .min(MAX_BACKOFF);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let jitter = f64::from(nanos % 1000) / 1000.0 * 0.5 + 0.75;
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        assert!(backoff(1) < backoff(4));
        for attempt in [10, 20, u32::MAX] {
            assert!(backoff(attempt) <= MAX_BACKOFF.mul_f64(1.25));
        }
    }
}
