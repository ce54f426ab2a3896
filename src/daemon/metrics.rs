//! GenAI metrics in the daemon: the [`MetricsSink`](crate::export::metrics::MetricsSink)s that [`Destinations`] keeps (one per
//! spool key whose configuration has metrics on) are flushed every [`DEFAULT_METRICS_INTERVAL`]
//! (override with [`METRICS_INTERVAL_ENV`]) and once more at shutdown.
//!
//! Contract:
//! - What is counted: the spans a destination's spool accepted, recorded right then
//!   ([`crate::delivery::DestinationHandle::send`]). That batch is already filtered by the
//!   session's checkpoint, so spans an earlier daemon handed over are not counted again when a
//!   restarted daemon rebuilds the session from its journal; spans a full spool refused are
//!   counted when it takes them. A span is counted twice only across a daemon restart that
//!   came between its spooling and the checkpoint recording it (the sink's own de-duplication
//!   covers one process). Sessions that sampling drops are not counted.
//! - Flushes run one after the other, each sink's concurrently with the others'. A flush in
//!   flight is never abandoned, except the last one at shutdown past its deadline: it runs
//!   after the session actors drained, so their last spans are in it. A retryable failure
//!   keeps a delta window for the next flush (the sink does that); cumulative flushes resend
//!   the totals anyway.
//! - A failure is logged with the destination's name (the error message span delivery would
//!   log: no header values) when it starts or changes, and the recovery once.

use super::SessionContext;
use crate::delivery::Destinations;
use crate::export::ExportError;
use crate::logging::{Chain, Log};
use futures_util::future::join_all;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// `OTEL_METRIC_EXPORT_INTERVAL`: milliseconds between two metrics flushes (the OpenTelemetry
/// SDK variable), read from the daemon's own environment.
pub const METRICS_INTERVAL_ENV: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// Time between two metrics flushes (override with [`METRICS_INTERVAL_ENV`]): short enough
/// that a dashboard follows a session as it runs, long enough to send a request per sink
/// rarely. The SDK default is a minute, but the daemon may exit after a quiet period.
pub const DEFAULT_METRICS_INTERVAL: Duration = Duration::from_secs(10);

/// The flush interval of the daemon's environment; an unusable value is logged and keeps the
/// default.
pub(crate) fn interval(log: &Log) -> Duration {
    let (interval, problem) = interval_from(std::env::var(METRICS_INTERVAL_ENV).ok().as_deref());
    if let Some(problem) = problem {
        log.write(problem);
    }
    interval
}

/// The flush interval `value` (of [`METRICS_INTERVAL_ENV`]) asks for, and the problem with
/// it when it is not a positive whole number of milliseconds (the default is used then).
fn interval_from(value: Option<&str>) -> (Duration, Option<String>) {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return (DEFAULT_METRICS_INTERVAL, None);
    };
    match value.parse::<u64>().ok().filter(|ms| *ms > 0) {
        Some(ms) => (Duration::from_millis(ms), None),
        None => (
            DEFAULT_METRICS_INTERVAL,
            Some(format!(
                "{METRICS_INTERVAL_ENV}: not a positive whole number of milliseconds; \
                 flushing metrics every {} s",
                DEFAULT_METRICS_INTERVAL.as_secs()
            )),
        ),
    }
}

/// Flushes every sink each `period` (the first time one period after the start) until the
/// daemon is cancelled.
pub(crate) async fn flush_periodically(ctx: Arc<SessionContext>, period: Duration) {
    let mut tick = tokio::time::interval_at(Instant::now() + period, period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut health = Health::default();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = ctx.cancel.cancelled() => return,
        }
        flush_all(&ctx.destinations, &ctx.log, &mut health).await;
    }
}

/// The last flush, once the session actors drained; what is not sent within `deadline` is lost.
pub(crate) async fn flush_at_shutdown(destinations: &Destinations, log: &Log, deadline: Duration) {
    let mut health = Health::default();
    let flushed = tokio::time::timeout(deadline, flush_all(destinations, log, &mut health));
    if flushed.await.is_err() {
        log.write(format_args!(
            "metrics: the last flush did not finish within {} s; its measurements are lost",
            deadline.as_secs()
        ));
    }
}

/// Flushes every sink, concurrently, and logs what changed.
async fn flush_all(destinations: &Destinations, log: &Log, health: &mut Health) {
    let sinks = destinations.metrics_sinks();
    let results = join_all(sinks.iter().map(|(_, sink)| sink.flush())).await;
    for ((key, sink), result) in sinks.iter().zip(results) {
        health.update(log, key, sink.destination(), result);
    }
}

/// The last failure logged per sink (by spool key), so a lasting one is logged once.
#[derive(Debug, Default)]
struct Health {
    failing: HashMap<String, String>,
}

impl Health {
    /// Logs the flush `result` of destination `name` (spool key `key`) if it differs from the
    /// last one: a new or different failure, or the first success after failures.
    fn update(&mut self, log: &Log, key: &str, name: &str, result: Result<(), ExportError>) {
        match result {
            Ok(()) => {
                if self.failing.remove(key).is_some() {
                    log.write(format_args!("metrics: {name:?} takes metrics again"));
                }
            }
            Err(error) => {
                // The error names the destination.
                let message = Chain(&error).to_string();
                if self.failing.get(key) != Some(&message) {
                    log.write(format_args!(
                        "metrics: {message}; trying again at the next flush"
                    ));
                    self.failing.insert(key.to_owned(), message);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::OtlpError;
    use crate::paths::StateDir;

    #[test]
    fn a_lasting_failure_is_logged_once_with_the_destination_and_its_recovery_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path().join("state"));
        let log = Log::new(&state, "test");
        let failed = |status| {
            Err(ExportError::Otlp {
                destination: "collector".to_owned(),
                source: OtlpError::HttpStatus {
                    status,
                    retry_after: None,
                    message: None,
                },
            })
        };
        let mut health = Health::default();
        health.update(&log, "k", "collector", failed(503));
        health.update(&log, "k", "collector", failed(503));
        health.update(&log, "k", "collector", failed(500));
        health.update(&log, "k", "collector", Ok(()));
        health.update(&log, "k", "collector", Ok(()));
        let text = std::fs::read_to_string(state.log_file()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].contains(r#"destination "collector""#) && lines[0].contains("503"));
        assert!(lines[1].contains("500"), "{text}");
        assert!(
            lines[2].contains(r#""collector" takes metrics again"#),
            "{text}"
        );
    }

    #[test]
    fn the_interval_is_read_in_milliseconds_and_a_bad_value_keeps_the_default() {
        assert_eq!(interval_from(None), (DEFAULT_METRICS_INTERVAL, None));
        assert_eq!(interval_from(Some(" ")), (DEFAULT_METRICS_INTERVAL, None));
        assert_eq!(
            interval_from(Some("250")),
            (Duration::from_millis(250), None)
        );
        for bad in ["0", "-5", "1.5", "10s"] {
            let (interval, problem) = interval_from(Some(bad));
            assert_eq!(interval, DEFAULT_METRICS_INTERVAL, "{bad}");
            assert!(
                problem.is_some_and(|p| p.contains(METRICS_INTERVAL_ENV)),
                "{bad}"
            );
        }
    }
}
