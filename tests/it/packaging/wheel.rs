//! The wheel's data: the Codex plugin it ships as links to the repository's files.

use super::repo_root;
use anyhow::Result;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every file under `dir`, relative to it.
fn files(dir: &Path) -> Result<BTreeSet<PathBuf>> {
    let mut found = BTreeSet::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(next) = dirs.pop() {
        for entry in std::fs::read_dir(&next)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.insert(path.strip_prefix(dir)?.to_path_buf());
            }
        }
    }
    Ok(found)
}

#[test]
fn the_wheel_links_every_file_of_the_plugin_and_its_marketplace() -> Result<()> {
    let root = repo_root();
    let shipped = root.join("python/data/data/share/codex-otel");
    for part in ["plugin", ".agents/plugins"] {
        let wanted = files(&root.join(part))?;
        assert_eq!(files(&shipped.join(part))?, wanted, "{part}");
        for file in wanted {
            let link = shipped.join(part).join(&file);
            let target = std::fs::canonicalize(&link)?;
            assert_eq!(target, std::fs::canonicalize(root.join(part).join(&file))?);
        }
    }
    Ok(())
}
