//! One task per session: wakes on pokes, polls the session's [`Follower`] off the async
//! threads, hands new spans to the durable spools of the session's destinations, and records
//! the hand-over in the session's checkpoint.
//!
//! Contract:
//! - A span is handed to a destination's spool once, durably, and the session's spooled log
//!   ([`crate::journal::spooled`]) records it right after, one append per poll; from there the
//!   spool delivers it, across restarts. After a restart the session is rebuilt from its
//!   journal (deterministic ids) and only spans the log does not record are handed over (the
//!   spool also ignores spans it already holds). The small checkpoint (journal offset,
//!   complete) is stored after a poll that handed spans over.
//! - A spool that is full refuses spans: the session is then "deferred" and, every
//!   [`DEFER_RETRY`], rebuilt from its journal to hand over what is still missing.
//! - A flush is answered once every span produced from the events journaled before it is
//!   acknowledged by every destination (spans spooled by an earlier daemon included).
//! - The actor retires after [`IDLE_RETIRE`] without pokes once nothing is pending; a later
//!   poke rebuilds it from the journal. On shutdown it polls once more and waits for pending
//!   acknowledgements until its deadline.
//! - A session is routed only with its own environment: the route its hook supplied, and the
//!   route record stored for it ([`crate::journal::route`]); without either it waits (status
//!   says so) and never borrows another session's or the daemon's.
//! - A session still open [`ABANDON_AFTER`] after its last event is closed as it stands.
//! - A resumed session whose secrets are unavailable ([`Unroutable::MissingSecrets`]) does not
//!   start: its events wait in the journal, `status` names what it waits for, and every wake
//!   (and every [`DEFER_RETRY`]) tries again; it does not retire meanwhile.
//! - A panic while polling is caught, never silent: counted (session and daemon), logged with
//!   the session id. When the session machine panicked on an input, the input is recorded in
//!   the checkpoint (`poisoned`) and the session rebuilt from its journal skipping exactly it,
//!   so tracing resumes with the next good input (spans already handed over are not again).
//! - A poll is bounded ([`super::follower`]); when input is left the actor polls again after
//!   answering its waiting messages, so a huge transcript never makes status, flush or stop
//!   wait on it.

