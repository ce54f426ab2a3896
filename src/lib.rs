//! codex-otel turns every OpenAI Codex CLI session into one OpenTelemetry trace with GenAI
//! semantic-convention attributes, and exports it over OTLP.
//!
//! # Layout, in the order data flows
//!
//! - [`hook`]: the short-lived `codex-otel hook` process: stdin → journal → poke → exit 0;
//!   how Codex is told to run it ([`hook::registration`]) is shared by `install`, `run`, `doctor`.
//! - [`journal`]: the durable per-session event log the hook appends and the daemon reads.
//! - [`tail`]: incremental reading of append-only JSONL files from a byte offset.
//! - [`codex`]: Codex's vocabulary: hook payloads and rollout records, typed and tolerant.
//! - [`session`]: the pure per-session state machine: events + rollout records → spans.
//! - [`span`]: our output vocabulary ([`span::SpanRecord`]), GenAI keys and content policy.
//! - [`export`]: span records → OTLP (HTTP/protobuf, HTTP/JSON, gRPC), Braintrust, local store.
//! - [`delivery`]: durable spools and couriers per destination: spans until acknowledged.
//! - [`daemon`]: the composition root that follows journals and rollouts and drives exports.
//! - [`replay`]: a recorded session through the same pipeline, for tests and demos.
//! - [`import`]: backfills past sessions from their rollout files, through replay's delivery.
//! - [`record`]: the record file: every hook event as NDJSON, credentials redacted, for replay.
//! - [`show`]: draws a trace from the local store as a tree.
//! - [`config`]: the only place that reads flags, environment and the config file.
//! - [`paths`]: every on-disk location, derived from one state directory.
//! - [`wire`]: messages between the hook and the daemon over the Unix socket.
//! - [`cli`]: the command tree (clap), made of the arguments each command module defines.
//! - [`client`]: `flush`, `status` and `stop`: requests to the running daemon.
//! - [`run`]: `codex-otel run -- codex exec …`: traces one Codex invocation (CI), no install.
//! - [`progress`]: what a waiting command (`flush`, `stop`, `doctor`) is waiting on, on stderr.
//! - [`doctor`]: checks configuration, destinations and hook registration, and says what to fix.
//! - [`install`]: registers the hook in `$CODEX_HOME/hooks.json` (the plugin is the other way).
//! - [`logging`]: codex-otel's own diagnostics, to a file under the state directory.

// The docs are the developers' map of the code and are built with its private items
// (`make lint` runs `cargo doc --document-private-items` with warnings as errors), so a link
// from a public module to a private one is meant.
#![allow(rustdoc::private_intra_doc_links)]

pub mod cli;
pub mod client;
pub mod codex;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod doctor;
pub mod export;
pub mod hook;
pub mod import;
pub mod install;
pub mod journal;
pub mod logging;
pub mod paths;
pub mod progress;
pub mod record;
pub mod replay;
pub mod run;
pub mod session;
pub mod show;
pub mod span;
pub mod tail;
pub mod wire;
