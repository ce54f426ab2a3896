//! The `codex-otel` binary: parses the command line and dispatches; `hook` runs with no async
//! runtime so it stays near the cost of spawning a process.

use clap::Parser;
use codex_otel::cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    // The hook is on Codex's critical path: skip building clap's command tree for it.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|command| command == "hook") {
        if let Some(hook) = codex_otel::hook::args_from(args) {
            return codex_otel::hook::run(&hook);
        }
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Hook(args) => codex_otel::hook::run(&args),
        Command::Daemon(args) => report(codex_otel::daemon::main(&args)),
        Command::Replay(args) => report(codex_otel::replay::main(&args)),
        Command::Import(args) => report(codex_otel::import::main(&args)),
        Command::Show(args) => report(codex_otel::show::main(&args)),
        Command::Flush(args) => report(codex_otel::client::flush(&args)),
        Command::Status(args) => report(codex_otel::client::status(&args)),
        Command::Stop => report(codex_otel::client::stop()),
        Command::Install(args) => report(codex_otel::install::install(&args)),
        Command::Uninstall(args) => report(codex_otel::install::uninstall(&args)),
        Command::Doctor(args) => report(codex_otel::doctor::main(&args)),
        Command::Run(args) => codex_otel::run::main(&args),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("codex-otel: {error:#}");
            ExitCode::FAILURE
        }
    }
}
