//! Git facts about a session's working directory (remote, branch, commit), read by running
//! `git`. This is I/O: the daemon and `replay` call it once per session, never the machine.

use std::path::Path;
use std::process::{Command, Stdio};

/// Where the session's code came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitInfo {
    /// `origin`'s URL with any credentials removed.
    pub remote: Option<String>,
    /// The checked-out branch.
    pub branch: Option<String>,
    /// The HEAD commit.
    pub commit: Option<String>,
}

impl GitInfo {
    /// Reads the facts for `cwd`; `None` when it is not inside a git work tree (or git is
    /// missing).
    pub fn read(cwd: &Path) -> Option<Self> {
        let commit = git(cwd, &["rev-parse", "HEAD"])?;
        Some(GitInfo {
            remote: git(cwd, &["remote", "get-url", "origin"]).map(|url| strip_credentials(&url)),
            branch: git(cwd, &["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD"),
            commit: Some(commit),
        })
    }
}

fn git(cwd: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// Removes `user:password@` from a URL (`https://user:token@host/x` → `https://host/x`).
pub fn strip_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_stripped_from_remote_urls() {
        assert_eq!(
            strip_credentials("https://user:ghp_secret@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_credentials("https://github.com/o/r"),
            "https://github.com/o/r"
        );
        assert_eq!(
            strip_credentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
    }

    #[test]
    fn a_fresh_repository_reports_its_commit_and_branch() {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap()
        };
        run(&["init", "-q", "-b", "main"]);
        run(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ]);
        run(&["remote", "add", "origin", "https://u:p@example.com/r.git"]);
        let info = GitInfo::read(dir.path()).unwrap();
        assert_eq!(info.branch.as_deref(), Some("main"));
        assert_eq!(info.commit.map(|c| c.len()), Some(40));
        assert_eq!(info.remote.as_deref(), Some("https://example.com/r.git"));
        assert_eq!(GitInfo::read(Path::new("/")), None);
    }
}
