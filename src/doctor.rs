//! `codex-otel doctor`: checks that tracing will work and says what to fix.
//!
//! Contract:
//! - Configuration: the environment and `$CODEX_OTEL_CONFIG` parse, and every destination is
//!   listed with where it sends (URLs without credentials; header values and keys never shown).
//! - Destinations: each is reached the way the daemon would, with one clearly named test span
//!   in a throwaway trace ([`reach`]); the local store is checked for writability. Every failure
//!   is named (DNS, connection refused, TLS unknown CA / name / expiry / client certificate,
//!   proxy, timeout, 401/403, 404, other answers) with its fix. `--offline` sends nothing.
//!   A probe that takes longer than a second says which destination it waits on (stderr).
//! - State directory: it is this user's own and private, and the daemon socket has a usable
//!   location, else exactly why not and what to set ([`state`]).
//! - Daemon (when one runs): a session stuck reading, or waiting for its route or credentials
//!   ([`sessions`]).
//! - Hooks: codex-otel is registered with Codex (`hooks.json` or the plugin) for all 14 events,
//!   its binary exists, the hooks are trusted, and not registered twice ([`hooks`]); the
//!   plugin's launcher finds a binary and left no "no binary" line in its log ([`launcher`]).
//! - Codex release: `codex --version` of the `codex` on `PATH`, and which hook path that
//!   release supports (live plugin, `hooks.json` with fewer events, or none: replay) ([`release`]).
//! - trace-codex compatibility: codex-otel's `config.json` (the keys it sets, or why it is
//!   ignored; its settings count in the configuration above) and trace-codex installed beside
//!   codex-otel, with the command that removes it ([`trace_codex`]).
//! - The report goes to stdout; any problem makes the command fail (exit 1) after printing.

pub mod hooks;
pub mod launcher;
pub mod reach;
pub mod release;
pub mod sessions;
pub mod state;
pub mod trace_codex;

use crate::config::config_json;
use crate::config::{self, env};
use crate::export::otlp::without_credentials;
use crate::export::{DestinationConfig, DestinationKind, Protocol, Proxy};
use crate::logging::Chain;
use crate::paths::StateDir;
use crate::wire::{self, Request, Response};
use clap::Args;
use hooks::{Hooks, Registration, Trust};
use reach::Finding;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `doctor` waits for a running daemon's status.
const DAEMON_STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// Arguments of `codex-otel doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Codex's home directory (default: `~/.codex`).
    #[arg(long, env = "CODEX_HOME")]
    pub codex_home: Option<PathBuf>,
    /// Check the configuration and hooks only; send no test span.
    #[arg(long)]
    pub offline: bool,
    /// Longest wait for each destination, in seconds.
    #[arg(long, default_value_t = 15.0)]
    pub timeout: f64,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Fine.
    Ok,
    /// Works, but worth knowing.
    Warning,
    /// Tracing will not work (fully) until fixed.
    Problem,
}

/// One line of the report, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// How it came out.
    pub outcome: Outcome,
    /// What was found.
    pub text: String,
    /// What to change.
    pub fix: Option<String>,
}

impl Check {
    fn new(outcome: Outcome, text: impl Into<String>, fix: Option<&str>) -> Self {
        Check {
            outcome,
            text: text.into(),
            fix: fix.map(str::to_owned),
        }
    }
}

/// Everything `doctor` found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Per section title, its checks.
    pub sections: Vec<(String, Vec<Check>)>,
    /// Per destination name, what reaching it found (empty with `--offline`).
    pub findings: Vec<(String, Finding)>,
    /// The hook registration.
    pub hooks: Hooks,
}

impl Report {
    /// How many problems were found.
    pub fn problems(&self) -> usize {
        self.sections
            .iter()
            .flat_map(|(_, checks)| checks)
            .filter(|check| check.outcome == Outcome::Problem)
            .count()
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (title, checks) in &self.sections {
            let _ = writeln!(out, "{title}");
            for check in checks {
                let mark = match check.outcome {
                    Outcome::Ok => "ok",
                    Outcome::Warning => "warning",
                    Outcome::Problem => "PROBLEM",
                };
                let _ = writeln!(out, "  [{mark}] {}", check.text);
                if let Some(fix) = &check.fix {
                    let _ = writeln!(out, "          fix: {fix}");
                }
            }
        }
        let _ = match self.problems() {
            0 => writeln!(out, "\nNo problems found."),
            n => writeln!(out, "\n{n} problem(s) found."),
        };
        out
    }
}

