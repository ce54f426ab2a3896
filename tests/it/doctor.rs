//! `codex-otel doctor` against local receivers and Codex homes made in the test: every
//! diagnosis it names (accepted, 401, 404, connection refused, DNS, unknown CA, missing client
//! certificate, proxy refusal, timeout) and every hook finding (not registered, untrusted,
//! trusted, missing events, missing binary, registered twice).

use crate::support::fake_otlp::{FakeOtlp, HttpReply};
use crate::support::pki::Pki;
use crate::support::proxy::ConnectProxy;
use codex_otel::doctor::hooks::Trust;
use codex_otel::doctor::reach::{Finding, TlsProblem, TEST_SPAN};
use codex_otel::doctor::{check, Inputs, Outcome, Report};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;

/// The report for the environment `vars` (plus a private state directory), with Codex's home
/// at `codex_home`.
async fn doctor(vars: &[(&str, String)], codex_home: &Path) -> Report {
    let state = tempfile::tempdir().expect("tempdir");
    let mut vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    vars.push(("CODEX_OTEL_HOME".into(), state.path().display().to_string()));
    check(&Inputs {
        vars,
        codex_home: Some(codex_home.to_owned()),
        offline: false,
        limit: Duration::from_secs(10),
    })
    .await
}

/// What reaching the single configured destination found.
async fn finding(vars: &[(&str, String)]) -> Finding {
    let home = tempfile::tempdir().expect("tempdir");
    let report = doctor(vars, home.path()).await;
    assert_eq!(report.findings.len(), 1, "{}", report.render());
    report.findings[0].1.clone()
}

