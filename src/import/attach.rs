//! `import --attach`: follows one running session's rollout files without hooks, handing its
//! spans to the import spools as the session machine completes them, until the session ends.
//!
//! End of a session: none of its files grew for the quiet time (`--quiet`). A `task_complete`
//! is no end: an interactive session waits for its next prompt after every turn, and a
//! `codex exec resume` appends to the same file later. When the quiet time has passed the
//! machine is finished (what is still open is closed) and the session recorded as imported.
//!
//! Sub-agent threads started while following are found in the directories of the files
//! already followed, looked at every poll (each new file's first line is read once).

use super::ledger::Ledger;
use super::scan::Session;
use super::ImportError;
use crate::codex::discover::{first_record, rollout_files, ThreadFile};
use crate::codex::tail::RolloutTail;
use crate::paths::StateDir;
use crate::replay::deliver::{Group, Stage};
use crate::session::{SessionConfig, SessionMachine};
use crate::span::SpanRecord;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Pause between two looks at the session's files.
const POLL: Duration = Duration::from_millis(200);

/// Follows `session` until it ends (see the module docs), then waits (bounded by `timeout`)
/// for the destinations.
pub(super) fn follow(
    state: &StateDir,
    mut session: Session,
    config: &SessionConfig,
    timeout: Duration,
    quiet: Duration,
) -> Result<(), ImportError> {
    let ledger = Ledger::new(state);
    if ledger.seen(&session.id).is_some() {
        return Err(ImportError::AlreadySent(session.id));
    }
    let stage = Stage::from_env(state, state.import_spool_root(), "import", timeout)?;
    eprintln!(
        "codex-otel: following session {} until its files are quiet for {}s",
        session.id,
        quiet.as_secs_f64()
    );
    let followed = Follower::new(&stage, &session, config).run(&mut session, quiet);
    let marked = followed.and_then(|spans| {
        ledger.mark(&session, spans)?;
        Ok(spans)
    });
    let delivered = stage.finish();
    let spans = marked?;
    eprintln!(
        "attached to session {}: {spans} spans from {} files",
        session.id,
        session.files.len()
    );
    Ok(delivered?)
}

/// The state of one attachment.
struct Follower<'a> {
    machine: SessionMachine,
    group: Group<'a>,
    tails: Vec<(String, RolloutTail)>,
    looked_at: HashSet<PathBuf>,
    spans: u64,
}

impl<'a> Follower<'a> {
    fn new(stage: &'a Stage, session: &Session, config: &SessionConfig) -> Self {
        let tails = session.inputs().into_iter();
        Follower {
            machine: SessionMachine::new(&session.id, config.clone()),
            group: Group::new(stage),
            tails: tails
                .map(|(key, path)| (key, RolloutTail::new(path, 0)))
                .collect(),
            looked_at: session.files.iter().map(|f| f.path.clone()).collect(),
            spans: 0,
        }
    }

    /// Reads until the session's files are quiet for `quiet`, then finishes the machine;
    /// returns how many spans were handed over. New thread files are added to `session`.
    fn run(mut self, session: &mut Session, quiet: Duration) -> Result<u64, ImportError> {
        let mut grew_at = Instant::now();
        loop {
            self.discover(session);
            if self.read_all()? {
                grew_at = Instant::now();
            } else if grew_at.elapsed() >= quiet {
                break;
            }
            self.group.hand_over()?;
            for notice in self.machine.take_notices() {
                eprintln!("codex-otel: session {}: {notice}", session.id);
            }
            std::thread::sleep(POLL);
        }
        let last = self.machine.finish();
        self.hand(&session.id.clone(), last)?;
        self.group.hand_over()?;
        let sizes = session.files.iter().map(|f| std::fs::metadata(&f.path));
        session.bytes = sizes.map(|m| m.map_or(0, |m| m.len())).sum();
        Ok(self.spans)
    }

    /// Reads what every file gained; true when any did.
    fn read_all(&mut self) -> Result<bool, ImportError> {
        let mut grew = false;
        let id = self.machine.session_id().to_owned();
        for ix in 0..self.tails.len() {
            let before = self.tails[ix].1.offset();
            let (key, tail) = &mut self.tails[ix];
            let (machine, mut spans) = (&mut self.machine, Vec::new());
            tail.drain(|line| {
                spans.extend(machine.push_rollout(key, &line));
                Ok::<(), ImportError>(())
            })?;
            grew |= self.tails[ix].1.offset() != before;
            self.hand(&id, spans)?;
        }
        Ok(grew)
    }

    fn hand(&mut self, session_id: &str, spans: Vec<SpanRecord>) -> Result<(), ImportError> {
        self.spans += spans.len() as u64;
        Ok(self.group.add(session_id, spans)?)
    }

    /// Adds the session's thread files that appeared next to the ones followed.
    fn discover(&mut self, session: &mut Session) {
        let dirs: HashSet<PathBuf> = session
            .files
            .iter()
            .filter_map(|f| f.path.parent().map(PathBuf::from))
            .collect();
        for path in dirs.iter().flat_map(|dir| rollout_files(dir, 0)) {
            if self.looked_at.contains(&path) {
                continue;
            }
            // A first line still being written is looked at again next time.
            let Some(first) = first_record(&path) else {
                continue;
            };
            self.looked_at.insert(path.clone());
            if first.session_id() == session.id {
                let key = path.to_string_lossy().into_owned();
                self.tails.push((key, RolloutTail::new(&path, 0)));
                session.files.push(ThreadFile {
                    path,
                    thread_id: first.meta.id,
                });
            }
        }
    }
}
