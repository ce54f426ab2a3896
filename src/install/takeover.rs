//! Taking over trace-codex's settings on `codex-otel install`: its `config.json` (same keys,
//! same meaning) is copied to codex-otel's own, so a user switching keeps project, key and
//! every other setting.
//!
//! - Offered only when trace-codex has a `config.json` and codex-otel has none yet (an
//!   existing one is never overwritten).
//! - `--take-over-trace-codex` copies without asking; otherwise a terminal is asked (default
//!   no), and without a terminal the command only says how to do it.
//! - The copy is byte for byte, written atomically with mode 0600 in a 0700 directory.

use crate::config::config_json;
use crate::paths::StateDir;
use std::io::{self, BufRead, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

/// What can be taken over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// trace-codex has no `config.json`.
    Nothing,
    /// codex-otel already has its own `config.json`; trace-codex's stays unused.
    AlreadyConfigured {
        /// trace-codex's file.
        from: PathBuf,
        /// codex-otel's file.
        to: PathBuf,
    },
    /// trace-codex's settings can be copied.
    Copy {
        /// trace-codex's file.
        from: PathBuf,
        /// codex-otel's file, not there yet.
        to: PathBuf,
    },
}

/// What there is to take over under `codex_home`.
pub fn offer(codex_home: &Path) -> Offer {
    let Some(from) = config_json::trace_codex_files(codex_home)
        .into_iter()
        .next()
    else {
        return Offer::Nothing;
    };
    let to = config_json::in_codex_home(codex_home);
    match to.exists() {
        true => Offer::AlreadyConfigured { from, to },
        false => Offer::Copy { from, to },
    }
}

/// Copies `from` to `to` (see the module docs).
pub fn copy(from: &Path, to: &Path) -> io::Result<()> {
    let bytes = std::fs::read(from)?;
    if let Some(dir) = to.parent() {
        StateDir::ensure_private_dir(dir)?;
    }
    StateDir::write_durably(to, &bytes)
}

/// Handles the offer for `codex_home` during `install`: copies when `assume_yes` or when the
/// user answers yes on a terminal, and says what it did.
pub fn run(codex_home: &Path, assume_yes: bool) -> io::Result<()> {
    match offer(codex_home) {
        Offer::Nothing => {}
        Offer::AlreadyConfigured { from, to } => println!(
            "codex-otel: {} exists, so trace-codex's settings in {} were not taken over",
            to.display(),
            from.display()
        ),
        Offer::Copy { from, to } => {
            let question = format!(
                "codex-otel: take over trace-codex's settings from {} (copied to {})? [y/N] ",
                from.display(),
                to.display()
            );
            let stdin = io::stdin();
            let yes = assume_yes || (stdin.is_terminal() && ask(&question, stdin.lock())?);
            if yes {
                copy(&from, &to)?;
                println!(
                    "codex-otel: copied trace-codex's settings to {}",
                    to.display()
                );
            } else if !stdin.is_terminal() {
                println!(
                    "codex-otel: trace-codex's settings are in {}; run again with \
                     --take-over-trace-codex to copy them to {}",
                    from.display(),
                    to.display()
                );
            }
        }
    }
    Ok(())
}

/// Prints `question` and reads one answer; only `y`/`yes` (any case) is yes.
fn ask(question: &str, mut input: impl BufRead) -> io::Result<bool> {
    print!("{question}");
    io::stdout().flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    Ok(is_yes(&answer))
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn home_with_settings() -> (tempfile::TempDir, PathBuf) {
        let home = tempfile::tempdir().expect("tempdir");
        let dir = home.path().join("plugins/data/trace-codex-braintrust");
        std::fs::create_dir_all(&dir).expect("dir");
        let from = dir.join("config.json");
        std::fs::write(&from, r#"{"project": "p"}"#).expect("write");
        (home, from)
    }

    #[test]
    fn trace_codex_settings_are_offered_and_copied_privately() {
        let (home, from) = home_with_settings();
        let to = config_json::in_codex_home(home.path());
        assert_eq!(
            offer(home.path()),
            Offer::Copy {
                from: from.clone(),
                to: to.clone()
            }
        );
        run(home.path(), true).expect("take over");
        assert_eq!(
            std::fs::read(&to).expect("copied"),
            std::fs::read(&from).unwrap()
        );
        let mode = std::fs::metadata(&to).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(offer(home.path()), Offer::AlreadyConfigured { from, to });
    }

    #[test]
    fn nothing_is_copied_without_consent_or_over_existing_settings() {
        let (home, _) = home_with_settings();
        let to = config_json::in_codex_home(home.path());
        // The test's stdin is not a terminal: no question, no copy.
        run(home.path(), false).expect("declined");
        assert!(!to.exists());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(&to, "{}").unwrap();
        run(home.path(), true).expect("kept");
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "{}");
        assert_eq!(offer(tempfile::tempdir().unwrap().path()), Offer::Nothing);
    }

    #[test]
    fn only_y_or_yes_is_consent() {
        assert!(is_yes("y\n") && is_yes(" YES "));
        assert!(!is_yes("") && !is_yes("no") && !is_yes("sure"));
        assert!(ask("? ", &b"yes\n"[..]).expect("answer"));
    }
}
