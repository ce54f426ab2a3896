//! `codex-otel daemon`: the composition root. It owns every task: the socket listener, one
//! actor per session, one delivery task per destination, and the quiet-period watchdog.
//!
//! Life cycle: the first hook that finds no daemon starts one (see [`crate::hook`]). On start
//! the daemon takes `daemon.lock` (another daemon holding it means this one exits at once),
//! turns core dumps off ([`harden`]), binds `daemon.sock` (mode 0600 in the 0700 state
//! directory; [`StateDir::socket`] says where a long state path puts it), and wakes every
//! session whose journal has events not yet delivered, so events written while no daemon ran
//! are traced. It
//! exits after [`DEFAULT_QUIET`] without sessions or deliveries, or on SIGTERM/SIGINT/`stop`,
//! draining in order: the listener stops, each session actor polls once more and waits for its
//! acknowledgements (bounded), then the delivery tasks stop; what they did not deliver waits
//! in their durable spools for the next daemon. Events hooks journaled during the drain (they
//! found no socket, and the held lock kept them from starting a daemon) make the exiting
//! daemon start a successor with the lock handed over.
//!
//! At start-up, and then every quarter of the retention (between a second and an hour), the
//! journals and checkpoints of sessions delivered longer ago than [`RETENTION_ENV`] are removed
//! ([`crate::journal::retention`]).
//!
//! Destinations with GenAI metrics on count the spans their spools accept; the metrics are
//! flushed every [`DEFAULT_METRICS_INTERVAL`] ([`METRICS_INTERVAL_ENV`]) and once more at
//! shutdown, after the session actors drained, within the shutdown deadline ([`metrics`]).

mod actor;
mod follower;
mod harden;
pub(crate) mod lineage;
mod listener;
mod metrics;
mod sessions;
mod settings;

pub use crate::delivery::{
    DEFAULT_MAX_BACKOFF, DEFAULT_SPOOL_MAX_BYTES, FIRST_BACKOFF, RETRY_MAX_BACKOFF_ENV,
    SPOOL_MAX_BYTES_ENV,
};
pub use crate::journal::retention::{DEFAULT_RETENTION, RETENTION_ENV};
pub use metrics::{DEFAULT_METRICS_INTERVAL, METRICS_INTERVAL_ENV};

use crate::delivery::{DeliverySettings, Destinations};
use crate::hook::DaemonLock;
use crate::journal::{retention, Checkpoint};
use crate::logging::Log;
use crate::paths::StateDir;
use crate::wire::Route;
use anyhow::Context;
use clap::Args;
use sessions::Registry;
use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::UnixListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// `CODEX_OTEL_DAEMON_QUIET_SECS`: idle seconds after which the daemon exits.
pub const QUIET_ENV: &str = "CODEX_OTEL_DAEMON_QUIET_SECS";
/// How long the daemon stays up with nothing to do (override with [`QUIET_ENV`]).
pub const DEFAULT_QUIET: Duration = Duration::from_secs(300);
/// How long shutdown waits for tasks before giving up on them.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// What every session actor shares.
#[derive(Debug)]
pub(crate) struct SessionContext {
    pub(crate) state: StateDir,
    pub(crate) log: Log,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) destinations: Destinations,
    /// Panics caught in session actors since the daemon started.
    pub(crate) panics: AtomicU64,
}

impl SessionContext {
    /// Sessions with a journal, whose events may not all be delivered.
    pub(crate) fn journaled_sessions(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.state.journal_dir()) else {
            return Vec::new();
        };
        let mut sessions = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(session) = name.strip_suffix(".ndjson") else {
                continue;
            };
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let done = Checkpoint::load(&self.state, session)
                .is_ok_and(|c| c.complete && c.journal_offset >= len);
            if !done {
                sessions.push(session.to_owned());
            }
        }
        sessions.sort();
        sessions
    }
}

/// Arguments of `codex-otel daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Stay in the foreground and log to stderr as well.
    #[arg(long)]
    pub foreground: bool,
}

