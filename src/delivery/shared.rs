//! One destination's shared state ([`Shared`]): its durable spool, what delivery has done
//! ([`Counters`], for `status`) and the sessions waiting for acknowledgements ([`Ack`]). The
//! destination's handles spool spans into it; its courier reads the oldest as a [`Group`]
//! (at most [`MAX_GROUP_SPANS`]) and settles what the destination is done with.

use super::retry::DeliverySettings;
use super::spool::{name_of_key, Queued, Spool, SpoolError};
use crate::logging::{Chain, Log};
use crate::paths::StateDir;
use crate::span::{SpanId, SpanRecord};
use crate::wire::{DeliveryState, DestinationStatus};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tokio::sync::{mpsc, Notify};

/// Most spans sent in one export call.
pub(crate) const MAX_GROUP_SPANS: usize = 512;

/// Spans read from the spool for one export call, with the batch each came from.
#[derive(Debug, Default)]
pub(crate) struct Group {
    pub(super) spans: Vec<SpanRecord>,
    origin: Vec<(u64, String)>,
}

impl Group {
    fn new(batches: Vec<Queued>) -> Self {
        let mut group = Group::default();
        for batch in batches {
            for span in batch.spans {
                group.origin.push((batch.seq, batch.session_id.clone()));
                group.spans.push(span);
            }
        }
        group
    }

    /// The spans of `range` by batch position, with their session.
    pub(super) fn by_batch(&self, range: Range<usize>) -> BTreeMap<u64, (String, Vec<SpanId>)> {
        let mut done: BTreeMap<u64, (String, Vec<SpanId>)> = BTreeMap::new();
        for index in range {
            let (seq, session_id) = &self.origin[index];
            let entry = done
                .entry(*seq)
                .or_insert_with(|| (session_id.clone(), Vec::new()));
            entry.1.push(self.spans[index].span_id);
        }
        done
    }
}

/// A destination is done with these spans: it acknowledged them (or they were given up on).
#[derive(Debug)]
pub(crate) struct Ack {
    /// The destination's spool key ([`super::DestinationHandle::key`]).
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
    /// The spool key.
    pub(super) key: String,
    /// The destination's name.
    pub(crate) name: String,
    pub(super) spool: Mutex<Spool>,
    counters: Mutex<Counters>,
    /// Per session, where its acknowledgements go.
    pub(super) subscribers: Mutex<HashMap<String, mpsc::UnboundedSender<Ack>>>,
    /// Notified when spans were spooled.
    pub(crate) wake: Notify,
    /// A courier is delivering this spool.
    pub(crate) running: AtomicBool,
    pub(crate) log: Log,
}

impl Shared {
    pub(super) fn open(
        root: &Path,
        key: &str,
        settings: &DeliverySettings,
        log: &Log,
    ) -> Option<Self> {
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
    pub(super) fn push(&self, session_id: &str, spans: &[SpanRecord]) -> bool {
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

    pub(super) fn status(&self) -> DestinationStatus {
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
