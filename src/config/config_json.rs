//! trace-codex's `config.json`: the settings file Braintrust's Codex plugin reads from the
//! plugin's data directory, accepted unchanged so its users can switch without relearning.
//!
//! - Where: `$PLUGIN_DATA/config.json` (Codex exports `PLUGIN_DATA` to plugin hooks), else
//!   `$CODEX_HOME/plugins/data/codex-otel-codex-otel/config.json` (`CODEX_HOME` defaults to
//!   `~/.codex`), the directory Codex gives the plugin `codex-otel@codex-otel`.
//! - What: one JSON object; each key of [`KEYS`] stands for its environment variable, and the
//!   environment wins ([`layered`]). A string is taken as is, a boolean or number as its JSON
//!   text, an object or array (`additionalMetadata`) as its JSON; `null` and unknown keys are
//!   ignored.
//! - A missing, unreadable or malformed file counts as empty; so does a file holding `apiKey`
//!   that others can read (mode & 0o077 != 0): [`load`] says why, for a log line or a `doctor`
//!   finding. Values are never shown by `Debug` or errors.
//!
//! Read by the daemon (per session, from the hook's `PLUGIN_DATA`/`CODEX_HOME`), `replay`,
//! `doctor` and `install`; the hook reads it only at a turn's end, for `flushOnTurnEnd`.

use super::env;
use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// The variable Codex sets to the plugin's data directory for plugin hooks.
pub const PLUGIN_DATA: &str = "PLUGIN_DATA";
/// Codex's home directory (default `~/.codex`).
pub const CODEX_HOME: &str = "CODEX_HOME";
/// The data directory Codex gives the plugin `codex-otel@codex-otel` (`<plugin>-<marketplace>`).
pub const DATA_DIR_NAME: &str = "codex-otel-codex-otel";
/// The plugin name of trace-codex, Braintrust's Codex plugin whose settings file this is.
pub const TRACE_CODEX: &str = "trace-codex";
/// The file's name inside the data directory.
pub const FILE_NAME: &str = "config.json";
/// The key holding the Braintrust API key (the one that makes a readable file unsafe).
pub const API_KEY: &str = "apiKey";
/// The variable trace-codex's `recordFile` stands for.
pub const RECORD_FILE: &str = "BRAINTRUST_EVENT_SERVER_RECORD_FILE";

/// Every `config.json` key and the environment variable it stands for.
pub const KEYS: [(&str, &str); 9] = [
    ("traceToBraintrust", env::TRACE_TO_BRAINTRUST),
    (API_KEY, env::BRAINTRUST_API_KEY),
    ("project", env::BRAINTRUST_PROJECT),
    ("apiUrl", env::BRAINTRUST_API_URL),
    ("additionalMetadata", env::BRAINTRUST_ADDITIONAL_METADATA),
    ("flushOnTurnEnd", "BRAINTRUST_FLUSH_ON_TURN_END"),
    ("recordFile", RECORD_FILE),
    ("parentSpanId", env::CODEX_PARENT_SPAN_ID),
    ("rootSpanId", env::CODEX_ROOT_SPAN_ID),
];

/// Why `config.json` counts as empty.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigJsonError {
    /// There is no file.
    #[error("no config.json at {path}")]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read {path}; ignoring it")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not one JSON object.
    #[error("{path} is not a JSON object (error at line {line} column {column}); ignoring it")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Line of the error (0: valid JSON, but not an object).
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// The file holds an API key and others may read it.
    #[error(
        "{path} holds apiKey but others can read it (mode {mode:03o}); ignoring it: \
         run `chmod 600 {path}`"
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// The settings of one `config.json`, by environment variable name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConfigJson {
    settings: BTreeMap<&'static str, String>,
}

impl fmt::Debug for ConfigJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigJson")
            .field("variables", &self.settings.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ConfigJson {
    /// The settings of a JSON document's text; errors keep only the position.
    pub fn parse(text: &str) -> Result<Self, (usize, usize)> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| (e.line(), e.column()))?;
        let object = value.as_object().ok_or((0, 0))?;
        let settings = KEYS
            .iter()
            .filter_map(|(key, var)| Some((*var, setting_text(object.get(*key)?)?)))
            .collect();
        Ok(ConfigJson { settings })
    }

    /// The value standing for the variable `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(String::as_str)
    }

    /// Every `(variable, value)` the file sets.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.settings.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// The `config.json` keys the file sets, in [`KEYS`] order.
    pub fn keys(&self) -> Vec<&'static str> {
        KEYS.iter()
            .filter(|(_, var)| self.settings.contains_key(var))
            .map(|(key, _)| *key)
            .collect()
    }

    /// True when the file sets nothing.
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }
}

/// A JSON value as the text its variable would hold; `None` for `null` or an empty string.
fn setting_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.clone()).filter(|t| !t.trim().is_empty()),
        other => Some(other.to_string()),
    }
}

