//! The trace a nested session's parent went to, read from the parents' route records.
//!
//! A nested session's environment names its parent session and call ([`ParentCall`]), but
//! not always the trace that parent went to: when A's tool runs B and B's tool runs C, C's
//! environment names B, while B went to A's trace. The parent's own route record
//! ([`crate::journal::route`]) holds what the parent was first traced with, so its attachment is
//! decided again from there by the same rules ([`config::session::lineage`],
//! [`crate::session::Lineage::attachment`]): its joined trace, its own trace, or, when it was
//! nested itself, its parent's trace, followed up to [`MAX_DEPTH`] sessions.
//!
//! Where the chain cannot be followed (a parent without a record, a session met twice, the
//! depth reached), the trace is the one the last call reached names by its environment alone
//! ([`config::session::lineage`]: the `TRACEPARENT` passed down, else the parent session's
//! own trace), the rule `replay` uses throughout.

use crate::config;
use crate::journal::route::RouteRecord;
use crate::session::{Attachment, Lineage, ParentCall};
use crate::span::TraceId;

/// How many parent sessions are followed up the chain at most.
pub(crate) const MAX_DEPTH: usize = 8;

/// Sets the trace of `lineage`'s parent call (of the session `session_id`) to the trace the
/// parent went to, as `record_of` (the route record of a session, if any) tells: see the module
/// docs.
pub(crate) fn resolve_parent_trace(
    session_id: &str,
    lineage: &mut Lineage,
    record_of: impl Fn(&str) -> Option<RouteRecord>,
) {
    if let Some(call) = &mut lineage.call {
        call.trace_id = parent_trace(session_id, call, record_of);
    }
}

