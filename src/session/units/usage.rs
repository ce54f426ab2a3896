//! [`Usage`]: a token total that is either known or unknown with a reason. Unknown absorbs:
//! a total with one unknown part is unknown, so no span ever reports a partial sum as if it
//! were the whole, and no backend shows a missing number as zero.

use crate::codex::rollout::TokenUsage;

/// Why a total is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnknownUsage {
    /// The rollout recorded model output with no usage for it (releases or clients that write
    /// neither `token_usage_record` nor `token_count`).
    NotRecorded,
    /// A model call was cut off by an interrupt before its usage was recorded.
    Interrupted,
}

impl UnknownUsage {
    /// The value of `codex.usage.unknown_reason`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UnknownUsage::NotRecorded => "not_recorded",
            UnknownUsage::Interrupted => "interrupted",
        }
    }
}

/// A token total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    Known(TokenUsage),
    Unknown(UnknownUsage),
}

impl Default for Usage {
    fn default() -> Self {
        Usage::Known(TokenUsage::default())
    }
}

impl std::ops::AddAssign<TokenUsage> for Usage {
    fn add_assign(&mut self, part: TokenUsage) {
        if let Usage::Known(total) = self {
            *total += part;
        }
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, part: Usage) {
        match (&mut *self, part) {
            (Usage::Known(total), Usage::Known(part)) => *total += part,
            (Usage::Known(_), unknown @ Usage::Unknown(_)) => *self = unknown,
            (Usage::Unknown(_), _) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(n: i64) -> TokenUsage {
        TokenUsage {
            input_tokens: n,
            total_tokens: n,
            ..TokenUsage::default()
        }
    }

    #[test]
    fn known_parts_add_up() {
        let mut total = Usage::default();
        total += tokens(3);
        total += Usage::Known(tokens(4));
        assert_eq!(total, Usage::Known(tokens(7)));
    }

    #[test]
    fn one_unknown_part_makes_the_total_unknown_for_good() {
        let mut total = Usage::Known(tokens(3));
        total += Usage::Unknown(UnknownUsage::Interrupted);
        total += tokens(4);
        total += Usage::Unknown(UnknownUsage::NotRecorded);
        assert_eq!(total, Usage::Unknown(UnknownUsage::Interrupted));
    }
}
