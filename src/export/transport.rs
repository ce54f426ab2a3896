//! One OTLP destination's transport, whatever its protocol and whichever signal it carries:
//! encodes a request exactly as it goes on the wire, sends it, and reads the answer.
//!
//! Contract:
//! - [`Transport::encoded_len`] is the size of the body [`Transport::send`] would send
//!   (before compression), so requests can be planned under a size limit.
//! - An answer with an OTLP partial success that rejected items is an
//!   [`OtlpError::PartialSuccess`]; one that only carries a warning (nothing rejected) is a
//!   success. An empty success body is a full success; a 2xx body that is not an OTLP response
//!   (an HTML page, a JSON array, bytes that do not decode) is an [`OtlpError::NotOtlpAnswer`],
//!   which delivery counts as delivered with a warning. (The OpenTelemetry SDK's
//!   exporters only log partial successes, one reason this crate drives the transport itself.)

use super::grpc::GrpcTransport;
use super::http::{HttpTransport, Reply};
use super::otlp::{Headers, OtlpConfig, OtlpError, Protocol};
use super::receiver::shorten;
use super::signal::Signal;
use super::tls;
use prost::Message as _;

/// A built transport.
#[derive(Debug)]
pub(crate) struct Transport {
    inner: Inner,
    protocol: Protocol,
    /// The configured headers, whose values are redacted from receivers' messages.
    headers: Headers,
}

#[derive(Debug)]
enum Inner {
    Http(HttpTransport),
    Grpc(GrpcTransport),
}

impl Transport {
    /// The transport for `config`, its TLS files read. Must run inside a Tokio runtime.
    pub(crate) fn build(config: &OtlpConfig) -> Result<Self, OtlpError> {
        let tls = tls::load(&config.connection.tls)?;
        let inner = match config.protocol {
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                Inner::Http(HttpTransport::build(config, tls)?)
            }
            Protocol::Grpc => Inner::Grpc(GrpcTransport::build(config, tls)?),
        };
        Ok(Transport {
            inner,
            protocol: config.protocol,
            headers: config.headers.clone(),
        })
    }

    /// The uncompressed body size of `request`.
    pub(crate) fn encoded_len<S: Signal>(&self, request: &S::Request) -> usize {
        match self.protocol {
            Protocol::HttpJson => serde_json::to_vec(request).map_or(usize::MAX, |v| v.len()),
            Protocol::HttpProtobuf | Protocol::Grpc => request.encoded_len(),
        }
    }

    /// Sends `request`: one attempt.
    pub(crate) async fn send<S: Signal>(&self, request: S::Request) -> Result<(), OtlpError> {
        let rejected = match &self.inner {
            Inner::Grpc(grpc) => S::rejected(&grpc.call::<S>(request, &self.headers).await?),
            Inner::Http(http) if self.protocol == Protocol::HttpJson => {
                let body = serde_json::to_vec(&request).map_err(|e| OtlpError::Encode(e.into()))?;
                let reply = http.post(body, "application/json", &self.headers).await?;
                check_otlp::<S>(&reply)?;
                json_rejected(&reply.body)
            }
            Inner::Http(http) => {
                let body = request.encode_to_vec();
                let reply = http
                    .post(body, "application/x-protobuf", &self.headers)
                    .await?;
                check_otlp::<S>(&reply)?;
                S::Response::decode(reply.body.as_slice())
                    .ok()
                    .and_then(|response| S::rejected(&response))
            }
        };
        match rejected {
            Some((rejected, message)) => Err(OtlpError::PartialSuccess {
                rejected,
                message: shorten(&self.headers.redact(&message)),
            }),
            None => Ok(()),
        }
    }
}

