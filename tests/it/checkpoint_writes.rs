//! What the daemon writes per poll stays bounded: which spans each spool took is appended to
//! the session's spooled log, never rewritten whole, so a poll of a long session writes what a
//! poll of a short one writes.

use crate::support::bin::Home;
use crate::support::daemon::{Daemon, Feed};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
/// Turns of the session: enough for a few hundred spans already spooled at the end.
const TURNS: u16 = 80;
/// Turns measured at the start and at the end.
const SAMPLE: usize = 6;

/// Bytes the process `pid` has written so far (all `write(2)` calls, files and sockets).
fn written_by(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).expect("/proc/<pid>/io");
    io.lines()
        .find_map(|line| line.strip_prefix("wchar: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("a wchar line")
}

#[test]
fn the_bytes_a_poll_writes_do_not_grow_with_the_spans_already_spooled() {
    let home = Home::new();
    let env = vec![("CODEX_OTEL_DAEMON_QUIET_SECS", "600".to_owned())];
    let daemon = Daemon::start(&home, &env);
    let feed = Feed::repeated_shell(1, TURNS, &home.outer().join("rollouts"));
    let per_turn = (feed.steps.len() - 3) / usize::from(TURNS);
    assert_eq!(2 + per_turn * usize::from(TURNS) + 1, feed.steps.len());
    let run = |steps: std::ops::Range<usize>| {
        let before = written_by(daemon.pid());
        feed.feed(&home, &env, steps);
        feed.poke(&home);
        assert!(daemon.flush(TIMEOUT), "delivered in time");
        written_by(daemon.pid()) - before
    };
    run(0..2);
    let per_turn_bytes: Vec<u64> = (0..usize::from(TURNS))
        .map(|turn| run(2 + turn * per_turn..2 + (turn + 1) * per_turn))
        .collect();
    let mean = |turns: &[u64]| turns.iter().sum::<u64>() / turns.len() as u64;
    let early = mean(&per_turn_bytes[1..=SAMPLE]);
    let late = mean(&per_turn_bytes[per_turn_bytes.len() - SAMPLE..]);
    assert!(
        late < early + 1024,
        "a turn after {TURNS} turns wrote {late} bytes, an early one {early}: {per_turn_bytes:?}"
    );
}
