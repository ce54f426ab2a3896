//! `codex-otel install` and `uninstall`: register the codex-otel hook for all 14 Codex hook
//! events in Codex's user-layer `$CODEX_HOME/hooks.json`, or remove exactly that registration.
//! (The plugin under `plugin/` is the other way to install the same hooks.)
//!
//! Contract:
//! - `$CODEX_HOME` is `--codex-home`, else the `CODEX_HOME` variable, else `~/.codex`. The
//!   file is `{"hooks": {<Event>: [<matcher group>, …]}, …}`, the shape Codex reads; a missing
//!   or whitespace-only file counts as empty.
//! - The binary is `--bin`, else this executable, made absolute. `install` appends to each
//!   event of [`EVENTS`] one matcher group with one handler running [`hook_command`]: the slim
//!   `'<dir>/codex-otel-hook'` when it is installed beside the binary (the same hook, started
//!   faster), else `'<binary>' hook`. A handler is codex-otel's when it runs that command, or
//!   either shape for another absolute path (the `command` submodule says which). Existing
//!   codex-otel handlers are replaced, so installing twice adds nothing, and a new binary path
//!   or the other shape updates in place.
//! - `uninstall` removes codex-otel's handlers (either shape), then the matcher groups and
//!   event entries that removal left empty; groups and events that were already empty stay.
//! - Everything else in the file is kept: other handlers, groups, events and top-level keys.
//!   A rewritten file has its object keys in sorted order and 2-space indentation.
//! - A file that is not JSON, or not shaped like a hooks file where codex-otel must edit it,
//!   is an error ([`Error::Parse`], [`Error::Shape`]) and is never written.
//! - Nothing is written when nothing changes. A write is atomic: a temporary file in the same
//!   directory, flushed to disk, then renamed over the file (over a symlink's target, not the
//!   link); the file's permission bits are kept.
//! - `install` then offers to take over trace-codex's `config.json` ([`takeover`]).

mod command;
pub mod takeover;

use crate::hook::registration::{hook_command, EVENTS, HOOKS_FILE};
use clap::Args;
use command::is_ours;
use serde_json::{json, Map, Value};
use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Arguments of `codex-otel install` and `uninstall`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Codex's home directory.
    #[arg(long, env = "CODEX_HOME")]
    pub codex_home: Option<PathBuf>,
    /// The codex-otel binary (default: this executable); the `codex-otel-hook` beside it is
    /// what the hooks run when it exists, else `<bin> hook`.
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// `install` only: copy trace-codex's `config.json` to codex-otel's without asking (when
    /// codex-otel has none yet). Without it a terminal is asked.
    #[arg(long)]
    pub take_over_trace_codex: bool,
}

/// Printed after every install: Codex skips hooks nobody trusted, silently.
const TRUST_REMINDER: &str = "\
Codex runs new or changed hooks only once they are trusted: start `codex` and choose \
\"Review hooks\" (or \"Trust all and continue\"), or pass --dangerously-bypass-hook-trust to \
`codex exec` (for CI). Use either this or the codex-otel plugin, not both, or every event is \
recorded twice.";

/// Why `install` or `uninstall` failed. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Neither `--codex-home`, `CODEX_HOME` nor `HOME` is set.
    #[error("cannot locate Codex's home: pass --codex-home, or set CODEX_HOME or HOME")]
    NoCodexHome,
    /// The binary the hooks should run cannot be found or inspected.
    #[error("cannot use {path} as the hook binary")]
    Binary {
        /// The binary.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The binary the hooks should run is not an executable file.
    #[error("{path} is not an executable file")]
    NotExecutable {
        /// The binary.
        path: PathBuf,
    },
    /// The hooks file exists but cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The hooks file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The hooks file is not valid JSON.
    #[error("{path} is not valid JSON; fix it and retry (it was left untouched)")]
    Parse {
        /// The hooks file.
        path: PathBuf,
        /// Where and why parsing failed.
        #[source]
        source: serde_json::Error,
    },
    /// The hooks file is JSON but not shaped like a Codex hooks file.
    #[error(
        "{path} is not shaped like a Codex hooks file; fix it and retry (it was left untouched)"
    )]
    Shape {
        /// The hooks file.
        path: PathBuf,
        /// What is wrong, and where.
        #[source]
        problem: ShapeError,
    },
    /// The hooks file (or its directory) cannot be written.
    #[error("cannot write {path}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// What makes a hooks file unusable, where codex-otel has to edit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    /// The document is not a JSON object.
    #[error("the top level must be a JSON object")]
    NotAnObject,
    /// `hooks` is not an object.
    #[error("`hooks` must be an object mapping event names to matcher groups")]
    HooksNotAnObject,
    /// An event's entry is not an array.
    #[error("`hooks.{event}` must be an array of matcher groups")]
    EventNotAnArray {
        /// The event.
        event: &'static str,
    },
    /// A matcher group is not an object, or its `hooks` is not an array.
    #[error("`hooks.{event}[{index}]` must be an object whose `hooks` is an array of handlers")]
    GroupMalformed {
        /// The event.
        event: &'static str,
        /// The group's position.
        index: usize,
    },
}