/// The trace the session `call` names went to.
fn parent_trace(
    session_id: &str,
    call: &ParentCall,
    record_of: impl Fn(&str) -> Option<RouteRecord>,
) -> TraceId {
    let mut seen = vec![session_id.to_owned()];
    let mut call = call.clone();
    for _ in 0..MAX_DEPTH {
        if seen.contains(&call.session_id) {
            break;
        }
        let Some(record) = record_of(&call.session_id) else {
            break;
        };
        let vars = |name: &str| record.get(name, |_| None);
        let parent = config::session::lineage(&vars, &mut Vec::new());
        match parent.attachment(&call.session_id) {
            Attachment::Nested(grandparent) => {
                seen.push(std::mem::replace(&mut call, grandparent).session_id);
            }
            settled => return settled.trace_id(&call.session_id),
        }
    }
    call.trace_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ids::trace_id_for_session;
    use std::collections::HashMap;

    const JOINED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// Route records by session, each from `(name, value)` pairs.
    fn records(sessions: &[(&str, &[(&str, &str)])]) -> impl Fn(&str) -> Option<RouteRecord> {
        let map: HashMap<String, RouteRecord> = sessions
            .iter()
            .map(|(id, vars)| {
                let lookup = |name: &str| {
                    let found = vars.iter().find(|(k, _)| *k == name);
                    found.map(|(_, v)| (*v).to_owned())
                };
                let names = vars.iter().map(|(k, _)| *k);
                ((*id).to_owned(), RouteRecord::capture(names, lookup))
            })
            .collect();
        move |id| map.get(id).cloned()
    }

    /// The resolved trace of `session`, whose environment names `parent`'s call (and
    /// `joined`, when given).
    fn trace_of(
        session: &str,
        parent: &str,
        joined: Option<&str>,
        record_of: impl Fn(&str) -> Option<RouteRecord>,
    ) -> TraceId {
        let mut vars = vec![
            ("CODEX_SESSION_ID", parent.to_owned()),
            ("CODEX_TOOL_CALL_ID", "call_1".to_owned()),
        ];
        vars.extend(joined.map(|j| ("TRACEPARENT", j.to_owned())));
        let lookup = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        };
        let mut lineage = config::session::lineage(&lookup, &mut Vec::new());
        resolve_parent_trace(session, &mut lineage, record_of);
        lineage.attachment(session).trace_id(session)
    }

    #[test]
    fn one_level_a_top_level_parent_went_to_its_own_trace() {
        let record_of = records(&[("a", &[("TRACE_TO_BRAINTRUST", "true")])]);
        assert_eq!(
            trace_of("b", "a", None, record_of),
            trace_id_for_session("a")
        );
    }

    #[test]
    fn one_level_a_parent_that_joined_a_traceparent_went_there() {
        let record_of = records(&[("a", &[("TRACEPARENT", JOINED)])]);
        let trace = trace_of("b", "a", None, record_of);
        assert_eq!(trace.to_string(), &JOINED[3..35]);
    }

    #[test]
    fn two_levels_the_grandchild_goes_where_the_grandparent_went() {
        // Only a saw the TRACEPARENT: b's own environment does not tell a's trace.
        let record_of = records(&[
            ("a", &[("TRACEPARENT", JOINED)]),
            (
                "b",
                &[("CODEX_SESSION_ID", "a"), ("CODEX_TOOL_CALL_ID", "call_a")],
            ),
        ]);
        let trace = trace_of("c", "b", None, &record_of);
        assert_eq!(trace.to_string(), &JOINED[3..35]);
        let record_of = records(&[
            ("a", &[]),
            (
                "b",
                &[("CODEX_SESSION_ID", "a"), ("CODEX_TOOL_CALL_ID", "call_a")],
            ),
        ]);
        assert_eq!(
            trace_of("c", "b", None, record_of),
            trace_id_for_session("a")
        );
    }

    #[test]
    fn a_parent_without_a_record_is_the_environments_word() {
        let none = records(&[]);
        assert_eq!(trace_of("b", "a", None, &none), trace_id_for_session("a"));
        let trace = trace_of("b", "a", Some(JOINED), &none);
        assert_eq!(trace.to_string(), &JOINED[3..35]);
    }

    #[test]
    fn a_cycle_of_records_ends_and_keeps_the_last_calls_own_word() {
        let record_of = records(&[
            (
                "a",
                &[("CODEX_SESSION_ID", "b"), ("CODEX_TOOL_CALL_ID", "call_b")],
            ),
            (
                "b",
                &[("CODEX_SESSION_ID", "a"), ("CODEX_TOOL_CALL_ID", "call_a")],
            ),
        ]);
        // c → b → a → b: b's record names a, a's names b again: a's word is b's own trace.
        assert_eq!(
            trace_of("c", "b", None, &record_of),
            trace_id_for_session("b")
        );
        // a session whose parent's record names the session itself.
        assert_eq!(
            trace_of("a", "b", None, &record_of),
            trace_id_for_session("a")
        );
    }

    #[test]
    fn a_parent_record_naming_itself_as_parent_is_a_top_level_parent() {
        let record_of = records(&[(
            "a",
            &[("CODEX_SESSION_ID", "a"), ("CODEX_TOOL_CALL_ID", "call_a")],
        )]);
        assert_eq!(
            trace_of("b", "a", None, record_of),
            trace_id_for_session("a")
        );
    }

    #[test]
    fn a_chain_deeper_than_the_limit_stops_there() {
        let ids: Vec<String> = (0..=MAX_DEPTH + 1).map(|n| format!("s{n}")).collect();
        let vars: Vec<[(&str, &str); 2]> = ids
            .windows(2)
            .map(|pair| {
                [
                    ("CODEX_SESSION_ID", pair[1].as_str()),
                    ("CODEX_TOOL_CALL_ID", "c"),
                ]
            })
            .collect();
        let sessions: Vec<(&str, &[(&str, &str)])> = ids
            .iter()
            .zip(&vars)
            .map(|(id, vars)| (id.as_str(), &vars[..]))
            .collect();
        // s0 names s1, …; s(k) names s(k+1): the walk from "child" stops after MAX_DEPTH
        // records and takes the last call's word, s(MAX_DEPTH)'s own trace.
        let trace = trace_of("child", "s0", None, records(&sessions));
        assert_eq!(trace, trace_id_for_session(&ids[MAX_DEPTH]));
    }
}
