//! Which Codex CLI a test runs, and where its binary is.
//!
//! Contract: every live scenario runs on [`CodexVersion::V0171`] (the newest, `$CODEX_BIN`);
//! a smoke set also runs on [`CodexVersion::V0169`] (`$CODEX_BIN_0169`), and the plugin's
//! whole-session test on [`CodexVersion::V0150`] (`$CODEX_BIN_0150`), the oldest release whose
//! plugin hooks run (see the README's release table). When the variable is
//! unset the binary is looked for where `.ci/install-codex.sh` installs that version
//! (`<repo>/.work/codex-<version>/node_modules/.bin/codex`). A missing binary is a printed
//! skip ([`skip`]); a binary that reports another version is an error.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Set to `1` to turn a missing `codex` or `python3` into a failure instead of a skip.
const REQUIRE_ENV: &str = "CODEX_OTEL_REQUIRE_CODEX";

/// A Codex CLI version the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodexVersion {
    /// 0.171.0: the newest, run by every live scenario.
    V0171,
    /// 0.169.0: the oldest with the model-request events, run by the smoke set.
    V0169,
    /// 0.150.0: the oldest whose plugin hooks run (12 events, no model-request events).
    V0150,
}

impl CodexVersion {
    /// The version number, as npm and `.ci/install-codex.sh` spell it.
    pub(crate) fn number(self) -> &'static str {
        match self {
            CodexVersion::V0171 => "0.171.0",
            CodexVersion::V0169 => "0.169.0",
            CodexVersion::V0150 => "0.150.0",
        }
    }

    /// The variable naming this version's binary.
    fn bin_env(self) -> &'static str {
        match self {
            CodexVersion::V0171 => "CODEX_BIN",
            CodexVersion::V0169 => "CODEX_BIN_0169",
            CodexVersion::V0150 => "CODEX_BIN_0150",
        }
    }

    /// Whether model-request hooks carry `kind`, `request_id`, `thread_id` and, on Post,
    /// `response_id` (0.171 and later).
    pub(crate) fn has_request_ids(self) -> bool {
        self == CodexVersion::V0171
    }

    /// Whether PreModelRequest and PostModelRequest fire (0.169 and later).
    pub(crate) fn fires_model_requests(self) -> bool {
        self != CodexVersion::V0150
    }

    /// The binary, or `None` (with a printed reason) when it is not installed.
    pub(crate) fn locate(self) -> Result<Option<PathBuf>> {
        let (env, number) = (self.bin_env(), self.number());
        let bin = std::env::var_os(env).map_or_else(
            || {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join(format!(".work/codex-{number}/node_modules/.bin/codex"))
            },
            PathBuf::from,
        );
        if !bin.exists() {
            return skip(format!(
                "Codex {number} is not installed ({} is missing; run \
                 CODEX_VERSION={number} .ci/install-codex.sh or set {env})",
                bin.display()
            ));
        }
        let out = Command::new(&bin)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} --version", bin.display()))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if version != format!("codex-cli {number}") {
            bail!(
                "{} ({env}) reports {version:?}, expected {number}",
                bin.display()
            );
        }
        Ok(Some(bin))
    }
}

/// `Ok(None)` after printing `reason`, or an error when [`REQUIRE_ENV`] is `1`.
pub(crate) fn skip<T>(reason: String) -> Result<Option<T>> {
    if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
        bail!("{reason}, and {REQUIRE_ENV}=1 requires it");
    }
    eprintln!("SKIPPED: {reason}");
    Ok(None)
}
