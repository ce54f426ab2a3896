//! The integration test binary: every module below is one area of behaviour.

mod codex_smoke; // the real Codex CLI end to end: hooks, rollouts, resume, compaction, plugins
mod collector; // real receivers: the OTLP sink, rotel from otel-config/rotel, Arize Phoenix
mod hook_cli; // the real `codex-otel hook` binary: journal, poke, daemon start, exit 0 always
mod live; // the real Codex CLI traced live: hook → journal → daemon → spans, checked exactly
mod parsers; // Codex hook and rollout parsers never panic on arbitrary or damaged input
mod protocols; // export over http/protobuf, http/json, grpc: gzip, headers, Braintrust, limits, fan-out
mod replay; // recorded Codex sessions → golden span trees and exact token numbers
mod support; // fixtures, span-tree comparison, receivers and the real binaries
