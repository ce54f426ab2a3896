//! Following one session: reads its journal and rollout files incrementally and feeds the
//! session machine in causal order. Synchronous file I/O; the actor runs it off the async path.
//!
//! Order per poll: read every known rollout file to its end, then drain the journal, then feed
//! the new hook events, then the new records. Codex writes a record that depends on a hook
//! (a tool's output, a turn's end) only after that hook returned, and the hook appended its
//! event before returning, so a hook event is never fed after a record written later. When the
//! drained events include a SessionEnd, the session's other thread files (those no hook names,
//! like the approval reviewer's) are looked for and read first, so the root span counts them.
//!
//! Each poll is bounded: it reads at most [`MAX_BATCHES_PER_POLL`] batches of each rollout
//! (each batch bounded by [`crate::tail::Limits`]). Records of files not yet read to their end
//! wait in the follower, unfed, and the outcome says [`PollOutcome::more`]: the next poll goes
//! on, so a huge transcript never holds its session's actor (nor status, flush or stop) for
//! long, and the causal order above is kept.
//!
//! Inputs that made the session machine panic ([`crate::journal::Input`], recorded in the
//! checkpoint by the actor) are skipped, counted and reported, so a rebuilt session resumes
//! from the next good input. While it feeds an input the follower remembers it
//! ([`Follower::feeding`]), so the actor can tell which one a panic came from.
//!
//! Test-only failpoint, in debug builds only: with [`PANIC_ON_ENV`] set, the follower panics
//! right before it feeds a hook event or rollout record whose debug form contains its value.

use crate::codex::discover::session_threads;
use crate::codex::hook_event::{HookEvent, HookKind};
use crate::codex::rollout::RolloutLine;
use crate::codex::tail::RolloutTail;
use crate::journal::{Input, JournalReader};
use crate::paths::StateDir;
use crate::session::git::GitInfo;
use crate::session::{SessionConfig, SessionMachine};
use crate::span::SpanRecord;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What one poll found and produced.
#[derive(Debug, Default)]
pub(crate) struct PollOutcome {
    /// Spans completed by this poll.
    pub(crate) spans: Vec<SpanRecord>,
    /// Journal lines or rollout lines that could not be read (skipped).
    pub(crate) skipped: u64,
    /// Records the session machine could not place as Codex meant them (each also a problem).
    pub(crate) notices: u64,
    /// Problems worth a log line (unreadable files).
    pub(crate) problems: Vec<String>,
    /// A rollout was not read to its end within this poll's bound: poll again.
    pub(crate) more: bool,
}

/// `CODEX_OTEL_TEST_PANIC_ON`: test-only (debug builds only) failpoint; the follower panics
/// before feeding an input whose debug form contains this text.
#[cfg(debug_assertions)]
pub(crate) const PANIC_ON_ENV: &str = "CODEX_OTEL_TEST_PANIC_ON";

/// Batches read from each rollout file per poll, at most.
pub(crate) const MAX_BATCHES_PER_POLL: usize = 8;

/// Reads one session's inputs and owns its machine.
#[derive(Debug)]
pub(crate) struct Follower {
    session_id: String,
    config: SessionConfig,
    machine: Option<SessionMachine>,
    journal: JournalReader,
    tails: Vec<(String, RolloutTail)>,
    /// Records read from rollouts not yet read to their end (with their offsets), fed once
    /// they are.
    unfed: Vec<(String, u64, RolloutLine)>,
    /// Inputs not to feed: they made the machine panic.
    poisoned: HashSet<Input>,
    /// The input being fed to the machine, while it is.
    feeding: Option<Input>,
}

impl Follower {
    /// Follows `session_id` from the start of its journal with `config` (git facts are added
    /// from the first event's working directory), skipping the `poisoned` inputs.
    pub(crate) fn new(
        state: &StateDir,
        session_id: &str,
        config: SessionConfig,
        poisoned: &[Input],
    ) -> Self {
        Follower {
            session_id: session_id.to_owned(),
            config,
            machine: None,
            journal: JournalReader::new(state, session_id, 0),
            tails: Vec::new(),
            unfed: Vec::new(),
            poisoned: poisoned.iter().cloned().collect(),
            feeding: None,
        }
    }

