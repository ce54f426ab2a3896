//! The session registry: session id → actor. Pokes wake (or start) a session's actor; flushes
//! and status requests fan out to the actors; idle actors remove themselves.

use super::actor::{Actor, ActorMessage};
use super::SessionContext;
use crate::wire::{Route, SessionStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Messages queued for one actor; a full inbox makes the listener wait.
const INBOX: usize = 64;
/// How long `status` waits for each session's answer before reporting it busy.
pub(crate) const STATUS_WAIT: Duration = Duration::from_millis(500);

/// Every session actor the daemon runs.
#[derive(Debug)]
pub(crate) struct Registry {
    ctx: Arc<SessionContext>,
    actors: Mutex<HashMap<String, mpsc::Sender<ActorMessage>>>,
    last_activity: Mutex<Instant>,
}

impl Registry {
    pub(crate) fn new(ctx: Arc<SessionContext>) -> Arc<Self> {
        Arc::new(Registry {
            ctx,
            actors: Mutex::new(HashMap::new()),
            last_activity: Mutex::new(Instant::now()),
        })
    }

    /// Tells `session_id`'s actor to read, starting it when needed.
    pub(crate) async fn wake(self: &Arc<Self>, session_id: &str, route: Option<Route>) {
        self.touch();
        let inbox = self.inbox(session_id);
        if inbox.send(ActorMessage::Wake(route.clone())).await.is_err() {
            // The actor retired between lookup and send: start a fresh one.
            self.forget(session_id);
            let _ = self.inbox(session_id).send(ActorMessage::Wake(route)).await;
        }
    }

    /// Waits until `session` (or every known session) has delivered what is journaled, or the
    /// timeout passes; true when everything was delivered.
    pub(crate) async fn flush(self: &Arc<Self>, session: Option<&str>, timeout: Duration) -> bool {
        self.touch();
        let targets: Vec<String> = match session {
            Some(id) => vec![id.to_owned()],
            None => self.ctx.journaled_sessions(),
        };
        let mut replies = Vec::new();
        for id in targets {
            let (tx, rx) = oneshot::channel();
            if self.inbox(&id).send(ActorMessage::Flush(tx)).await.is_ok() {
                replies.push(rx);
            }
        }
        let all = async {
            for reply in replies {
                let _ = reply.await;
            }
        };
        tokio::time::timeout(timeout, all).await.is_ok()
    }

    /// The progress of every running actor. All actors are asked at once and each answers
    /// within [`STATUS_WAIT`] or is reported busy, so one stuck session never holds `status`.
    pub(crate) async fn status(&self) -> Vec<SessionStatus> {
        let inboxes: Vec<(String, mpsc::Sender<ActorMessage>)> = self
            .actors
            .lock()
            .map(|a| a.iter().map(|(id, tx)| (id.clone(), tx.clone())).collect())
            .unwrap_or_default();
        let asks = inboxes.into_iter().map(|(session_id, inbox)| async move {
            let ask = async {
                let (tx, rx) = oneshot::channel();
                inbox.try_send(ActorMessage::Status(tx)).ok()?;
                rx.await.ok()
            };
            match tokio::time::timeout(STATUS_WAIT, ask).await {
                Ok(Some(status)) => Some(status),
                Ok(None) if inbox.is_closed() => None,
                _ => Some(SessionStatus::busy(session_id)),
            }
        });
        let mut statuses: Vec<SessionStatus> = futures_util::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect();
        statuses.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        statuses
    }

    /// True when no actor runs and nothing has happened for `quiet`.
    pub(crate) fn is_quiet(&self, quiet: Duration) -> bool {
        let idle = self
            .last_activity
            .lock()
            .map(|t| t.elapsed() >= quiet)
            .unwrap_or(false);
        let empty = self
            .actors
            .lock()
            .map(|a| a.values().all(|tx| tx.is_closed()))
            .unwrap_or(false);
        idle && empty
    }

    fn touch(&self) {
        if let Ok(mut last) = self.last_activity.lock() {
            *last = Instant::now();
        }
    }

    fn forget(&self, session_id: &str) {
        if let Ok(mut actors) = self.actors.lock() {
            actors.remove(session_id);
        }
    }

    /// The inbox of `session_id`'s actor, spawning the actor when absent or retired.
    fn inbox(self: &Arc<Self>, session_id: &str) -> mpsc::Sender<ActorMessage> {
        let Ok(mut actors) = self.actors.lock() else {
            let (tx, _) = mpsc::channel(1);
            return tx;
        };
        if let Some(tx) = actors.get(session_id).filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(INBOX);
        let actor = Actor::new(session_id.to_owned(), self.ctx.clone());
        self.ctx.tracker.spawn(actor.run(rx));
        actors.insert(session_id.to_owned(), tx.clone());
        tx
    }
}
