//! Reaching one destination the way the daemon would, with a test span, and saying exactly
//! what happened ([`Finding`]): accepted, or DNS, connection, TLS, proxy, timeout, credentials,
//! path or receiver trouble, each with what to fix.
//!
//! The test span is named [`TEST_SPAN`], alone in a fresh random trace, with
//! `codex.doctor = true`, so it can be told from real sessions (Braintrust shows it in the
//! project like any span). The local store gets no span: it is checked for writability.

use crate::export::otlp::without_credentials;
use crate::export::{
    Destination, DestinationConfig, DestinationKind, ExportError, OtlpError, Proxy,
};
use crate::logging::Chain;
use crate::span::{AttrValue, SpanId, SpanKind, SpanRecord, SpanStatus, TraceId};
use sha2::{Digest as _, Sha256};
use std::error::Error as StdError;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The name of the span `doctor` sends.
pub const TEST_SPAN: &str = "codex-otel doctor";

/// The attribute that marks the test span.
pub const TEST_ATTRIBUTE: &str = "codex.doctor";

/// What went wrong in a TLS handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProblem {
    /// The receiver's certificate is not signed by a trusted CA.
    UnknownIssuer,
    /// The certificate is not valid for the endpoint's host name.
    NameMismatch,
    /// The certificate has expired or is not valid yet.
    Expired,
    /// The receiver wanted a client certificate, or refused the one presented.
    ClientCertificate,
    /// Another TLS failure, in rustls' words.
    Other(String),
}

/// What reaching one destination found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The test span was accepted.
    Accepted {
        /// How long the request took.
        elapsed: Duration,
        /// The throwaway trace's id.
        trace_id: TraceId,
    },
    /// The local store's directory is writable.
    Writable,
    /// The destination could not even be built (unreadable TLS file, bad header).
    Broken(String),
    /// The endpoint's host name does not resolve.
    Dns,
    /// Nothing listens at the endpoint (or the proxy): the connection was refused.
    Refused,
    /// The TLS handshake failed.
    Tls(TlsProblem),
    /// The proxy could not be reached or refused to open a tunnel.
    Proxy(String),
    /// No answer in time.
    Timeout(Duration),
    /// The receiver refused the credentials (HTTP 401/403, gRPC UNAUTHENTICATED or
    /// PERMISSION_DENIED).
    Unauthorized(String),
    /// The receiver has nothing at that path (HTTP 404/405, gRPC UNIMPLEMENTED).
    WrongPath(String),
    /// The receiver answered with another error.
    Rejected(String),
    /// The request failed in another way.
    Failed(String),
}

impl Finding {
    /// Whether the destination works.
    pub fn is_ok(&self) -> bool {
        matches!(self, Finding::Accepted { .. } | Finding::Writable)
    }

    /// One line saying what happened.
    pub fn explain(&self) -> String {
        match self {
            Finding::Accepted { elapsed, trace_id } => format!(
                "accepted the test span {TEST_SPAN:?} (trace {trace_id}) in {} ms",
                elapsed.as_millis()
            ),
            Finding::Writable => "the store directory is writable".to_owned(),
            Finding::Broken(why) => format!("cannot be set up: {why}"),
            Finding::Dns => "DNS: the host name does not resolve".to_owned(),
            Finding::Refused => "TCP: connection refused, nothing listens there".to_owned(),
            Finding::Tls(problem) => format!("TLS: {}", tls_words(problem)),
            Finding::Proxy(why) => format!("proxy: {why}"),
            Finding::Timeout(after) => format!("no answer within {} s", after.as_secs_f64()),
            Finding::Unauthorized(answer) => format!("credentials refused: {answer}"),
            Finding::WrongPath(answer) => format!("wrong path: {answer}"),
            Finding::Rejected(answer) => format!("the receiver refused the span: {answer}"),
            Finding::Failed(why) => format!("failed: {why}"),
        }
    }

