//! OTLP/gRPC transport: one lazily connected tonic channel per destination, calling the OTLP
//! `Export` method of any signal and classifying each answer.
//!
//! Contract:
//! - `https://` endpoints use TLS: the configured CA instead of the system's roots when one is
//!   given, and the configured client certificate; `http://` endpoints speak plaintext HTTP/2
//!   (for a collector on loopback). gRPC never goes through a proxy.
//! - Every call carries exactly the configured metadata plus `user-agent` (ours, then tonic's), is gzip-compressed
//!   when configured, and is one attempt bounded by the configured timeout.
//! - A status other than OK keeps its code, its message (shortened, header values redacted)
//!   and the delay of a `google.rpc.RetryInfo` detail; a call that never reached the server
//!   is [`OtlpError::Unreachable`] with the transport's error as its source.

use super::otlp::{Compression, Headers, OtlpConfig, OtlpError};
use super::receiver::{shorten, USER_AGENT};
use super::signal::Signal;
use super::tls::TlsMaterial;
use std::time::Duration;
use tonic::codec::CompressionEncoding;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_types::StatusExt as _;

/// A built OTLP/gRPC destination.
#[derive(Debug)]
pub(crate) struct GrpcTransport {
    channel: Channel,
    metadata: MetadataMap,
    compression: Compression,
    timeout: Duration,
}

impl GrpcTransport {
    /// The channel for `config` with the TLS material `tls`. Must run inside a Tokio runtime.
    pub(crate) fn build(config: &OtlpConfig, tls: TlsMaterial) -> Result<Self, OtlpError> {
        let mut endpoint = Endpoint::from_shared(config.endpoint.clone())
            .map_err(OtlpError::GrpcChannel)?
            .connect_timeout(config.timeout)
            .user_agent(USER_AGENT)
            .map_err(OtlpError::GrpcChannel)?;
        if config.endpoint.to_ascii_lowercase().starts_with("https://") {
            endpoint = endpoint
                .tls_config(tls_config(tls))
                .map_err(OtlpError::GrpcChannel)?;
        }
        Ok(GrpcTransport {
            channel: endpoint.connect_lazy(),
            metadata: metadata_map(&config.headers)?,
            compression: config.compression,
            timeout: config.timeout,
        })
    }

    /// Calls the signal's `Export` method with `request`. Status messages have the values of
    /// `redactor` redacted.
    pub(crate) async fn call<S: Signal>(
        &self,
        request: S::Request,
        redactor: &Headers,
    ) -> Result<S::Response, OtlpError> {
        let mut client = tonic::client::Grpc::new(self.channel.clone());
        if self.compression == Compression::Gzip {
            client = client
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
        }
        let mut request = tonic::Request::new(request);
        *request.metadata_mut() = self.metadata.clone();
        let call = async {
            client
                .ready()
                .await
                .map_err(|error| OtlpError::Unreachable(Box::new(error)))?;
            let codec = tonic_prost::ProstCodec::<S::Request, S::Response>::default();
            client
                .unary(request, PathAndQuery::from_static(S::GRPC_PATH), codec)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| failure(status, redactor))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| OtlpError::Timeout {
                timeout: self.timeout,
            })?
    }
}

/// A status that came from the client's transport (it has a source) means the server was
/// never reached; any other is the server's answer.
fn failure(status: tonic::Status, redactor: &Headers) -> OtlpError {
    if std::error::Error::source(&status).is_some() {
        return OtlpError::Unreachable(Box::new(status));
    }
    OtlpError::GrpcStatus {
        code: status.code(),
        message: shorten(&redactor.redact(status.message())),
        retry_after: status
            .get_details_retry_info()
            .and_then(|info| info.retry_delay),
    }
}

/// TLS with the configured CA (else the system's roots) and client certificate.
fn tls_config(tls: TlsMaterial) -> ClientTlsConfig {
    let mut config = ClientTlsConfig::new();
    config = match tls.ca {
        Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
        None => config.with_native_roots(),
    };
    if let Some((cert, key)) = tls.identity {
        config = config.identity(Identity::from_pem(cert, key));
    }
    config
}

/// The configured headers as metadata (the channel adds `user-agent`).
fn metadata_map(headers: &Headers) -> Result<MetadataMap, OtlpError> {
    let mut map = MetadataMap::new();
    for (name, value) in headers.iter() {
        let invalid = || OtlpError::InvalidHeader {
            name: name.to_owned(),
        };
        let key = MetadataKey::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = MetadataValue::try_from(value).map_err(|_| invalid())?;
        map.insert(key, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_exactly_the_configured_headers() {
        let mut headers = Headers::default();
        headers.insert("Authorization", "Bearer x");
        let map = metadata_map(&headers).expect("valid");
        assert_eq!(map.len(), 1);
        assert_eq!(
            map.get("authorization").and_then(|v| v.to_str().ok()),
            Some("Bearer x")
        );
        headers.insert("bad key", "v");
        assert!(matches!(
            metadata_map(&headers),
            Err(OtlpError::InvalidHeader { name }) if name == "bad key"
        ));
    }
}
