//! Command-line definitions (clap derive only): every command, each with the arguments that
//! its own module defines. The top of the program: it depends on the commands, never the
//! reverse.

use crate::client::{FlushArgs, StatusArgs};
use crate::daemon::DaemonArgs;
use crate::doctor::DoctorArgs;
use crate::hook::HookArgs;
use crate::import::ImportArgs;
use crate::install::InstallArgs;
use crate::replay::ReplayArgs;
use crate::run::RunArgs;
use crate::show::ShowArgs;
use clap::{Parser, Subcommand};

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
    Import(ImportArgs),
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
    Doctor(DoctorArgs),
    /// Trace one `codex exec` (for CI): hooks for that invocation only, flushed before exit.
    Run(RunArgs),
}
