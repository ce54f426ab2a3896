//! The installed plugin's launcher (`plugin/bin/codex-otel-hook`), seen from `doctor`: which
//! binary it would run, asked of the launcher itself (`--print-binary`, in doctor's environment
//! plus the plugin's `PLUGIN_ROOT`/`PLUGIN_DATA`), and the reason it last left in
//! `$PLUGIN_DATA/launcher.log` when a hook found no binary ("plugin added but no binary").
//!
//! `PLUGIN_DATA` is Codex's: `$CODEX_HOME/plugins/data/<plugin>-<marketplace>`.

use super::{Check, Outcome};
use crate::doctor::hooks::Registration;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// The plugin's data directory, under `$CODEX_HOME`.
const PLUGIN_DATA: &str = "plugins/data/codex-otel-codex-otel";
/// The launcher's log, in the plugin's data directory.
const LOG: &str = "launcher.log";
/// The launcher, under the plugin's root.
const LAUNCHER: &str = "bin/codex-otel-hook";

/// What the launcher answered to `--print-binary`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// It would run this command.
    Runs(String),
    /// It finds no binary.
    NoBinary,
    /// It could not be asked (missing, or an older launcher without `--print-binary`).
    Unanswered(String),
}

/// The launcher's last complaint: its one line and when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastFailure {
    /// The line.
    pub line: String,
    /// The log's modification time.
    pub at: SystemTime,
}

/// The checks of the plugin registered by `plugin`, with `vars` as the environment.
pub fn checks(codex_home: &Path, plugin: &Registration, vars: &[(String, String)]) -> Vec<Check> {
    let data = codex_home.join(PLUGIN_DATA);
    let mut checks = Vec::new();
    if let Some(root) = plugin_root(plugin) {
        checks.push(lookup_check(&lookup(&root, &data, vars)));
    }
    if let Some(failure) = last_failure(&data.join(LOG)) {
        checks.push(failure_check(&failure));
    }
    checks
}

/// The plugin's root: the directory above its `hooks/hooks.json`.
fn plugin_root(plugin: &Registration) -> Option<PathBuf> {
    Some(plugin.file.parent()?.parent()?.to_path_buf())
}

/// Asks the launcher under `root` which binary it would run.
pub fn lookup(root: &Path, data: &Path, vars: &[(String, String)]) -> Lookup {
    let launcher = root.join(LAUNCHER);
    let output = Command::new("/bin/sh")
        .arg(&launcher)
        .arg("--print-binary")
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .env_remove("_CODEX_OTEL_LAUNCHER")
        .env("PLUGIN_ROOT", root)
        .env("PLUGIN_DATA", data)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => return Lookup::Unanswered(format!("{}: {error}", launcher.display())),
    };
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match (output.status.success(), printed.is_empty()) {
        (true, false) => Lookup::Runs(printed),
        (false, true) if output.status.code() == Some(1) => Lookup::NoBinary,
        _ => Lookup::Unanswered(format!(
            "{} did not answer --print-binary ({}); it predates it or is broken",
            launcher.display(),
            output.status
        )),
    }
}

fn lookup_check(lookup: &Lookup) -> Check {
    match lookup {
        Lookup::Runs(command) => Check::new(
            Outcome::Ok,
            format!("plugin: its launcher runs {command}"),
            None,
        ),
        Lookup::NoBinary => Check::new(
            Outcome::Problem,
            "plugin added but no binary: its launcher finds no codex-otel (it looks in \
             $CODEX_OTEL_HOOK_BIN, $CODEX_OTEL_BIN, PATH, ~/.cargo/bin and npm's global prefix), \
             so Codex's hooks record nothing",
            Some(
                "`npm install -g codex-otel` (or `cargo install codex-otel`, or set \
                 CODEX_OTEL_BIN where Codex runs)",
            ),
        ),
        Lookup::Unanswered(why) => Check::new(
            Outcome::Warning,
            format!("plugin: cannot tell which binary its launcher runs: {why}"),
            Some("update the plugin: `codex plugin add codex-otel@codex-otel`"),
        ),
    }
}

