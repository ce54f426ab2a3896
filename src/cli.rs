//! Command-line definitions (clap derive only): every command and its raw arguments.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// codex-otel: one OpenTelemetry trace per OpenAI Codex session.
#[derive(Debug, Parser)]
#[command(name = "codex-otel", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// codex-otel's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Record one Codex hook event from stdin (run by Codex; prints nothing, always exits 0).
    Hook(HookArgs),
    /// Follow journals and rollouts, build spans and export them (started by the hook).
    Daemon(DaemonArgs),
    /// Run a recorded session (hooks.ndjson + rollouts) through the pipeline and export it.
    Replay(ReplayArgs),
    /// Backfill past sessions from `$CODEX_HOME/sessions` (rollouts only) to the destinations.
    Import(crate::import::ImportArgs),
    /// Draw a trace from the local store as a tree.
    Show(ShowArgs),
    /// Wait until everything journaled so far is delivered (exit 1 on timeout).
    Flush(FlushArgs),
    /// Show the daemon, its sessions, backlog and last error per destination.
    Status(StatusArgs),
    /// Ask the daemon to drain and exit.
    Stop,
    /// Register the codex-otel hook for all 14 events in `$CODEX_HOME/hooks.json`.
    Install(InstallArgs),
    /// Remove what `install` added to `$CODEX_HOME/hooks.json`.
    Uninstall(InstallArgs),
    /// Check the configuration, reach every destination with a test span, check the hooks.
    Doctor(crate::doctor::DoctorArgs),
    /// Trace one `codex exec` (for CI): hooks for that invocation only, flushed before exit.
    Run(crate::run::RunArgs),
}

/// Arguments of `codex-otel flush`.
#[derive(Debug, Args)]
pub struct FlushArgs {
    /// Only this session (default: every session).
    #[arg(long)]
    pub session: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
}

/// Arguments of `codex-otel status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `codex-otel install` and `uninstall`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Codex's home directory.
    #[arg(long, env = "CODEX_HOME")]
    pub codex_home: Option<PathBuf>,
    /// The codex-otel binary (default: this executable); the `codex-otel-hook` beside it is
    /// what the hooks run when it exists, else `<bin> hook`.
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// `install` only: copy trace-codex's `config.json` to codex-otel's without asking (when
    /// codex-otel has none yet). Without it a terminal is asked.
    #[arg(long)]
    pub take_over_trace_codex: bool,
}

/// Arguments of `codex-otel hook`.
#[derive(Debug, Default, Args)]
pub struct HookArgs {
    /// Set by `codex-otel run` on the hooks it supplies ([`crate::hook::run_marker`]).
    #[arg(long, hide = true)]
    pub run: Option<String>,
}

/// Arguments of `codex-otel daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Stay in the foreground and log to stderr as well.
    #[arg(long)]
    pub foreground: bool,
}

/// Arguments of `codex-otel replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Hook payload files (one JSON object per line), in the order the events happened.
    /// Several files are one journal: e.g. a session's first run, then its resume. Without
    /// any hook event (none given, or empty files: a Codex release that fires no hooks),
    /// every session in `--transcripts` is replayed from its rollout files alone.
    #[arg(required_unless_present = "transcripts")]
    pub hooks: Vec<PathBuf>,
    /// Directory that stands in for `$CODEX_HOME/sessions`: a transcript_path
    /// `…/sessions/<rest>` is read as `<DIR>/<rest>`. Default: the paths as recorded.
    #[arg(long, value_name = "DIR")]
    pub transcripts: Option<PathBuf>,
    /// Write the spans as JSON lines to this file instead of the configured destinations.
    #[arg(long, value_name = "FILE")]
    pub spans_out: Option<PathBuf>,
    /// How long to wait for a destination, in seconds: for room in its full spool, and at the
    /// end for its last acknowledgement (exit 1 after; what is left stays spooled for the
    /// next replay).
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
}

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
