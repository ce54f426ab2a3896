//! [`History`]: the conversation so far, for full-history mode, kept within a byte budget: the
//! first messages up to half the budget, the latest up to the other half, and a count of the
//! messages dropped between them. Each model call's input is built from this window, so a call
//! costs the budget, not the length of the session, and memory stays flat; the export would cut
//! a longer input to the same size anyway ([`crate::span::content::ContentPolicy`]).

use crate::session::messages::{ChatMessage, Part};
use std::collections::VecDeque;

/// A bounded view of the whole conversation.
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    budget: usize,
    head: Vec<ChatMessage>,
    head_bytes: usize,
    tail: VecDeque<(usize, ChatMessage)>,
    tail_bytes: usize,
    dropped: usize,
}

impl History {
    /// An empty conversation kept within about `budget` bytes of message text.
    pub(crate) fn new(budget: usize) -> Self {
        History {
            budget,
            ..History::default()
        }
    }

    /// Adds a message at the end.
    pub(crate) fn push(&mut self, message: ChatMessage) {
        let size = size_of(&message);
        let half = self.budget / 2;
        if self.tail.is_empty() && self.dropped == 0 && self.head_bytes + size <= half {
            self.head_bytes += size;
            self.head.push(message);
            return;
        }
        self.tail_bytes += size;
        self.tail.push_back((size, message));
        while self.tail_bytes > half && self.tail.len() > 1 {
            if let Some((size, _)) = self.tail.pop_front() {
                self.tail_bytes -= size;
                self.dropped += 1;
            }
        }
    }

    /// Starts over from `message` (a compaction replaced the conversation with its summary).
    pub(crate) fn restart(&mut self, message: ChatMessage) {
        *self = History::new(self.budget);
        self.push(message);
    }

    /// The conversation as the next call's input: the first messages, a marker saying how many
    /// were left out, and the latest ones.
    pub(crate) fn window(&self) -> Vec<ChatMessage> {
        let mut messages = self.head.clone();
        if self.dropped > 0 {
            let marker = format!("…[{} earlier messages truncated]", self.dropped);
            messages.push(ChatMessage::single("system", Part::Text(marker)));
        }
        messages.extend(self.tail.iter().map(|(_, m)| m.clone()));
        messages
    }
}

/// About how many bytes a message adds to the input JSON.
fn size_of(message: &ChatMessage) -> usize {
    let text = |part: &Part| match part {
        Part::Text(t) | Part::Reasoning(t) => t.len(),
        Part::ToolCall {
            id,
            name,
            arguments,
        } => id.len() + name.len() + arguments.len(),
        Part::ToolResponse { id, response } => id.len() + response.len(),
    };
    32 + message.parts.iter().map(|p| 32 + text(p)).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> ChatMessage {
        ChatMessage::single("user", Part::Text(t.into()))
    }

    fn texts(history: &History) -> Vec<String> {
        let window = history.window();
        let parts = window.iter().flat_map(|m| m.parts.iter());
        parts
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn a_conversation_within_the_budget_is_whole() {
        let mut history = History::new(10_000);
        for t in ["a", "b", "c"] {
            history.push(text(t));
        }
        assert_eq!(texts(&history), ["a", "b", "c"]);
    }

    #[test]
    fn a_long_conversation_keeps_its_start_and_its_end_and_counts_the_middle() {
        let mut history = History::new(400);
        for i in 0..100 {
            history.push(text(&format!("m{i}")));
        }
        let texts = texts(&history);
        assert_eq!(texts[0], "m0");
        assert_eq!(texts.last().unwrap(), "m99");
        let marker = texts.iter().find(|t| t.contains("truncated")).unwrap();
        let kept = texts.len() - 1;
        assert_eq!(
            marker,
            &format!("…[{} earlier messages truncated]", 100 - kept)
        );
        assert!(texts.len() < 10, "{texts:?}");
    }

    #[test]
    fn a_compaction_restarts_the_conversation_from_its_summary() {
        let mut history = History::new(400);
        for i in 0..100 {
            history.push(text(&format!("m{i}")));
        }
        history.restart(text("summary"));
        history.push(text("next"));
        assert_eq!(texts(&history), ["summary", "next"]);
    }
}