    /// The input being fed when the machine was last called; after a panic, the one that
    /// made it panic.
    pub(crate) fn feeding(&self) -> Option<&Input> {
        self.feeding.as_ref()
    }

    /// The journal offset read so far.
    pub(crate) fn journal_offset(&self) -> u64 {
        self.journal.offset()
    }

    /// True once the session root is out and no turn is open.
    pub(crate) fn is_complete(&self) -> bool {
        self.machine
            .as_ref()
            .is_some_and(SessionMachine::is_complete)
    }

    /// Reads everything new and returns the spans it completed.
    pub(crate) fn poll(&mut self) -> PollOutcome {
        let mut outcome = PollOutcome::default();
        let mut budget = MAX_BATCHES_PER_POLL;
        loop {
            if !self.read_rollouts(&mut outcome, &mut budget) {
                outcome.more = true;
                return outcome;
            }
            let hooks = self.read_journal(&mut outcome);
            if hooks
                .iter()
                .any(|(_, e, _)| matches!(e.kind, HookKind::SessionEnd { .. }))
            {
                self.discover_threads();
                let mut threads_budget = MAX_BATCHES_PER_POLL;
                outcome.more |= !self.read_rollouts(&mut outcome, &mut threads_budget);
            }
            let records = std::mem::take(&mut self.unfed);
            if hooks.is_empty() && records.is_empty() {
                return outcome;
            }
            let mut machine = self.take_machine(hooks.first().map(|(_, e, _)| e));
            for (offset, event, received_at) in &hooks {
                if self.feeds(Input::Journal { offset: *offset }, &mut outcome) {
                    #[cfg(debug_assertions)]
                    failpoint(event);
                    let spans = machine.push_hook(event, Some(*received_at));
                    outcome.spans.extend(spans);
                }
            }
            for (key, offset, line) in &records {
                let input = Input::Rollout {
                    path: key.clone(),
                    offset: *offset,
                };
                if self.feeds(input, &mut outcome) {
                    #[cfg(debug_assertions)]
                    failpoint(line);
                    outcome.spans.extend(machine.push_rollout(key, line));
                }
            }
            self.feeding = None;
            for notice in machine.take_notices() {
                outcome.notices += 1;
                outcome.problems.push(notice.to_string());
            }
            self.machine = Some(machine);
            self.add_named_transcripts();
        }
    }

    /// True when `input` is to be fed (it is then remembered as [`Follower::feeding`]); a
    /// poisoned input is skipped, counted and reported instead.
    fn feeds(&mut self, input: Input, outcome: &mut PollOutcome) -> bool {
        if self.poisoned.contains(&input) {
            outcome.skipped += 1;
            outcome.problems.push(format!(
                "skipped {input}: it made the session machine panic"
            ));
            return false;
        }
        self.feeding = Some(input);
        true
    }

    /// How long ago the journal last changed (`None` when unknown).
    pub(crate) fn journal_age(&self) -> Option<Duration> {
        let modified = std::fs::metadata(self.journal.path())
            .ok()?
            .modified()
            .ok()?;
        SystemTime::now().duration_since(modified).ok()
    }

    /// Closes everything still open (a session abandoned without SessionEnd).
    pub(crate) fn finish(&mut self) -> Vec<SpanRecord> {
        self.machine
            .as_mut()
            .map(SessionMachine::finish)
            .unwrap_or_default()
    }

    /// The session's machine, taken out while it is fed (made on the first event).
    fn take_machine(&mut self, first: Option<&HookEvent>) -> SessionMachine {
        self.machine.take().unwrap_or_else(|| {
            if self.config.git.is_none() {
                let cwd = first.and_then(|e| e.common.cwd.as_deref());
                self.config.git = cwd.and_then(|cwd| GitInfo::read(Path::new(cwd)));
            }
            SessionMachine::new(&self.session_id, self.config.clone())
        })
    }