/// What `doctor` looks at.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The environment, as `(name, value)` pairs.
    pub vars: Vec<(String, String)>,
    /// Codex's home directory.
    pub codex_home: Option<PathBuf>,
    /// Send nothing.
    pub offline: bool,
    /// Longest wait per destination.
    pub limit: Duration,
}

/// Entry point of `codex-otel doctor`.
pub fn main(args: &DoctorArgs) -> anyhow::Result<()> {
    let limit = Duration::try_from_secs_f64(args.timeout)
        .map_err(|_| anyhow::anyhow!("--timeout must be a positive number of seconds"))?;
    let home = std::env::var_os("HOME").filter(|home| !home.is_empty());
    let inputs = Inputs {
        vars: std::env::vars().collect(),
        codex_home: args
            .codex_home
            .clone()
            .or_else(|| home.map(|home| PathBuf::from(home).join(".codex"))),
        offline: args.offline,
        limit,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(check(&inputs));
    print!("{}", report.render());
    match report.problems() {
        0 => Ok(()),
        n => anyhow::bail!("doctor found {n} problem(s)"),
    }
}

/// Runs every check. Must run inside a Tokio runtime.
pub async fn check(inputs: &Inputs) -> Report {
    let vars = |key: &str| {
        inputs
            .vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let settings_path = config_json::locate(
        vars(config_json::PLUGIN_DATA).as_deref(),
        inputs.codex_home.as_deref().and_then(Path::to_str),
        None,
    );
    let settings = settings_path
        .as_deref()
        .map(|path| (path, config_json::load(path)));
    let json = settings
        .as_ref()
        .and_then(|(_, loaded)| loaded.as_ref().ok())
        .cloned()
        .unwrap_or_default();
    let vars = config_json::layered(vars, &json);
    let mut report = Report::default();
    let state = StateDir::from_vars(|key| vars(key).map(Into::into));
    report
        .sections
        .push(("State directory".to_owned(), state::state_checks(&state)));
    if let Ok(Response::Status(status)) =
        wire::request(&state.socket(), &Request::Status, DAEMON_STATUS_TIMEOUT)
    {
        let checks = sessions::session_checks(&status);
        report.sections.push(("Daemon".to_owned(), checks));
    }
    let file = vars(env::CODEX_OTEL_CONFIG)
        .filter(|path| !path.trim().is_empty())
        .map(PathBuf::from);
    let configs = match config::destinations_from_env_and_file(&vars, file.as_deref(), &state) {
        Ok(configs) => configs,
        Err(error) => {
            let fix = "fix the setting named above; errors never show secret values";
            let text = format!("invalid: {}", Chain(&error));
            report.sections.push((
                "Configuration".to_owned(),
                vec![Check::new(Outcome::Problem, text, Some(fix))],
            ));
            Vec::new()
        }
    };
    if !configs.is_empty() {
        let lines = configs.iter().map(describe).collect();
        report.sections.push(("Configuration".to_owned(), lines));
    }
    if !inputs.offline && !configs.is_empty() {
        let mut checks = Vec::new();
        for config in &configs {
            let note = || format!("{}: a test span, bounded by --timeout", config.name);
            let finding =
                crate::progress::wait_async(reach::probe(config, inputs.limit), note).await;
            let outcome = if finding.is_ok() {
                Outcome::Ok
            } else {
                Outcome::Problem
            };
            let text = format!("{}: {}", config.name, finding.explain());
            checks.push(Check::new(outcome, text, finding.fix()));
            report.findings.push((config.name.clone(), finding));
        }
        report.sections.push(("Destinations".to_owned(), checks));
    }
    let hook_checks = match &inputs.codex_home {
        Some(home) => {
            report.hooks = hooks::inspect(home);
            let mut checks = hook_checks(home, &report.hooks);
            if let Some(plugin) = &report.hooks.plugin {
                checks.extend(launcher::checks(home, plugin, &inputs.vars));
            }
            checks
        }
        None => vec![Check::new(
            Outcome::Problem,
            "cannot locate Codex's home",
            Some("pass --codex-home or set CODEX_HOME"),
        )],
    };
    report
        .sections
        .push(("Codex hooks".to_owned(), hook_checks));
    let path = inputs.vars.iter().find(|(k, _)| k == "PATH");
    let release = release::checks(path.map(|(_, v)| v.as_str()));
    report.sections.push(("Codex release".to_owned(), release));
    let registered = report.hooks.hooks_json.is_some() || report.hooks.plugin.is_some();
    let trace_codex = trace_codex::checks(settings, inputs.codex_home.as_deref(), registered);
    if !trace_codex.is_empty() {
        report
            .sections
            .push(("trace-codex compatibility".to_owned(), trace_codex));
    }
    report
}

/// One configuration line: the destination and where it sends, without secrets.
fn describe(config: &DestinationConfig) -> Check {
    let text = match &config.kind {
        DestinationKind::Otlp(otlp) => {
            let mut text = format!(
                "{}: OTLP {} to {}{}{}",
                config.name,
                otlp.protocol.as_str(),
                without_credentials(&otlp.endpoint),
                connection_words(&otlp.connection.tls, &otlp.connection.proxy),
                header_words(otlp.headers.iter().map(|(name, _)| name)),
            );
            if let Some(metrics) = &otlp.metrics {
                let _ = write!(
                    text,
                    "; metrics to {}",
                    without_credentials(&metrics.endpoint)
                );
            }
            text
        }
        DestinationKind::Braintrust(bt) => format!(
            "{}: Braintrust at {}{}",
            config.name,
            without_credentials(&bt.api_url),
            connection_words(&bt.connection.tls, &bt.connection.proxy),
        ),
        DestinationKind::Store(store) => {
            format!("{}: local store in {}", config.name, store.dir.display())
        }
    };
    let plaintext_secret = match &config.kind {
        DestinationKind::Otlp(otlp) => {
            otlp.endpoint.starts_with("http://")
                && !is_loopback(&otlp.endpoint)
                && otlp.headers.iter().next().is_some()
        }
        _ => false,
    };
    if plaintext_secret {
        let fix = "use an https:// endpoint when headers carry credentials";
        return Check::new(
            Outcome::Warning,
            format!("{text}; headers go unencrypted"),
            Some(fix),
        );
    }
    if let DestinationKind::Otlp(otlp) = &config.kind {
        if otlp.protocol == Protocol::Grpc && otlp.connection.proxy == Proxy::Direct {
            return Check::new(
                Outcome::Ok,
                format!("{text} (gRPC connects directly)"),
                None,
            );
        }
    }
    Check::new(Outcome::Ok, text, None)
}

fn connection_words(tls: &crate::export::TlsConfig, proxy: &Proxy) -> String {
    let mut words = String::new();
    if let Some(ca) = &tls.ca_file {
        let _ = write!(words, ", trusting the CA in {}", ca.display());
    }
    if let Some(client) = &tls.client {
        let _ = write!(words, ", client certificate {}", client.cert_file.display());
    }
    if let Proxy::Via { url, no_proxy } = proxy {
        let _ = write!(words, ", via proxy {}", without_credentials(url));
        if let Some(list) = no_proxy {
            let _ = write!(words, " (except {list})");
        }
    }
    words
}

fn header_words<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(", headers {}", names.join(", "))
    }
}

