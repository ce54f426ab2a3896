//! How much one read of a [`super::LineTail`] may return and read: lines, bytes and the
//! longest line kept, so every call is bounded and still makes progress.

/// Lines returned per call by default. At the limit the call returns with `more = true`.
pub const DEFAULT_MAX_LINES: usize = 1024;
/// Bytes of lines returned per call by default (checked between lines, so one line may pass
/// it). At the limit the call returns with `more = true`.
pub const DEFAULT_MAX_BYTES: usize = 8 << 20;
/// Longest line kept by default; longer lines are skipped and counted.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;
/// Size of each read(2).
pub(super) const CHUNK_BYTES: usize = 64 << 10;

/// Per-call bounds of a [`super::LineTail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most lines returned by one call.
    pub max_lines: usize,
    /// Bytes of lines after which a call stops (checked between lines).
    pub max_bytes: usize,
    /// Longest line kept; longer lines are skipped and counted in [`super::Batch::overlong`].
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_lines: DEFAULT_MAX_LINES,
            max_bytes: DEFAULT_MAX_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

impl Limits {
    /// Bytes one call may read: enough to finish any line that fits `max_line_bytes` even
    /// after `max_bytes` of earlier lines, so every call makes progress.
    pub(super) fn read_budget(&self) -> u64 {
        (self.max_bytes as u64)
            .saturating_add(self.max_line_bytes as u64)
            .saturating_add(CHUNK_BYTES as u64)
    }
}
