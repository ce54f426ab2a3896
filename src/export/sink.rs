//! One OTLP destination's span export: a batch of [`SpanRecord`]s → as few OTLP trace requests
//! as fit under the size limit → the destination's [`Transport`].
//!
//! Contract:
//! - One [`OtlpSink::export`] call sends one batch in as many requests as needed to keep each
//!   request body under [`OtlpConfig::max_request_bytes`], measured exactly as it is encoded.
//! - Each request is one attempt bounded by [`OtlpConfig::timeout`]; nothing is retried here,
//!   so that retrying has a single owner above this stage.
//! - A span too large to send alone, spans the receiver rejected (OTLP partial success), or a
//!   2xx answer that is not an OTLP response, do not stop the rest of the batch: the other requests are sent and the first such problem is
//!   reported at the end. Any other failure stops the batch at the failed request.

use super::convert::{self, ResourceConfig};
use super::otlp::{OtlpConfig, OtlpError};
use super::signal::Traces;
use super::transport::Transport;
use crate::span::SpanRecord;
use opentelemetry_sdk::Resource;
use std::ops::Range;

/// A built OTLP destination.
#[derive(Debug)]
pub struct OtlpSink {
    transport: Transport,
    resource: Resource,
    max_request_bytes: usize,
    shut_down: bool,
}

impl OtlpSink {
    /// Builds the transport for `config` (reading its TLS files), sending spans with
    /// `resource`. Must run inside a Tokio runtime (the gRPC channel needs one).
    pub fn build(config: &OtlpConfig, resource: &ResourceConfig) -> Result<Self, OtlpError> {
        Ok(OtlpSink {
            transport: Transport::build(config)?,
            resource: convert::resource(resource),
            max_request_bytes: config.max_request_bytes,
            shut_down: false,
        })
    }

    /// Sends `spans`, split into requests under the size limit, in order (see the module docs
    /// for what stops the batch).
    pub async fn export(&self, spans: &[SpanRecord]) -> Result<(), OtlpError> {
        if self.shut_down {
            return Err(OtlpError::Shutdown);
        }
        let mut deferred = None;
        let plan = plan_requests(spans.len(), self.max_request_bytes, |range| {
            let request = convert::request(&spans[range], &self.resource);
            self.transport.encoded_len::<Traces>(&request)
        });
        for (range, size) in plan {
            if size > self.max_request_bytes {
                deferred.get_or_insert(OtlpError::SpanTooLarge {
                    span_id: spans[range.start].span_id,
                    size,
                    limit: self.max_request_bytes,
                });
                continue;
            }
            let request = convert::request(&spans[range], &self.resource);
            match self.transport.send::<Traces>(request).await {
                Ok(()) => {}
                Err(
                    answered @ (OtlpError::PartialSuccess { .. } | OtlpError::NotOtlpAnswer { .. }),
                ) => {
                    deferred.get_or_insert(answered);
                }
                Err(error) => return Err(error),
            }
        }
        deferred.map_or(Ok(()), Err)
    }

    /// Releases the destination: later exports fail with [`OtlpError::Shutdown`].
    pub fn shutdown(&mut self) {
        self.shut_down = true;
    }
}

/// Splits `0..len` into consecutive ranges whose measured size is at most `limit`, halving any
/// range that is too big. Each range comes with its size; a single item over the limit stays
/// alone with its (too big) size.
fn plan_requests(
    len: usize,
    limit: usize,
    measure: impl Fn(Range<usize>) -> usize,
) -> Vec<(Range<usize>, usize)> {
    let mut plan = Vec::new();
    let mut pending: Vec<Range<usize>> = Vec::new();
    pending.push(0..len);
    while let Some(range) = pending.pop() {
        if range.is_empty() {
            continue;
        }
        let size = measure(range.clone());
        if size <= limit || range.len() == 1 {
            plan.push((range, size));
        } else {
            let middle = range.start + range.len() / 2;
            pending.push(middle..range.end);
            pending.push(range.start..middle);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_split_until_each_fits_and_keep_their_order() {
        // Each item weighs 10; the limit holds 3 items.
        let plan = plan_requests(7, 30, |r| r.len() * 10);
        let ranges: Vec<Range<usize>> = plan.iter().map(|(r, _)| r.clone()).collect();
        assert_eq!(ranges.iter().map(|r| r.len()).sum::<usize>(), 7);
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
        assert!(plan.iter().all(|(_, size)| *size <= 30));
        assert_eq!(plan_requests(3, 30, |r| r.len() * 10).len(), 1);
    }

    #[test]
    fn an_item_over_the_limit_is_planned_alone_with_its_size() {
        let plan = plan_requests(3, 30, |r| if r.contains(&1) { 100 } else { r.len() });
        assert!(plan.contains(&(1..2, 100)), "{plan:?}");
        assert!(plan_requests(0, 30, |_| 0).is_empty());
    }
}
