//! trace-codex, Braintrust's Codex plugin that codex-otel replaces, and its `config.json`.
//!
//! - trace-codex installed beside codex-otel traces every event a second time. It is found as
//!   an installed plugin (`$CODEX_HOME/plugins/cache/<marketplace>/trace-codex/`, unless
//!   `config.toml` has `[plugins."trace-codex@<marketplace>"] enabled = false`) or as hook
//!   commands naming `trace-codex` in `$CODEX_HOME/hooks.json`; [`checks`] says what to remove.
//! - Its settings live in `$CODEX_HOME/plugins/data/trace-codex-<marketplace>/config.json`
//!   ([`config_json::trace_codex_files`]); `codex-otel install` offers to copy them to codex-otel's own
//!   `config.json` ([`crate::config::config_json`]), which [`checks`] reports on too: where it
//!   is, which keys it sets, or why it is ignored.

use super::{Check, Outcome};
use crate::config::config_json::{self, ConfigJson, ConfigJsonError};
use serde_json::Value;
use std::path::{Path, PathBuf};

use config_json::TRACE_CODEX as PLUGIN_NAME;

/// One place trace-codex is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// As a Codex plugin, `trace-codex@<marketplace>`.
    Plugin {
        /// The plugin id.
        id: String,
    },
    /// As handlers in a hooks file.
    Hooks {
        /// The hooks file.
        file: PathBuf,
        /// How many of its handlers run trace-codex.
        handlers: usize,
    },
}

