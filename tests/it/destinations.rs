//! Enterprise destinations against local receivers: HTTPS and gRPC over TLS with a CA made in
//! the test, mutual TLS, an HTTP CONNECT proxy with NO_PROXY, per-destination file settings and
//! the resource every destination sends; each configured as a user would (environment and
//! config file) where the rule lives in `config`.

use crate::support::fake_otlp::FakeOtlp;
use crate::support::fixtures;
use crate::support::pki::Pki;
use crate::support::proxy::ConnectProxy;
use codex_otel::config::destinations_from_env_and_file;
use codex_otel::export::{
    build_destinations, Destination, DestinationConfig, DestinationKind, ExportError, Fanout,
    OtlpConfig, OtlpError, Protocol, ResourceConfig, RetryAdvice, TlsConfig,
};
use codex_otel::paths::StateDir;
use codex_otel::session::SessionConfig;
use codex_otel::span::SpanRecord;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn spans() -> Vec<SpanRecord> {
    fixtures::replay_with("shell", &SessionConfig::default())
}

/// Exports the `shell` session to `config` once.
async fn export_to(config: OtlpConfig) -> Result<(), ExportError> {
    let config = DestinationConfig {
        name: "tls".into(),
        kind: DestinationKind::Otlp(config),
        resource: ResourceConfig::default(),
    };
    Destination::build(&config)?.export(&spans()).await
}

/// The destinations `vars` and the config file `toml` (if any) describe, exported to.
async fn export_configured(
    vars: &[(&str, String)],
    toml: Option<&str>,
) -> Vec<Result<(), ExportError>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = toml.map(|text| {
        let path = dir.path().join("codex-otel.toml");
        std::fs::write(&path, text).expect("write config");
        path
    });
    let lookup = |key: &str| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    let configs =
        destinations_from_env_and_file(lookup, file.as_deref(), &StateDir::new("/unused"))
            .expect("valid config");
    let mut fanout = Fanout::new(build_destinations(&configs).await.expect("builds"));
    let results = fanout.export(&spans()).await;
    results.into_iter().map(|r| r.result).collect()
}

/// The error and its sources, joined.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn tls(ca: &Path, client: Option<&Pki>) -> TlsConfig {
    TlsConfig {
        ca_file: Some(ca.to_owned()),
        client: client.map(Pki::client_identity),
    }
}

/// The export failed before any answer: the connection or the TLS handshake was refused.
fn assert_unreachable(error: &ExportError) {
    assert!(
        matches!(
            error,
            ExportError::Otlp {
                source: OtlpError::Unreachable(_),
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn https_with_the_custom_ca_succeeds_and_without_it_fails_with_a_tls_error() {
    let pki = Pki::new();
    let receiver = FakeOtlp::https(pki.rustls_server(false)).await;
    let mut config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpProtobuf);
    config.connection.tls = tls(&pki.path("ca.pem"), None);
    export_to(config.clone())
        .await
        .expect("trusted by the custom CA");
    assert_eq!(receiver.spans(), spans());
    for ca in [None, Some(pki.path("other-ca.pem"))] {
        config.connection.tls.ca_file = ca;
        let error = export_to(config.clone()).await.expect_err("untrusted");
        let text = chain(&error);
        assert!(
            text.contains("certificate") && text.contains("UnknownIssuer"),
            "{text}"
        );
        assert_eq!(error.retry_advice(), RetryAdvice::Retry { after: None });
    }
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn mutual_tls_works_with_the_client_certificate_and_fails_without() {
    let pki = Pki::new();
    let receiver = FakeOtlp::https(pki.rustls_server(true)).await;
    let mut config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpJson);
    config.connection.tls = tls(&pki.path("ca.pem"), Some(&pki));
    export_to(config.clone())
        .await
        .expect("client certificate accepted");
    assert_eq!(receiver.spans(), spans());
    config.connection.tls.client = None;
    let error = export_to(config).await.expect_err("no client certificate");
    assert_unreachable(&error);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn grpc_over_tls_works_with_the_ca_and_client_certificate_and_fails_without_the_ca() {
    let pki = Pki::new();
    let receiver = FakeOtlp::grpcs(pki.tonic_server(true)).await;
    let mut config = OtlpConfig::new(receiver.url(""), Protocol::Grpc);
    config.connection.tls = tls(&pki.path("ca.pem"), Some(&pki));
    export_to(config.clone())
        .await
        .expect("grpc over mutual TLS");
    assert_eq!(receiver.spans(), spans());
    config.connection.tls.ca_file = None;
    let error = export_to(config).await.expect_err("server not trusted");
    assert_unreachable(&error);
}

#[tokio::test]
async fn tls_files_from_the_environment_reach_the_generic_destination() {
    let pki = Pki::new();
    let receiver = FakeOtlp::https(pki.rustls_server(true)).await;
    let path = |name: &str| pki.path(name).display().to_string();
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url("")),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", path("ca.pem")),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", path("client.pem")),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path("client.key")),
    ];
    let results = export_configured(&vars, None).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(receiver.spans(), spans());
}

