//! Running the real `codex-otel` binary against a private state directory.
//!
//! Every command starts from an empty environment (plus `PATH`), so variables of the machine
//! running the tests (`OTEL_*`, `CODEX_OTEL_*`, …) never leak into a run, and
//! `CODEX_OTEL_DAEMON_BIN=/bin/true` makes any daemon the hook starts exit at once.

use codex_otel::journal::{decode_line, JournalEntry};
use codex_otel::paths::StateDir;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

/// The built binary.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_codex-otel");

/// A temporary directory holding one state directory, `<tmp>/state`.
#[derive(Debug)]
pub(crate) struct Home {
    dir: TempDir,
}

impl Home {
    /// A fresh, empty home (the state directory is not created).
    pub(crate) fn new() -> Self {
        Home {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The temporary directory around the state directory.
    pub(crate) fn outer(&self) -> &Path {
        self.dir.path()
    }

    /// The state directory (`CODEX_OTEL_HOME`).
    pub(crate) fn state(&self) -> StateDir {
        StateDir::new(self.dir.path().join("state"))
    }

    /// `codex-otel <args>` with a clean environment and this state directory.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.args(args);
        self.scrub(command)
    }

    /// `/bin/sh -c <script>` (as Codex runs hooks) with the same environment as
    /// [`Home::command`].
    pub(crate) fn shell(&self, script: &str) -> Command {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", script]);
        self.scrub(command)
    }

    fn scrub(&self, mut command: Command) -> Command {
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CODEX_OTEL_HOME", self.state().root())
            .env("CODEX_OTEL_DAEMON_BIN", "/bin/true");
        command
    }

    /// Every entry of `session_id`'s journal, or a panic naming the first line that does
    /// not decode.
    pub(crate) fn journal(&self, session_id: &str) -> Vec<JournalEntry> {
        let path = self.state().journal_file(session_id);
        let bytes = std::fs::read(&path).unwrap_or_default();
        let lines = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        let decode = |line: &[u8]| {
            decode_line(line).unwrap_or_else(|| panic!("corrupt line in {}", path.display()))
        };
        lines.map(decode).collect()
    }

    /// Every file under the temporary directory, relative to it.
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else if let Ok(relative) = path.strip_prefix(base) {
                    out.push(relative.to_owned());
                }
            }
        }
        let mut files = Vec::new();
        walk(self.outer(), self.outer(), &mut files);
        files.sort();
        files
    }
}

/// Runs `command` with `stdin` as its standard input (written from another thread, so a
/// large input cannot deadlock) and collects its output.
pub(crate) fn run(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn codex-otel");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let output = child.wait_with_output().expect("wait for codex-otel");
    writer.join().expect("stdin writer").expect("write stdin");
    output
}