fn endpoint(url: String) -> Vec<(&'static str, String)> {
    vec![("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url)]
}

async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").to_string()
}

#[tokio::test]
async fn a_working_destination_accepts_the_named_test_span() {
    let receiver = FakeOtlp::http().await;
    let found = finding(&endpoint(receiver.url("/v1/traces"))).await;
    let Finding::Accepted { trace_id, .. } = found else {
        panic!("{found:?}");
    };
    let spans = receiver.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(
        (spans[0].name.as_str(), spans[0].trace_id),
        (TEST_SPAN, trace_id)
    );
}

#[tokio::test]
async fn refused_credentials_and_a_wrong_path_are_named() {
    let unauthorized = FakeOtlp::http_scripted(HttpReply::status(401)).await;
    let found = finding(&endpoint(unauthorized.url("/v1/traces"))).await;
    assert!(matches!(found, Finding::Unauthorized(_)), "{found:?}");
    let missing = FakeOtlp::http_scripted(HttpReply::status(404)).await;
    let found = finding(&endpoint(missing.url("/v1/trace"))).await;
    assert!(matches!(found, Finding::WrongPath(_)), "{found:?}");
    assert!(found.fix().is_some_and(|fix| fix.contains("/v1/traces")));
}

#[tokio::test]
async fn a_closed_port_is_connection_refused_over_http_and_grpc() {
    let addr = closed_port().await;
    let http = finding(&endpoint(format!("http://{addr}/v1/traces"))).await;
    assert_eq!(http, Finding::Refused);
    let mut grpc = endpoint(format!("http://{addr}"));
    grpc.push(("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()));
    assert_eq!(finding(&grpc).await, Finding::Refused);
}

#[tokio::test]
async fn an_unresolvable_host_is_a_dns_problem() {
    let found = finding(&endpoint(
        "http://codex-otel-doctor.invalid:4318/v1/traces".into(),
    ))
    .await;
    assert_eq!(found, Finding::Dns);
}

#[tokio::test]
async fn an_unknown_ca_and_a_missing_client_certificate_are_tls_problems() {
    let pki = Pki::new();
    let server = FakeOtlp::https(pki.rustls_server(false)).await;
    let found = finding(&endpoint(server.url("/v1/traces"))).await;
    assert_eq!(found, Finding::Tls(TlsProblem::UnknownIssuer));
    let grpc = FakeOtlp::grpcs(pki.tonic_server(false)).await;
    let mut vars = endpoint(grpc.url(""));
    vars.push(("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()));
    assert_eq!(
        finding(&vars).await,
        Finding::Tls(TlsProblem::UnknownIssuer)
    );
    let mutual = FakeOtlp::https(pki.rustls_server(true)).await;
    let mut vars = endpoint(mutual.url("/v1/traces"));
    vars.push((
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        pki.path("ca.pem").display().to_string(),
    ));
    assert_eq!(
        finding(&vars).await,
        Finding::Tls(TlsProblem::ClientCertificate)
    );
}

#[tokio::test]
async fn a_proxy_that_refuses_or_is_down_is_a_proxy_problem() {
    let pki = Pki::new();
    let server = FakeOtlp::https(pki.rustls_server(false)).await;
    let refusing = ConnectProxy::refusing(403).await;
    let mut vars = endpoint(server.url("/v1/traces"));
    vars.push((
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        pki.path("ca.pem").display().to_string(),
    ));
    vars.push(("HTTPS_PROXY", refusing.url()));
    let found = finding(&vars).await;
    assert!(matches!(found, Finding::Proxy(_)), "{found:?}");
    vars.pop();
    vars.push(("HTTPS_PROXY", format!("http://{}", closed_port().await)));
    let found = finding(&vars).await;
    assert!(matches!(found, Finding::Proxy(_)), "{found:?}");
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let mut vars = endpoint(format!("http://{addr}/v1/traces"));
    vars.push(("OTEL_EXPORTER_OTLP_TIMEOUT", "300".into()));
    let found = finding(&vars).await;
    assert!(matches!(found, Finding::Timeout(_)), "{found:?}");
    silent.abort();
}

#[tokio::test]
async fn an_invalid_configuration_is_a_problem_that_names_the_setting() {
    let home = tempfile::tempdir().expect("tempdir");
    let report = doctor(
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318".into())],
        home.path(),
    )
    .await;
    let text = report.render();
    assert!(text.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{text}");
    assert!(report.problems() >= 1);
}

/// A Codex home whose `hooks.json` registers `bin` for `events`, with `config.toml`.
fn codex_home(bin: &Path, events: &[&str], config: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tempdir");
    let groups: Vec<String> = events
        .iter()
        .map(|event| {
            format!(
                r#""{event}":[{{"hooks":[{{"type":"command","command":"'{}' hook"}}]}}]"#,
                bin.display()
            )
        })
        .collect();
    let json = format!(r#"{{"hooks":{{{}}}}}"#, groups.join(","));
    std::fs::write(home.path().join("hooks.json"), json).expect("hooks.json");
    std::fs::write(home.path().join("config.toml"), config).expect("config.toml");
    home
}

/// An executable file named `codex-otel` in a fresh directory.
fn fake_binary() -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("codex-otel");
    std::fs::write(&bin, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (dir, bin)
}

fn all_events() -> Vec<&'static str> {
    codex_otel::hook::registration::EVENTS
        .iter()
        .map(|e| e.event)
        .collect()
}

fn hook_texts(report: &Report) -> String {
    let (_, checks) = report
        .sections
        .iter()
        .find(|(title, _)| title == "Codex hooks")
        .expect("hooks section");
    checks
        .iter()
        .map(|c| format!("{:?} {}\n", c.outcome, c.text))
        .collect()
}

#[tokio::test]
async fn hooks_not_registered_untrusted_or_pointing_at_a_missing_binary_are_problems() {
    let offline = |home: &Path| Inputs {
        vars: Vec::new(),
        codex_home: Some(home.to_owned()),
        offline: true,
        limit: Duration::from_secs(1),
    };
    let empty = tempfile::tempdir().expect("tempdir");
    let report = check(&offline(empty.path())).await;
    assert!(
        hook_texts(&report).contains("not registered"),
        "{}",
        report.render()
    );
    let (_dir, bin) = fake_binary();
    let home = codex_home(&bin, &all_events()[..10], "");
    let report = check(&offline(home.path())).await;
    let texts = hook_texts(&report);
    assert!(
        texts.contains(
            "10 of 14 events; missing Interrupt, SessionEnd, PreModelRequest, PostModelRequest"
        ),
        "{texts}"
    );
    assert!(
        texts.contains("10 codex-otel hook(s) not trusted"),
        "{texts}"
    );
    let gone = codex_home(Path::new("/nonexistent/codex-otel"), &all_events(), "");
    let texts = hook_texts(&check(&offline(gone.path())).await);
    assert!(
        texts.contains("/nonexistent/codex-otel is missing"),
        "{texts}"
    );
}

#[tokio::test]
async fn trusted_hooks_for_every_event_pass() {
    let (_dir, bin) = fake_binary();
    let home = codex_home(&bin, &all_events(), "");
    let hooks_json = home.path().join("hooks.json");
    let state: String = all_events()
        .iter()
        .map(|event| {
            let snake: String = event
                .chars()
                .enumerate()
                .fold(String::new(), |mut s, (i, c)| {
                    if c.is_ascii_uppercase() && i > 0 {
                        s.push('_');
                    }
                    s.push(c.to_ascii_lowercase());
                    s
                });
            format!(
                "[hooks.state.\"{}:{snake}:0:0\"]\ntrusted_hash = \"sha256:test\"\n",
                hooks_json.display()
            )
        })
        .collect();
    std::fs::write(home.path().join("config.toml"), state).expect("config.toml");
    let report = check(&Inputs {
        vars: Vec::new(),
        codex_home: Some(home.path().to_owned()),
        offline: true,
        limit: Duration::from_secs(1),
    })
    .await;
    let registration = report.hooks.hooks_json.as_ref().expect("registered");
    assert_eq!(
        registration.count(Trust::Trusted),
        14,
        "{}",
        report.render()
    );
    assert_eq!(report.problems(), 0, "{}", report.render());
}

#[tokio::test]
async fn registering_through_both_hooks_json_and_the_plugin_is_a_warning() {
    let (_dir, bin) = fake_binary();
    let home = codex_home(
        &bin,
        &all_events(),
        "[plugins.\"codex-otel@codex-otel\"]\nenabled = true\n",
    );
    let plugin = home
        .path()
        .join("plugins/cache/codex-otel/codex-otel/0.1.0/hooks");
    std::fs::create_dir_all(&plugin).expect("mkdir");
    let repo_hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin/hooks/hooks.json");
    std::fs::copy(repo_hooks, plugin.join("hooks.json")).expect("copy the shipped plugin hooks");
    let report = check(&Inputs {
        vars: Vec::new(),
        codex_home: Some(home.path().to_owned()),
        offline: true,
        limit: Duration::from_secs(1),
    })
    .await;
    let texts = hook_texts(&report);
    assert!(texts.contains("Warning registered twice"), "{texts}");
    let plugin = report.hooks.plugin.as_ref().expect("plugin found");
    assert!(plugin.missing_events().is_empty(), "{texts}");
    assert_eq!(plugin.enabled, Some(true));
}

/// The "Codex release" checks when the only `codex` on PATH is a script printing `version`.
async fn release_texts(version: &str) -> Vec<(Outcome, String)> {
    let bin = tempfile::tempdir().unwrap();
    let codex = bin.path().join("codex");
    std::fs::write(&codex, format!("#!/bin/sh\necho 'codex-cli {version}'\n")).unwrap();
    std::fs::set_permissions(&codex, std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let path = ("PATH", bin.path().display().to_string());
    let report = doctor(&[path], home.path()).await;
    let (_, checks) = report
        .sections
        .iter()
        .find(|(title, _)| title == "Codex release")
        .expect("a Codex release section");
    let texts = checks.iter().map(|c| (c.outcome, c.text.clone()));
    texts.collect()
}

#[tokio::test]
async fn doctor_reads_codex_version_and_names_the_hook_path_of_its_release() {
    let live = release_texts("0.171.0").await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].0, Outcome::Ok);
    assert!(live[0].1.starts_with("Codex 0.171.0: live"), "{live:?}");
    let none = release_texts("0.140.0").await;
    assert_eq!(none[0].0, Outcome::Problem);
    assert!(none[0].1.contains("no live hooks"), "{none:?}");
    let partial = release_texts("0.125.0").await;
    assert_eq!(partial[0].0, Outcome::Warning, "{partial:?}");
}