#[tokio::test]
async fn an_https_proxy_carries_the_request_unless_no_proxy_covers_the_host() {
    let pki = Pki::new();
    let receiver = FakeOtlp::https(pki.rustls_server(false)).await;
    let proxy = ConnectProxy::start().await;
    let mut vars = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url("")),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pki.path("ca.pem").display().to_string(),
        ),
        ("HTTPS_PROXY", proxy.url()),
        ("NO_PROXY", "localhost,.internal".to_owned()),
    ];
    let results = export_configured(&vars, None).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(proxy.targets(), [receiver.authority()]);
    assert_eq!(receiver.received().len(), 1);
    vars[3].1 = "localhost,127.0.0.1".to_owned();
    let results = export_configured(&vars, None).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(proxy.targets().len(), 1, "NO_PROXY bypasses the proxy");
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn the_proxy_applies_per_destination_and_a_table_can_turn_it_off() {
    let pki = Pki::new();
    let proxied = FakeOtlp::https(pki.rustls_server(false)).await;
    let direct = FakeOtlp::https(pki.rustls_server(false)).await;
    let grpc = FakeOtlp::grpc().await;
    let proxy = ConnectProxy::start().await;
    let ca = pki.path("ca.pem").display().to_string();
    let toml = format!(
        "[[destinations]]\nname = \"direct\"\nendpoint = \"{}\"\nca_file = \"{ca}\"\nproxy = \"none\"\n\
         [[destinations]]\nname = \"grpc\"\nendpoint = \"{}\"\nprotocol = \"grpc\"\n",
        direct.url("/v1/traces"),
        grpc.url(""),
    );
    let vars = [
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            proxied.url("/v1/traces"),
        ),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.clone()),
        ("HTTPS_PROXY", proxy.url()),
        ("HTTP_PROXY", proxy.url()),
    ];
    let results = export_configured(&vars, Some(&toml)).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(proxy.targets(), [proxied.authority()]);
    for receiver in [&proxied, &direct, &grpc] {
        assert_eq!(receiver.spans(), spans());
    }
}

#[tokio::test]
async fn a_proxy_that_refuses_the_tunnel_is_an_unreachable_receiver() {
    let pki = Pki::new();
    let receiver = FakeOtlp::https(pki.rustls_server(false)).await;
    let proxy = ConnectProxy::refusing(403).await;
    let mut config = OtlpConfig::new(receiver.url("/v1/traces"), Protocol::HttpProtobuf);
    config.connection.tls = tls(&pki.path("ca.pem"), None);
    config.connection.proxy = codex_otel::export::Proxy::Via {
        url: proxy.url(),
        no_proxy: None,
    };
    let error = export_to(config).await.expect_err("tunnel refused");
    assert_unreachable(&error);
    assert_eq!(proxy.targets(), [receiver.authority()]);
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn each_file_table_sends_its_own_protocol_headers_and_compression() {
    let json = FakeOtlp::http().await;
    let grpc = FakeOtlp::grpc().await;
    let toml = format!(
        "[[destinations]]\nname = \"a\"\nendpoint = \"{}\"\nprotocol = \"http/json\"\n\
         compression = \"gzip\"\ntimeout_ms = 5000\nheaders = {{ x-team = \"a\" }}\n\
         [[destinations]]\nname = \"b\"\nendpoint = \"{}\"\nprotocol = \"grpc\"\n\
         headers = {{ authorization = \"Bearer b\" }}\n",
        json.url("/custom/path"),
        grpc.url(""),
    );
    let results = export_configured(&[], Some(&toml)).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let a = &json.received()[0];
    assert_eq!(
        (
            a.path.as_str(),
            a.header("content-type"),
            a.header("content-encoding")
        ),
        ("/custom/path", Some("application/json"), Some("gzip"))
    );
    assert_eq!(
        (a.header("x-team"), a.header("authorization")),
        (Some("a"), None)
    );
    let b = &grpc.received()[0];
    assert_eq!(
        (b.header("authorization"), b.header("x-team")),
        (Some("Bearer b"), None)
    );
}

#[tokio::test]
async fn every_destination_sends_the_service_host_user_and_configured_resource() {
    let receiver = FakeOtlp::http().await;
    let vars = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url("")),
        ("OTEL_SERVICE_NAME", "codex-ci".to_owned()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=ci,team=platform%20tools".to_owned(),
        ),
        ("USER", "ci-runner".to_owned()),
    ];
    let results = export_configured(
        &vars,
        Some("[resource]\nteam = \"file\"\nregion = \"eu\"\n"),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let request = &receiver.received()[0].request;
    let resource = request.resource_spans[0]
        .resource
        .as_ref()
        .expect("resource");
    let attributes: BTreeMap<&str, String> = resource
        .attributes
        .iter()
        .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(text) => Some((kv.key.as_str(), text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(attributes["service.name"], "codex-ci");
    assert_eq!(attributes["service.version"], env!("CARGO_PKG_VERSION"));
    assert!(!attributes["host.name"].is_empty());
    assert!(!attributes["user.name"].is_empty());
    assert_eq!(attributes["deployment.environment.name"], "ci");
    assert_eq!(attributes["team"], "platform tools");
    assert_eq!(attributes["region"], "eu");
}
