//! The delivery stage: spans handed over by a producer (the daemon's session actors, or
//! `codex-otel replay`) wait in a durable spool per destination until that destination
//! acknowledged them; a courier per spool sends them and retries by failure class.
//!
//! - [`spool`]: one destination's spans on disk, durable once handed over.
//! - [`shared`]: one destination's spool with its counters and acknowledgement channels, held
//!   by its handles and its courier.
//! - [`courier`]: the task that carries one spool to its destination.
//! - [`retry`]: the delivery settings, the backoff and what an attempt's result means.
//! - [`destinations`]: the spools and couriers of one process, and the handles producers use.
//!
//! The guarantees are the same for every producer: a span handed over is never lost (it stays
//! spooled until acknowledged or given up on and counted), never doubled (a span id is queued
//! once per spool, and one process at a time delivers a spool), and retried after failures.
//! This module knows nothing of the daemon or of sessions' journals.

mod courier;
mod destinations;
mod retry;
mod shared;
mod spool;

pub(crate) use destinations::{Batch, DestinationHandle, Destinations};
pub(crate) use retry::DeliverySettings;
pub use retry::{
    DEFAULT_MAX_BACKOFF, DEFAULT_SPOOL_MAX_BYTES, FIRST_BACKOFF, RETRY_MAX_BACKOFF_ENV,
    SPOOL_MAX_BYTES_ENV,
};
pub(crate) use shared::Ack;