/// Whether `url`'s host is a loopback name or address.
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The checks of the hook registration found in `home`.
fn hook_checks(home: &Path, hooks: &Hooks) -> Vec<Check> {
    let mut checks: Vec<Check> = hooks
        .unreadable
        .iter()
        .map(|why| {
            Check::new(
                Outcome::Problem,
                format!("unreadable: {why}"),
                Some("fix the file"),
            )
        })
        .collect();
    match (&hooks.hooks_json, &hooks.plugin) {
        (None, None) => checks.push(Check::new(
            Outcome::Problem,
            format!(
                "codex-otel is not registered with Codex in {}",
                home.display()
            ),
            Some(
                "run `codex-otel install`, or install the plugin: `codex plugin marketplace add \
                 \"$(npm root -g)/codex-otel\"` (or a codex-otel checkout) then `codex plugin \
                 add codex-otel@codex-otel`",
            ),
        )),
        (Some(_), Some(_)) => checks.push(Check::new(
            Outcome::Warning,
            "registered twice (hooks.json and the plugin): every event is recorded twice",
            Some(
                "keep one: `codex-otel uninstall`, or `codex plugin remove codex-otel@codex-otel`",
            ),
        )),
        _ => {}
    }
    for (what, registration) in [("hooks.json", &hooks.hooks_json), ("plugin", &hooks.plugin)] {
        if let Some(registration) = registration {
            checks.extend(registration_checks(what, registration));
        }
    }
    checks
}