/// Where `config.json` is: in `plugin_data` when Codex passed it, else under `codex_home`
/// (else `home/.codex`). `None` when none of them is known.
pub fn locate(
    plugin_data: Option<&str>,
    codex_home: Option<&str>,
    home: Option<&Path>,
) -> Option<PathBuf> {
    let present = |value: Option<&str>| value.filter(|v| !v.trim().is_empty()).map(PathBuf::from);
    if let Some(dir) = present(plugin_data) {
        return Some(dir.join(FILE_NAME));
    }
    let codex_home = present(codex_home).or_else(|| home.map(|home| home.join(".codex")))?;
    Some(in_codex_home(&codex_home))
}

/// codex-otel's `config.json` under `codex_home` (the plugin's data directory).
pub fn in_codex_home(codex_home: &Path) -> PathBuf {
    codex_home
        .join("plugins/data")
        .join(DATA_DIR_NAME)
        .join(FILE_NAME)
}

/// trace-codex's `config.json` files under `codex_home` (in its data directories,
/// `plugins/data/trace-codex-<marketplace>/`), sorted.
pub fn trace_codex_files(codex_home: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(codex_home.join("plugins/data")) else {
        return Vec::new();
    };
    let prefix = format!("{TRACE_CODEX}-");
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .map(|entry| entry.path().join(FILE_NAME))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// [`locate`] with the variables `vars` returns and this process's `HOME`.
pub fn locate_from(vars: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    locate(
        vars(PLUGIN_DATA).as_deref(),
        vars(CODEX_HOME).as_deref(),
        home.as_deref(),
    )
}

/// Reads the file at `path` (see the module docs for what counts as empty).
pub fn load(path: &Path) -> Result<ConfigJson, ConfigJsonError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigJsonError::Missing {
                path: path.to_owned(),
            })
        }
        Err(source) => {
            return Err(ConfigJsonError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    let config = ConfigJson::parse(&text).map_err(|(line, column)| ConfigJsonError::Malformed {
        path: path.to_owned(),
        line,
        column,
    })?;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .map_err(|source| ConfigJsonError::Read {
            path: path.to_owned(),
            source,
        })?;
    if config.get(env::BRAINTRUST_API_KEY).is_some() && readable_by_others(mode) {
        return Err(ConfigJsonError::Exposed {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(config)
}

/// Whether permission bits let anyone but the owner read (or otherwise use) the file.
pub fn readable_by_others(mode: u32) -> bool {
    mode & 0o077 != 0
}

/// The file for the variables `vars` returns, as settings: empty with the reason when it
/// cannot be used.
pub fn load_from(vars: impl Fn(&str) -> Option<String>) -> (ConfigJson, Option<ConfigJsonError>) {
    match locate_from(vars).map(|path| load(&path)) {
        None => (ConfigJson::default(), None),
        Some(Ok(config)) => (config, None),
        Some(Err(error)) => (ConfigJson::default(), Some(error)),
    }
}

/// A variable lookup where `vars` (the environment) wins and `file` fills in what it does not
/// set; empty variables count as unset.
pub fn layered<'a>(
    vars: impl Fn(&str) -> Option<String> + 'a,
    file: &'a ConfigJson,
) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        vars(name)
            .filter(|value| !value.trim().is_empty())
            .or_else(|| file.get(name).map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(FILE_NAME);
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    #[test]
    fn every_documented_key_stands_for_its_variable_and_unknown_keys_are_ignored() {
        let text = r#"{"traceToBraintrust": true, "apiKey": "sk-1", "project": "p",
            "apiUrl": "http://bt", "additionalMetadata": {"team": "a"}, "flushOnTurnEnd": true,
            "recordFile": "/r.ndjson", "parentSpanId": "00f067aa0ba902b7",
            "rootSpanId": "4bf92f3577b34da6a3ce929d0e0e4736", "port": 52734, "appUrl": "x"}"#;
        let config = ConfigJson::parse(text).expect("valid");
        assert_eq!(config.get("TRACE_TO_BRAINTRUST"), Some("true"));
        assert_eq!(config.get("BRAINTRUST_API_KEY"), Some("sk-1"));
        assert_eq!(config.get("BRAINTRUST_PROJECT"), Some("p"));
        assert_eq!(config.get("BRAINTRUST_API_URL"), Some("http://bt"));
        assert_eq!(
            config.get("BRAINTRUST_ADDITIONAL_METADATA"),
            Some(r#"{"team":"a"}"#)
        );
        assert_eq!(config.get("BRAINTRUST_FLUSH_ON_TURN_END"), Some("true"));
        assert_eq!(
            config.get("BRAINTRUST_EVENT_SERVER_RECORD_FILE"),
            Some("/r.ndjson")
        );
        assert_eq!(config.get("CODEX_PARENT_SPAN_ID"), Some("00f067aa0ba902b7"));
        assert_eq!(
            config.get("CODEX_ROOT_SPAN_ID"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(config.iter().count(), 9, "port and appUrl are not settings");
    }

    #[test]
    fn null_and_empty_values_set_nothing() {
        let config = ConfigJson::parse(r#"{"recordFile": "", "project": null}"#).expect("valid");
        assert!(config.is_empty(), "{config:?}");
    }

    #[test]
    fn the_environment_wins_and_the_file_fills_in() {
        let config = ConfigJson::parse(r#"{"project": "file", "apiKey": "k"}"#).expect("valid");
        let env = |name: &str| match name {
            "BRAINTRUST_PROJECT" => Some("env".to_owned()),
            "BRAINTRUST_API_KEY" => Some(" ".to_owned()),
            _ => None,
        };
        let lookup = layered(env, &config);
        assert_eq!(lookup("BRAINTRUST_PROJECT").as_deref(), Some("env"));
        assert_eq!(lookup("BRAINTRUST_API_KEY").as_deref(), Some("k"));
        assert_eq!(lookup("TRACE_TO_BRAINTRUST"), None);
    }

    #[test]
    fn plugin_data_wins_over_codex_home_which_wins_over_home() {
        let home = Path::new("/home/u");
        assert_eq!(
            locate(Some("/pd"), Some("/ch"), Some(home)),
            Some(PathBuf::from("/pd/config.json"))
        );
        assert_eq!(
            locate(None, Some("/ch"), Some(home)),
            Some(PathBuf::from(
                "/ch/plugins/data/codex-otel-codex-otel/config.json"
            ))
        );
        assert_eq!(
            locate(Some(""), None, Some(home)),
            Some(PathBuf::from(
                "/home/u/.codex/plugins/data/codex-otel-codex-otel/config.json"
            ))
        );
        assert_eq!(locate(None, None, None), None);
    }

    #[test]
    fn a_missing_or_malformed_file_is_an_error_that_never_quotes_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = load(&dir.path().join(FILE_NAME));
        assert!(matches!(missing, Err(ConfigJsonError::Missing { .. })));
        let path = write(dir.path(), r#"{"apiKey": "sk-secret" oops"#, 0o600);
        let error = load(&path).expect_err("malformed");
        assert!(matches!(error, ConfigJsonError::Malformed { line: 1, .. }));
        assert!(!error.to_string().contains("sk-secret"), "{error}");
        write(dir.path(), "[1]", 0o600);
        assert!(matches!(
            load(&path),
            Err(ConfigJsonError::Malformed { line: 0, .. })
        ));
    }

    #[test]
    fn an_api_key_others_can_read_is_refused_and_one_without_a_key_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), r#"{"apiKey": "sk-1", "project": "p"}"#, 0o644);
        let error = load(&path).expect_err("exposed");
        assert!(matches!(
            error,
            ConfigJsonError::Exposed { mode: 0o644, .. }
        ));
        assert!(!error.to_string().contains("sk-1"), "{error}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(
            load(&path).expect("private").get("BRAINTRUST_PROJECT"),
            Some("p")
        );
        let path = write(dir.path(), r#"{"project": "p"}"#, 0o644);
        assert!(load(&path).is_ok());
    }

    #[test]
    fn group_or_other_bits_make_a_file_readable_by_others() {
        assert!(!readable_by_others(0o600));
        assert!(!readable_by_others(0o700));
        assert!(readable_by_others(0o640));
        assert!(readable_by_others(0o604));
    }

    #[test]
    fn the_shipped_example_uses_only_known_keys() {
        let text = include_str!("../../plugin/config.json.example");
        let value: serde_json::Value = serde_json::from_str(text).expect("json");
        let unknown: Vec<&String> = value
            .as_object()
            .expect("object")
            .keys()
            .filter(|k| *k != "_comment" && !KEYS.iter().any(|(key, _)| key == k))
            .collect();
        assert!(unknown.is_empty(), "{unknown:?}");
        let config = ConfigJson::parse(text).expect("valid");
        assert_eq!(config.get("BRAINTRUST_PROJECT"), Some("my-codex-project"));
        assert_eq!(config.get("BRAINTRUST_EVENT_SERVER_RECORD_FILE"), None);
    }

    #[test]
    fn trace_codex_settings_files_are_found_in_its_data_directories() {
        let home = tempfile::tempdir().expect("tempdir");
        let dir = home.path().join("plugins/data/trace-codex-braintrust");
        std::fs::create_dir_all(&dir).expect("data");
        std::fs::write(dir.join("config.json"), "{}").expect("config");
        let empty = home.path().join("plugins/data/trace-codex-empty");
        std::fs::create_dir_all(empty).expect("empty");
        assert_eq!(trace_codex_files(home.path()), [dir.join("config.json")]);
    }

    #[test]
    fn debug_shows_variable_names_only() {
        let config = ConfigJson::parse(r#"{"apiKey": "sk-secret"}"#).expect("valid");
        let text = format!("{config:?}");
        assert!(text.contains("BRAINTRUST_API_KEY") && !text.contains("sk-secret"));
    }
}
