//! What every OTLP transport shares in dealing with a receiver: the `User-Agent` it presents
//! ([`USER_AGENT`]) and how the receiver's messages are cut to size for errors ([`shorten`]).

/// The `User-Agent` of every request.
pub(crate) const USER_AGENT: &str = concat!("codex-otel/", env!("CARGO_PKG_VERSION"));

/// Longest receiver message kept in an error.
const MAX_MESSAGE_CHARS: usize = 300;

/// `text` cut at [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_shortened_on_a_character_boundary() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 5);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(short.ends_with('…'));
        assert_eq!(shorten("ok"), "ok");
    }
}