/// Every enabled installation of trace-codex under `codex_home`.
pub fn find(codex_home: &Path) -> Vec<Installed> {
    let config = std::fs::read_to_string(codex_home.join("config.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok());
    let disabled = |id: &str| {
        config
            .as_ref()
            .and_then(|c| c.get("plugins"))
            .and_then(|p| p.get(id))
            .and_then(|p| p.get("enabled"))
            .and_then(toml::Value::as_bool)
            == Some(false)
    };
    let mut found: Vec<Installed> = marketplaces(&codex_home.join("plugins/cache"))
        .into_iter()
        .map(|marketplace| format!("{PLUGIN_NAME}@{marketplace}"))
        .filter(|id| !disabled(id))
        .map(|id| Installed::Plugin { id })
        .collect();
    let file = codex_home.join(crate::hook::registration::HOOKS_FILE);
    let handlers = std::fs::read_to_string(&file)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .map_or(0, |hooks| trace_codex_handlers(&hooks));
    if handlers > 0 {
        found.push(Installed::Hooks { file, handlers });
    }
    found
}

/// The marketplaces under `cache` that hold a `trace-codex` plugin, sorted.
fn marketplaces(cache: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|entry| entry.path().join(PLUGIN_NAME).is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// How many command handlers of a hooks file run trace-codex.
fn trace_codex_handlers(hooks: &Value) -> usize {
    super::hooks::handlers(hooks)
        .filter_map(|handler| handler.get("command").and_then(Value::as_str))
        .filter(|command| command.contains(PLUGIN_NAME))
        .count()
}

/// What to do about one installation: a problem beside a registered codex-otel (every
/// session traced twice), a warning before codex-otel is registered.
fn removal(installed: &Installed, beside_codex_otel: bool) -> Check {
    let (place, fix) = match installed {
        Installed::Plugin { id } => (
            format!("trace-codex is installed as the plugin {id}"),
            format!("codex plugin remove {id}"),
        ),
        Installed::Hooks { file, handlers } => (
            format!("{} has {handlers} trace-codex handler(s)", file.display()),
            format!(
                "remove the handlers running trace-codex from {}",
                file.display()
            ),
        ),
    };
    match beside_codex_otel {
        true => Check::new(
            Outcome::Problem,
            format!("{place}: every session is traced twice"),
            Some(&fix),
        ),
        false => Check::new(
            Outcome::Warning,
            format!("{place}: once codex-otel is registered, every session is traced twice"),
            Some(&fix),
        ),
    }
}

/// What codex-otel's own `config.json` (at `path`) contributes.
fn settings_check(path: &Path, loaded: Result<ConfigJson, ConfigJsonError>) -> Option<Check> {
    match loaded {
        Ok(config) => {
            let keys = match config.keys().as_slice() {
                [] => "no setting".to_owned(),
                keys => keys.join(", "),
            };
            let text = format!("config.json {}: {keys}", path.display());
            Some(Check::new(Outcome::Ok, text, None))
        }
        Err(ConfigJsonError::Missing { .. }) => None,
        Err(ConfigJsonError::Exposed { path, mode }) => Some(Check::new(
            Outcome::Problem,
            format!(
                "{} holds apiKey but others can read it (mode {mode:03o}): it is ignored",
                path.display()
            ),
            Some(&format!("chmod 600 {}", path.display())),
        )),
        Err(error) => Some(Check::new(
            Outcome::Problem,
            error.to_string(),
            Some("fix the file: it must be one JSON object"),
        )),
    }
}

/// The checks of this module: codex-otel's `config.json` as loaded from `settings` (when its
/// place is known), then every trace-codex installation under `codex_home` (a problem when
/// codex-otel is registered too).
pub fn checks(
    settings: Option<(&Path, Result<ConfigJson, ConfigJsonError>)>,
    codex_home: Option<&Path>,
    codex_otel_registered: bool,
) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some((path, loaded)) = settings {
        checks.extend(settings_check(path, loaded));
    }
    if let Some(home) = codex_home {
        let found = find(home);
        checks.extend(found.iter().map(|i| removal(i, codex_otel_registered)));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn home_with_trace_codex() -> tempfile::TempDir {
        let home = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(
            home.path()
                .join("plugins/cache/braintrust/trace-codex/0.0.1"),
        )
        .expect("cache");
        fs::create_dir_all(
            home.path()
                .join("plugins/cache/codex-otel/codex-otel/0.1.0"),
        )
        .expect("ours");
        home
    }

    #[test]
    fn an_installed_trace_codex_plugin_is_found_unless_disabled() {
        let home = home_with_trace_codex();
        let found = find(home.path());
        assert_eq!(
            found,
            [Installed::Plugin {
                id: "trace-codex@braintrust".into()
            }]
        );
        let check = removal(&found[0], true);
        assert_eq!(check.outcome, Outcome::Problem);
        assert!(check.text.ends_with("every session is traced twice"));
        assert_eq!(removal(&found[0], false).outcome, Outcome::Warning);
        assert_eq!(
            check.fix.as_deref(),
            Some("codex plugin remove trace-codex@braintrust")
        );
        let off = "[plugins.\"trace-codex@braintrust\"]\nenabled = false\n";
        fs::write(home.path().join("config.toml"), off).expect("config");
        assert!(find(home.path()).is_empty());
    }

    #[test]
    fn trace_codex_handlers_in_hooks_json_are_counted_and_others_ignored() {
        let home = tempfile::tempdir().expect("tempdir");
        let hooks = serde_json::json!({"hooks": {
            "Stop": [{"hooks": [
                {"type": "command", "command": "/opt/trace-codex/bin/codex-hook.sh"},
                {"type": "command", "command": "/usr/bin/codex-otel-hook"}
            ]}],
            "SessionStart": [{"hooks": [
                {"type": "command", "command": "sh /opt/trace-codex/bin/codex-hook.sh"}
            ]}]
        }});
        fs::write(home.path().join("hooks.json"), hooks.to_string()).expect("hooks");
        assert_eq!(
            find(home.path()),
            [Installed::Hooks {
                file: home.path().join("hooks.json"),
                handlers: 2
            }]
        );
    }

    #[test]
    fn an_exposed_or_broken_config_json_is_a_problem_and_a_missing_one_says_nothing() {
        let path = Path::new("/h/config.json");
        let exposed = ConfigJsonError::Exposed {
            path: path.into(),
            mode: 0o644,
        };
        let check = settings_check(path, Err(exposed)).expect("a finding");
        assert_eq!(check.outcome, Outcome::Problem);
        assert_eq!(check.fix.as_deref(), Some("chmod 600 /h/config.json"));
        let broken = ConfigJsonError::Malformed {
            path: path.into(),
            line: 1,
            column: 2,
        };
        assert_eq!(
            settings_check(path, Err(broken)).map(|c| c.outcome),
            Some(Outcome::Problem)
        );
        let missing = ConfigJsonError::Missing { path: path.into() };
        assert!(settings_check(path, Err(missing)).is_none());
        let loaded = ConfigJson::parse(r#"{"project": "p", "apiKey": "k"}"#).expect("valid");
        let check = settings_check(path, Ok(loaded)).expect("a finding");
        assert_eq!(check.text, "config.json /h/config.json: apiKey, project");
    }
}
