//! The integration test binary: every module below is one area of behaviour.

mod backend_totals; // usage summed over every span equals the model API; span kinds, inputs, outputs, display names
mod checkpoint_writes; // the bytes a poll writes do not grow with the spans a session already spooled
mod codex_smoke; // the real Codex CLI end to end: hooks, rollouts, resume, compaction, plugins
mod collector; // real receivers: the OTLP sink, rotel from otel-config/rotel, Arize Phoenix
mod content_off; // content capture off: no prompt, answer, command, output or reason in the exported bytes
mod destinations; // TLS with a test CA, mutual TLS, gRPC over TLS, CONNECT proxy and NO_PROXY, file tables, resource
mod doctor; // codex-otel doctor: every diagnosis against local receivers and Codex homes made in the test
mod durability; // nothing lost, nothing doubled: SIGKILLs, outages, 429/413, full spool, torn files, retention
mod failures; // export failure classes: scripted HTTP statuses and gRPC codes, Retry-After, partial success
mod hook_cli; // the real hook binaries (codex-otel-hook, codex-otel hook): journal, poke, daemon start, exit 0 always
mod import; // codex-otel import: past sessions from rollouts alone, ids of a live trace, once; --since, --dry-run, --attach
mod live; // the real Codex CLI traced live: hook → journal → daemon → spans, checked exactly
mod load; // 50 concurrent sessions × 202 events through hook and daemon: exact traces, bounded RSS
mod metrics; // GenAI metrics at the fake receiver from replays and the real daemon (periodic flush, flush at stop)
mod nested; // a codex exec run by a traced session's tool call: in that session's trace, under the call, two levels deep, with TRACEPARENT
mod older_rollouts; // rollouts without usage records: token_count gives the calls; no usage at all is unknown, not zero
mod otelcol_configs; // the shipped OpenTelemetry Collector configs, validated structurally
mod packaging; // npm packages installed into a fresh prefix and traced live, the launcher finding them, cargo package
mod panics; // a panic in one session is caught, counted in status, its input skipped; the session goes on
mod parsers; // Codex hook and rollout parsers never panic on arbitrary or damaged input
mod phoenix_judge; // recorded sessions in a real Arize Phoenix: exact token totals, no turn as LLM, prompt and answer on the root
mod plugin; // the shipped Codex plugin and `codex-otel install`, run with the real Codex CLI
mod protocols; // export over http/protobuf, http/json, grpc: gzip, headers, Braintrust, limits, fan-out
mod replay; // recorded Codex sessions → golden span trees and exact token numbers
mod replay_delivery; // `codex-otel replay` streams through the durable delivery stage: retries, once each, bounded wait
mod rollout_rewrites; // a rollout copied over itself or cut short and restored mid-session: read on, counted once
mod run; // `codex-otel run -- codex exec …` with the real Codex CLI and the plugin installed: delivered once before it returns, exit code, TRACEPARENT, --json
mod security; // hostile local users and inputs: squatted sockets and state directories, planted symlinks, FIFO and device transcripts, long state paths
mod show; // `codex-otel show` on recorded sessions: what each did and cost, --list, width, colour; flush notes
mod silent_loss; // records the machine cannot place are kept or reported, never double-counted
mod skills; // skills in the trace: a load, a read resource and a run script with gen_ai.skill.* names, recorded and live
mod support; // fixtures, span-tree comparison, receivers and the real binaries
mod synth_replay; // benches/synth.py's generated sessions replay to the spans and tokens they imply
mod trace_codex; // a trace-codex user's setup unchanged: config.json, record file, resume rule, CI recipe