    /// What to change, when something is wrong.
    pub fn fix(&self) -> Option<&'static str> {
        Some(match self {
            Finding::Accepted { .. } | Finding::Writable => return None,
            Finding::Broken(_) => "fix the setting named above in the environment or config file",
            Finding::Dns => {
                "check the host name in the endpoint (typo? VPN or internal DNS needed?)"
            }
            Finding::Refused => {
                "start the receiver or collector, or fix the port (OTLP: 4318 HTTP, 4317 gRPC)"
            }
            Finding::Tls(TlsProblem::UnknownIssuer) => {
                "trust the receiver's CA: OTEL_EXPORTER_OTLP_CERTIFICATE or ca_file"
            }
            Finding::Tls(TlsProblem::NameMismatch) => {
                "use the host name the certificate was issued for in the endpoint"
            }
            Finding::Tls(TlsProblem::Expired) => "renew the receiver's certificate",
            Finding::Tls(TlsProblem::ClientCertificate) => {
                "configure the client certificate and key the receiver accepts: \
                 OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE/_CLIENT_KEY or cert_file/key_file"
            }
            Finding::Tls(TlsProblem::Other(_)) => {
                "check that the endpoint speaks TLS (https://) or plaintext (http://) as configured"
            }
            Finding::Proxy(_) => {
                "check HTTPS_PROXY/HTTP_PROXY (or the table's proxy), or exempt the host with \
                 NO_PROXY"
            }
            Finding::Timeout(_) => {
                "check that the endpoint is reachable from here (firewall, VPN, proxy)"
            }
            Finding::Unauthorized(_) => {
                "check the API key or authorization header (BRAINTRUST_API_KEY, \
                 OTEL_EXPORTER_OTLP_HEADERS, headers in the config file)"
            }
            Finding::WrongPath(_) => {
                "HTTP endpoints are full URLs ending in /v1/traces (or set \
                 OTEL_EXPORTER_OTLP_ENDPOINT to the base URL); Braintrust's api_url has no path"
            }
            Finding::Rejected(_) | Finding::Failed(_) => {
                "see the receiver's message above and its logs"
            }
        })
    }
}

fn tls_words(problem: &TlsProblem) -> String {
    match problem {
        TlsProblem::UnknownIssuer => "the certificate is signed by an unknown CA".to_owned(),
        TlsProblem::NameMismatch => "the certificate is not valid for this host".to_owned(),
        TlsProblem::Expired => "the certificate has expired or is not valid yet".to_owned(),
        TlsProblem::ClientCertificate => {
            "the receiver requires a client certificate or refused ours".to_owned()
        }
        TlsProblem::Other(words) => words.clone(),
    }
}

/// Sends the test span to `config` (or checks the local store), within `limit`.
pub async fn probe(config: &DestinationConfig, limit: Duration) -> Finding {
    if let DestinationKind::Store(store) = &config.kind {
        return store_writable(&store.dir);
    }
    let proxy = match &config.kind {
        DestinationKind::Otlp(otlp) => otlp.connection.proxy.clone(),
        DestinationKind::Braintrust(bt) => bt.connection.proxy.clone(),
        DestinationKind::Store(_) => Proxy::Direct,
    };
    let mut destination = match Destination::build(config) {
        Ok(destination) => destination,
        Err(error) => return Finding::Broken(Chain(&error).to_string()),
    };
    let span = test_span();
    let started = Instant::now();
    let result = tokio::time::timeout(limit, destination.export(std::slice::from_ref(&span))).await;
    destination.shutdown().await;
    match result {
        Err(_) => Finding::Timeout(limit),
        Ok(Ok(())) => Finding::Accepted {
            elapsed: started.elapsed(),
            trace_id: span.trace_id,
        },
        Ok(Err(error)) => classify(&error, &proxy),
    }
}

