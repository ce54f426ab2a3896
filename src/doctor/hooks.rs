//! Whether Codex will run codex-otel's hooks: registered in `$CODEX_HOME/hooks.json` (by
//! `codex-otel install`) or by the plugin (installed under
//! `$CODEX_HOME/plugins/cache/codex-otel/codex-otel/<version>/`, enabled in `config.toml`),
//! for which of the 14 events, with which binary, and trusted in `[hooks.state]` of
//! `$CODEX_HOME/config.toml`.
//!
//! Trust keys are Codex's: `<$CODEX_HOME>/hooks.json:<event_snake>:<group>:<handler>` for
//! `hooks.json`, `codex-otel@codex-otel:hooks/hooks.json:<event_snake>:<group>:<handler>` for
//! the plugin. A key with a `trusted_hash` counts as trusted: whether that hash still matches
//! the hook (after an edit or a plugin reinstall Codex asks again) only Codex can tell.

use crate::hook::registration::{hook_binary, EVENTS, HOOKS_FILE};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// The plugin's id in Codex (`<plugin>@<marketplace>`).
pub const PLUGIN_ID: &str = "codex-otel@codex-otel";

/// Where Codex keeps installed copies of the plugin, under `$CODEX_HOME`.
const PLUGIN_CACHE: &str = "plugins/cache/codex-otel/codex-otel";

/// Whether Codex will run one registered handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// `[hooks.state]` records a trusted hash.
    Trusted,
    /// No trust recorded: Codex skips it (silently in `codex exec`).
    Untrusted,
    /// `enabled = false` in `[hooks.state]`.
    Disabled,
}

/// One codex-otel handler Codex knows about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handler {
    /// The hook event, as Codex spells it.
    pub event: String,
    /// Codex's trust key.
    pub key: String,
    /// Its trust.
    pub trust: Trust,
}

/// One way codex-otel is registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The hooks file holding the handlers.
    pub file: PathBuf,
    /// The handlers, in file order.
    pub handlers: Vec<Handler>,
    /// `hooks.json`: the binary its commands run, if it could be read from them.
    pub binary: Option<PathBuf>,
    /// Plugin: whether `config.toml` enables it (`None`: not mentioned).
    pub enabled: Option<bool>,
}

impl Registration {
    /// The events of [`EVENTS`] no handler covers.
    pub fn missing_events(&self) -> Vec<&'static str> {
        EVENTS
            .iter()
            .map(|hook| hook.event)
            .filter(|event| !self.handlers.iter().any(|h| h.event == *event))
            .collect()
    }

    /// How many handlers have `trust`.
    pub fn count(&self, trust: Trust) -> usize {
        self.handlers.iter().filter(|h| h.trust == trust).count()
    }
}

/// What `$CODEX_HOME` says about codex-otel's hooks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    /// Through `hooks.json`.
    pub hooks_json: Option<Registration>,
    /// Through the plugin.
    pub plugin: Option<Registration>,
    /// Files that could not be read or parsed, with why.
    pub unreadable: Vec<String>,
}

/// Reads `codex_home`.
pub fn inspect(codex_home: &Path) -> Hooks {
    let mut unreadable = Vec::new();
    let config = read_toml(&codex_home.join("config.toml"), &mut unreadable);
    let state = TrustState(
        config
            .as_ref()
            .and_then(|c| c.get("hooks"))
            .and_then(|h| h.get("state"))
            .and_then(toml::Value::as_table),
    );
    let hooks_json = hooks_json(codex_home, &state, &mut unreadable);
    let plugin = plugin(codex_home, config.as_ref(), &state, &mut unreadable);
    Hooks {
        hooks_json,
        plugin,
        unreadable,
    }
}

/// `[hooks.state]` of `config.toml`.
struct TrustState<'a>(Option<&'a toml::Table>);

impl TrustState<'_> {
    /// The trust recorded under the first of `keys` that has an entry.
    fn trust(&self, keys: &[String]) -> Trust {
        let entry = keys.iter().find_map(|key| self.0.and_then(|s| s.get(key)));
        match entry {
            Some(e) if e.get("enabled").and_then(toml::Value::as_bool) == Some(false) => {
                Trust::Disabled
            }
            Some(e) if e.get("trusted_hash").is_some() => Trust::Trusted,
            _ => Trust::Untrusted,
        }
    }
}