/// Entry point of `codex-otel install`.
pub fn install(args: &InstallArgs) -> anyhow::Result<()> {
    let path = hooks_path(args)?;
    let bin = binary(args)?;
    check_executable(&bin)?;
    let command = hook_command(&bin)?;
    let before = load(&path)?;
    let mut after = before.clone();
    let replaced = after.remove_ours(&command);
    after.add(&command);
    let (shown, events) = (path.display(), EVENTS.len());
    if after == before {
        println!("codex-otel: already registered in {shown}");
    } else {
        save(&path, &after)?;
        println!("codex-otel: registered `{command}` for {events} Codex hook events in {shown}");
        if replaced > 0 {
            println!("codex-otel: replaced {replaced} handlers of an earlier install");
        }
    }
    println!("{TRUST_REMINDER}");
    let codex_home = path.parent().unwrap_or(Path::new("."));
    takeover::run(codex_home, args.take_over_trace_codex)?;
    Ok(())
}

/// Entry point of `codex-otel uninstall`.
pub fn uninstall(args: &InstallArgs) -> anyhow::Result<()> {
    let path = hooks_path(args)?;
    let command = hook_command(&binary(args)?)?;
    let mut file = load(&path)?;
    let removed = file.remove_ours(&command);
    let shown = path.display();
    if removed == 0 {
        println!("codex-otel: no codex-otel hook in {shown}; nothing changed");
        return Ok(());
    }
    save(&path, &file)?;
    println!("codex-otel: removed {removed} codex-otel handlers from {shown}");
    Ok(())
}

/// `<codex home>/hooks.json` (see the module docs).
fn hooks_path(args: &InstallArgs) -> Result<PathBuf, Error> {
    let home = match &args.codex_home {
        Some(home) => home.clone(),
        None => std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(|home| PathBuf::from(home).join(".codex"))
            .ok_or(Error::NoCodexHome)?,
    };
    Ok(home.join(HOOKS_FILE))
}

/// The absolute path of the binary the hooks run: `--bin`, else this executable.
fn binary(args: &InstallArgs) -> Result<PathBuf, Error> {
    let given = args.bin.clone().map_or_else(std::env::current_exe, Ok);
    given
        .and_then(std::path::absolute)
        .map_err(|source| Error::Binary {
            path: args.bin.clone().unwrap_or_else(|| "codex-otel".into()),
            source,
        })
}

/// Fails unless `path` is an executable file (checked on install only: uninstalling must
/// work after the binary is gone).
fn check_executable(path: &Path) -> Result<(), Error> {
    let metadata = fs::metadata(path).map_err(|source| Error::Binary {
        path: path.to_owned(),
        source,
    })?;
    if !metadata.is_file() || metadata.permissions().mode() & 0o111 == 0 {
        return Err(Error::NotExecutable {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Reads and checks the hooks file; a missing or whitespace-only file is empty.
fn load(path: &Path) -> Result<HooksFile, Error> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            let path = path.to_owned();
            return Err(Error::Read { path, source });
        }
    };
    if text.trim().is_empty() {
        return Ok(HooksFile::default());
    }
    let value = serde_json::from_str(&text).map_err(|source| Error::Parse {
        path: path.to_owned(),
        source,
    })?;
    HooksFile::from_value(value).map_err(|problem| Error::Shape {
        path: path.to_owned(),
        problem,
    })
}

/// Writes `file` to `path` atomically, keeping the permission bits (see the module docs).
fn save(path: &Path, file: &HooksFile) -> Result<(), Error> {
    let target = match fs::canonicalize(path) {
        Ok(target) => target,
        Err(err) if err.kind() == io::ErrorKind::NotFound => path.to_owned(),
        Err(source) => {
            let path = path.to_owned();
            return Err(Error::Write { path, source });
        }
    };
    if let Some(dir) = target.parent() {
        fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_owned(),
            source,
        })?;
    }
    write_atomically(&target, file.render().as_bytes()).map_err(|source| Error::Write {
        path: target.clone(),
        source,
    })
}