/// Entry point of `codex-otel daemon`.
pub fn main(args: &DaemonArgs) -> anyhow::Result<()> {
    let state = StateDir::from_env();
    let Some(_lock) = DaemonLock::acquire(&state).context("taking daemon.lock")? else {
        return Ok(());
    };
    let log = Log::new(&state, "daemon").with_stderr(args.foreground);
    if let Err(error) = harden::disable_core_dumps() {
        log.write(format_args!("cannot turn core dumps off: {error}"));
    }
    let quiet = std::env::var(QUIET_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(DEFAULT_QUIET, Duration::from_secs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async {
        let listener = bind(&state)?;
        let cancel = CancellationToken::new();
        spawn_signal_handler(cancel.clone());
        log.write(format_args!("started (pid {})", std::process::id()));
        let stop_began = cancel.clone().cancelled_owned();
        let stop_began = tokio::spawn(async move {
            stop_began.await;
            SystemTime::now()
        });
        run(state.clone(), listener, cancel, quiet, log.clone()).await;
        let _ = std::fs::remove_file(state.socket());
        log.write("stopped");
        Ok(stop_began.await.unwrap_or_else(|_| SystemTime::now()))
    });
    let result = result.map(|since| hand_over_if_events_arrived(&state, since, &_lock, &log));
    // A blocking read that never returns must not keep the process (and its lock) alive.
    runtime.shutdown_timeout(BLOCKING_EXIT_DEADLINE);
    result
}

/// Hooks that ran while this daemon drained found no socket and could not start a daemon (the
/// lock is held): when a journal holds events no checkpoint recorded, a successor is started
/// with the lock handed over, so no journaled event waits for a next hook.
fn hand_over_if_events_arrived(state: &StateDir, since: SystemTime, lock: &DaemonLock, log: &Log) {
    let Some(session) = first_unread_since(state, since) else {
        return;
    };
    match crate::hook::spawn::start_holding(lock, state, None) {
        Ok(pid) => log.write(format_args!(
            "session {session}: events arrived while stopping; started a successor (pid {pid})"
        )),
        Err(error) => log.error(&error),
    }
}

/// A session whose journal changed at or after `since` (the drain began) and holds bytes its
/// checkpoint does not record.
fn first_unread_since(state: &StateDir, since: SystemTime) -> Option<String> {
    let entries = std::fs::read_dir(state.journal_dir()).ok()?;
    entries.flatten().find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let session = name.strip_suffix(".ndjson")?;
        let journal = entry.metadata().ok()?;
        let offset = Checkpoint::load(state, session).map_or(0, |c| c.journal_offset);
        let unread = journal.modified().ok()? >= since && journal.len() > offset;
        unread.then(|| session.to_owned())
    })
}

/// How long the exiting daemon waits for blocking reads still running before it exits anyway.
const BLOCKING_EXIT_DEADLINE: Duration = Duration::from_secs(1);

/// Binds the daemon socket, replacing a stale one (the lock proves no daemon owns it).
fn bind(state: &StateDir) -> anyhow::Result<UnixListener> {
    let path = state.socket();
    if let Some(dir) = path.parent() {
        StateDir::ensure_private_dir(dir)
            .with_context(|| format!("refusing the socket directory {}", dir.display()))?;
    }
    let _ = std::fs::remove_file(&path);
    let listener =
        UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

fn spawn_signal_handler(cancel: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            () = cancel.cancelled() => return,
        }
        cancel.cancel();
    });
}

