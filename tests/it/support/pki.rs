//! A throwaway PKI for TLS tests, generated per test with rcgen: a CA, a server certificate
//! for `127.0.0.1` and `localhost`, and a client certificate, written as PEM files to a
//! temporary directory; plus a second, unrelated CA for "unknown issuer" cases.

use codex_otel::export::ClientIdentity;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;

/// The PEM files of one test PKI.
#[derive(Debug)]
pub(crate) struct Pki {
    dir: TempDir,
}

impl Pki {
    /// Generates the CA, the server and client certificates, and an unrelated CA.
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let write =
            |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).expect("write");
        let ca = authority("codex-otel test CA");
        write("ca.pem", ca.pem());
        write("other-ca.pem", authority("unrelated CA").pem());
        let leaf = |names: Vec<String>, usage| {
            let key = KeyPair::generate().expect("key");
            let mut params = CertificateParams::new(names).expect("params");
            params.extended_key_usages = vec![usage];
            (
                params.signed_by(&key, &ca).expect("signs").pem(),
                key.serialize_pem(),
            )
        };
        let (cert, key) = leaf(
            vec!["127.0.0.1".into(), "localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        write("server.pem", cert);
        write("server.key", key);
        let (cert, key) = leaf(
            vec!["codex-otel client".into()],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        write("client.pem", cert);
        write("client.key", key);
        Pki { dir }
    }

    /// A file of the PKI: `ca.pem`, `other-ca.pem`, `server.pem`, `server.key`,
    /// `client.pem`, `client.key`.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The client certificate and key, as configured on a destination.
    pub(crate) fn client_identity(&self) -> ClientIdentity {
        ClientIdentity {
            cert_file: self.path("client.pem"),
            key_file: self.path("client.key"),
        }
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).expect("read pem")
    }

    /// A rustls server configuration with the server certificate, requiring a client
    /// certificate from the CA when `require_client` is set.
    pub(crate) fn rustls_server(&self, require_client: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocols");
        let builder = if require_client {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&self.read("ca.pem")) {
                roots.add(cert.expect("ca")).expect("add ca");
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let chain = CertificateDer::pem_slice_iter(&self.read("server.pem"))
            .collect::<Result<Vec<_>, _>>()
            .expect("server chain");
        let key = PrivateKeyDer::from_pem_slice(&self.read("server.key")).expect("server key");
        Arc::new(builder.with_single_cert(chain, key).expect("server config"))
    }

    /// A tonic server TLS configuration, requiring a client certificate from the CA when
    /// `require_client` is set.
    pub(crate) fn tonic_server(&self, require_client: bool) -> tonic::transport::ServerTlsConfig {
        // tonic's server takes the process-wide rustls provider, which cannot be chosen
        // automatically with both ring and aws-lc-rs in the build. A second install fails
        // harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let identity =
            tonic::transport::Identity::from_pem(self.read("server.pem"), self.read("server.key"));
        let config = tonic::transport::ServerTlsConfig::new().identity(identity);
        if require_client {
            config.client_ca_root(tonic::transport::Certificate::from_pem(self.read("ca.pem")))
        } else {
            config
        }
    }
}

/// A self-signed CA named `name`.
fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca")
}
