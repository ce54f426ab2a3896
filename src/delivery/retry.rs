//! The retry policy of delivery: the delivery settings from the daemon's environment (spool
//! limit [`SPOOL_MAX_BYTES_ENV`], maximum backoff [`RETRY_MAX_BACKOFF_ENV`]), the backoff
//! between attempts, and what one export attempt's result means for its spans ([`Verdict`]).
//!
//! Contract:
//! - Retryable failures ([`RetryAdvice::Retry`]: transport failures, timeouts, 408, 429, 5xx)
//!   wait the receiver's `Retry-After` when it gave one, capped at the long interval, else an
//!   exponential backoff with jitter from [`FIRST_BACKOFF`] up to the maximum backoff
//!   ([`RETRY_MAX_BACKOFF_ENV`], default [`DEFAULT_MAX_BACKOFF`]).
//! - Permanent failures (400, 401, 403, 404, …) wait the long interval: ten maximum backoffs.
//! - A span too large alone, or spans an OTLP partial success rejected, end the attempt as done
//!   (the rest of the request was delivered): they are given up on, never resent.

use crate::export::{ExportError, OtlpError, RetryAdvice};
use crate::span::SpanId;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// `CODEX_OTEL_SPOOL_MAX_BYTES`: the most one destination's spool holds on disk, in bytes.
pub const SPOOL_MAX_BYTES_ENV: &str = "CODEX_OTEL_SPOOL_MAX_BYTES";
/// Default spool limit per destination: 256 MiB.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 256 << 20;
/// `CODEX_OTEL_RETRY_MAX_BACKOFF_MS`: the longest wait between two attempts after a
/// retryable failure, in milliseconds; permanent failures wait ten times as long.
pub const RETRY_MAX_BACKOFF_ENV: &str = "CODEX_OTEL_RETRY_MAX_BACKOFF_MS";
/// Default maximum backoff: 30 s (so permanent failures are retried every 5 minutes).
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);
/// First retry delay; doubles per failed attempt.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Long interval of a permanently failing destination, in maximum backoffs.
const PERMANENT_FACTOR: u32 = 10;

/// Retry and spool settings of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeliverySettings {
    pub(crate) spool_max_bytes: u64,
    pub(crate) max_backoff: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            spool_max_bytes: DEFAULT_SPOOL_MAX_BYTES,
            max_backoff: DEFAULT_MAX_BACKOFF,
        }
    }
}

impl DeliverySettings {
    /// The settings of an environment; unusable values keep their default and are reported.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let mut settings = DeliverySettings::default();
        let mut problems = Vec::new();
        let mut number = |name: &str| {
            let value = lookup(name).filter(|v| !v.trim().is_empty())?;
            let parsed = value.trim().parse::<u64>().ok().filter(|n| *n > 0);
            if parsed.is_none() {
                problems.push(format!(
                    "{name}: not a positive whole number; using the default"
                ));
            }
            parsed
        };
        if let Some(bytes) = number(SPOOL_MAX_BYTES_ENV) {
            settings.spool_max_bytes = bytes;
        }
        if let Some(ms) = number(RETRY_MAX_BACKOFF_ENV) {
            settings.max_backoff = Duration::from_millis(ms);
        }
        (settings, problems)
    }

    /// The wait before retry number `attempt` (1, 2, …): [`FIRST_BACKOFF`] doubled per
    /// attempt, times a random factor in [0.75, 1.25), never over the maximum backoff.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let base = FIRST_BACKOFF
            .min(self.max_backoff)
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let factor = 0.75 + (random % 1000) as f64 / 2000.0;
        base.mul_f64(factor).min(self.max_backoff)
    }

    /// The wait of a permanently failing destination, and the longest `Retry-After` honoured.
    pub(crate) fn long_interval(&self) -> Duration {
        self.max_backoff.saturating_mul(PERMANENT_FACTOR)
    }
}

/// What one export attempt means for the spans it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Done with every span: accepted, except `dropped` (too large alone) and `rejected` ones
    /// (counted by an OTLP partial success).
    Done { dropped: Vec<SpanId>, rejected: u64 },
    /// Done with every span, but the receiver's 2xx answer was not an OTLP response: counted as
    /// delivered, and `warning` says what came back (a wrong endpoint, most likely).
    Unrecognised { warning: String },
    /// Send again in halves.
    Split,
    /// Send again after `after`, or after the backoff.
    Retry { after: Option<Duration> },
    /// Send again after the long interval.
    Permanent,
}