/// The launcher's log line, when the log holds one.
pub fn last_failure(log: &Path) -> Option<LastFailure> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().rev().find(|line| !line.trim().is_empty())?;
    let at = std::fs::metadata(log).and_then(|m| m.modified()).ok()?;
    Some(LastFailure {
        line: line.trim().to_owned(),
        at,
    })
}

fn failure_check(failure: &LastFailure) -> Check {
    Check::new(
        Outcome::Problem,
        format!(
            "plugin: the last hook Codex ran found no binary (launcher.log, {}): {}",
            humantime::format_rfc3339_seconds(failure.at),
            failure.line
        ),
        Some(
            "install codex-otel where Codex's hooks look (Codex's PATH can differ from your \
             shell's: `npm install -g codex-otel` is also found through npm's prefix); the next \
             hook that finds a binary clears this",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt as _;

    /// A plugin root holding the repository's launcher, a `PATH` directory and a home.
    struct Installed {
        dir: tempfile::TempDir,
    }

    impl Installed {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let bin = dir.path().join("root/bin");
            fs::create_dir_all(&bin).expect("mkdir");
            let source = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("plugin")
                .join(LAUNCHER);
            fs::copy(source, bin.join("codex-otel-hook")).expect("copy");
            fs::create_dir_all(dir.path().join("path")).expect("mkdir");
            fs::create_dir_all(dir.path().join("home")).expect("mkdir");
            Installed { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        /// A `PATH` of only our directory, so no npm and no installed codex-otel is seen.
        fn vars(&self) -> Vec<(String, String)> {
            let text = |name: &str| self.path(name).display().to_string();
            vec![("PATH".into(), text("path")), ("HOME".into(), text("home"))]
        }

        fn lookup(&self) -> Lookup {
            lookup(&self.path("root"), &self.path("data"), &self.vars())
        }
    }

    #[test]
    fn a_launcher_that_finds_nothing_is_plugin_added_but_no_binary() {
        let installed = Installed::new();
        let lookup = installed.lookup();
        assert_eq!(lookup, Lookup::NoBinary);
        let check = lookup_check(&lookup);
        assert_eq!(check.outcome, Outcome::Problem);
        assert!(check.text.contains("no binary"), "{}", check.text);
        assert!(!installed.path("data/launcher.log").exists(), "no log");
    }

    #[test]
    fn a_launcher_that_finds_a_binary_names_it() {
        let installed = Installed::new();
        let hook = installed.path("path/codex-otel-hook");
        fs::write(&hook, "#!/bin/sh\nexit 0\n").expect("write");
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
        let lookup = installed.lookup();
        assert_eq!(lookup, Lookup::Runs(hook.display().to_string()));
        assert_eq!(lookup_check(&lookup).outcome, Outcome::Ok);
    }

    #[test]
    fn a_launcher_without_print_binary_is_a_warning_to_update_the_plugin() {
        let installed = Installed::new();
        let launcher = installed.path("root").join(LAUNCHER);
        fs::write(&launcher, "cat >/dev/null\nexit 0\n").expect("write");
        let lookup = installed.lookup();
        assert!(matches!(lookup, Lookup::Unanswered(_)), "{lookup:?}");
        assert_eq!(lookup_check(&lookup).outcome, Outcome::Warning);
        fs::remove_file(&launcher).expect("rm");
        assert!(matches!(installed.lookup(), Lookup::Unanswered(_)));
    }

    #[test]
    fn the_launchers_log_line_is_reported_and_an_empty_log_is_not() {
        let installed = Installed::new();
        let log = installed.path("launcher.log");
        assert_eq!(last_failure(&log), None, "no log");
        fs::write(&log, "").expect("write");
        assert_eq!(
            last_failure(&log),
            None,
            "emptied by a hook that found a binary"
        );
        fs::write(&log, "no codex-otel binary found (PATH=/x)\n").expect("write");
        let failure = last_failure(&log).expect("reported");
        let check = failure_check(&failure);
        assert_eq!(check.outcome, Outcome::Problem);
        assert!(
            check
                .text
                .ends_with(": no codex-otel binary found (PATH=/x)"),
            "{}",
            check.text
        );
    }
}
