//! Which way a Codex release can feed codex-otel: `codex --version` (the `codex` found on the
//! `PATH` doctor was given) read into a release family, each family named after the release it
//! was tested on (see the README's release table and `tests/fixtures/codex-<version>/`):
//!
//! - 0.169 and later: the plugin (or `codex-otel install`), all 14 events.
//! - 0.150 to 0.168: the plugin (or `codex-otel install`), the 12 documented events; the
//!   model-request events never fire.
//! - 0.140 to 0.149: no hook runs on any path (0.140 has the trust-bypass flag and a plugin
//!   command, and still runs none): only `codex-otel replay` of the rollouts.
//! - 0.126 to 0.139: hooks run only once trusted in `[hooks.state]` (0.130 has no trust-bypass
//!   flag and no `codex plugin add`; untrusted, none ran): replay the rollouts.
//! - 0.125 and older: `hooks.json` (`codex-otel install`) or `config.toml` hooks run with no trust
//!   step, but only SessionStart, UserPromptSubmit, PreToolUse, PostToolUse and Stop; no
//!   `codex plugin add`.
//!
//! Releases before 0.125 were not tested, and are reported as the 0.125 family with that said.

use super::{Check, Outcome};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How codex-otel gets a release's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookPath {
    /// The plugin or `hooks.json`, with every event codex-otel registers.
    Live,
    /// The plugin or `hooks.json`, without the model-request events.
    LiveWithoutModelRequests,
    /// `hooks.json` or `config.toml` only, five events: no session end, compaction or interrupt.
    ConfigHooksPartial,
    /// Only hooks trusted in `[hooks.state]` run, and there is no headless way to trust them.
    TrustedConfigHooksOnly,
    /// No hook runs: replay the rollouts.
    ReplayOnly,
}

/// A `codex --version` read as `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release(pub u32, pub u32, pub u32);

impl Release {
    /// Reads `codex-cli 0.150.0` (or a bare `0.150.0`; a pre-release suffix is ignored).
    pub fn parse(version: &str) -> Option<Release> {
        let number = version.trim().rsplit(' ').next()?;
        let mut parts = number.split(['.', '-']).map(str::parse::<u32>);
        Some(Release(
            parts.next()?.ok()?,
            parts.next()?.ok()?,
            parts.next()?.ok()?,
        ))
    }

    /// The release's hook path (see the module docs).
    pub fn hook_path(self) -> HookPath {
        match self {
            r if r >= Release(0, 169, 0) => HookPath::Live,
            r if r >= Release(0, 150, 0) => HookPath::LiveWithoutModelRequests,
            r if r >= Release(0, 140, 0) => HookPath::ReplayOnly,
            r if r >= Release(0, 126, 0) => HookPath::TrustedConfigHooksOnly,
            _ => HookPath::ConfigHooksPartial,
        }
    }
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The command that replays every session of `~/.codex/sessions` from its rollouts.
const REPLAY: &str = "`codex-otel replay --transcripts ~/.codex/sessions` after each session";

/// The check for the `codex` on `path` (the `PATH` value doctor was given).
pub fn checks(path: Option<&str>) -> Vec<Check> {
    let Some(codex) = path.and_then(find_codex) else {
        let text = "no `codex` on PATH: cannot tell which hook path its release supports";
        return vec![Check::new(Outcome::Warning, text, None)];
    };
    let version = Command::new(&codex)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned());
    let Some(release) = version.as_deref().and_then(Release::parse) else {
        let text = format!("{} --version printed no release number", codex.display());
        return vec![Check::new(Outcome::Warning, text, None)];
    };
    vec![release_check(release)]
}

