//! The packages under test, built and installed: npm tarballs into a global prefix, the wheel
//! into a venv.

use super::{built_bins, ok, repo_root};
use crate::support::codex::skip;
use anyhow::{ensure, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use tempfile::TempDir;

/// The platform package npm picks on this machine.
const PLATFORM: &str = "linux-x64";

/// The two tarballs of `scripts/build-npm.sh`, in a directory of their own.
pub(super) struct Packed {
    dir: TempDir,
    pub(super) main: PathBuf,
    pub(super) platform: PathBuf,
}

impl Packed {
    /// Packs; `Ok(None)` (after printing why) when npm is missing.
    pub(super) fn build() -> Result<Option<Self>> {
        if Command::new("npm").arg("--version").output().is_err() {
            return skip("npm is not installed".into());
        }
        let dir = tempfile::Builder::new()
            .prefix("codex-otel-npm-")
            .tempdir()?;
        let output = Command::new("bash")
            .arg(repo_root().join("scripts/build-npm.sh"))
            .arg(built_bins())
            .arg(dir.path().join("out"))
            .output()?;
        let printed = ok(output, "scripts/build-npm.sh")?;
        let lines: Vec<&str> = printed.lines().collect();
        ensure!(lines.len() == 2, "two tarballs, got {printed:?}");
        let (main, platform) = (PathBuf::from(lines[0]), PathBuf::from(lines[1]));
        Ok(Some(Packed {
            dir,
            main,
            platform,
        }))
    }

    /// `npm install -g` of both tarballs into a fresh prefix (nothing fetched).
    pub(super) fn install(&self) -> Result<NpmPrefix> {
        let prefix = self.dir.path().join("prefix");
        std::fs::create_dir_all(&prefix)?;
        let output = Command::new("npm")
            .args(["install", "-g", "--offline", "--no-audit", "--no-fund"])
            .arg("--prefix")
            .arg(&prefix)
            .arg("--cache")
            .arg(self.dir.path().join("npm-cache"))
            .args([&self.main, &self.platform])
            .stdin(Stdio::null())
            .output()?;
        ok(output, "npm install -g")?;
        Ok(NpmPrefix(prefix))
    }
}

/// A global npm prefix holding an install of codex-otel.
pub(super) struct NpmPrefix(pub(super) PathBuf);

impl NpmPrefix {
    pub(super) fn bin(&self) -> PathBuf {
        self.0.join("bin")
    }

    /// The platform package's native binary `name`.
    pub(super) fn native(&self, name: &str) -> PathBuf {
        let package = format!("lib/node_modules/@codex-otel/{PLATFORM}/bin/{name}");
        self.0.join(package)
    }

    /// `npm root -g` for this prefix: where the plugin marketplace of the package is.
    pub(super) fn root(&self) -> Result<PathBuf> {
        let output = Command::new("npm")
            .args(["root", "-g"])
            .env("npm_config_prefix", &self.0)
            .output()?;
        Ok(PathBuf::from(ok(output, "npm root -g")?.trim()))
    }
}

/// The wheel maturin builds (bin mode) from the binaries this test build produced.
pub(super) struct Wheel {
    dir: TempDir,
    file: PathBuf,
}

impl Wheel {
    /// Builds; `Ok(None)` (after printing why) when maturin is missing ($MATURIN_BIN, else
    /// `.work/maturin/bin/maturin` as `scripts/install-maturin.sh` installs it).
    pub(super) fn build() -> Result<Option<Self>> {
        let maturin = std::env::var_os("MATURIN_BIN").map_or_else(
            || repo_root().join(".work/maturin/bin/maturin"),
            PathBuf::from,
        );
        if !maturin.is_file() {
            return skip(format!("maturin is not installed at {}", maturin.display()));
        }
        let dir = tempfile::Builder::new()
            .prefix("codex-otel-wheel-")
            .tempdir()?;
        // The test build's profile: cargo finds everything built, so nothing compiles again.
        let output = Command::new(&maturin)
            .args([
                "build",
                "--profile",
                "dev",
                "--compression-method",
                "stored",
            ])
            .arg("--out")
            .arg(dir.path())
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .output()?;
        ok(output, "maturin build")?;
        let wheels: Vec<PathBuf> = std::fs::read_dir(dir.path())?
            .map(|entry| Ok(entry?.path()))
            .collect::<Result<_>>()?;
        ensure!(wheels.len() == 1, "one wheel: {wheels:?}");
        let file = wheels[0].clone();
        Ok(Some(Wheel { dir, file }))
    }

    /// A fresh venv with the wheel installed (nothing fetched); returns the venv.
    pub(super) fn install(&self) -> Result<PathBuf> {
        let venv = self.dir.path().join("venv");
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .output()?;
        ok(made, "python3 -m venv")?;
        let installed = Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--no-index",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(&self.file)
            .output()?;
        ok(installed, "pip install <wheel>")?;
        Ok(venv)
    }
}
