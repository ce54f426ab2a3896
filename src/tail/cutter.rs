//! Cutting a byte stream into lines for one [`super::LineTail`] read: complete lines with the
//! offset after each, the line and byte limits of a batch, and skipping (and counting) a line
//! longer than its limit instead of buffering it.

use super::{Batch, LineTail};

/// Cuts a byte stream into lines for one call of [`LineTail::read_from`].
pub(super) struct Cutter<'a> {
    pub(super) tail: &'a mut LineTail,
    pub(super) batch: Batch,
    /// The current partial line (empty while skipping).
    pub(super) line: Vec<u8>,
    /// Bytes of lines returned so far.
    pub(super) bytes: usize,
}

impl Cutter<'_> {
    pub(super) fn full(&self) -> bool {
        let limits = &self.tail.limits;
        self.batch.items.len() >= limits.max_lines.max(1) || self.bytes >= limits.max_bytes
    }

    /// Consumes one chunk that starts at absolute position `pos`. Returns false when a limit
    /// stopped it after a line (the rest of the chunk is left for the next call).
    pub(super) fn feed(&mut self, chunk: &[u8], pos: u64) -> bool {
        let mut start = 0;
        while let Some(i) = chunk[start..].iter().position(|&b| b == b'\n') {
            let newline = start + i;
            self.end_line(&chunk[start..newline], pos + newline as u64 + 1);
            start = newline + 1;
            if self.full() {
                return false;
            }
        }
        self.extend(&chunk[start..]);
        true
    }

    /// Adds bytes of a line whose end has not been seen; switches to skipping when too long.
    fn extend(&mut self, part: &[u8]) {
        if self.tail.skipping {
            return;
        }
        if self.line.len() + part.len() > self.tail.limits.max_line_bytes {
            self.tail.skipping = true;
            self.line = Vec::new();
        } else {
            self.line.extend_from_slice(part);
        }
    }

    /// Ends the current line with its last bytes `part`; `after` is the offset after it.
    fn end_line(&mut self, part: &[u8], after: u64) {
        self.extend(part);
        if self.tail.skipping {
            self.tail.skipping = false;
            self.batch.overlong += 1;
        } else {
            let line = std::mem::take(&mut self.line);
            self.bytes += line.len() + 1;
            self.batch.items.push((after, line));
        }
        self.tail.offset = after;
    }

    /// At the end of a complete stream (position `pos`), its last unterminated line counts.
    pub(super) fn end_last_line(&mut self, pos: u64) {
        if self.tail.skipping || !self.line.is_empty() {
            self.end_line(&[], pos);
        }
    }
}
