//! Model requests as the PreModelRequest and PostModelRequest hooks report them (Codex 0.169
//! and later): when each request really went out and came back, and which ones failed. A
//! completed request waits here until the rollout records its call, which then takes the
//! request's times; a failed or cancelled one becomes a chat span of its own, with an error.
//!
//! A request is paired with its call by response id (0.171), else by its turn and exact usage
//! (0.169's payloads name neither request nor response); a Post is paired with its Pre by
//! request id, else with the oldest unanswered Pre of its turn.

use crate::codex::hook_event::{ModelRequest, ModelRequestResult};
use crate::codex::rollout::TokenUsage;
use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

/// When a request went out and came back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RequestTimes {
    pub(crate) sent: Option<SystemTime>,
    pub(crate) answered: Option<SystemTime>,
}

/// A request that did not complete: its span says why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FailedRequest {
    /// `request_id` (0.171), else the turn and the request's position in it.
    pub(crate) key: String,
    pub(crate) turn_id: Option<String>,
    pub(crate) thread_id: Option<String>,
    pub(crate) model: Option<String>,
    /// `failed` or `cancelled`.
    pub(crate) status: String,
    pub(crate) error: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) attempt: Option<u32>,
    pub(crate) times: RequestTimes,
}

/// A Pre waiting for its Post.
#[derive(Debug, Clone)]
struct Sent {
    at: Option<SystemTime>,
}

/// Requests seen in hooks, until their calls are recorded.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    /// Pre hooks by request id.
    sent_by_id: HashMap<String, Sent>,
    /// Pre hooks without a request id, per turn, oldest first.
    sent_by_turn: HashMap<String, VecDeque<Sent>>,
    /// Completed requests by response id.
    done_by_response: HashMap<String, RequestTimes>,
    /// Completed requests without a response id, per turn, with their usage.
    done_by_turn: HashMap<String, Vec<(TokenUsage, RequestTimes)>>,
    /// Requests seen per turn (the position of one without a request id).
    seen_per_turn: HashMap<String, u32>,
}

impl Requests {
    /// A PreModelRequest hook.
    pub(crate) fn sent(
        &mut self,
        turn: Option<&str>,
        request: &ModelRequest,
        at: Option<SystemTime>,
    ) {
        let sent = Sent { at };
        match (&request.request_id, turn) {
            (Some(id), _) => {
                self.sent_by_id.insert(id.clone(), sent);
            }
            (None, Some(turn)) => self
                .sent_by_turn
                .entry(turn.to_owned())
                .or_default()
                .push_back(sent),
            (None, None) => {}
        }
    }

    /// A PostModelRequest hook; a request that did not complete is returned.
    pub(crate) fn answered(
        &mut self,
        turn: Option<&str>,
        model: Option<&str>,
        result: &ModelRequestResult,
        at: Option<SystemTime>,
    ) -> Option<FailedRequest> {
        let request = &result.request;
        let sent = match (&request.request_id, turn) {
            (Some(id), _) => self.sent_by_id.remove(id),
            (None, Some(turn)) => self
                .sent_by_turn
                .get_mut(turn)
                .and_then(VecDeque::pop_front),
            (None, None) => None,
        };
        let position = turn.map(|t| {
            let seen = self.seen_per_turn.entry(t.to_owned()).or_default();
            *seen += 1;
            *seen
        });
        let times = RequestTimes {
            sent: sent.and_then(|s| s.at),
            answered: at,
        };
        match result.status.as_deref() {
            Some("completed") | None => {
                match (&result.response_id, turn, result.token_usage) {
                    (Some(response), _, _) => {
                        self.done_by_response.insert(response.clone(), times);
                    }
                    (None, Some(turn), Some(usage)) => self
                        .done_by_turn
                        .entry(turn.to_owned())
                        .or_default()
                        .push((usage, times)),
                    _ => {}
                }
                None
            }
            Some(status) => Some(FailedRequest {
                key: match (&request.request_id, turn, position) {
                    (Some(id), _, _) => id.clone(),
                    (None, Some(turn), Some(n)) => format!("{turn}#request-{n}"),
                    _ => format!("request-{}", status),
                },
                turn_id: turn.map(str::to_owned),
                thread_id: request.thread_id.clone(),
                model: model.map(str::to_owned),
                status: status.to_owned(),
                error: result.error.clone(),
                kind: request.kind.clone(),
                attempt: request.attempt_number,
                times,
            }),
        }
    }

