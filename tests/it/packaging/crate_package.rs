//! `cargo package`: what crates.io would get.

use super::{ok, repo_root};
use anyhow::Result;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};

#[test]
fn cargo_package_ships_the_code_and_the_plugin_and_its_metadata_passes() -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cargo = |args: &[&str]| -> Result<String> {
        let output = Command::new(&cargo)
            .args(args)
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .output()?;
        ok(output, &format!("cargo {args:?}"))
    };
    let listed = cargo(&["package", "--list", "--allow-dirty", "--locked"])?;
    let files: BTreeSet<&str> = listed.lines().collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "src/main.rs",
        "src/bin/codex-otel-hook.rs",
        "plugin/bin/codex-otel-hook",
        "plugin/hooks/hooks.json",
    ] {
        assert!(files.contains(needed), "{needed} not packaged: {listed}");
    }
    let stray: Vec<&&str> = files
        .iter()
        .filter(|f| {
            ["tests/", "benches/", "npm/", ".ci/", ".work"]
                .iter()
                .any(|p| f.starts_with(p))
        })
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    // Metadata and dependencies (none by path only); compiling it again is `make test`'s
    // `cargo package` step, outside this suite.
    cargo(&["package", "--no-verify", "--allow-dirty", "--locked"])?;
    Ok(())
}