/// codex-otel's registration in `$CODEX_HOME/hooks.json`, if any.
fn hooks_json(
    codex_home: &Path,
    state: &TrustState<'_>,
    unreadable: &mut Vec<String>,
) -> Option<Registration> {
    let path = codex_home.join(HOOKS_FILE);
    let file = read_json(&path, unreadable)?;
    let prefixes = key_prefixes(&path);
    let handlers = ours(&file, |event, group, index| {
        let suffix = format!("{}:{group}:{index}", snake(event));
        let keys: Vec<String> = prefixes.iter().map(|p| format!("{p}:{suffix}")).collect();
        (keys[0].clone(), state.trust(&keys))
    });
    if handlers.is_empty() {
        return None;
    }
    let binary = commands(&file).find_map(|command| hook_binary(&command));
    Some(Registration {
        file: path,
        handlers,
        binary,
        enabled: None,
    })
}

/// The installed plugin's registration, if the plugin is installed.
fn plugin(
    codex_home: &Path,
    config: Option<&toml::Table>,
    state: &TrustState<'_>,
    unreadable: &mut Vec<String>,
) -> Option<Registration> {
    let path = plugin_root(codex_home)?.join("hooks").join(HOOKS_FILE);
    let file = read_json(&path, unreadable)?;
    let handlers = ours(&file, |event, group, index| {
        let key = format!(
            "{PLUGIN_ID}:hooks/hooks.json:{}:{group}:{index}",
            snake(event)
        );
        let trust = state.trust(std::slice::from_ref(&key));
        (key, trust)
    });
    let enabled = config
        .and_then(|c| c.get("plugins"))
        .and_then(|p| p.get(PLUGIN_ID))
        .and_then(|p| p.get("enabled"))
        .and_then(toml::Value::as_bool);
    Some(Registration {
        file: path,
        handlers,
        binary: None,
        enabled,
    })
}

/// Whether `path` is an executable file.
pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The prefixes Codex may use for `hooks.json` keys: the path as given and canonical.
fn key_prefixes(path: &Path) -> Vec<String> {
    let mut prefixes = vec![path.display().to_string()];
    if let Ok(canonical) = std::fs::canonicalize(path) {
        let canonical = canonical.display().to_string();
        if canonical != prefixes[0] {
            prefixes.push(canonical);
        }
    }
    prefixes
}

/// codex-otel's handlers in a hooks file, each with its key and trust from `key_of(event,
/// group index, handler index)`.
fn ours(file: &Value, key_of: impl Fn(&str, usize, usize) -> (String, Trust)) -> Vec<Handler> {
    let mut found = Vec::new();
    let Some(events) = file.get("hooks").and_then(Value::as_object) else {
        return found;
    };
    for (event, groups) in events {
        let groups = groups.as_array().map(Vec::as_slice).unwrap_or_default();
        for (group, entry) in groups.iter().enumerate() {
            let handlers = entry.get("hooks").and_then(Value::as_array);
            for (index, handler) in handlers.into_iter().flatten().enumerate() {
                if is_codex_otel(handler) {
                    let (key, trust) = key_of(event, group, index);
                    found.push(Handler {
                        event: event.clone(),
                        key,
                        trust,
                    });
                }
            }
        }
    }
    found
}

fn is_codex_otel(handler: &Value) -> bool {
    handler.get("type").and_then(Value::as_str) == Some("command")
        && handler
            .get("command")
            .and_then(Value::as_str)
            .is_some_and(|command| command.contains("codex-otel"))
}

/// Every command handler of a hooks file (`{"hooks": {event: [{"hooks": [handler]}]}}`).
pub(crate) fn handlers(file: &Value) -> impl Iterator<Item = &Value> + '_ {
    file.get("hooks")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|events| events.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|group| group.get("hooks").and_then(Value::as_array))
        .flatten()
}

/// Every codex-otel command in a hooks file.
fn commands(file: &Value) -> impl Iterator<Item = String> + '_ {
    handlers(file)
        .filter(|handler| is_codex_otel(handler))
        .filter_map(|handler| handler.get("command")?.as_str().map(str::to_owned))
}

/// The installed plugin's newest version directory, if any.
fn plugin_root(codex_home: &Path) -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir(codex_home.join(PLUGIN_CACHE))
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    versions.sort();
    versions.pop()
}

