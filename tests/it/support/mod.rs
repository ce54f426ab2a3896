//! Shared support for the integration tests.

pub(crate) mod bin; // the real codex-otel binary with a private state directory
pub(crate) mod codex; // the real Codex CLI run offline against the scripted Responses mock
pub(crate) mod codex_version; // which Codex CLI (0.171 or 0.169) a test runs, and where it is
pub(crate) mod daemon; // the real daemon as a child process, fed recorded sessions through the hook
pub(crate) mod edited; // recorded sessions with their rollout lines edited, fed to the machine
pub(crate) mod fake_otlp; // in-process OTLP receiver (HTTP protobuf/JSON, gRPC) recording requests
pub(crate) mod fixtures; // recorded Codex sessions under tests/fixtures
pub(crate) mod live; // the live harness: Codex with the plugin, the sink, exact-usage checks
pub(crate) mod model_requests; // every model request reached codex-otel as a Pre and a Post hook
pub(crate) mod pki; // a throwaway CA with server and client certificates for TLS tests
pub(crate) mod proxy; // a tiny HTTP CONNECT proxy on loopback recording its tunnels
pub(crate) mod receivers; // real components (OTLP sink, rotel, Phoenix) started on loopback
pub(crate) mod relay; // a TCP relay in front of receivers: switch targets, withhold answers
pub(crate) mod span_tree; // normalized span trees and golden comparison
