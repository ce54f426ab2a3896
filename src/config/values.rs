//! Parsing of single setting values (from the environment or the config file) into typed
//! settings, with errors that never echo a possibly secret value.

use crate::export::{Compression, Headers, Protocol, Temporality};
use std::time::Duration;

/// Why a setting's value is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// Not a comma-separated list of `key=value` pairs.
    #[error("expected comma-separated key=value pairs")]
    KeyValueList,
    /// A `%` not followed by two hex digits, or decoded bytes that are not UTF-8.
    #[error("invalid percent-encoding")]
    PercentEncoding,
    /// An unknown protocol name (the name is shown: it is not a secret).
    #[error("unknown protocol {0:?}; expected http/protobuf, http/json or grpc")]
    Protocol(String),
    /// An unknown or unsupported compression name.
    #[error("unknown compression {0:?}; expected gzip or none")]
    Compression(String),
    /// Not a whole number of milliseconds.
    #[error("expected a whole number of milliseconds")]
    Millis,
    /// Not a boolean.
    #[error("expected true or false")]
    Bool,
    /// Not an `http://` or `https://` URL with a host.
    #[error("expected an http:// or https:// URL")]
    Url,
    /// A header name that is not an HTTP token, or a value with control characters.
    #[error("header {0:?} has an invalid name or value")]
    Header(String),
    /// An unknown metrics temporality (the name is shown: it is not a secret).
    #[error("unknown temporality {0:?}; expected cumulative, delta or lowmemory")]
    Temporality(String),
}

/// Parses `k=v,k2=v2` (whitespace around entries ignored, values percent-decoded).
pub fn key_values(text: &str) -> Result<Vec<(String, String)>, ValueError> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (key, value) = entry.split_once('=').ok_or(ValueError::KeyValueList)?;
            let key = key.trim();
            if key.is_empty() {
                return Err(ValueError::KeyValueList);
            }
            Ok((key.to_owned(), percent_decode(value.trim())?))
        })
        .collect()
}

/// Decodes `%XX` escapes.
fn percent_decode(text: &str) -> Result<String, ValueError> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail.get(..2).ok_or(ValueError::PercentEncoding)?;
            let hex = std::str::from_utf8(hex).map_err(|_| ValueError::PercentEncoding)?;
            bytes.push(u8::from_str_radix(hex, 16).map_err(|_| ValueError::PercentEncoding)?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).map_err(|_| ValueError::PercentEncoding)
}

/// Parses `OTEL_EXPORTER_OTLP_HEADERS`-style text into validated headers.
pub fn headers(text: &str) -> Result<Headers, ValueError> {
    let mut headers = Headers::default();
    for (name, value) in key_values(text)? {
        insert_header(&mut headers, &name, &value)?;
    }
    Ok(headers)
}

/// Adds one header after checking it can be sent.
pub fn insert_header(headers: &mut Headers, name: &str, value: &str) -> Result<(), ValueError> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let name_ok = !name.is_empty() && name.bytes().all(token);
    let value_ok = value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    if !(name_ok && value_ok) {
        return Err(ValueError::Header(name.to_owned()));
    }
    headers.insert(name, value);
    Ok(())
}

/// Parses a protocol name, case-insensitively.
pub fn protocol(text: &str) -> Result<Protocol, ValueError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "http/protobuf" => Ok(Protocol::HttpProtobuf),
        "http/json" => Ok(Protocol::HttpJson),
        "grpc" => Ok(Protocol::Grpc),
        _ => Err(ValueError::Protocol(text.to_owned())),
    }
}

/// Parses a compression name, case-insensitively.
pub fn compression(text: &str) -> Result<Compression, ValueError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "gzip" => Ok(Compression::Gzip),
        "none" => Ok(Compression::None),
        _ => Err(ValueError::Compression(text.to_owned())),
    }
}

/// Parses a metrics temporality preference, case-insensitively. `lowmemory` means delta for
/// counters and histograms, which is every instrument codex-otel has.
pub fn temporality(text: &str) -> Result<Temporality, ValueError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "cumulative" => Ok(Temporality::Cumulative),
        "delta" | "lowmemory" => Ok(Temporality::Delta),
        _ => Err(ValueError::Temporality(text.to_owned())),
    }
}

