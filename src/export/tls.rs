//! TLS material of a destination: the PEM files of its [`TlsConfig`], read once when the
//! destination is built, checked to hold PEM data of the right kind, and handed to the HTTP
//! client or the gRPC channel.
//!
//! The key's bytes stay in memory only and never appear in errors or `Debug` output.

use super::otlp::{OtlpError, TlsConfig};
use std::io;
use std::path::Path;

/// The bytes of the configured PEM files.
pub(crate) struct TlsMaterial {
    /// CA certificates trusted instead of the system's roots.
    pub(crate) ca: Option<Vec<u8>>,
    /// Client certificate chain and private key.
    pub(crate) identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca", &self.ca.is_some())
            .field("identity", &self.identity.is_some())
            .finish()
    }
}

/// Reads the files `config` names.
pub(crate) fn load(config: &TlsConfig) -> Result<TlsMaterial, OtlpError> {
    let ca = config
        .ca_file
        .as_deref()
        .map(|path| read_pem(path, "CERTIFICATE"))
        .transpose()?;
    let identity = config
        .client
        .as_ref()
        .map(|client| {
            Ok::<_, OtlpError>((
                read_pem(&client.cert_file, "CERTIFICATE")?,
                read_pem(&client.key_file, "PRIVATE KEY")?,
            ))
        })
        .transpose()?;
    Ok(TlsMaterial { ca, identity })
}

/// The file at `path`, which must hold a PEM block whose label ends with `label`
/// (`CERTIFICATE`; `PRIVATE KEY` also matches `RSA PRIVATE KEY` and `EC PRIVATE KEY`).
fn read_pem(path: &Path, label: &str) -> Result<Vec<u8>, OtlpError> {
    let failed = |source| OtlpError::TlsFile {
        path: path.to_owned(),
        source,
    };
    let bytes = std::fs::read(path).map_err(failed)?;
    let text = String::from_utf8_lossy(&bytes);
    let has_block = text.lines().any(|line| {
        line.trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
            .is_some_and(|found| found.ends_with(label))
    });
    if has_block {
        Ok(bytes)
    } else {
        Err(failed(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("no PEM block ending in {label:?}"),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::otlp::ClientIdentity;

    #[test]
    fn configured_files_are_read_and_their_pem_kind_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        std::fs::write(&key, "-----BEGIN EC PRIVATE KEY-----\nAA==\n").expect("write");
        let config = TlsConfig {
            ca_file: Some(ca.clone()),
            client: Some(ClientIdentity {
                cert_file: ca.clone(),
                key_file: key.clone(),
            }),
        };
        let material = load(&config).expect("loads");
        assert!(material.ca.is_some() && material.identity.is_some());
        let swapped = TlsConfig {
            ca_file: Some(key.clone()),
            client: None,
        };
        assert!(matches!(
            load(&swapped),
            Err(OtlpError::TlsFile { path, .. }) if path == key
        ));
    }

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let config = TlsConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            client: None,
        };
        let error = load(&config).expect_err("missing");
        assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
        assert!(load(&TlsConfig::default())
            .expect("nothing to load")
            .ca
            .is_none());
    }
}
