//! Shared support for the integration tests.

pub mod fixtures; // recorded Codex sessions under tests/fixtures
pub mod span_tree; // normalized span trees and golden comparison
