//! How `show` lays a line out for a person: durations in h/m/s, lines cut to the terminal's
//! width, and colour only on a terminal (never with `NO_COLOR` set, never into a pipe).

use std::io::IsTerminal;
use std::time::Duration;

/// What a piece of a line is, which decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paint {
    /// Names and ordinary facts.
    Plain,
    /// Secondary facts: durations, models.
    Dim,
    /// Token counts and totals.
    Tokens,
    /// A mark worth noticing: compaction, interrupt, a permission decision.
    Mark,
    /// An error.
    Error,
}

impl Paint {
    /// The ANSI SGR code of this paint, `None` for plain text.
    fn code(self) -> Option<&'static str> {
        match self {
            Paint::Plain => None,
            Paint::Dim => Some("2"),
            Paint::Tokens => Some("36"),
            Paint::Mark => Some("33"),
            Paint::Error => Some("1;31"),
        }
    }
}

/// One line as painted pieces, measured and cut before any colour is added.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pieces: Vec<(String, Paint)>,
}

impl Line {
    /// Appends a piece.
    pub(crate) fn push(&mut self, text: impl Into<String>, paint: Paint) {
        self.pieces.push((text.into(), paint));
    }

    /// Appends a piece after two spaces, unless the line is empty.
    pub(crate) fn part(&mut self, text: impl Into<String>, paint: Paint) {
        if !self.pieces.is_empty() {
            self.push("  ", Paint::Plain);
        }
        self.push(text, paint);
    }

    /// The line cut to `width` characters (an ellipsis marks the cut), coloured when asked.
    pub(crate) fn render(&self, width: Option<usize>, colour: bool) -> String {
        let mut left = width.unwrap_or(usize::MAX);
        let total: usize = self.pieces.iter().map(|(t, _)| t.chars().count()).sum();
        let cut = total > left;
        if cut {
            left = left.saturating_sub(1);
        }
        let mut out = String::new();
        for (text, paint) in &self.pieces {
            if left == 0 {
                break;
            }
            let piece: String = text.chars().take(left).collect();
            left -= piece.chars().count();
            match (colour, paint.code()) {
                (true, Some(code)) => out.push_str(&format!("\x1b[{code}m{piece}\x1b[0m")),
                _ => out.push_str(&piece),
            }
        }
        if cut {
            out.push('…');
        }
        out
    }
}

/// How output goes to this process's stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Output {
    /// Characters a line may take; `None` for no limit.
    pub(crate) width: Option<usize>,
    /// Whether to colour.
    pub(crate) colour: bool,
}

impl Output {
    /// Decided from stdout and the environment (`COLUMNS`, `NO_COLOR`).
    pub(crate) fn for_stdout() -> Self {
        let terminal = std::io::stdout().is_terminal();
        let columns = std::env::var("COLUMNS").ok();
        let no_color = std::env::var_os("NO_COLOR");
        Output {
            width: width(
                columns.as_deref(),
                terminal.then(terminal_columns).flatten(),
            ),
            colour: colour(terminal, no_color.as_deref().map(|v| !v.is_empty())),
        }
    }
}

/// The line width: `COLUMNS` when it is a number, else the terminal's; none in a pipe.
fn width(columns: Option<&str>, terminal: Option<usize>) -> Option<usize> {
    columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or(terminal)
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to a non-empty value.
fn colour(terminal: bool, no_color: Option<bool>) -> bool {
    terminal && no_color != Some(true)
}

/// The width of the terminal on stdout, from the kernel.
fn terminal_columns() -> Option<usize> {
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the pointer it is given, which is valid.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// A duration as a person reads it: `760ms`, `12.3s`, `4m05s`, `1h02m`.
pub(crate) fn duration(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match secs {
        0 => format!("{}ms", elapsed.as_millis()),
        1..=59 => format!("{:.1}s", elapsed.as_secs_f64()),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// The first line of `text`, cut to `max` characters; an ellipsis marks anything left out.
pub(crate) fn short(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > max || line.len() < text.trim_end().len() {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_milliseconds_seconds_minutes_and_hours() {
        assert_eq!(duration(Duration::from_millis(760)), "760ms");
        assert_eq!(duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(duration(Duration::from_secs(3_725)), "1h02m");
    }

    #[test]
    fn a_line_longer_than_the_width_is_cut_with_an_ellipsis() {
        let mut line = Line::default();
        line.part("execute_tool exec_command", Paint::Plain);
        line.part("$ cargo test --all-targets", Paint::Mark);
        let full = line.render(None, false);
        assert_eq!(
            full,
            "execute_tool exec_command  $ cargo test --all-targets"
        );
        let cut = line.render(Some(20), false);
        assert_eq!(cut.chars().count(), 20);
        assert_eq!(cut, "execute_tool exec_c…");
        assert_eq!(line.render(Some(full.chars().count()), false), full);
    }

    #[test]
    fn colour_wraps_pieces_and_does_not_count_towards_the_width() {
        let mut line = Line::default();
        line.part("turn 1", Paint::Plain);
        line.part("ERROR: boom", Paint::Error);
        assert_eq!(
            line.render(Some(80), true),
            "turn 1  \u{1b}[1;31mERROR: boom\u{1b}[0m"
        );
        assert_eq!(
            line.render(Some(10), true),
            "turn 1  \u{1b}[1;31mE\u{1b}[0m…"
        );
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(
            colour(true, Some(false)),
            "NO_COLOR set but empty does not count"
        );
        assert!(!colour(true, Some(true)));
        assert!(!colour(false, None));
    }

    #[test]
    fn columns_wins_over_the_terminal_and_a_pipe_has_no_limit() {
        assert_eq!(width(Some("100"), Some(80)), Some(100));
        assert_eq!(width(Some("junk"), Some(80)), Some(80));
        assert_eq!(width(None, None), None);
    }

    #[test]
    fn long_or_multi_line_text_is_cut_to_its_first_line() {
        assert_eq!(short(&"x".repeat(300), 100).chars().count(), 101);
        assert_eq!(short("plain", 100), "plain");
        assert_eq!(short("fix it\nplease", 100), "fix it…");
    }
}
