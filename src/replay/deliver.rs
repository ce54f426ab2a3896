//! Replay's delivery: the replayed spans go through the same delivery stage as the daemon's
//! ([`crate::delivery`]): a durable spool per destination (under `replay-spool/` in the state
//! directory, so a replay never shares a spool with a running daemon) and a courier that
//! retries. Spans are handed over as the session machine emits them, in groups of at most
//! [`HAND_OVER_SPANS`], so memory stays flat however long the session. A full spool makes the
//! replay wait for room (bounded). At the end the replay waits (bounded, with progress notes
//! on stderr) until every spool it configured is empty, flushes the GenAI metrics and reports
//! per destination what was delivered. What is left when it gives up stays spooled and is
//! delivered by the next replay to the same destination.

use super::{replay_each, HookSource, ReplayError};
use crate::delivery::{Batch, DeliverySettings, DestinationHandle, Destinations};
use crate::export::DestinationConfig;
use crate::logging::Log;
use crate::paths::StateDir;
use crate::session::SessionConfig;
use crate::span::SpanRecord;
use crate::wire::DaemonStatus;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Most spans handed to the spools at once (below one courier request's span limit).
pub(crate) const HAND_OVER_SPANS: usize = 256;
/// How often a full spool is asked again for room, and delivery for its end.
const ASK_AGAIN: Duration = Duration::from_millis(20);
/// How long the couriers get to stop once delivery is over.
const STOP_DEADLINE: Duration = Duration::from_secs(2);

/// Why the replayed spans were not (all) delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliverError {
    /// The replay itself failed.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The configuration names no usable destination.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The async runtime could not start.
    #[error("starting the async runtime")]
    Runtime(#[source] std::io::Error),
    /// A destination could not be built or its spool opened (the reason was logged).
    #[error("destination {0} could not be started")]
    NotStarted(String),
    /// A destination's spool kept refusing spans (full, or not writable).
    #[error("{destination}: the spool refused spans for {waited:?}")]
    Refused {
        /// The destination.
        destination: String,
        /// How long the replay waited for room.
        waited: Duration,
    },
    /// Spans were still spooled when the wait ended.
    #[error("{queued} spans not delivered within {waited:?}; they stay in {} for the next run", dir.display())]
    Undelivered {
        /// Spans left in the spools.
        queued: u64,
        /// How long the replay waited.
        waited: Duration,
        /// Where they wait.
        dir: PathBuf,
    },
    /// Destinations gave spans up (too large alone, or rejected by the receiver).
    #[error("{0}")]
    Dropped(String),
    /// GenAI metrics could not be delivered.
    #[error("{destination} metrics")]
    Metrics {
        /// The destination.
        destination: String,
        /// The cause.
        #[source]
        source: crate::export::ExportError,
    },
}

/// Replays `hooks` to the destinations configured by the environment (and `config.json`);
/// returns how many spans were replayed once every one of them is delivered.
pub(super) fn deliver(
    hooks: HookSource<'_>,
    transcripts: Option<&Path>,
    config: &SessionConfig,
    timeout: Duration,
) -> Result<u64, DeliverError> {
    let state = StateDir::from_env();
    let stage = Stage::from_env(&state, state.replay_spool_root(), "replay", timeout)?;
    let mut group = Group::new(&stage);
    let count = replay_each(hooks, transcripts, config, |session_id, spans| {
        group.add(session_id, spans)
    });
    let handed_over = count.and_then(|count| {
        group.hand_over()?;
        Ok(count)
    });
    let delivered = stage.finish();
    let count = handed_over?;
    delivered?;
    Ok(count)
}

/// Spans of one session gathered into hand-overs of at most [`HAND_OVER_SPANS`]: spans of
/// another session, a full group or [`Group::hand_over`] hand the gathered ones over.
pub(crate) struct Group<'a> {
    stage: &'a Stage,
    session_id: String,
    spans: Vec<SpanRecord>,
}

impl<'a> Group<'a> {
    /// An empty group handing over to `stage`.
    pub(crate) fn new(stage: &'a Stage) -> Self {
        Group {
            stage,
            session_id: String::new(),
            spans: Vec::new(),
        }
    }