/// A one-span trace with a fresh random trace id.
pub fn test_span() -> SpanRecord {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now();
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let mut hasher = Sha256::new();
    hasher.update(format!("{now:?}/{}/{sequence}", std::process::id()));
    let digest = hasher.finalize();
    let mut trace = [0u8; 16];
    let mut span = [0u8; 8];
    trace.copy_from_slice(&digest[..16]);
    span.copy_from_slice(&digest[16..24]);
    SpanRecord {
        trace_id: TraceId(trace),
        span_id: SpanId(span),
        parent_span_id: None,
        name: TEST_SPAN.to_owned(),
        kind: SpanKind::Internal,
        start: now,
        end: now,
        attributes: vec![(TEST_ATTRIBUTE.to_owned(), AttrValue::Bool(true))],
        events: Vec::new(),
        status: SpanStatus::Unset,
    }
}

/// The finding for a failed export.
pub fn classify(error: &ExportError, proxy: &Proxy) -> Finding {
    let ExportError::Otlp { source, .. } = error else {
        return Finding::Failed(Chain(error).to_string());
    };
    match source {
        OtlpError::Unreachable(cause) => transport(cause.as_ref(), proxy),
        OtlpError::Timeout { timeout } => Finding::Timeout(*timeout),
        OtlpError::HttpStatus { status, .. } => {
            let answer = source.to_string();
            match status {
                401 | 403 => Finding::Unauthorized(answer),
                404 | 405 => Finding::WrongPath(answer),
                _ => Finding::Rejected(answer),
            }
        }
        OtlpError::GrpcStatus { code, .. } => {
            let answer = source.to_string();
            match code {
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
                    Finding::Unauthorized(answer)
                }
                tonic::Code::Unimplemented | tonic::Code::NotFound => Finding::WrongPath(answer),
                _ => Finding::Rejected(answer),
            }
        }
        OtlpError::PartialSuccess { .. } => Finding::Rejected(source.to_string()),
        // A 2xx page that is not OTLP: something answers there, but not an OTLP receiver.
        OtlpError::NotOtlpAnswer { .. } => Finding::WrongPath(source.to_string()),
        _ => Finding::Failed(Chain(error).to_string()),
    }
}

/// The finding for a request that got no response, from the causes in `error`'s chain.
fn transport(error: &(dyn StdError + 'static), proxy: &Proxy) -> Finding {
    let via_proxy = matches!(proxy, Proxy::Via { .. });
    let proxy_name = match proxy {
        Proxy::Via { url, .. } => without_credentials(url),
        Proxy::Direct => String::new(),
    };
    let mut texts = Vec::new();
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(problem) = tls_problem(current) {
            return Finding::Tls(problem);
        }
        if let Some(io) = current.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::ConnectionRefused && via_proxy {
                return Finding::Proxy(format!("connection to {proxy_name} refused"));
            }
            if io.kind() == io::ErrorKind::ConnectionRefused {
                return Finding::Refused;
            }
        }
        texts.push(current.to_string().to_ascii_lowercase());
        cause = current.source();
    }
    let all = texts.join(": ");
    if all.contains("dns error") || all.contains("failed to lookup address") {
        Finding::Dns
    } else if via_proxy && (all.contains("tunnel") || all.contains("proxy")) {
        Finding::Proxy(format!("{proxy_name} did not open a tunnel ({all})"))
    } else if all.contains("connection refused") {
        Finding::Refused
    } else {
        Finding::Failed(all)
    }
}

