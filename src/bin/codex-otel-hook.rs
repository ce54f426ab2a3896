//! The `codex-otel-hook` binary: the codex-otel hook alone, the same code as `codex-otel hook`
//! ([`codex_otel::hook::run`]): one Codex hook event on stdin, journaled, daemon poked or
//! started (the `codex-otel` beside this binary), exit 0, nothing on stdout.
//!
//! Why a second binary: the hook runs on Codex's critical path for every event, and its cost
//! is mostly process start-up (relocations and page faults of loading the binary), which
//! grows with the binary. Measured with `python3 benches/bench.py --only hook` (release build,
//! 500 runs, 2 CPUs): `codex-otel hook` in the 12.6 MB `codex-otel` took 1.29 ms at p50
//! (1.64x `cat`), this 0.7 MB binary 0.96 ms (1.22x `cat`; start-up alone 1.02x `cat`).
//! `codex-otel install` and the plugin's launcher run this binary when it is installed beside
//! `codex-otel` (`cargo install` installs both).

fn main() -> std::process::ExitCode {
    // Unknown arguments are ignored, as Codex passes none: only `codex-otel run` adds one.
    let args = codex_otel::hook::args_from(std::env::args_os().skip(1)).unwrap_or_default();
    codex_otel::hook::run(&args)
}
