//! How each destination connects beyond its endpoint: TLS files and proxy ([`Connection`]).
//!
//! TLS, per setting: for the generic `otlp` destination `OTEL_EXPORTER_OTLP_TRACES_*` >
//! `OTEL_EXPORTER_OTLP_*` (`CERTIFICATE`, `CLIENT_CERTIFICATE`, `CLIENT_KEY`) > the file
//! table's `ca_file`, `cert_file`, `key_file`; other tables read only their own keys. A client
//! certificate needs its key and the reverse. Relative paths from the environment are taken
//! from the current directory, relative paths in the file from the file's directory.
//!
//! Proxy, for OTLP/HTTP and Braintrust destinations: the table's `proxy` (a URL, or `none`) >
//! `https_proxy`/`HTTPS_PROXY` for an `https://` endpoint or `http_proxy`/`HTTP_PROXY` for an
//! `http://` one > `all_proxy`/`ALL_PROXY`, with the hosts of `no_proxy`/`NO_PROXY` reached
//! directly. Proxy variables describe the machine's network, so unlike other variables they
//! apply to every destination. gRPC destinations connect directly (tonic has no proxy support).

use super::env;
use super::file::FileDestination;
use super::values::{self, ValueError};
use super::{ConfigError, Vars};
use crate::export::{ClientIdentity, Connection, Protocol, Proxy, TlsConfig};
use std::path::{Path, PathBuf};

/// Where a destination's settings come from.
pub(super) struct Sources<'a> {
    /// The variables, for the proxy.
    pub(super) vars: Vars<'a>,
    /// The variables again when the `OTEL_EXPORTER_OTLP_*` TLS variables apply.
    pub(super) otel_env: Option<Vars<'a>>,
    /// The destination's file table.
    pub(super) table: Option<&'a FileDestination>,
    /// The config file's directory.
    pub(super) base_dir: &'a Path,
}

/// The connection settings of destination `name` at `endpoint`.
pub(super) fn connection(
    sources: &Sources<'_>,
    endpoint: &str,
    protocol: Protocol,
    name: &str,
) -> Result<Connection, ConfigError> {
    Ok(Connection {
        tls: tls(sources, name)?,
        proxy: match protocol {
            Protocol::Grpc => Proxy::Direct,
            Protocol::HttpProtobuf | Protocol::HttpJson => proxy(sources, endpoint, name)?,
        },
    })
}

/// One TLS file: the traces variable, the generic one, or the table's key.
fn tls_file(
    sources: &Sources<'_>,
    traces: &str,
    generic: &str,
    from_table: fn(&FileDestination) -> Option<&PathBuf>,
) -> Option<PathBuf> {
    let from_env = sources
        .otel_env
        .and_then(|vars| vars(traces).or_else(|| vars(generic)))
        .map(|path| std::path::absolute(&path).unwrap_or_else(|_| PathBuf::from(path)));
    from_env.or_else(|| {
        sources
            .table
            .and_then(from_table)
            .map(|path| sources.base_dir.join(path))
    })
}

fn tls(sources: &Sources<'_>, name: &str) -> Result<TlsConfig, ConfigError> {
    let ca_file = tls_file(
        sources,
        env::OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
        env::OTEL_EXPORTER_OTLP_CERTIFICATE,
        |t| t.ca_file.as_ref(),
    );
    let cert_file = tls_file(
        sources,
        env::OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
        env::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
        |t| t.cert_file.as_ref(),
    );
    let key_file = tls_file(
        sources,
        env::OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
        env::OTEL_EXPORTER_OTLP_CLIENT_KEY,
        |t| t.key_file.as_ref(),
    );
    let client = match (cert_file, key_file) {
        (Some(cert_file), Some(key_file)) => Some(ClientIdentity {
            cert_file,
            key_file,
        }),
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            return Err(ConfigError::IncompleteClientCertificate {
                destination: name.to_owned(),
            })
        }
    };
    Ok(TlsConfig { ca_file, client })
}

/// A proxy variable, lowercase first (as curl reads them).
fn proxy_var(vars: Vars<'_>, upper: &'static str) -> Option<(String, String)> {
    let lower = upper.to_ascii_lowercase();
    vars(&lower)
        .map(|value| (lower, value))
        .or_else(|| vars(upper).map(|value| (upper.to_owned(), value)))
}

fn proxy(sources: &Sources<'_>, endpoint: &str, name: &str) -> Result<Proxy, ConfigError> {
    if let Some(text) = sources.table.and_then(|t| t.proxy.as_deref()) {
        if text.trim().eq_ignore_ascii_case("none") {
            return Ok(Proxy::Direct);
        }
        let url = proxy_url(text).map_err(|source| ConfigError::Invalid {
            setting: format!("destinations.{name}.proxy"),
            source,
        })?;
        return Ok(Proxy::Via {
            url,
            no_proxy: None,
        });
    }
    let scheme_var = if endpoint.to_ascii_lowercase().starts_with("https://") {
        env::HTTPS_PROXY
    } else {
        env::HTTP_PROXY
    };
    let Some((setting, text)) =
        proxy_var(sources.vars, scheme_var).or_else(|| proxy_var(sources.vars, env::ALL_PROXY))
    else {
        return Ok(Proxy::Direct);
    };
    let url = proxy_url(&text).map_err(|source| ConfigError::Invalid { setting, source })?;
    Ok(Proxy::Via {
        url,
        no_proxy: proxy_var(sources.vars, env::NO_PROXY).map(|(_, list)| list),
    })
}

