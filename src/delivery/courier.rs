//! The courier: the task that carries one destination's spool to it. It sends the oldest
//! spooled spans, follows the retry policy ([`super::retry`]) until the destination is done with
//! each span, and settles what is done (out of the spool, counted, sessions told).
//!
//! Contract:
//! - One courier per spool; it sends one group at a time, in spool order, and a group is at
//!   most [`MAX_GROUP_SPANS`](super::shared::MAX_GROUP_SPANS) spans and about a quarter of the
//!   destination's request limit in spooled bytes, so one export call is normally one request
//!   (a failure in the middle of a multi-request call would resend the requests before it,
//!   with identical content).
//! - Delivered spans are taken out of the spool before the next request is sent, so a crash
//!   resends at most the request in flight.
//! - Cancelling stops it between attempts or during a wait; what is left stays spooled.

use super::retry::{verdict, DeliverySettings, Verdict};
use super::shared::{Group, Shared};
use crate::export::otlp::DEFAULT_MAX_REQUEST_BYTES;
use crate::export::{Destination, DestinationConfig, DestinationKind, ExportError};
use crate::logging::Chain;
use crate::span::SpanId;
use crate::wire::DeliveryState;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// The task delivering one destination's spool.
pub(crate) struct Courier {
    shared: Arc<Shared>,
    destination: Destination,
    settings: DeliverySettings,
    group_bytes: u64,
    cancel: CancellationToken,
}

impl Courier {
    /// The courier of `shared`'s spool, sending to `destination` (built from `config`).
    pub(crate) fn new(
        shared: Arc<Shared>,
        destination: Destination,
        config: &DestinationConfig,
        settings: DeliverySettings,
        cancel: &CancellationToken,
    ) -> Self {
        let max_request = match &config.kind {
            DestinationKind::Otlp(otlp) => otlp.max_request_bytes,
            DestinationKind::Braintrust(braintrust) => braintrust.to_otlp().max_request_bytes,
            DestinationKind::Store(_) => DEFAULT_MAX_REQUEST_BYTES,
        };
        Courier {
            shared,
            destination,
            settings,
            // Spooled JSON is larger than the OTLP encoding: a group this size fits one request.
            group_bytes: (max_request / 4).max(1) as u64,
            cancel: cancel.clone(),
        }
    }

    /// Delivers until cancelled.
    pub(crate) async fn run(mut self) {
        while let Some(group) = self.next_group().await {
            if !self.deliver(group).await {
                break;
            }
        }
        self.destination.shutdown().await;
        self.shared.running.store(false, Ordering::Relaxed);
    }

    /// The next spans to send, waiting for some; `None` once cancelled.
    async fn next_group(&self) -> Option<Group> {
        loop {
            if self.cancel.is_cancelled() {
                return None;
            }
            let (shared, max_bytes) = (self.shared.clone(), self.group_bytes);
            let group = tokio::task::spawn_blocking(move || shared.read_group(max_bytes))
                .await
                .unwrap_or_default();
            if !group.spans.is_empty() {
                return Some(group);
            }
            tokio::select! {
                () = self.shared.wake.notified() => {}
                () = self.cancel.cancelled() => return None,
            }
        }
    }