    /// The times of the request whose call the rollout just recorded: by its response id, else
    /// by its turn and exact usage.
    pub(crate) fn take_times(
        &mut self,
        response_id: Option<&str>,
        turn: Option<&str>,
        usage: TokenUsage,
    ) -> Option<RequestTimes> {
        if let Some(times) = response_id.and_then(|id| self.done_by_response.remove(id)) {
            return Some(times);
        }
        let done = self.done_by_turn.get_mut(turn?)?;
        let at = done.iter().position(|(u, _)| *u == usage)?;
        Some(done.remove(at).1)
    }

    /// Forgets what is left of a closed turn's requests.
    pub(crate) fn forget_turn(&mut self, turn: &str) {
        self.sent_by_turn.remove(turn);
        self.done_by_turn.remove(turn);
        self.seen_per_turn.remove(turn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(ms: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_millis(ms))
    }

    fn usage(input: i64) -> TokenUsage {
        TokenUsage {
            input_tokens: input,
            total_tokens: input,
            ..TokenUsage::default()
        }
    }

    fn post(
        status: &str,
        request_id: Option<&str>,
        response_id: Option<&str>,
        input: i64,
    ) -> ModelRequestResult {
        ModelRequestResult {
            request: ModelRequest {
                request_id: request_id.map(str::to_owned),
                attempt_number: Some(1),
                ..ModelRequest::default()
            },
            status: Some(status.to_owned()),
            error: (status != "completed").then(|| "boom".to_owned()),
            token_usage: (status == "completed").then(|| usage(input)),
            response_id: response_id.map(str::to_owned),
        }
    }

    #[test]
    fn a_completed_request_gives_its_call_the_hook_times_by_response_id() {
        let mut requests = Requests::default();
        let pre = ModelRequest {
            request_id: Some("r1".into()),
            ..ModelRequest::default()
        };
        requests.sent(Some("t"), &pre, at(10));
        let failed = requests.answered(
            Some("t"),
            None,
            &post("completed", Some("r1"), Some("resp_1"), 5),
            at(90),
        );
        assert_eq!(failed, None);
        let times = requests
            .take_times(Some("resp_1"), Some("t"), usage(5))
            .unwrap();
        assert_eq!((times.sent, times.answered), (at(10), at(90)));
        assert_eq!(
            requests.take_times(Some("resp_1"), Some("t"), usage(5)),
            None,
            "taken once"
        );
    }

    #[test]
    fn without_ids_requests_pair_with_calls_by_turn_and_usage() {
        let mut requests = Requests::default();
        let pre = ModelRequest::default();
        requests.sent(Some("t"), &pre, at(10));
        requests.sent(Some("t"), &pre, at(20));
        requests.answered(Some("t"), None, &post("completed", None, None, 7), at(15));
        requests.answered(Some("t"), None, &post("completed", None, None, 9), at(30));
        let second = requests.take_times(None, Some("t"), usage(9)).unwrap();
        assert_eq!((second.sent, second.answered), (at(20), at(30)));
        let first = requests.take_times(None, Some("t"), usage(7)).unwrap();
        assert_eq!((first.sent, first.answered), (at(10), at(15)));
    }

    #[test]
    fn a_failed_request_is_returned_with_its_error_and_attempt() {
        let mut requests = Requests::default();
        let pre = ModelRequest {
            request_id: Some("r9".into()),
            ..ModelRequest::default()
        };
        requests.sent(Some("t"), &pre, at(1));
        let failed = requests
            .answered(
                Some("t"),
                Some("m"),
                &post("failed", Some("r9"), None, 0),
                at(2),
            )
            .unwrap();
        assert_eq!(
            (failed.key.as_str(), failed.status.as_str()),
            ("r9", "failed")
        );
        assert_eq!(
            (failed.attempt, failed.error.as_deref()),
            (Some(1), Some("boom"))
        );
        assert_eq!(failed.times.sent, at(1));
    }
}