/// `PreToolUse` → `pre_tool_use`.
fn snake(event: &str) -> String {
    let mut out = String::new();
    for (i, c) in event.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn read_json(path: &Path, unreadable: &mut Vec<String>) -> Option<Value> {
    let text = read(path, unreadable)?;
    if text.trim().is_empty() {
        return None;
    }
    serde_json::from_str(&text)
        .map_err(|error| unreadable.push(format!("{}: {error}", path.display())))
        .ok()
}

fn read_toml(path: &Path, unreadable: &mut Vec<String>) -> Option<toml::Table> {
    let text = read(path, unreadable)?;
    text.parse::<toml::Table>()
        .map_err(|error| unreadable.push(format!("{}: {}", path.display(), error.message())))
        .ok()
}

/// The file's text; a missing file is `None` without complaint.
fn read(path: &Path, unreadable: &mut Vec<String>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            unreadable.push(format!("{}: {error}", path.display()));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const BIN: &str = "/opt/codex otel/codex-otel";

    fn hooks_json(events: &[&str]) -> String {
        let entries: Vec<String> = events
            .iter()
            .map(|event| {
                format!(
                    r#""{event}":[{{"hooks":[{{"type":"command","command":"echo other"}},
                       {{"type":"command","command":"'{BIN}' hook"}}]}}]"#
                )
            })
            .collect();
        format!(r#"{{"hooks":{{{}}}}}"#, entries.join(","))
    }

    #[test]
    fn hooks_json_handlers_get_codex_keys_and_their_recorded_trust() {
        let home = tempfile::tempdir().expect("tempdir");
        let file = home.path().join("hooks.json");
        fs::write(&file, hooks_json(&["PreToolUse", "Stop", "SessionEnd"])).expect("write");
        let key = |event: &str| format!("{}:{event}:0:1", file.display());
        fs::write(
            home.path().join("config.toml"),
            format!(
                "[hooks.state.\"{}\"]\ntrusted_hash = \"sha256:1\"\n\
                 [hooks.state.\"{}\"]\ntrusted_hash = \"sha256:2\"\nenabled = false\n",
                key("pre_tool_use"),
                key("stop")
            ),
        )
        .expect("write");
        let found = inspect(home.path()).hooks_json.expect("registered");
        let trust: Vec<(&str, Trust)> = found
            .handlers
            .iter()
            .map(|h| (h.event.as_str(), h.trust))
            .collect();
        assert_eq!(
            trust,
            [
                ("PreToolUse", Trust::Trusted),
                ("SessionEnd", Trust::Untrusted),
                ("Stop", Trust::Disabled),
            ]
        );
        assert_eq!(found.handlers[0].key, key("pre_tool_use"));
        assert_eq!(found.binary.as_deref(), Some(Path::new(BIN)));
        assert_eq!(found.missing_events().len(), 11);
    }

    #[test]
    fn the_plugin_is_found_in_codexs_cache_with_its_enabled_flag() {
        let home = tempfile::tempdir().expect("tempdir");
        let root = home.path().join(PLUGIN_CACHE).join("0.1.0/hooks");
        fs::create_dir_all(&root).expect("mkdir");
        fs::write(root.join("hooks.json"), hooks_json(&["Stop"])).expect("write");
        fs::write(
            home.path().join("config.toml"),
            "[plugins.\"codex-otel@codex-otel\"]\nenabled = true\n\
             [hooks.state.\"codex-otel@codex-otel:hooks/hooks.json:stop:0:1\"]\n\
             trusted_hash = \"sha256:x\"\n",
        )
        .expect("write");
        let hooks = inspect(home.path());
        assert!(hooks.hooks_json.is_none());
        let plugin = hooks.plugin.expect("plugin");
        assert_eq!(plugin.enabled, Some(true));
        assert_eq!(plugin.count(Trust::Trusted), 1);
    }

    #[test]
    fn broken_files_are_reported_and_an_empty_home_has_nothing() {
        let home = tempfile::tempdir().expect("tempdir");
        assert_eq!(inspect(home.path()), Hooks::default());
        fs::write(home.path().join("hooks.json"), "{not json").expect("write");
        fs::write(home.path().join("config.toml"), "= broken").expect("write");
        let hooks = inspect(home.path());
        assert_eq!(hooks.unreadable.len(), 2, "{hooks:?}");
    }

    #[test]
    fn event_names_become_snake_case_and_binaries_are_unquoted() {
        assert_eq!(snake("PreToolUse"), "pre_tool_use");
        assert_eq!(snake("Stop"), "stop");
        assert_eq!(
            hook_binary(r"'/a/it'\''s/codex-otel' hook"),
            Some(PathBuf::from("/a/it's/codex-otel"))
        );
        assert_eq!(
            hook_binary("'/opt/bin/codex-otel-hook'"),
            Some(PathBuf::from("/opt/bin/codex-otel-hook"))
        );
        assert_eq!(
            hook_binary("sh \"${PLUGIN_ROOT}/bin/codex-otel-hook\""),
            None
        );
    }
}