    /// Sends `group` until the destination is done with every span; false when cancelled.
    async fn deliver(&mut self, group: Group) -> bool {
        let mut work: VecDeque<Range<usize>> = VecDeque::new();
        work.push_back(0..group.spans.len());
        let mut failures: u32 = 0;
        while let Some(range) = work.pop_front() {
            let result = self.destination.export(&group.spans[range.clone()]).await;
            let pause = match verdict(&result) {
                Verdict::Done { dropped, rejected } => {
                    self.done(&group, range, &dropped, rejected, failures).await;
                    failures = 0;
                    continue;
                }
                Verdict::Unrecognised { warning } => {
                    self.warn(&warning);
                    self.done(&group, range, &[], 0, failures).await;
                    failures = 0;
                    continue;
                }
                Verdict::Split => {
                    self.split(&group, range, &mut work).await;
                    continue;
                }
                Verdict::Retry { after } => {
                    failures = failures.saturating_add(1);
                    let wait = after.map_or_else(
                        || self.settings.backoff(failures),
                        |after| after.min(self.settings.long_interval()),
                    );
                    (DeliveryState::Retrying, wait)
                }
                Verdict::Permanent => {
                    failures = failures.saturating_add(1);
                    (DeliveryState::Failing, self.settings.long_interval())
                }
            };
            work.push_front(range);
            if let Err(error) = &result {
                self.failed(error, pause, failures);
            }
            tokio::select! {
                () = tokio::time::sleep(pause.1) => {}
                () = self.cancel.cancelled() => return false,
            }
        }
        true
    }

    /// Puts the halves of `range` first in `work`; a single span cannot be halved: it is
    /// dropped.
    async fn split(&self, group: &Group, range: Range<usize>, work: &mut VecDeque<Range<usize>>) {
        if range.len() == 1 {
            let dropped = [group.spans[range.start].span_id];
            self.done(group, range, &dropped, 0, 0).await;
            return;
        }
        if range.len() == group.spans.len() {
            self.shared.log.write(format_args!(
                "{}: {} spans are too large for one request; halving",
                self.shared.name,
                range.len()
            ));
        }
        let middle = range.start + range.len() / 2;
        work.push_front(middle..range.end);
        work.push_front(range.start..middle);
    }

    /// The destination is done with `range`: out of the spool, counted, sessions told.
    async fn done(
        &self,
        group: &Group,
        range: Range<usize>,
        dropped: &[SpanId],
        rejected: u64,
        failures: u32,
    ) {
        let name = &self.shared.name;
        let sent = range.len() as u64;
        for id in dropped {
            self.shared.log.write(format_args!(
                "{name}: span {id} is too large for the destination even alone; dropped"
            ));
        }
        if rejected > 0 {
            self.shared.log.write(format_args!(
                "{name}: the destination rejected {rejected} of {sent} spans (partial success)"
            ));
        }
        if failures > 0 {
            self.shared.log.write(format_args!(
                "{name}: delivered again after {failures} failed attempts"
            ));
        }
        let given_up = dropped.len() as u64 + rejected;
        self.shared.count(|c| {
            c.state = DeliveryState::Ok;
            c.delivered += sent.saturating_sub(given_up);
            c.dropped += given_up.min(sent);
            c.last_success_at_ms = Some(now_ms());
        });
        let (shared, done) = (self.shared.clone(), group.by_batch(range));
        let _ = tokio::task::spawn_blocking(move || shared.settle(done)).await;
    }

    /// The destination accepted spans with an answer that is not OTLP: logged once per new
    /// text and kept for `status` and `doctor`.
    fn warn(&self, warning: &str) {
        let warning = crate::logging::sanitize_remote_text(warning);
        let mut fresh = false;
        self.shared.count(|c| {
            fresh = c.warning.as_deref() != Some(warning.as_str());
            c.warning = Some(warning.clone());
        });
        if fresh {
            self.shared
                .log
                .write(format_args!("{}: warning: {warning}", self.shared.name));
        }
    }

    fn failed(&self, error: &ExportError, (state, wait): (DeliveryState, Duration), failures: u32) {
        let message = crate::logging::sanitize_remote_text(&Chain(error).to_string());
        if failures == 1 || state == DeliveryState::Failing {
            self.shared.log.write(format_args!(
                "{}: {message}; next attempt in {} ms, spans kept",
                self.shared.name,
                wait.as_millis()
            ));
        }
        self.shared.count(|c| {
            c.state = state;
            c.retries += 1;
            c.last_error = Some(message);
            c.last_error_at_ms = Some(now_ms());
        });
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
