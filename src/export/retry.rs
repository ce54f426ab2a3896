//! Failure classes of one export attempt: whether sending the same data again can succeed,
//! after how long, or only in smaller requests ([`RetryAdvice`]).
//!
//! The classes follow the OTLP specification's retryable responses, widened where a durable
//! spool can afford patience:
//! - HTTP: 408, 429 and every 5xx are retried, after the `Retry-After` the response carries
//!   (seconds or an HTTP date); 413 asks for smaller requests; every other status is permanent.
//! - gRPC: UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED, CANCELLED, OUT_OF_RANGE,
//!   DATA_LOSS, and the server-side failures INTERNAL and UNKNOWN (the counterparts of HTTP 5xx)
//!   are retried, after the `RetryInfo` delay the status carries; a RESOURCE_EXHAUSTED or
//!   OUT_OF_RANGE saying the message is too large asks for smaller requests; everything else
//!   (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, UNIMPLEMENTED, …) is
//!   permanent.

use super::RetryAdvice;
use std::time::{Duration, SystemTime};
use tonic::Code;

/// The advice for an HTTP response with a non-success `status`.
pub(crate) fn for_http_status(status: u16, retry_after: Option<Duration>) -> RetryAdvice {
    match status {
        413 => RetryAdvice::Split,
        408 | 429 | 500..=599 => RetryAdvice::Retry { after: retry_after },
        _ => RetryAdvice::Permanent,
    }
}

/// The advice for a gRPC status other than OK.
pub(crate) fn for_grpc_status(
    code: Code,
    message: &str,
    retry_delay: Option<Duration>,
) -> RetryAdvice {
    match code {
        Code::ResourceExhausted | Code::OutOfRange
            if retry_delay.is_none() && says_too_large(message) =>
        {
            RetryAdvice::Split
        }
        Code::Unavailable
        | Code::ResourceExhausted
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::Cancelled
        | Code::OutOfRange
        | Code::DataLoss
        | Code::Internal
        | Code::Unknown => RetryAdvice::Retry { after: retry_delay },
        _ => RetryAdvice::Permanent,
    }
}

/// Whether a gRPC status message reports a message over the receiver's size limit, in the
/// words of grpc-go ("received message larger than max") and tonic ("message length too large").
fn says_too_large(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("larger than max") || message.contains("too large")
}

/// The delay a `Retry-After` header value asks for, relative to `now`: a whole number of
/// seconds or an HTTP date (a date in the past means "now"). `None` when it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(after: Option<u64>) -> RetryAdvice {
        RetryAdvice::Retry {
            after: after.map(Duration::from_secs),
        }
    }

    #[test]
    fn throttling_and_server_errors_are_retried_after_the_delay_given() {
        let after = Some(Duration::from_secs(7));
        assert_eq!(for_http_status(429, after), retry(Some(7)));
        assert_eq!(for_http_status(503, after), retry(Some(7)));
        assert_eq!(for_http_status(500, None), retry(None));
        assert_eq!(for_http_status(408, None), retry(None));
        assert_eq!(for_http_status(599, None), retry(None));
    }

    #[test]
    fn a_413_asks_for_smaller_requests_and_other_client_errors_are_permanent() {
        assert_eq!(for_http_status(413, None), RetryAdvice::Split);
        for status in [400, 401, 403, 404, 405, 409, 422, 302] {
            assert_eq!(
                for_http_status(status, None),
                RetryAdvice::Permanent,
                "{status}"
            );
        }
    }

    #[test]
    fn grpc_codes_map_to_their_class() {
        let delay = Some(Duration::from_secs(3));
        assert_eq!(
            for_grpc_status(Code::Unavailable, "down", None),
            retry(None)
        );
        assert_eq!(
            for_grpc_status(Code::ResourceExhausted, "slow down", delay),
            retry(Some(3))
        );
        assert_eq!(
            for_grpc_status(Code::DeadlineExceeded, "", None),
            retry(None)
        );
        for code in [
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::NotFound,
            Code::Unimplemented,
        ] {
            assert_eq!(
                for_grpc_status(code, "", None),
                RetryAdvice::Permanent,
                "{code:?}"
            );
        }
    }

    #[test]
    fn a_grpc_size_limit_asks_for_smaller_requests() {
        let tonic = "Error, decoded message length too large: found 9 bytes, the limit is: 4 bytes";
        assert_eq!(
            for_grpc_status(Code::OutOfRange, tonic, None),
            RetryAdvice::Split
        );
        let go = "grpc: received message larger than max (9 vs. 4)";
        assert_eq!(
            for_grpc_status(Code::ResourceExhausted, go, None),
            RetryAdvice::Split
        );
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").expect("date");
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