/// Runs the daemon on a bound listener until `cancel` fires or it has been quiet for `quiet`.
pub async fn run(
    state: StateDir,
    listener: UnixListener,
    cancel: CancellationToken,
    quiet: Duration,
    log: Log,
) {
    let tracker = TaskTracker::new();
    let delivery_cancel = CancellationToken::new();
    let (settings, retention) = durability_settings(&log);
    let metrics_interval = metrics::interval(&log);
    let destinations = Destinations::new(
        &state.spool_root(),
        settings,
        tracker.clone(),
        delivery_cancel.clone(),
        log.clone(),
    );
    let ctx = Arc::new(SessionContext {
        destinations,
        state,
        log,
        cancel: cancel.clone(),
        tracker: tracker.clone(),
        panics: AtomicU64::new(0),
    });
    let registry = Registry::new(ctx.clone());
    // The session whose hook started this daemon is routed with the daemon's environment (the
    // hook's); every other session with its own stored route, or it waits for one.
    let spawned_for = std::env::var(crate::hook::spawn::SPAWNED_FOR_ENV)
        .ok()
        .map(|id| StateDir::session_file_stem(&id));
    for session in ctx.journaled_sessions() {
        let own = spawned_for.as_deref() == Some(session.as_str());
        registry.wake(&session, own.then(Route::from_env)).await;
    }
    // Spools of the daemon's own destinations deliver even when no session needs waking.
    ctx.destinations
        .for_configs(&ctx.daemon_settings().destinations);
    tracker.spawn(sweep_journals(ctx.clone(), retention));
    tracker.spawn(metrics::flush_periodically(ctx.clone(), metrics_interval));
    let started = Instant::now();
    tracker.spawn(listener::serve(
        listener,
        registry.clone(),
        ctx.clone(),
        started,
    ));
    watch_quiet(&registry, &ctx, quiet).await;
    cancel.cancel();
    // Session actors drain first (bounded), then delivery stops.
    let drained = tokio::time::timeout(SHUTDOWN_DEADLINE, async {
        while !registry.is_quiet(Duration::ZERO) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let _ = drained.await;
    delivery_cancel.cancel();
    tracker.close();
    // The actors' last spans are recorded: the last metrics go out while delivery stops.
    let last_metrics = metrics::flush_at_shutdown(&ctx.destinations, &ctx.log, SHUTDOWN_DEADLINE);
    let stopped = tokio::time::timeout(SHUTDOWN_DEADLINE, tracker.wait());
    let _ = tokio::join!(last_metrics, stopped);
}

/// The delivery settings and the journal retention of the daemon's environment; unusable
/// values are logged and keep their defaults.
fn durability_settings(log: &Log) -> (DeliverySettings, Duration) {
    let env = |name: &str| std::env::var(name).ok();
    let (settings, problems) = DeliverySettings::from_lookup(env);
    let (retention, problem) = retention::retention_from(env(RETENTION_ENV).as_deref());
    for problem in problems.into_iter().chain(problem) {
        log.write(problem);
    }
    (settings, retention)
}

/// Applies the journal retention now and every quarter of it (1 s to 1 h) until cancelled.
async fn sweep_journals(ctx: Arc<SessionContext>, retention: Duration) {
    let period = (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = ctx.cancel.cancelled() => return,
        }
        let spooled: HashSet<String> = ctx
            .destinations
            .spooled_sessions()
            .iter()
            .map(|id| StateDir::session_file_stem(id))
            .collect();
        let state = ctx.state.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let swept = retention::sweep(&state, retention, SystemTime::now(), &spooled);
            let forgotten = swept.removed.iter().flat_map(|stem| {
                [
                    crate::journal::route::forget(&state, stem),
                    crate::record::forget(&state, stem),
                ]
            });
            let problems: Vec<std::io::Error> = forgotten.filter_map(Result::err).collect();
            (swept, problems)
        })
        .await;
        let Ok((swept, forget_problems)) = swept else {
            continue;
        };
        for problem in &forget_problems {
            ctx.log.error(problem);
        }
        if !swept.removed.is_empty() {
            ctx.log.write(format_args!(
                "retention: removed the journals of {} delivered sessions",
                swept.removed.len()
            ));
        }
        for problem in &swept.problems {
            ctx.log.error(problem);
        }
    }
}

/// Returns when cancelled or when nothing has happened for `quiet`.
async fn watch_quiet(registry: &Registry, ctx: &SessionContext, quiet: Duration) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            () = ctx.cancel.cancelled() => return,
            _ = tick.tick() => {
                if registry.is_quiet(quiet) && !ctx.destinations.busy() {
                    ctx.log.write("quiet period over, exiting");
                    return;
                }
            }
        }
    }
}
