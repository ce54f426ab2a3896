//! OTLP/HTTP transport: one reqwest client per destination, posting encoded requests and
//! classifying each answer.
//!
//! Contract:
//! - Every request carries exactly the configured headers plus `User-Agent`, `Content-Type`
//!   and, when compressing, `Content-Encoding: gzip`.
//! - The client trusts the configured CA instead of the system's roots when one is given,
//!   presents the configured client certificate, and uses the configured proxy (nothing from
//!   the process environment). Redirects are not followed: a 3xx is an answer like any other.
//! - One call is one attempt bounded by the configured timeout. A 2xx returns the response
//!   body; anything else becomes an [`OtlpError`] that keeps the status, the `Retry-After`
//!   delay and the receiver's message (shortened, header values redacted).

use super::otlp::{Compression, Headers, OtlpConfig, OtlpError, Proxy};
use super::receiver::{shorten, USER_AGENT};
use super::retry::parse_retry_after;
use super::tls::TlsMaterial;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER,
};
use std::io::Write as _;
use std::time::{Duration, SystemTime};

/// Response bodies are read up to this size; OTLP answers are tiny.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// A built OTLP/HTTP destination.
#[derive(Debug)]
pub(crate) struct HttpTransport {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    compression: Compression,
    timeout: Duration,
}

impl HttpTransport {
    /// The client for `config` with the TLS material `tls`.
    pub(crate) fn build(config: &OtlpConfig, tls: TlsMaterial) -> Result<Self, OtlpError> {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Proxy::Via { url, no_proxy } = &config.connection.proxy {
            let proxy = reqwest::Proxy::all(url.as_str())
                .map_err(OtlpError::HttpClient)?
                .no_proxy(no_proxy.as_deref().and_then(reqwest::NoProxy::from_string));
            builder = builder.proxy(proxy);
        }
        if let Some(ca) = &tls.ca {
            let roots = reqwest::Certificate::from_pem_bundle(ca).map_err(OtlpError::HttpClient)?;
            builder = builder.tls_certs_only(roots);
        }
        if let Some((cert, key)) = &tls.identity {
            let pem = [key.as_slice(), b"\n", cert.as_slice()].concat();
            let identity = reqwest::Identity::from_pem(&pem).map_err(OtlpError::HttpClient)?;
            builder = builder.identity(identity);
        }
        Ok(HttpTransport {
            client: builder.build().map_err(OtlpError::HttpClient)?,
            url: config.endpoint.clone(),
            headers: header_map(&config.headers)?,
            compression: config.compression,
            timeout: config.timeout,
        })
    }

    /// Posts `body` as `content_type`; the response (body and content type) on a 2xx answer.
    /// Messages of error answers have the values of `redactor` redacted.
    pub(crate) async fn post(
        &self,
        body: Vec<u8>,
        content_type: &'static str,
        redactor: &Headers,
    ) -> Result<Reply, OtlpError> {
        let mut request = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, content_type);
        request = match self.compression {
            Compression::None => request.body(body),
            Compression::Gzip => request
                .header(CONTENT_ENCODING, "gzip")
                .body(gzip(&body).map_err(OtlpError::Encode)?),
        };
        let response = request.send().await.map_err(|e| self.failure(e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_capped(response).await.map_err(|e| self.failure(e))?;
        if status.is_success() {
            let content_type = headers
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            return Ok(Reply {
                status: status.as_u16(),
                content_type,
                body,
            });
        }
        Err(OtlpError::HttpStatus {
            status: status.as_u16(),
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, SystemTime::now())),
            message: error_message(&headers, &body).map(|m| redactor.redact(&m)),
        })
    }

    fn failure(&self, error: reqwest::Error) -> OtlpError {
        if error.is_timeout() {
            OtlpError::Timeout {
                timeout: self.timeout,
            }
        } else {
            OtlpError::Unreachable(Box::new(error))
        }
    }
}

