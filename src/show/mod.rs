//! `codex-otel show`: what a session did and what it cost, from the local store. Without
//! `--list` it draws one session's trace as a tree ([`tree`]) followed by a totals line per
//! model ([`totals`]); with `--list`, one line per stored session ([`list`]). Lines fit the
//! terminal and are coloured only on one ([`mod@format`]). With no session and no `--last`, the most
//! recent session is drawn.

mod format;
mod list;
pub(crate) mod totals;
mod tree;

use crate::export::file::{find_session, read_session};
use crate::paths::StateDir;
use crate::span::SpanRecord;
use clap::Args;
use format::{Line, Output, Paint};

/// Arguments of `codex-otel show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Session id (or a unique prefix) to draw.
    pub session: Option<String>,
    /// Draw the most recent session.
    #[arg(long, conflicts_with = "session")]
    pub last: bool,
    /// List the sessions in the local store instead: date, cwd, first prompt, turns, tokens,
    /// duration, errors.
    #[arg(long, conflicts_with_all = ["session", "last"])]
    pub list: bool,
}

/// Entry point of the command.
pub fn main(args: &ShowArgs) -> anyhow::Result<()> {
    let store = StateDir::from_env().store_dir();
    let output = Output::for_stdout();
    if args.list {
        print!("{}", list::render(&list::rows(&store)?, output));
        return Ok(());
    }
    let query = if args.last {
        None
    } else {
        args.session.as_deref()
    };
    let session = find_session(&store, query)?;
    let read = read_session(&session.path)?;
    if read.malformed_lines > 0 {
        eprintln!(
            "codex-otel: skipped {} unreadable line(s) in {}",
            read.malformed_lines,
            session.path.display()
        );
    }
    println!("session {} · {} spans", session.id, read.spans.len());
    print!("{}", render_session(&read.spans, output));
    Ok(())
}

/// The tree of `spans`, then one totals line per model.
fn render_session(spans: &[SpanRecord], output: Output) -> String {
    let mut lines = tree::tree_lines(spans);
    for (model, usage) in totals::by_model(spans) {
        let mut line = Line::default();
        line.part(format!("total {model}"), Paint::Plain);
        let calls = if usage.calls == 1 { "call" } else { "calls" };
        line.part(format!("{} {calls}", usage.calls), Paint::Dim);
        line.part(format!("tokens {}", usage.counts()), Paint::Tokens);
        lines.push(line);
    }
    lines
        .iter()
        .map(|line| line.render(output.width, output.colour) + "\n")
        .collect()
}