    /// The new hook events, with the offset just after each.
    fn read_journal(&mut self, outcome: &mut PollOutcome) -> Vec<(u64, HookEvent, SystemTime)> {
        let mut events = Vec::new();
        loop {
            let batch = match self.journal.read() {
                Ok(batch) => batch,
                Err(error) => {
                    outcome.problems.push(format!("journal: {error}"));
                    return events;
                }
            };
            outcome.skipped += batch.invalid + batch.overlong;
            for (offset, entry) in batch.items {
                match HookEvent::parse(entry.event.as_bytes()) {
                    Ok(event) if event.common.session_id == self.session_id => {
                        events.push((offset, event, entry.received_at))
                    }
                    _ => outcome.skipped += 1,
                }
            }
            if !batch.more {
                return events;
            }
        }
    }

    /// Reads every rollout towards its end into `unfed`, spending at most `budget` batches per
    /// file over the poll; true when every file was read to its end.
    fn read_rollouts(&mut self, outcome: &mut PollOutcome, budget: &mut usize) -> bool {
        let mut spent = 0;
        let mut caught_up = true;
        for (key, tail) in &mut self.tails {
            let mut batches = 0;
            loop {
                if batches == *budget {
                    caught_up = false;
                    break;
                }
                batches += 1;
                let batch = match tail.read() {
                    Ok(batch) => batch,
                    Err(error) => {
                        let error = crate::logging::Chain(&error);
                        outcome.problems.push(format!("rollout {key}: {error}"));
                        break;
                    }
                };
                outcome.skipped += batch.invalid + batch.overlong;
                if let Some(change) = file_change(&batch) {
                    outcome.problems.push(format!("rollout {key} {change}"));
                }
                let lines = batch
                    .items
                    .into_iter()
                    .map(|(offset, line)| (key.clone(), offset, line));
                self.unfed.extend(lines);
                if !batch.more {
                    break;
                }
            }
            spent = spent.max(batches);
        }
        *budget = budget.saturating_sub(spent);
        caught_up
    }

    /// Starts following every rollout file the hooks named that is not followed yet.
    fn add_named_transcripts(&mut self) {
        let named: Vec<String> = self
            .machine
            .as_ref()
            .map(|m| m.transcripts().to_vec())
            .unwrap_or_default();
        for path in named {
            self.follow(path);
        }
    }

    /// Looks for the session's thread files next to the ones already followed.
    fn discover_threads(&mut self) {
        let Some(machine) = &self.machine else {
            return;
        };
        let known = machine.known_threads();
        let dirs: Vec<PathBuf> = self
            .tails
            .iter()
            .filter_map(|(key, _)| Path::new(key).parent().map(Path::to_path_buf))
            .collect();
        for dir in dirs {
            for thread in session_threads(&dir, &self.session_id, 0) {
                if !known.contains(&thread.thread_id) {
                    self.follow(thread.path.to_string_lossy().into_owned());
                }
            }
        }
    }

    fn follow(&mut self, path: String) {
        if !self.tails.iter().any(|(key, _)| *key == path) {
            let tail = RolloutTail::new(PathBuf::from(&path), 0);
            self.tails.push((path, tail));
        }
    }
}

/// The test-only failpoint (see the module docs): panics when [`PANIC_ON_ENV`] is set and
/// `input`'s debug form contains it.
#[cfg(debug_assertions)]
fn failpoint(input: &dyn std::fmt::Debug) {
    let Some(marker) = std::env::var(PANIC_ON_ENV).ok().filter(|m| !m.is_empty()) else {
        return;
    };
    if format!("{input:?}").contains(&marker) {
        panic!("{PANIC_ON_ENV}: an input contains {marker:?}");
    }
}

/// What a rollout batch says about its file changing under the tail, worth a log line.
fn file_change<T>(batch: &crate::tail::Batch<T>) -> Option<&'static str> {
    use crate::tail::{Kept, Reset};
    match (batch.reset, batch.kept) {
        (Some(Reset::Replaced), _) => Some("was replaced by other content: read again from the start (records already traced are not counted twice)"),
        (Some(Reset::Shrunk { .. }), _) => Some("was rewritten shorter: read again from the start (records already traced are not counted twice)"),
        (None, Some(Kept::Copied)) => Some("was replaced by a copy of itself: read on where it stopped"),
        (None, Some(Kept::CutShort { .. })) => Some("was cut short: waiting for it to be restored"),
        (None, None) => None,
    }
}
