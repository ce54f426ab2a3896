//! A rollout file changed under the live daemon mid-session (copied over itself, or cut short
//! and restored) is read on, never again: the trace that arrives has every model call once and
//! the session's totals exact, and the daemon's log says what happened to the file.

use crate::support::bin::Home;
use crate::support::daemon::{assert_usage, distinct, Daemon, Feed, Step};
use crate::support::fake_otlp::FakeOtlp;
use std::path::PathBuf;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

/// What happens to each rollout file halfway through the session.
#[derive(Debug, Clone, Copy)]
enum Rewrite {
    /// Copied to a new file that is renamed over it (a new inode, the same bytes).
    CopiedOverItself,
    /// Cut to half its length (and read so), then restored.
    CutShortAndRestored,
}

fn rollout_files(feed: &Feed, steps: std::ops::Range<usize>) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = feed.steps[steps]
        .iter()
        .filter_map(|step| match step {
            Step::Line(path, _) => Some(path.clone()),
            Step::Hook(_) => None,
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

fn run(rewrite: Rewrite) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let receiver = runtime.block_on(FakeOtlp::http());
    let home = Home::new();
    let feed = Feed::fixture("subagent", &home.outer().join("subagent"));
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url(""))];
    let daemon = Daemon::start(&home, &env);
    let half = feed.steps.len() / 2;
    feed.feed(&home, &env, 0..half);
    assert!(daemon.flush(TIMEOUT), "the first half is read");
    let files = rollout_files(&feed, 0..half);
    assert!(!files.is_empty());
    for path in &files {
        let bytes = std::fs::read(path).expect("rollout");
        match rewrite {
            Rewrite::CopiedOverItself => {
                let copy = path.with_extension("copy");
                std::fs::write(&copy, &bytes).expect("copy");
                std::fs::rename(&copy, path).expect("rename");
            }
            Rewrite::CutShortAndRestored => {
                std::fs::write(path, &bytes[..bytes.len() / 2]).expect("cut");
                feed.poke(&home);
                assert!(daemon.flush(TIMEOUT), "the cut file is read");
                std::fs::write(path, &bytes).expect("restore");
            }
        }
    }
    feed.feed(&home, &env, half..feed.steps.len());
    assert!(daemon.flush(TIMEOUT), "the second half is read");
    let (trace, _) = distinct(&receiver.spans());
    assert_usage(&trace, &feed.calls);
    let log = std::fs::read_to_string(home.state().log_file()).unwrap_or_default();
    let said = match rewrite {
        Rewrite::CopiedOverItself => "replaced by a copy of itself",
        Rewrite::CutShortAndRestored => "was cut short",
    };
    assert!(log.contains(said), "{rewrite:?}: the log says so:\n{log}");
}

#[test]
fn a_rollout_copied_over_itself_mid_session_is_read_on_and_counted_once() {
    run(Rewrite::CopiedOverItself);
}

#[test]
fn a_rollout_cut_short_and_restored_mid_session_is_read_on_and_counted_once() {
    run(Rewrite::CutShortAndRestored);
}
