//! `import`'s progress on stderr and its closing summary. On a terminal, one bar redrawn in
//! place (at most every [`REDRAW_EVERY`]): sessions, bytes, rate and time left; elsewhere
//! (a log, a pipe) one plain line every [`LINE_EVERY`]. stdout stays the command's answer.

use std::io::Write as _;
use std::time::{Duration, Instant};

/// Shortest pause between two redraws of the bar.
const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// Pause between two plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(5);
/// Width of the bar, in characters.
const BAR_WIDTH: u64 = 24;

/// Counts of one import.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Sessions to send.
    pub(crate) sessions: u64,
    /// Their bytes on disk.
    pub(crate) bytes: u64,
    /// Sessions sent so far.
    pub(crate) done: u64,
    /// Bytes of those.
    pub(crate) done_bytes: u64,
    /// Spans handed to the spools.
    pub(crate) spans: u64,
    /// Sessions left alone: traced live.
    pub(crate) live: u64,
    /// Sessions left alone: imported before.
    pub(crate) imported: u64,
}

/// Progress of one import (see the module docs).
#[derive(Debug)]
pub(crate) struct Meter {
    tally: Tally,
    started: Instant,
    last: Option<Instant>,
    terminal: bool,
}

impl Meter {
    /// Starts measuring `tally` now; draws a bar when `terminal`, else plain lines.
    pub(crate) fn new(tally: Tally, terminal: bool) -> Self {
        Meter {
            tally,
            started: Instant::now(),
            last: None,
            terminal,
        }
    }

    /// One session done: its bytes and spans.
    pub(crate) fn advance(&mut self, bytes: u64, spans: u64) {
        self.tally.done += 1;
        self.tally.done_bytes += bytes;
        self.tally.spans += spans;
        let every = if self.terminal {
            REDRAW_EVERY
        } else {
            LINE_EVERY
        };
        if self.last.is_none_or(|at| at.elapsed() >= every) {
            self.last = Some(Instant::now());
            self.draw(&self.progress());
        }
    }

    /// Says `text` on its own line (the bar is drawn again on the next advance).
    pub(crate) fn say(&self, text: &str) {
        let clear = if self.terminal { "\r\x1b[2K" } else { "" };
        eprintln!("{clear}{text}");
    }

    /// The counts so far.
    pub(crate) fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Seconds since the import started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn draw(&self, progress: &str) {
        let mut err = std::io::stderr().lock();
        let _ = match self.terminal {
            true => write!(err, "\r\x1b[2K{progress}"),
            false => writeln!(err, "codex-otel import: {progress}"),
        };
        let _ = err.flush();
    }

    /// `[####....] 12/40 sessions  3.2/10.0 MB  1.5 MB/s  ETA 5s`.
    fn progress(&self) -> String {
        let t = &self.tally;
        let seconds = self.elapsed().as_secs_f64().max(1e-3);
        let rate = t.done_bytes as f64 / seconds;
        let eta = match rate > 0.0 {
            true => format!("{:.0}s", t.bytes.saturating_sub(t.done_bytes) as f64 / rate),
            false => "?".to_owned(),
        };
        let filled = (t.done_bytes * BAR_WIDTH).checked_div(t.bytes).unwrap_or(0);
        let bar: String = (0..BAR_WIDTH)
            .map(|i| if i < filled { '#' } else { '.' })
            .collect();
        format!(
            "[{bar}] {}/{} sessions  {}/{}  {}/s  ETA {eta}",
            t.done,
            t.sessions,
            megabytes(t.done_bytes),
            megabytes(t.bytes),
            megabytes(rate as u64)
        )
    }

    /// The closing summary: sessions imported and skipped, spans, bytes, seconds and rates.
    pub(crate) fn summary(&self) -> String {
        let t = &self.tally;
        let seconds = self.elapsed().as_secs_f64();
        let per_second = |n: f64| n / seconds.max(1e-3);
        format!(
            "imported {} sessions ({} spans, {}) in {seconds:.2}s: {:.1} sessions/s, {:.2} MB/s; {}",
            t.done,
            t.spans,
            megabytes(t.done_bytes),
            per_second(t.done as f64),
            per_second(t.done_bytes as f64 / 1e6),
            self.skipped()
        )
    }

    /// `skipped 3 (traced live 1, imported before 2)`.
    pub(crate) fn skipped(&self) -> String {
        let t = &self.tally;
        let (live, imported) = (t.live, t.imported);
        let all = live + imported;
        format!("skipped {all} (traced live {live}, imported before {imported})")
    }

    /// Ends the bar's line.
    pub(crate) fn end(&self) {
        if self.terminal && self.last.is_some() {
            self.draw(&self.progress());
            eprintln!();
        }
    }
}

/// Bytes as megabytes with one decimal.
pub(crate) fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_counts_sessions_and_bytes_and_the_summary_the_skips() {
        let tally = Tally {
            sessions: 4,
            bytes: 4_000_000,
            live: 1,
            imported: 2,
            ..Tally::default()
        };
        let mut meter = Meter::new(tally, false);
        meter.advance(1_000_000, 10);
        meter.advance(1_000_000, 5);
        let progress = meter.progress();
        assert!(
            progress.starts_with("[############............] 2/4 sessions  2.0 MB/4.0 MB  "),
            "{progress}"
        );
        let summary = meter.summary();
        assert!(
            summary.starts_with("imported 2 sessions (15 spans, 2.0 MB) in "),
            "{summary}"
        );
        assert!(
            summary.ends_with("skipped 3 (traced live 1, imported before 2)"),
            "{summary}"
        );
    }
}
