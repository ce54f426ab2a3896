//! Shared support for the integration tests.

pub(crate) mod codex; // the real Codex CLI run offline against the scripted Responses mock
pub mod fixtures; // recorded Codex sessions under tests/fixtures
pub mod span_tree; // normalized span trees and golden comparison