/// Parses a timeout in milliseconds.
pub fn millis(text: &str) -> Result<Duration, ValueError> {
    text.trim()
        .parse()
        .map(Duration::from_millis)
        .map_err(|_| ValueError::Millis)
}

/// Parses `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), case-insensitively.
pub fn boolean(text: &str) -> Result<bool, ValueError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ValueError::Bool),
    }
}

/// Checks that `text` is an `http(s)://host…` URL and returns it trimmed.
pub fn url(text: &str) -> Result<String, ValueError> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .ok_or(ValueError::Url)?;
    let host_ok = rest
        .split(['/', '?', '#'])
        .next()
        .is_some_and(|host| !host.is_empty() && !host.contains(char::is_whitespace));
    if host_ok {
        Ok(text.to_owned())
    } else {
        Err(ValueError::Url)
    }
}

/// `base` with `/v1/<signal>` appended, keeping its path (`…/otel` → `…/otel/v1/traces`).
pub fn signal_url(base: &str, signal: &str) -> String {
    format!("{}/v1/{signal}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_are_trimmed_and_percent_decoded() {
        assert_eq!(
            key_values(" a=1 , Authorization=Bearer%20x%2Cy,, b = c=d ").expect("parses"),
            vec![
                ("a".into(), "1".into()),
                ("Authorization".into(), "Bearer x,y".into()),
                ("b".into(), "c=d".into()),
            ]
        );
        assert_eq!(key_values("").expect("parses"), vec![]);
    }

    #[test]
    fn malformed_key_values_are_errors() {
        assert_eq!(key_values("novalue"), Err(ValueError::KeyValueList));
        assert_eq!(key_values("=v"), Err(ValueError::KeyValueList));
        assert_eq!(key_values("a=%zz"), Err(ValueError::PercentEncoding));
        assert_eq!(key_values("a=%2"), Err(ValueError::PercentEncoding));
        assert_eq!(key_values("a=%ff"), Err(ValueError::PercentEncoding));
    }

    #[test]
    fn headers_reject_names_and_values_that_cannot_be_sent() {
        assert!(headers("x-ok=fine value").is_ok());
        assert_eq!(
            headers("bad name=v"),
            Err(ValueError::Header("bad name".into()))
        );
        assert_eq!(headers("x=a%0Ab"), Err(ValueError::Header("x".into())));
    }

    #[test]
    fn protocol_compression_timeout_and_bool_names_parse() {
        assert_eq!(protocol("HTTP/JSON"), Ok(Protocol::HttpJson));
        assert_eq!(protocol("grpc"), Ok(Protocol::Grpc));
        assert!(matches!(protocol("http"), Err(ValueError::Protocol(_))));
        assert_eq!(compression("GZIP"), Ok(Compression::Gzip));
        assert!(compression("zstd").is_err());
        assert_eq!(millis("2500"), Ok(Duration::from_millis(2500)));
        assert_eq!(millis("2.5s"), Err(ValueError::Millis));
        assert_eq!(boolean("TRUE"), Ok(true));
        assert_eq!(boolean("0"), Ok(false));
        assert_eq!(boolean("maybe"), Err(ValueError::Bool));
        assert_eq!(temporality("LowMemory"), Ok(Temporality::Delta));
        assert_eq!(temporality("cumulative"), Ok(Temporality::Cumulative));
        assert!(temporality("gauge").is_err());
    }

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        assert_eq!(url(" http://h:4318 "), Ok("http://h:4318".into()));
        assert!(url("https://h/otel").is_ok());
        assert_eq!(url("h:4318"), Err(ValueError::Url));
        assert_eq!(url("http:///x"), Err(ValueError::Url));
    }

    #[test]
    fn the_traces_path_is_appended_after_any_base_path() {
        assert_eq!(
            signal_url("http://h:4318", "traces"),
            "http://h:4318/v1/traces"
        );
        assert_eq!(
            signal_url("http://h:4318/", "metrics"),
            "http://h:4318/v1/metrics"
        );
        assert_eq!(
            signal_url("https://api.braintrust.dev/otel", "traces"),
            "https://api.braintrust.dev/otel/v1/traces"
        );
    }
}