    /// Adds `spans` of `session_id`.
    pub(crate) fn add(
        &mut self,
        session_id: &str,
        spans: Vec<SpanRecord>,
    ) -> Result<(), DeliverError> {
        if self.session_id != session_id {
            self.hand_over()?;
            self.session_id = session_id.to_owned();
        }
        self.spans.extend(spans);
        if self.spans.len() >= HAND_OVER_SPANS {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Hands what is gathered over to every spool now.
    pub(crate) fn hand_over(&mut self) -> Result<(), DeliverError> {
        let spans = std::mem::take(&mut self.spans);
        self.stage.hand_over(&self.session_id, spans)
    }
}

/// A command's spools and couriers (`replay`'s, `import`'s), on a runtime of their own.
pub(crate) struct Stage {
    runtime: tokio::runtime::Runtime,
    destinations: Destinations,
    handles: Vec<DestinationHandle>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    timeout: Duration,
    dir: PathBuf,
}

impl Stage {
    /// Starts delivery to the destinations configured by the environment (and
    /// `config.json`), spooled under `dir`, logging as `component`; `timeout` bounds every
    /// wait (for room in a full spool, for the last acknowledgement).
    pub(crate) fn from_env(
        state: &StateDir,
        dir: PathBuf,
        component: &'static str,
        timeout: Duration,
    ) -> Result<Self, DeliverError> {
        let configs = crate::config::destinations_from_env(state)?;
        let (settings, problems) = DeliverySettings::from_lookup(|name| std::env::var(name).ok());
        for problem in problems {
            eprintln!("codex-otel: {problem}");
        }
        let log = Log::new(state, component).with_stderr(true);
        Self::start(dir, log, &configs, settings, timeout)
    }

    fn start(
        dir: PathBuf,
        log: Log,
        configs: &[DestinationConfig],
        settings: DeliverySettings,
        timeout: Duration,
    ) -> Result<Self, DeliverError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(DeliverError::Runtime)?;
        let (tracker, cancel) = (TaskTracker::new(), CancellationToken::new());
        let _entered = runtime.enter();
        let destinations = Destinations::new(&dir, settings, tracker.clone(), cancel.clone(), log);
        let handles = destinations.for_configs(configs);
        let stage = Stage {
            runtime,
            destinations,
            handles,
            tracker,
            cancel,
            timeout,
            dir,
        };
        for config in configs {
            if !stage.handles.iter().any(|h| h.name() == config.name) {
                return Err(DeliverError::NotStarted(config.name.clone()));
            }
        }
        Ok(stage)
    }

    /// Hands `spans` of `session_id` to every destination's spool, waiting (bounded) for room
    /// in a full one.
    pub(crate) fn hand_over(
        &self,
        session_id: &str,
        spans: Vec<SpanRecord>,
    ) -> Result<(), DeliverError> {
        if spans.is_empty() {
            return Ok(());
        }
        for handle in &self.handles {
            let spooled = self.spool(handle, session_id, &spans);
            let note = || self.note();
            self.runtime
                .block_on(crate::progress::wait_async(spooled, note))?;
        }
        Ok(())
    }

    async fn spool(
        &self,
        handle: &DestinationHandle,
        session_id: &str,
        spans: &[SpanRecord],
    ) -> Result<(), DeliverError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            // Nobody listens for acknowledgements: the end is seen in the spools.
            let (ack, _) = mpsc::unbounded_channel();
            let batch = Batch {
                session_id: session_id.to_owned(),
                spans: spans.to_vec(),
                ack,
            };
            if handle.send(batch).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DeliverError::Refused {
                    destination: handle.name().to_owned(),
                    waited: self.timeout,
                });
            }
            tokio::time::sleep(ASK_AGAIN).await;
        }
    }

    /// Waits (bounded) until every configured spool is empty, flushes the metrics, stops the
    /// couriers and says per destination what happened.
    pub(crate) fn finish(self) -> Result<(), DeliverError> {
        let settled = async {
            while self.destinations.busy() {
                tokio::time::sleep(ASK_AGAIN).await;
            }
        };
        let waited = async { tokio::time::timeout(self.timeout, settled).await };
        let settled = self
            .runtime
            .block_on(crate::progress::wait_async(waited, || self.note()))
            .is_ok();
        let metrics = self.runtime.block_on(self.flush_metrics());
        self.cancel.cancel();
        self.tracker.close();
        let stopped = async { tokio::time::timeout(STOP_DEADLINE, self.tracker.wait()).await };
        let _ = self.runtime.block_on(stopped);
        let stats = self.destinations.stats();
        let mut dropped = Vec::new();
        for status in stats.iter().filter(|s| self.configured(&s.spool)) {
            eprintln!(
                "{}: {} spans delivered, {} dropped, {} retries",
                status.name, status.delivered_spans, status.dropped_spans, status.retries
            );
            if status.dropped_spans > 0 {
                dropped.push(format!(
                    "{}: {} spans dropped (too large, or rejected by the receiver)",
                    status.name, status.dropped_spans
                ));
            }
        }
        if !settled {
            let queued = stats
                .iter()
                .filter(|s| self.configured(&s.spool))
                .map(|s| s.queued_spans)
                .sum();
            return Err(DeliverError::Undelivered {
                queued,
                waited: self.timeout,
                dir: self.dir,
            });
        }
        metrics?;
        if !dropped.is_empty() {
            return Err(DeliverError::Dropped(dropped.join("; ")));
        }
        Ok(())
    }

    /// Flushes every destination's GenAI metrics (of the spans its spool accepted).
    async fn flush_metrics(&self) -> Result<(), DeliverError> {
        for (key, sink) in self.destinations.metrics_sinks() {
            if let Err(source) = sink.flush().await {
                let destination = self.handle(&key).map_or(key, |h| h.name().to_owned());
                return Err(DeliverError::Metrics {
                    destination,
                    source,
                });
            }
        }
        Ok(())
    }

    fn handle(&self, key: &str) -> Option<&DestinationHandle> {
        self.handles.iter().find(|h| h.key() == key)
    }

    fn configured(&self, key: &str) -> bool {
        self.handle(key).is_some()
    }

    /// What the replay waits on, for the progress notes.
    fn note(&self) -> String {
        let status = DaemonStatus {
            destinations: self.destinations.stats(),
            ..DaemonStatus::default()
        };
        crate::progress::outstanding(&status)
    }
}