/// A proxy URL; `host:port` without a scheme means `http://host:port`, as in curl.
fn proxy_url(text: &str) -> Result<String, ValueError> {
    let text = text.trim();
    if text.contains("://") {
        values::url(text)
    } else {
        values::url(&format!("http://{text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    fn sources<'a>(vars: Vars<'a>, otel: bool, table: Option<&'a FileDestination>) -> Sources<'a> {
        Sources {
            vars,
            otel_env: otel.then_some(vars),
            table,
            base_dir: Path::new("/etc/codex-otel"),
        }
    }

    #[test]
    fn the_https_proxy_applies_to_https_endpoints_with_no_proxy_exclusions() {
        let env = vars(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "proxy.corp:3128"),
            ("HTTP_PROXY", "http://plain:2"),
            ("NO_PROXY", "localhost,.internal"),
        ]);
        let proxy = proxy(&sources(&env, false, None), "https://api.x/v1", "d").expect("valid");
        assert_eq!(
            proxy,
            Proxy::Via {
                url: "http://proxy.corp:3128".into(),
                no_proxy: Some("localhost,.internal".into()),
            }
        );
        let plain = super::proxy(&sources(&env, false, None), "http://c:4318", "d").expect("valid");
        assert!(matches!(plain, Proxy::Via { url, .. } if url == "http://plain:2"));
    }

    #[test]
    fn all_proxy_is_the_fallback_and_nothing_set_is_direct() {
        let env = vars(&[("ALL_PROXY", "http://all:1")]);
        assert!(matches!(
            proxy(&sources(&env, false, None), "https://x", "d").expect("valid"),
            Proxy::Via { url, .. } if url == "http://all:1"
        ));
        let none = vars(&[]);
        assert_eq!(
            proxy(&sources(&none, false, None), "https://x", "d").expect("valid"),
            Proxy::Direct
        );
    }

    #[test]
    fn a_tables_proxy_wins_and_none_turns_the_proxy_off() {
        let env = vars(&[("HTTPS_PROXY", "http://env:1")]);
        let mut table = FileDestination {
            proxy: Some("None".into()),
            ..FileDestination::default()
        };
        assert_eq!(
            proxy(&sources(&env, false, Some(&table)), "https://x", "d").expect("valid"),
            Proxy::Direct
        );
        table.proxy = Some("https://table:3".into());
        assert_eq!(
            proxy(&sources(&env, false, Some(&table)), "https://x", "d").expect("valid"),
            Proxy::Via {
                url: "https://table:3".into(),
                no_proxy: None
            }
        );
        table.proxy = Some("socks5://s:1".into());
        assert!(matches!(
            proxy(&sources(&env, false, Some(&table)), "https://x", "d"),
            Err(ConfigError::Invalid { setting, .. }) if setting == "destinations.d.proxy"
        ));
    }

    #[test]
    fn grpc_destinations_connect_directly() {
        let env = vars(&[("HTTPS_PROXY", "http://env:1")]);
        let connection = connection(
            &sources(&env, false, None),
            "https://x",
            Protocol::Grpc,
            "d",
        )
        .expect("ok");
        assert_eq!(connection.proxy, Proxy::Direct);
    }

    #[test]
    fn tls_variables_beat_the_table_and_file_paths_are_relative_to_the_file() {
        let env = vars(&[
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/generic/ca.pem"),
            ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/traces/ca.pem"),
        ]);
        let table = FileDestination {
            ca_file: Some("table-ca.pem".into()),
            cert_file: Some("client.pem".into()),
            key_file: Some("/keys/client.key".into()),
            ..FileDestination::default()
        };
        let tls = tls(&sources(&env, true, Some(&table)), "otlp").expect("valid");
        assert_eq!(tls.ca_file, Some("/traces/ca.pem".into()));
        assert_eq!(
            tls.client,
            Some(ClientIdentity {
                cert_file: "/etc/codex-otel/client.pem".into(),
                key_file: "/keys/client.key".into(),
            })
        );
        let other = super::tls(&sources(&env, false, Some(&table)), "other").expect("valid");
        assert_eq!(other.ca_file, Some("/etc/codex-otel/table-ca.pem".into()));
    }

    #[test]
    fn a_client_certificate_without_its_key_is_an_error() {
        let env = vars(&[("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/c.pem")]);
        assert!(matches!(
            tls(&sources(&env, true, None), "otlp"),
            Err(ConfigError::IncompleteClientCertificate { destination }) if destination == "otlp"
        ));
    }
}