/// The TLS problem `error` is, or wraps in (possibly nested) `io::Error`s, whose `source`
/// skips the wrapped error.
fn tls_problem(error: &(dyn StdError + 'static)) -> Option<TlsProblem> {
    let mut current = error;
    let rustls = loop {
        if let Some(rustls) = current.downcast_ref::<rustls::Error>() {
            break rustls;
        }
        let inner: &(dyn StdError + 'static) = current
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)?;
        current = inner;
    };
    use rustls::{AlertDescription as Alert, CertificateError as Cert};
    Some(match rustls {
        rustls::Error::InvalidCertificate(Cert::UnknownIssuer) => TlsProblem::UnknownIssuer,
        rustls::Error::InvalidCertificate(Cert::NotValidForName)
        | rustls::Error::InvalidCertificate(Cert::NotValidForNameContext { .. }) => {
            TlsProblem::NameMismatch
        }
        rustls::Error::InvalidCertificate(
            Cert::Expired | Cert::ExpiredContext { .. } | Cert::NotValidYet,
        )
        | rustls::Error::InvalidCertificate(Cert::NotValidYetContext { .. }) => TlsProblem::Expired,
        rustls::Error::AlertReceived(
            Alert::CertificateRequired
            | Alert::BadCertificate
            | Alert::UnknownCA
            | Alert::HandshakeFailure
            | Alert::AccessDenied,
        ) => TlsProblem::ClientCertificate,
        other => TlsProblem::Other(other.to_string()),
    })
}

/// Whether a file can be created in `dir` (created if missing).
fn store_writable(dir: &Path) -> Finding {
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    let result = crate::paths::StateDir::ensure_private_dir(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe));
    match result {
        Ok(()) => Finding::Writable,
        Err(error) => Finding::Broken(format!("cannot write in {}: {error}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn otlp(source: OtlpError) -> ExportError {
        ExportError::Otlp {
            destination: "d".into(),
            source,
        }
    }

    #[test]
    fn statuses_become_credential_path_or_receiver_findings() {
        let status = |status| {
            classify(
                &otlp(OtlpError::HttpStatus {
                    status,
                    retry_after: None,
                    message: None,
                }),
                &Proxy::Direct,
            )
        };
        assert!(matches!(status(401), Finding::Unauthorized(_)));
        assert!(matches!(status(403), Finding::Unauthorized(_)));
        assert!(matches!(status(404), Finding::WrongPath(_)));
        assert!(matches!(status(500), Finding::Rejected(_)));
        let grpc = classify(
            &otlp(OtlpError::GrpcStatus {
                code: tonic::Code::Unauthenticated,
                message: "no".into(),
                retry_after: None,
            }),
            &Proxy::Direct,
        );
        assert!(matches!(grpc, Finding::Unauthorized(_)));
    }

    #[test]
    fn transport_causes_are_found_anywhere_in_the_chain() {
        let refused: Box<dyn StdError + Send + Sync> =
            Box::new(io::Error::from(io::ErrorKind::ConnectionRefused));
        let unreachable = |cause| otlp(OtlpError::Unreachable(cause));
        assert_eq!(
            classify(&unreachable(refused), &Proxy::Direct),
            Finding::Refused
        );
        let tls = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(
            classify(&unreachable(Box::new(tls)), &Proxy::Direct),
            Finding::Tls(TlsProblem::UnknownIssuer)
        );
        let via = Proxy::Via {
            url: "http://u:pw@proxy:3128".into(),
            no_proxy: None,
        };
        let refused = Box::new(io::Error::from(io::ErrorKind::ConnectionRefused));
        let Finding::Proxy(words) = classify(&unreachable(refused), &via) else {
            panic!("not a proxy finding");
        };
        assert!(
            words.contains("proxy:3128") && !words.contains("pw"),
            "{words}"
        );
    }

    #[test]
    fn every_problem_has_a_fix_and_success_has_none() {
        assert!(Finding::Writable.fix().is_none());
        assert!(Finding::Dns
            .fix()
            .is_some_and(|fix| fix.contains("host name")));
        assert!(Finding::Tls(TlsProblem::UnknownIssuer)
            .fix()
            .is_some_and(|fix| fix.contains("OTEL_EXPORTER_OTLP_CERTIFICATE")));
    }

    #[test]
    fn the_test_span_is_named_marked_and_alone_in_a_fresh_trace() {
        let (a, b) = (test_span(), test_span());
        assert_eq!(a.name, TEST_SPAN);
        assert_eq!(a.attr(TEST_ATTRIBUTE), Some(&AttrValue::Bool(true)));
        assert!(a.parent_span_id.is_none());
        assert_ne!(a.trace_id, b.trace_id);
    }
}
