//! The integration test binary: every module below is one area of behaviour.

mod codex_smoke; // the real Codex CLI end to end: hooks, rollouts, resume, compaction, plugins
mod replay; // recorded Codex sessions → golden span trees and exact token numbers
mod support; // fixtures, span-tree comparison, receivers and the real binaries