/// Temp file beside `target`, synced, given `target`'s mode (if it exists), renamed over it.
fn write_atomically(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mode = fs::metadata(target)
        .ok()
        .map(|metadata| metadata.permissions().mode() & 0o7777);
    let temp = target.with_extension(format!("codex-otel-{}.tmp", std::process::id()));
    let written = (|| {
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode.unwrap_or(0o644))
            .open(&temp)?;
        out.write_all(bytes)?;
        if let Some(mode) = mode {
            // The creation mode went through the umask; the original bits must not.
            out.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        out.sync_all()?;
        fs::rename(&temp, target)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// A hooks file, checked where codex-otel edits it (the 14 events of [`EVENTS`]).
#[derive(Debug, Clone, Default, PartialEq)]
struct HooksFile(Map<String, Value>);

impl HooksFile {
    /// Checks the shape of `value` (see [`ShapeError`]); other events are not looked at.
    fn from_value(value: Value) -> Result<Self, ShapeError> {
        let Value::Object(root) = value else {
            return Err(ShapeError::NotAnObject);
        };
        match root.get("hooks") {
            None => {}
            Some(Value::Object(events)) => {
                for spec in &EVENTS {
                    check_event(spec.event, events.get(spec.event))?;
                }
            }
            Some(_) => return Err(ShapeError::HooksNotAnObject),
        }
        Ok(HooksFile(root))
    }

    /// Removes codex-otel's handlers, then the groups and events this left empty; returns
    /// how many handlers were removed.
    fn remove_ours(&mut self, command: &str) -> usize {
        let Some(Value::Object(events)) = self.0.get_mut("hooks") else {
            return 0;
        };
        let mut removed = 0;
        for spec in &EVENTS {
            let Some(Value::Array(groups)) = events.get_mut(spec.event) else {
                continue;
            };
            let before = removed;
            groups.retain_mut(|group| {
                let Some(Value::Array(handlers)) = group.get_mut("hooks") else {
                    return true;
                };
                let count = handlers.len();
                handlers.retain(|handler| !is_ours(handler, command));
                removed += count - handlers.len();
                handlers.len() == count || !handlers.is_empty()
            });
            if removed > before && groups.is_empty() {
                events.remove(spec.event);
            }
        }
        removed
    }

    /// Appends one matcher group running `command` to every event of [`EVENTS`].
    fn add(&mut self, command: &str) {
        let hooks = self.0.entry("hooks").or_insert_with(|| json!({}));
        // Always an object and arrays in a checked file.
        let Some(events) = hooks.as_object_mut() else {
            return;
        };
        for spec in &EVENTS {
            let groups = events.entry(spec.event).or_insert_with(|| json!([]));
            if let Some(groups) = groups.as_array_mut() {
                groups.push(spec.group(command));
            }
        }
    }

    /// The file's text: pretty JSON and a final newline.
    fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.0).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Checks one event's matcher groups.
fn check_event(event: &'static str, entry: Option<&Value>) -> Result<(), ShapeError> {
    let groups = match entry {
        None => return Ok(()),
        Some(Value::Array(groups)) => groups,
        Some(_) => return Err(ShapeError::EventNotAnArray { event }),
    };
    for (index, group) in groups.iter().enumerate() {
        let handlers = group.as_object().map(|group| group.get("hooks"));
        if handlers.is_none_or(|handlers| handlers.is_some_and(|h| !h.is_array())) {
            return Err(ShapeError::GroupMalformed { event, index });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "'/opt/codex-otel' hook";

    fn file(value: Value) -> HooksFile {
        HooksFile::from_value(value).unwrap()
    }

    fn user_file() -> Value {
        json!({
            "description": "mine",
            "hooks": {
                "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
                "Custom": "left alone"
            }
        })
    }

    #[test]
    fn install_adds_one_group_per_event_and_keeps_the_user_hooks() {
        let mut hooks = file(user_file());
        hooks.add(OURS);
        let root = &hooks.0;
        assert_eq!(root["description"], "mine");
        assert_eq!(root["hooks"]["Custom"], "left alone");
        assert_eq!(root["hooks"]["Stop"][0], user_file()["hooks"]["Stop"][0]);
        assert_eq!(
            root["hooks"]["Stop"][1],
            json!({"hooks": [{"type": "command", "command": OURS, "timeout": 15}]})
        );
        assert_eq!(
            root["hooks"]["PreToolUse"],
            json!([{"matcher": "*", "hooks": [{"type": "command", "command": OURS, "timeout": 10}]}])
        );
        assert_eq!(root["hooks"]["SessionEnd"][0]["hooks"][0]["timeout"], 3);
        let ours = EVENTS.iter().filter(|e| root["hooks"][e.event].is_array());
        assert_eq!(ours.count(), 14);
    }

    #[test]
    fn uninstall_after_install_gives_back_the_original_document() {
        let mut hooks = file(user_file());
        hooks.add(OURS);
        assert_eq!(hooks.remove_ours(OURS), 14);
        assert_eq!(hooks, file(user_file()));
        assert_eq!(hooks.remove_ours(OURS), 0);
    }

    #[test]
    fn an_earlier_install_with_another_binary_is_recognised_as_ours() {
        let mut hooks = HooksFile::default();
        hooks.add("'/old/place/codex-otel' hook");
        assert_eq!(hooks.remove_ours(OURS), 14);
        assert_eq!(hooks.0["hooks"], json!({}));
    }

    #[test]
    fn installing_the_slim_binary_replaces_the_subcommand_form_and_back() {
        const SLIM: &str = "'/opt/codex-otel-hook'";
        let mut hooks = file(user_file());
        hooks.add(OURS);
        assert_eq!(hooks.remove_ours(SLIM), 14);
        hooks.add(SLIM);
        assert_eq!(hooks.0["hooks"]["Stop"][1]["hooks"][0]["command"], SLIM);
        assert_eq!(hooks.remove_ours(OURS), 14);
        assert_eq!(hooks, file(user_file()));
    }

    #[test]
    fn our_handler_inside_a_user_group_is_removed_but_the_group_stays() {
        let user = json!({"type": "command", "command": "echo hi"});
        let mut hooks = file(json!({"hooks": {
            "Stop": [{"hooks": [user.clone(), {"type": "command", "command": OURS}]}, {"hooks": []}]
        }}));
        assert_eq!(hooks.remove_ours(OURS), 1);
        assert_eq!(
            hooks.0["hooks"]["Stop"],
            json!([{"hooks": [user]}, {"hooks": []}])
        );
    }

    #[test]
    fn malformed_files_are_refused_with_the_place_named() {
        let cases = [
            (json!([]), "the top level must be a JSON object"),
            (
                json!({"hooks": []}),
                "`hooks` must be an object mapping event names to matcher groups",
            ),
            (
                json!({"hooks": {"Stop": {}}}),
                "`hooks.Stop` must be an array of matcher groups",
            ),
            (
                json!({"hooks": {"PreToolUse": [{}, 3]}}),
                "`hooks.PreToolUse[1]` must be an object whose `hooks` is an array of handlers",
            ),
            (
                json!({"hooks": {"SessionEnd": [{"hooks": "x"}]}}),
                "`hooks.SessionEnd[0]` must be an object whose `hooks` is an array of handlers",
            ),
        ];
        for (value, message) in cases {
            let problem = HooksFile::from_value(value).unwrap_err();
            assert_eq!(problem.to_string(), message);
        }
        assert!(HooksFile::from_value(json!({"hooks": {"Unknown": 1}})).is_ok());
    }

    #[test]
    fn a_missing_or_blank_file_is_empty_and_an_unparsable_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HOOKS_FILE);
        assert_eq!(load(&path).unwrap(), HooksFile::default());
        fs::write(&path, " \n").unwrap();
        assert_eq!(load(&path).unwrap(), HooksFile::default());
        fs::write(&path, "{ not json").unwrap();
        assert!(matches!(load(&path), Err(Error::Parse { .. })));
    }

    #[test]
    fn saving_keeps_the_mode_and_replaces_a_symlinks_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "{}").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join(HOOKS_FILE);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut hooks = HooksFile::default();
        hooks.add(OURS);
        save(&link, &hooks).unwrap();
        let link_type = fs::symlink_metadata(&link).unwrap().file_type();
        assert!(link_type.is_symlink());
        let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert_eq!(load(&link).unwrap(), hooks);
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 2, "no temporary file is left behind");
    }
}