pub(crate) fn verdict(result: &Result<(), ExportError>) -> Verdict {
    let error = match result {
        Ok(()) => {
            return Verdict::Done {
                dropped: Vec::new(),
                rejected: 0,
            }
        }
        Err(error) => error,
    };
    match error {
        ExportError::Otlp {
            source: OtlpError::SpanTooLarge { span_id, .. },
            ..
        } => Verdict::Done {
            dropped: vec![*span_id],
            rejected: 0,
        },
        ExportError::Otlp {
            source: OtlpError::PartialSuccess { rejected, .. },
            ..
        } => Verdict::Done {
            dropped: Vec::new(),
            rejected: u64::try_from(*rejected).unwrap_or(0),
        },
        ExportError::Otlp {
            source: source @ OtlpError::NotOtlpAnswer { .. },
            ..
        } => Verdict::Unrecognised {
            warning: source.to_string(),
        },
        other => match other.retry_advice() {
            RetryAdvice::Retry { after } => Verdict::Retry { after },
            RetryAdvice::Split => Verdict::Split,
            RetryAdvice::Permanent => Verdict::Permanent,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn otlp(source: OtlpError) -> Result<(), ExportError> {
        Err(ExportError::Otlp {
            destination: "otlp".to_owned(),
            source,
        })
    }

    fn http(status: u16, retry_after: Option<Duration>) -> Result<(), ExportError> {
        otlp(OtlpError::HttpStatus {
            status,
            retry_after,
            message: None,
        })
    }

    #[test]
    fn settings_come_from_the_environment_and_nonsense_keeps_the_default() {
        let env = |name: &str| match name {
            SPOOL_MAX_BYTES_ENV => Some("4096".to_owned()),
            RETRY_MAX_BACKOFF_ENV => Some("200".to_owned()),
            _ => None,
        };
        let (settings, problems) = DeliverySettings::from_lookup(env);
        assert_eq!(settings.spool_max_bytes, 4096);
        assert_eq!(settings.max_backoff, Duration::from_millis(200));
        assert_eq!(settings.long_interval(), Duration::from_secs(2));
        assert!(problems.is_empty());
        let (settings, problems) = DeliverySettings::from_lookup(|_| Some("0".to_owned()));
        assert_eq!((settings, problems.len()), (DeliverySettings::default(), 2));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_never_passes_the_maximum() {
        let settings = DeliverySettings::default();
        for attempt in 1..=4u32 {
            let base = FIRST_BACKOFF * (1 << (attempt - 1));
            let wait = settings.backoff(attempt);
            assert!(
                wait >= base.mul_f64(0.75) && wait < base.mul_f64(1.25),
                "{attempt}"
            );
        }
        for attempt in [10, 40, u32::MAX] {
            assert!(settings.backoff(attempt) <= DEFAULT_MAX_BACKOFF);
        }
        let short = DeliverySettings {
            max_backoff: Duration::from_millis(100),
            ..settings
        };
        assert!(short.backoff(1) <= Duration::from_millis(100));
    }

    #[test]
    fn each_failure_class_has_its_verdict() {
        let after = Some(Duration::from_secs(3));
        assert_eq!(verdict(&http(429, after)), Verdict::Retry { after });
        assert_eq!(verdict(&http(503, None)), Verdict::Retry { after: None });
        assert_eq!(verdict(&http(413, None)), Verdict::Split);
        for status in [400, 401, 403, 404] {
            assert_eq!(verdict(&http(status, None)), Verdict::Permanent, "{status}");
        }
        assert_eq!(
            verdict(&Ok(())),
            Verdict::Done {
                dropped: Vec::new(),
                rejected: 0
            }
        );
    }

    #[test]
    fn partial_success_and_a_span_too_large_are_done_not_resent() {
        let partial = otlp(OtlpError::PartialSuccess {
            rejected: 2,
            message: "bad attribute".to_owned(),
        });
        assert_eq!(
            verdict(&partial),
            Verdict::Done {
                dropped: Vec::new(),
                rejected: 2
            }
        );
        let span_id = SpanId([7; 8]);
        let too_large = otlp(OtlpError::SpanTooLarge {
            span_id,
            size: 10,
            limit: 5,
        });
        assert_eq!(
            verdict(&too_large),
            Verdict::Done {
                dropped: vec![span_id],
                rejected: 0
            }
        );
    }
}