/// What doctor says about `release`.
pub fn release_check(release: Release) -> Check {
    let untested = if release < Release(0, 125, 0) {
        " (older than any release tested, 0.125)"
    } else {
        ""
    };
    let (outcome, text, fix) = match release.hook_path() {
        HookPath::Live => (
            Outcome::Ok,
            "live: the plugin or `codex-otel install` records all 14 events".to_owned(),
            None,
        ),
        HookPath::LiveWithoutModelRequests => (
            Outcome::Ok,
            "live: the plugin or `codex-otel install` records the 12 documented events \
             (PreModelRequest and PostModelRequest do not fire before 0.169; usage comes from \
             the rollout)"
                .to_owned(),
            None,
        ),
        HookPath::ConfigHooksPartial => (
            Outcome::Warning,
            format!(
                "live, partly{untested}: `codex-otel install` (hooks.json) runs with no trust \
                 step, but only SessionStart, UserPromptSubmit, PreToolUse, PostToolUse and \
                 Stop fire; this release has no `codex plugin add`"
            ),
            Some(format!(
                "use `codex-otel install`; for complete traces use {REPLAY}"
            )),
        ),
        HookPath::TrustedConfigHooksOnly => (
            Outcome::Problem,
            "no live hooks: this release runs only hooks trusted in [hooks.state] and has \
             neither --dangerously-bypass-hook-trust nor `codex plugin add`"
                .to_owned(),
            Some(format!("upgrade Codex to 0.150 or later, or use {REPLAY}")),
        ),
        HookPath::ReplayOnly => (
            Outcome::Problem,
            "no live hooks: this release runs no hook on any path".to_owned(),
            Some(format!("upgrade Codex to 0.150 or later, or use {REPLAY}")),
        ),
    };
    Check {
        outcome,
        text: format!("Codex {release}: {text}"),
        fix,
    }
}

/// The first executable `codex` in the directories of `path`.
fn find_codex(path: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let executable = |file: &Path| {
        std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    std::env::split_paths(path)
        .map(|dir| dir.join("codex"))
        .find(|file| executable(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_or_without_the_cli_prefix() {
        assert_eq!(
            Release::parse("codex-cli 0.171.0\n"),
            Some(Release(0, 171, 0))
        );
        assert_eq!(Release::parse("0.150.2"), Some(Release(0, 150, 2)));
        assert_eq!(
            Release::parse("codex-cli 0.172.0-alpha.1"),
            Some(Release(0, 172, 0))
        );
        assert_eq!(Release::parse("codex-cli dev"), None);
    }

    #[test]
    fn each_release_family_gets_its_tested_path() {
        for (version, path) in [
            ("0.171.0", HookPath::Live),
            ("0.169.0", HookPath::Live),
            ("0.168.9", HookPath::LiveWithoutModelRequests),
            ("0.160.0", HookPath::LiveWithoutModelRequests),
            ("0.150.0", HookPath::LiveWithoutModelRequests),
            ("0.149.0", HookPath::ReplayOnly),
            ("0.140.0", HookPath::ReplayOnly),
            ("0.139.0", HookPath::TrustedConfigHooksOnly),
            ("0.130.0", HookPath::TrustedConfigHooksOnly),
            ("0.126.0", HookPath::TrustedConfigHooksOnly),
            ("0.125.0", HookPath::ConfigHooksPartial),
            ("0.100.0", HookPath::ConfigHooksPartial),
        ] {
            let release = Release::parse(version).unwrap();
            assert_eq!(release.hook_path(), path, "{version}");
        }
    }

    #[test]
    fn releases_without_live_hooks_are_problems_that_point_to_replay() {
        for version in [Release(0, 140, 0), Release(0, 130, 0)] {
            let check = release_check(version);
            assert_eq!(check.outcome, Outcome::Problem);
            assert!(check
                .fix
                .unwrap()
                .contains("codex-otel replay --transcripts"));
        }
        let partial = release_check(Release(0, 125, 0));
        assert_eq!(partial.outcome, Outcome::Warning);
        assert!(partial.text.contains("codex-otel install"));
        assert!(release_check(Release(0, 124, 0))
            .text
            .contains("older than any"));
        assert_eq!(release_check(Release(0, 150, 0)).outcome, Outcome::Ok);
    }
}
