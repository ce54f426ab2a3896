//! The `codex-otel hook` process. (Being built.)

use crate::cli::HookArgs;
use std::process::ExitCode;

/// Records one hook event; always exits 0 with nothing on stdout.
pub fn run(_args: &HookArgs) -> ExitCode {
    ExitCode::SUCCESS
}
