//! Owner-only files and directories: how every location in the state directory is created or
//! checked before use, so another local user can neither read it nor redirect it.
//!
//! Rules ([`ensure_private_dir`], [`verify_private_file`]):
//! - A directory is created with mode 0700. One that exists must be a real directory (never
//!   followed through a symlink: it is checked with `lstat`) owned by this user; if its mode
//!   lets others in, it is tightened to 0700. Anything else is refused with a
//!   [`PrivacyError`] (as an `io::Error` of kind `PermissionDenied`).
//! - A file is opened with `O_NOFOLLOW` and then checked on its descriptor: a regular file
//!   owned by this user; a looser mode is tightened to 0600.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a location in the state directory was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivacyError {
    /// The path is a symbolic link; it is never followed.
    #[error("{0} is a symbolic link; refusing to follow it")]
    Symlink(PathBuf),
    /// The path is not a directory (or not a regular file) as expected.
    #[error("{0} is not a {1}")]
    WrongType(PathBuf, &'static str),
    /// Another user owns the path.
    #[error("{path} belongs to uid {owner}, not to this user (uid {me}); refusing to use it")]
    ForeignOwner {
        /// The refused path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's user.
        me: u32,
    },
}

impl From<PrivacyError> for io::Error {
    fn from(error: PrivacyError) -> Self {
        io::Error::new(io::ErrorKind::PermissionDenied, error)
    }
}

/// This process's effective user id.
pub fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Creates `dir` (parents with default modes) as 0700, or checks that the existing `dir` is
/// a directory of this user, not a symlink, and tightens its mode (see the module docs).
pub(crate) fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        if fs::symlink_metadata(parent).is_err() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(error) if error.kind() != io::ErrorKind::AlreadyExists => return Err(error),
        _ => {}
    }
    let meta = fs::symlink_metadata(dir)?;
    check_owned(dir, &meta, "directory")?;
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Checks a freshly opened file (opened with `O_NOFOLLOW`): a regular file of this user;
/// tightens a looser mode to 0600.
pub fn verify_private_file(path: &Path, file: &fs::File) -> io::Result<()> {
    let meta = file.metadata()?;
    check_owned(path, &meta, "regular file")?;
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Why `dir` cannot be used as a private directory, without changing anything; `None` when
/// it is one (or does not exist yet and would be created private). For `doctor`.
pub fn private_dir_problem(dir: &Path) -> Option<String> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
        Err(error) => return Some(format!("{}: {error}", dir.display())),
    };
    if let Err(error) = check_owned(dir, &meta, "directory") {
        return Some(error.to_string());
    }
    (meta.mode() & 0o077 != 0).then(|| {
        format!(
            "{} has mode {:o}: other users can enter it (it is tightened to 700 on next use)",
            dir.display(),
            meta.mode() & 0o777
        )
    })
}

fn check_owned(path: &Path, meta: &fs::Metadata, kind: &'static str) -> Result<(), PrivacyError> {
    if meta.file_type().is_symlink() {
        return Err(PrivacyError::Symlink(path.to_owned()));
    }
    let right_type = match kind {
        "directory" => meta.is_dir(),
        _ => meta.is_file(),
    };
    if !right_type {
        return Err(PrivacyError::WrongType(path.to_owned(), kind));
    }
    let me = current_uid();
    if meta.uid() != me {
        return Err(PrivacyError::ForeignOwner {
            path: path.to_owned(),
            owner: meta.uid(),
            me,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn a_new_directory_is_created_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("a/b/state");
        ensure_private_dir(&state).unwrap();
        assert_eq!(mode(&state), 0o700);
    }

    #[test]
    fn an_existing_world_writable_directory_of_ours_is_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        fs::create_dir(&state).unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(private_dir_problem(&state).is_some());
        ensure_private_dir(&state).unwrap();
        assert_eq!(mode(&state), 0o700);
        assert_eq!(private_dir_problem(&state), None);
    }

    #[test]
    fn a_symlinked_directory_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o755)).unwrap();
        let link = dir.path().join("journal");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        let error = ensure_private_dir(&link).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied, "{error}");
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(mode(&elsewhere), 0o755, "the link target was not touched");
        assert!(private_dir_problem(&link).is_some());
    }

    #[test]
    fn a_loose_file_of_ours_is_tightened_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.ndjson");
        fs::write(&path, b"").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        let file = fs::OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .unwrap();
        verify_private_file(&path, &file).unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