/// Whether a 2xx answer is an OTLP response: an empty body, a JSON object (JSON content type),
/// or a decodable protobuf response (protobuf, octet-stream or no content type). Anything
/// else (an HTML page from a wrong URL, say) is [`OtlpError::NotOtlpAnswer`].
fn check_otlp<S: Signal>(reply: &Reply) -> Result<(), OtlpError> {
    if reply.body.is_empty() {
        return Ok(());
    }
    let media = reply
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let recognised = match media {
        "application/json" => serde_json::from_slice::<serde_json::Value>(&reply.body)
            .is_ok_and(|answer| answer.is_object()),
        "" | "application/x-protobuf" | "application/protobuf" | "application/octet-stream" => {
            S::Response::decode(reply.body.as_slice()).is_ok()
        }
        _ => false,
    };
    if recognised {
        return Ok(());
    }
    let what = match media {
        "" => format!("{} bytes that are not an OTLP message", reply.body.len()),
        media => format!("a {media} body of {} bytes", reply.body.len()),
    };
    Err(OtlpError::NotOtlpAnswer {
        status: reply.status,
        what,
    })
}

/// The rejected count and message of an OTLP/JSON answer of any signal, when it rejected
/// anything. Tolerant: the count may be a number or (as protobuf's JSON mapping writes 64-bit
/// integers) a string, and field names may be camelCase or snake_case.
fn json_rejected(body: &[u8]) -> Option<(i64, String)> {
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    let partial = answer
        .get("partialSuccess")
        .or_else(|| answer.get("partial_success"))?
        .as_object()?;
    let rejected = partial
        .iter()
        .find(|(key, _)| key.starts_with("rejected"))
        .and_then(|(_, count)| {
            count
                .as_i64()
                .or_else(|| count.as_str().and_then(|text| text.parse().ok()))
        })
        .filter(|count| *count > 0)?;
    let message = partial
        .get("errorMessage")
        .or_else(|| partial.get("error_message"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    Some((rejected, message.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::signal::Traces;
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };

    fn reply(content_type: &str, body: &[u8]) -> Reply {
        Reply {
            status: 200,
            content_type: content_type.into(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn a_2xx_answer_that_is_not_otlp_is_told_apart_from_one_that_is() {
        let otlp = response(0, "").encode_to_vec();
        for ok in [
            reply("", b""),
            reply("text/html", b""),
            reply("application/x-protobuf", &otlp),
            reply("application/json; charset=utf-8", b"{}"),
            reply("application/json", br#"{"partialSuccess":{}}"#),
        ] {
            assert!(check_otlp::<Traces>(&ok).is_ok(), "{ok:?}");
        }
        for wrong in [
            reply(
                "text/html; charset=utf-8",
                b"<html><body>Welcome</body></html>",
            ),
            reply("application/json", b"[1, 2]"),
            reply("application/x-protobuf", b"<html>"),
            reply("text/plain", b"ok"),
        ] {
            let error = check_otlp::<Traces>(&wrong).expect_err("not OTLP");
            assert!(
                matches!(error, OtlpError::NotOtlpAnswer { status: 200, .. }),
                "{error}"
            );
        }
    }

    fn response(rejected: i64, message: &str) -> ExportTraceServiceResponse {
        ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message.into(),
            }),
        }
    }

    #[test]
    fn only_rejected_spans_make_a_partial_success() {
        assert_eq!(
            Traces::rejected(&response(2, "bad ids")),
            Some((2, "bad ids".into()))
        );
        assert_eq!(Traces::rejected(&response(0, "just a warning")), None);
        assert_eq!(
            Traces::rejected(&ExportTraceServiceResponse::default()),
            None
        );
    }

    #[test]
    fn json_answers_of_any_signal_report_rejections_with_numbers_or_strings() {
        let go = br#"{"partialSuccess":{"rejectedSpans":"4","errorMessage":"y"}}"#;
        assert_eq!(json_rejected(go), Some((4, "y".into())));
        let metrics = br#"{"partial_success":{"rejected_data_points":2}}"#;
        assert_eq!(json_rejected(metrics), Some((2, String::new())));
        let warning = br#"{"partialSuccess":{"rejectedSpans":0,"errorMessage":"w"}}"#;
        assert_eq!(json_rejected(warning), None);
        assert_eq!(json_rejected(b"{}"), None);
        assert_eq!(json_rejected(b""), None);
    }
}