fn registration_checks(what: &str, registration: &Registration) -> Vec<Check> {
    let mut checks = Vec::new();
    let missing = registration.missing_events();
    let total = hooks_total();
    let covered = total - missing.len();
    let file = registration.file.display();
    if missing.is_empty() {
        checks.push(Check::new(
            Outcome::Ok,
            format!("{what}: codex-otel handles all {total} events ({file})"),
            None,
        ));
    } else {
        checks.push(Check::new(
            Outcome::Problem,
            format!(
                "{what}: codex-otel handles {covered} of {total} events; missing {} ({file})",
                missing.join(", ")
            ),
            Some("run `codex-otel install` again (or reinstall the plugin)"),
        ));
    }
    if let Some(binary) = &registration.binary {
        if !hooks::is_executable(binary) {
            checks.push(Check::new(
                Outcome::Problem,
                format!(
                    "{what}: the hook binary {} is missing or not executable",
                    binary.display()
                ),
                Some("run `codex-otel install` with the binary Codex should run"),
            ));
        }
    }
    if registration.enabled == Some(false) {
        checks.push(Check::new(
            Outcome::Problem,
            format!("{what}: {} is disabled in config.toml", hooks::PLUGIN_ID),
            Some("set `enabled = true` under [plugins.\"codex-otel@codex-otel\"]"),
        ));
    }
    checks.extend(trust_checks(what, registration));
    checks
}

fn trust_checks(what: &str, registration: &Registration) -> Vec<Check> {
    let (untrusted, disabled) = (
        registration.count(Trust::Untrusted),
        registration.count(Trust::Disabled),
    );
    let trusted = registration.count(Trust::Trusted);
    let mut checks = Vec::new();
    if untrusted > 0 {
        checks.push(Check::new(
            Outcome::Problem,
            format!(
                "{what}: {untrusted} codex-otel hook(s) not trusted: Codex skips them, silently \
                 in `codex exec`"
            ),
            Some(
                "start `codex`, choose \"Review hooks\" and trust the codex-otel hooks (or pass \
                 --dangerously-bypass-hook-trust to `codex exec` in CI)",
            ),
        ));
    }
    if disabled > 0 {
        checks.push(Check::new(
            Outcome::Problem,
            format!("{what}: {disabled} codex-otel hook(s) disabled in [hooks.state]"),
            Some("remove `enabled = false` from their [hooks.state] entries in config.toml"),
        ));
    }
    if trusted > 0 && untrusted == 0 && disabled == 0 {
        checks.push(Check::new(
            Outcome::Ok,
            format!(
                "{what}: all {trusted} codex-otel hooks trusted in config.toml (after editing \
                 the hooks or reinstalling the plugin Codex asks again)"
            ),
            None,
        ));
    }
    checks
}

fn hooks_total() -> usize {
    crate::hook::registration::EVENTS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised_through_ports_credentials_and_brackets() {
        assert!(is_loopback("http://localhost:4318/v1/traces"));
        assert!(is_loopback("http://u:p@127.0.0.1:4318"));
        assert!(is_loopback("http://[::1]:4317"));
        assert!(!is_loopback("http://collector.corp:4318"));
    }

    #[test]
    fn the_report_counts_problems_and_prints_fixes() {
        let report = Report {
            sections: vec![(
                "Codex hooks".into(),
                vec![
                    Check::new(Outcome::Ok, "fine", None),
                    Check::new(Outcome::Problem, "broken", Some("do this")),
                    Check::new(Outcome::Warning, "odd", None),
                ],
            )],
            ..Report::default()
        };
        assert_eq!(report.problems(), 1);
        let text = report.render();
        assert!(
            text.contains("[PROBLEM] broken\n          fix: do this"),
            "{text}"
        );
        assert!(text.ends_with("1 problem(s) found.\n"), "{text}");
    }

    #[test]
    fn a_plaintext_endpoint_with_credentials_is_a_warning_but_loopback_is_fine() {
        let mut otlp = crate::export::OtlpConfig::new(
            "http://collector.corp:4318/v1/traces",
            Protocol::HttpProtobuf,
        );
        otlp.headers.insert("authorization", "Bearer secret-token");
        let mut config = DestinationConfig {
            name: "otlp".into(),
            kind: DestinationKind::Otlp(otlp.clone()),
            resource: crate::export::ResourceConfig::default(),
        };
        let check = describe(&config);
        assert_eq!(check.outcome, Outcome::Warning);
        assert!(!check.text.contains("secret-token"), "{}", check.text);
        otlp.endpoint = "http://127.0.0.1:4318/v1/traces".into();
        config.kind = DestinationKind::Otlp(otlp);
        assert_eq!(describe(&config).outcome, Outcome::Ok);
    }
}