use super::follower::{Follower, PollOutcome};
use super::settings::Unroutable;
use super::SessionContext;
use crate::delivery::{Ack, Batch, DestinationHandle};
use crate::journal::{Checkpoint, Spooled, SpooledLog};
use crate::record::Recorder;
use crate::session::SessionConfig;
use crate::span::{SpanId, SpanRecord};
use crate::wire::{Route, SessionStatus};
use std::collections::{BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// A session whose journal has not changed for this long and is still open was abandoned
/// (Codex crashed or was killed before SessionEnd): what is open is closed and exported.
const ABANDON_AFTER: Duration = Duration::from_secs(3600);
/// Quiet time after which an actor with nothing pending frees its memory.
const IDLE_RETIRE: Duration = Duration::from_secs(60);
/// How long a shutting-down actor waits for its last acknowledgements.
const DRAIN_DEADLINE: Duration = Duration::from_secs(5);
/// How often a session whose spans a full spool refused tries again.
const DEFER_RETRY: Duration = Duration::from_secs(5);

/// Requests to a session actor.
#[derive(Debug)]
pub(crate) enum ActorMessage {
    /// New events may be journaled; `route` is the environment of the hook that said so, or
    /// `None` when no hook did (the daemon's start-up): the session's own stored route is used,
    /// or the session waits for one ([`crate::journal::route`]).
    Wake(Option<Route>),
    /// Answer once everything journaled so far is delivered.
    Flush(oneshot::Sender<()>),
    /// Report progress.
    Status(oneshot::Sender<SessionStatus>),
}

/// Why a session has not started yet.
#[derive(Debug)]
enum Waiting {
    /// Nothing is known of its route: nothing is read until a hook of the session supplies it.
    ForRoute,
    /// A resumed session lacks secrets it was first traced with.
    ForSecrets {
        /// The variables it needs.
        missing: Vec<String>,
        /// The latest route a hook of it supplied.
        route: Option<Route>,
    },
}

/// The state of one session actor.
pub(crate) struct Actor {
    session_id: String,
    ctx: Arc<SessionContext>,
    follower: Option<Follower>,
    /// The follower's settings, kept to rebuild it when deferred.
    config: Option<SessionConfig>,
    /// False when sampling drops this session: it is followed, but nothing is sent.
    sampled: bool,
    destinations: Vec<DestinationHandle>,
    /// Copies the session's events to its record file, when it has one.
    recorder: Option<Recorder>,
    /// The session cannot start yet, and why.
    waiting: Option<Waiting>,
    checkpoint: Checkpoint,
    /// Span ids each destination's spool took, as the spooled log records them.
    spooled: Spooled,
    /// The session's spooled log (`None` when it cannot be opened: logged, and spans are
    /// handed over again after a restart, which the spools take once while they hold them).
    spooled_log: Option<SpooledLog>,
    /// Spans spooled by this actor and not yet acknowledged, by destination key.
    pending: HashMap<String, BTreeSet<SpanId>>,
    /// A spool refused spans: they are rebuilt from the journal later.
    deferred: bool,
    /// The last poll stopped at its bound with input left: poll again once messages are seen.
    unread: bool,
    flushers: Vec<oneshot::Sender<()>>,
    /// Panics caught while polling this session.
    panics: u64,
    /// Records the session machine could not place (logged).
    notices: u64,
    acks: (mpsc::UnboundedSender<Ack>, mpsc::UnboundedReceiver<Ack>),
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl Actor {
    pub(crate) fn new(session_id: String, ctx: Arc<SessionContext>) -> Self {
        let mut checkpoint = Checkpoint::load(&ctx.state, &session_id).unwrap_or_else(|error| {
            ctx.log.error(&error);
            Checkpoint::default()
        });
        let (spooled_log, spooled) =
            match SpooledLog::open(&ctx.state, &session_id, &mut checkpoint) {
                Ok((log, spooled)) => (Some(log), spooled),
                Err(error) => {
                    ctx.log.error(&error);
                    (None, Spooled::new())
                }
            };
        Actor {
            session_id,
            ctx,
            follower: None,
            config: None,
            sampled: true,
            destinations: Vec::new(),
            recorder: None,
            waiting: None,
            checkpoint,
            spooled,
            spooled_log,
            pending: HashMap::new(),
            deferred: false,
            unread: false,
            flushers: Vec::new(),
            panics: 0,
            notices: 0,
            acks: mpsc::unbounded_channel(),
        }
    }

    /// Runs until idle, closed or cancelled.
    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<ActorMessage>) {
        let cancel = self.ctx.cancel.clone();
        loop {
            tokio::select! {
                biased;
                Some(ack) = self.acks.1.recv() => self.acknowledged(ack),
                message = inbox.recv() => match message {
                    Some(message) => self.handle(message).await,
                    None => break,
                },
                () = cancel.cancelled() => {
                    self.drain().await;
                    break;
                }
                () = std::future::ready(()), if self.unread => self.poll().await,
                () = tokio::time::sleep(IDLE_RETIRE), if self.is_settled() || self.waits_for_route() => break,
                () = tokio::time::sleep(DEFER_RETRY), if self.deferred => self.rebuild().await,
                () = tokio::time::sleep(DEFER_RETRY), if self.waits_for_secrets() => {
                    self.retry_waiting().await
                }
            }
        }
    }

    async fn handle(&mut self, message: ActorMessage) {
        match message {
            ActorMessage::Wake(route) => {
                self.ensure_started(route.as_ref());
                self.record().await;
                self.poll().await;
            }
            ActorMessage::Flush(reply) => {
                self.ensure_started(None);
                self.poll().await;
                self.flushers.push(reply);
                self.answer_flushers();
            }
            ActorMessage::Status(reply) => {
                let _ = reply.send(self.status());
            }
        }
    }

    /// Starts following with the session's route: the one a hook supplied (stored, without
    /// secrets, for a later daemon), else the stored one; without either the session waits.
    fn ensure_started(&mut self, supplied: Option<&Route>) {
        if self.follower.is_some() {
            return;
        }
        let settings = match self.ctx.session_settings(&self.session_id, supplied) {
            Ok(settings) => settings,
            Err(Unroutable::NoRoute) => {
                self.waiting = Some(Waiting::ForRoute);
                return;
            }
            Err(Unroutable::MissingSecrets(missing)) => return self.wait_for(missing, supplied),
        };
        self.waiting = None;
        let config = settings.session;
        self.sampled = config.keeps(&self.session_id);
        if self.sampled {
            self.destinations = self.ctx.destinations.for_configs(&settings.destinations);
        }
        self.recorder = settings.record_file.map(|file| {
            let redactor = config.content.redactor.clone().unwrap_or_default();
            Recorder::new(&self.ctx.state, &self.session_id, file, redactor)
        });
        for destination in &self.destinations {
            destination.attach(&self.session_id, self.acks.0.clone());
        }
        self.config = Some(config.clone());
        self.follower = Some(self.new_follower(config));
    }

    /// The session needs the secrets `missing` before it can start: remembered with the
    /// latest route a hook supplied, logged when that changes, and tried again at every wake.
    fn wait_for(&mut self, missing: Vec<String>, supplied: Option<&Route>) {
        let (previous_missing, previous_route) = match self.waiting.take() {
            Some(Waiting::ForSecrets { missing, route }) => (Some(missing), route),
            _ => (None, None),
        };
        if previous_missing.as_ref() != Some(&missing) {
            self.ctx.log.write(format_args!(
                "session {}: waiting for {} (set it, or apiKey in config.json); its events stay in the journal",
                self.session_id,
                missing.join(", ")
            ));
        }
        let route = supplied.cloned().or(previous_route);
        self.waiting = Some(Waiting::ForSecrets { missing, route });
    }

    /// No route is known yet: only a hook of the session can start it.
    fn waits_for_route(&self) -> bool {
        matches!(self.waiting, Some(Waiting::ForRoute))
    }

    /// Secrets are missing: a `config.json` may provide them later, so it is tried again.
    fn waits_for_secrets(&self) -> bool {
        matches!(self.waiting, Some(Waiting::ForSecrets { .. }))
    }

    /// Tries again to start a waiting session with its latest route (a `config.json` may hold
    /// the secrets by now).
    async fn retry_waiting(&mut self) {
        let route = match &self.waiting {
            Some(Waiting::ForSecrets { route, .. }) => route.clone(),
            _ => None,
        };
        self.ensure_started(route.as_ref());
        self.record().await;
        self.poll().await;
    }

    /// Appends the events journaled since the last call to the record file, if the session
    /// has one (off the async threads).
    async fn record(&mut self) {
        let Some(mut recorder) = self.recorder.take() else {
            return;
        };
        let recorded = tokio::task::spawn_blocking(move || {
            let result = recorder.record();
            (recorder, result)
        })
        .await;
        match recorded {
            Ok((recorder, result)) => {
                if let Err(error) = result {
                    let error = anyhow::Error::from(error);
                    self.ctx
                        .log
                        .write(format_args!("session {}: {error:#}", self.session_id));
                }
                self.recorder = Some(recorder);
            }
            Err(_) => self.ctx.log.write(format_args!(
                "session {}: recording stopped unexpectedly",
                self.session_id
            )),
        }
    }

    /// Reads the session again from the start of its journal, handing over what no spool has
    /// yet (spans refused by a full spool).
    async fn rebuild(&mut self) {
        let Some(config) = self.config.clone() else {
            return;
        };
        self.deferred = false;
        self.follower = Some(self.new_follower(config));
        self.poll().await;
    }

    /// Polls the follower off the async threads. A panic of the session machine is caught:
    /// counted, logged, its input recorded as poisoned and the session rebuilt without it.
    async fn poll(&mut self) {
        loop {
            let Some(mut follower) = self.follower.take() else {
                return;
            };
            let polled = tokio::task::spawn_blocking(move || {
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| follower.poll()));
                (follower, outcome)
            })
            .await;
            match polled {
                Ok((follower, Ok(outcome))) => {
                    self.follower = Some(follower);
                    return self.polled(outcome).await;
                }
                Ok((follower, Err(panic))) => {
                    if !self.panicked(&follower, panic.as_ref()) {
                        return;
                    }
                }
                Err(error) => {
                    let error = crate::logging::Chain(&error);
                    return self.ctx.log.write(format_args!(
                        "session {}: reading stopped: {error}",
                        self.session_id
                    ));
                }
            }
        }
    }

    /// The follower panicked: counted and logged; when the session machine panicked on an
    /// input, that input is recorded in the checkpoint and the follower rebuilt without it
    /// (true: poll again).
    fn panicked(&mut self, follower: &Follower, panic: &(dyn std::any::Any + Send)) -> bool {
        self.panics += 1;
        self.ctx.panics.fetch_add(1, Ordering::Relaxed);
        let message = panic
            .downcast_ref::<&str>()
            .map(|m| (*m).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let (Some(input), Some(config)) = (follower.feeding().cloned(), self.config.clone()) else {
            self.ctx.log.write(format_args!(
                "session {}: reading panicked ({message}); the session is no longer followed by this daemon",
                self.session_id
            ));
            return false;
        };
        self.ctx.log.write(format_args!(
            "session {}: the session machine panicked on {input} ({message}); the session is rebuilt from its journal without it",
            self.session_id
        ));
        self.checkpoint.poisoned.push(input);
        self.store_checkpoint();
        self.follower = Some(self.new_follower(config));
        true
    }

    fn new_follower(&self, config: SessionConfig) -> Follower {
        let poisoned = &self.checkpoint.poisoned;
        Follower::new(&self.ctx.state, &self.session_id, config, poisoned)
    }

    /// Hands over what a poll produced.
    async fn polled(&mut self, outcome: PollOutcome) {
        self.unread = outcome.more;
        self.notices += outcome.notices;
        let mut spans = outcome.spans;
        if let Some(follower) = self.follower.as_mut() {
            let abandoned = follower
                .journal_age()
                .is_some_and(|age| age >= ABANDON_AFTER);
            if abandoned && !follower.is_complete() {
                spans.extend(follower.finish());
            }
        }
        for problem in &outcome.problems {
            self.ctx
                .log
                .write(format_args!("session {}: {problem}", self.session_id));
        }
        self.send(spans).await;
        self.maybe_complete();
    }

    async fn send(&mut self, spans: Vec<SpanRecord>) {
        if spans.is_empty() {
            return;
        }
        let mut handed_over = Vec::new();
        for destination in &self.destinations {
            let key = destination.key();
            let done = self.spooled.get(key);
            let pending = self.pending.get(key);
            let fresh: Vec<SpanRecord> = spans
                .iter()
                .filter(|s| !done.is_some_and(|d| d.contains(&s.span_id)))
                .filter(|s| !pending.is_some_and(|p| p.contains(&s.span_id)))
                .cloned()
                .collect();
            if fresh.is_empty() {
                continue;
            }
            let ids: Vec<SpanId> = fresh.iter().map(|s| s.span_id).collect();
            let batch = Batch {
                session_id: self.session_id.clone(),
                spans: fresh,
                ack: self.acks.0.clone(),
            };
            if destination.send(batch).await {
                self.spooled
                    .entry(key.to_owned())
                    .or_default()
                    .extend(ids.iter().copied());
                self.pending
                    .entry(key.to_owned())
                    .or_default()
                    .extend(ids.iter().copied());
                handed_over.push((key.to_owned(), ids));
            } else if !self.deferred {
                self.deferred = true;
                self.ctx.log.write(format_args!(
                    "session {}: {} refused spans; they stay in the journal and are handed over again later",
                    self.session_id,
                    destination.name()
                ));
            }
        }
        if handed_over.is_empty() {
            return;
        }
        if let Some(log) = self.spooled_log.as_mut() {
            if let Err(error) = log.append(&handed_over) {
                self.ctx.log.error(&error);
            }
        }
        self.store_checkpoint();
    }

    fn acknowledged(&mut self, ack: Ack) {
        if let Some(pending) = self.pending.get_mut(&ack.destination) {
            for id in &ack.span_ids {
                pending.remove(id);
            }
        }
        self.maybe_complete();
        self.answer_flushers();
    }

    /// Updates the checkpoint's progress, storing it when the session became complete (or
    /// stopped being so).
    fn maybe_complete(&mut self) {
        if let Some(follower) = &self.follower {
            let was_complete = self.checkpoint.complete;
            self.checkpoint.journal_offset = follower.journal_offset();
            self.checkpoint.complete = follower.is_complete() && self.is_settled();
            if self.checkpoint.complete != was_complete {
                self.store_checkpoint();
            }
        }
    }

    fn store_checkpoint(&self) {
        if let Err(error) = self.checkpoint.store(&self.ctx.state, &self.session_id) {
            self.ctx.log.error(&error);
        }
    }

    /// Nothing refused, nothing left unread, nothing pending, and no spool holds spans of this
    /// session.
    fn is_settled(&self) -> bool {
        self.waiting.is_none()
            && !self.deferred
            && !self.unread
            && self.pending.values().all(BTreeSet::is_empty)
            && self
                .destinations
                .iter()
                .all(|d| d.queued_for(&self.session_id) == 0)
    }

    fn answer_flushers(&mut self) {
        if self.is_settled() {
            for reply in self.flushers.drain(..) {
                let _ = reply.send(());
            }
        }
    }

    /// Final poll, then wait for acknowledgements until the drain deadline.
    async fn drain(&mut self) {
        self.poll().await;
        let deadline = Instant::now() + DRAIN_DEADLINE;
        while !self.is_settled() {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.acks.1.recv()).await {
                Ok(Some(ack)) => self.acknowledged(ack),
                _ => break,
            }
        }
        self.store_checkpoint();
    }

    fn status(&self) -> SessionStatus {
        SessionStatus {
            session_id: self.session_id.clone(),
            journal_offset: self.follower.as_ref().map_or(0, Follower::journal_offset),
            exported_offset: if self.is_settled() {
                self.checkpoint.journal_offset
            } else {
                0
            },
            pending_spans: self
                .destinations
                .iter()
                .map(|d| d.queued_for(&self.session_id) as u64)
                .sum(),
            deferred: self.deferred,
            waiting_for: match &self.waiting {
                Some(Waiting::ForSecrets { missing, .. }) => missing.clone(),
                _ => Vec::new(),
            },
            busy: false,
            waiting_for_route: self.waits_for_route(),
            panics: self.panics,
            notices: self.notices,
        }
    }
}