/// A 2xx answer.
#[derive(Debug)]
pub(crate) struct Reply {
    /// Its HTTP status.
    pub(crate) status: u16,
    /// Its `Content-Type`, lowercase; empty when absent.
    pub(crate) content_type: String,
    /// Its body, cut at [`MAX_RESPONSE_BYTES`].
    pub(crate) body: Vec<u8>,
}

/// The body of `response`, cut at [`MAX_RESPONSE_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_RESPONSE_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_RESPONSE_BYTES {
            break;
        }
    }
    Ok(body)
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body)?;
    encoder.finish()
}

/// The configured headers plus `User-Agent`, marked sensitive.
pub(crate) fn header_map(headers: &Headers) -> Result<HeaderMap, OtlpError> {
    let mut map = HeaderMap::new();
    map.insert(
        reqwest::header::USER_AGENT,
        HeaderValue::from_static(USER_AGENT),
    );
    for (name, value) in headers.iter() {
        let invalid = || OtlpError::InvalidHeader {
            name: name.to_owned(),
        };
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let mut header_value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        header_value.set_sensitive(true);
        map.insert(header_name, header_value);
    }
    Ok(map)
}

/// The receiver's error message in an error response: the `message` of an OTLP `Status`
/// (protobuf or JSON), a JSON `error`, or a plain-text body; one line, shortened.
fn error_message(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let message = if content_type.starts_with("application/x-protobuf") {
        prost::Message::decode(body)
            .ok()
            .map(|status: tonic_types::Status| status.message)
    } else if content_type.starts_with("application/json") {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|json| json_message(&json))
    } else if content_type.starts_with("text/") {
        Some(String::from_utf8_lossy(body).into_owned())
    } else {
        None
    }?;
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    (!line.is_empty()).then(|| shorten(&line))
}

/// `message`, or `error` (a string, or an object with a `message`), of a JSON error body.
fn json_message(json: &serde_json::Value) -> Option<String> {
    let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
    json.get("message").and_then(text).or_else(|| {
        let error = json.get("error")?;
        text(error).or_else(|| error.get("message").and_then(text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_type(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("valid"),
        );
        headers
    }

    #[test]
    fn configured_headers_are_sent_with_the_user_agent_and_marked_sensitive() {
        let mut headers = Headers::default();
        headers.insert("Authorization", "Bearer secret");
        let map = header_map(&headers).expect("valid headers");
        assert_eq!(map.len(), 2);
        assert!(map["authorization"].is_sensitive());
        assert_eq!(map["user-agent"], USER_AGENT);
    }

    #[test]
    fn an_invalid_header_value_is_rejected_by_name() {
        let mut headers = Headers::default();
        headers.insert("x-bad", "line\nbreak");
        assert!(matches!(
            header_map(&headers),
            Err(OtlpError::InvalidHeader { name }) if name == "x-bad"
        ));
    }

    #[test]
    fn the_receivers_message_is_found_in_each_body_format() {
        let status = tonic_types::Status {
            code: 3,
            message: "bad   span\nids".into(),
            details: Vec::new(),
        };
        let protobuf = prost::Message::encode_to_vec(&status);
        assert_eq!(
            error_message(&with_type("application/x-protobuf"), &protobuf).as_deref(),
            Some("bad span ids")
        );
        let json = br#"{"code":16,"message":"invalid key"}"#;
        assert_eq!(
            error_message(&with_type("application/json; charset=utf-8"), json).as_deref(),
            Some("invalid key")
        );
        let nested = br#"{"error":{"message":"no such project"}}"#;
        assert_eq!(
            error_message(&with_type("application/json"), nested).as_deref(),
            Some("no such project")
        );
        assert_eq!(
            error_message(&with_type("text/plain"), b"404 page not found\n").as_deref(),
            Some("404 page not found")
        );
        assert_eq!(error_message(&with_type("image/png"), b"\x89PNG"), None);
        assert_eq!(error_message(&HeaderMap::new(), b"text"), None);
    }
}
