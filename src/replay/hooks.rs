//! Where a replay's hook events come from: events already in memory, or recorded files that
//! are read again for each session, one line at a time, so a long recording is never held in
//! memory whole (a 10,000-turn session's hooks took 55 MB once parsed).

use super::{recorded_hook, RecordedHook, ReplayError};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

/// The hook events of a replay.
#[derive(Debug, Clone, Copy)]
pub enum HookSource<'a> {
    /// Events already read.
    Events(&'a [RecordedHook]),
    /// Recorded files (one event per line, see [`super::read_hooks`]), in order.
    Files(&'a [PathBuf]),
}

impl HookSource<'_> {
    /// The sessions the events belong to, each once, in the order first seen.
    pub(crate) fn sessions(&self) -> Result<Vec<String>, ReplayError> {
        let mut ids: Vec<String> = Vec::new();
        self.each(|hook| {
            let id = &hook.event.common.session_id;
            if !ids.contains(id) {
                ids.push(id.clone());
            }
            Ok::<(), ReplayError>(())
        })?;
        Ok(ids)
    }

    /// Calls `each` with every event of `session`, in order.
    pub(crate) fn each_of<E: From<ReplayError>>(
        &self,
        session: &str,
        mut each: impl FnMut(&RecordedHook) -> Result<(), E>,
    ) -> Result<(), E> {
        self.each(|hook| match hook.event.common.session_id == session {
            true => each(hook),
            false => Ok(()),
        })
    }

    fn each<E: From<ReplayError>>(
        &self,
        mut each: impl FnMut(&RecordedHook) -> Result<(), E>,
    ) -> Result<(), E> {
        let files = match self {
            HookSource::Events(events) => return events.iter().try_for_each(each),
            HookSource::Files(files) => files,
        };
        for path in files.iter() {
            let failed = |source| ReplayError::ReadHooks {
                path: path.clone(),
                source,
            };
            let file = std::fs::File::open(path).map_err(failed)?;
            for line in BufReader::new(file).split(b'\n') {
                if let Some(hook) = recorded_hook(&line.map_err(failed)?) {
                    each(&hook)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHELL: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/codex-0.169/shell/hooks.ndjson"
    );

    #[test]
    fn files_give_the_same_events_as_memory_session_by_session() {
        let files = [PathBuf::from(SHELL)];
        let events = super::super::read_hooks(&files).unwrap();
        let from_files = HookSource::Files(&files);
        let from_memory = HookSource::Events(&events);
        let sessions = from_files.sessions().unwrap();
        assert_eq!(sessions, from_memory.sessions().unwrap());
        assert_eq!(sessions.len(), 1);
        let names = |source: HookSource<'_>| {
            let mut names = Vec::new();
            source
                .each_of(&sessions[0], |hook| {
                    names.push(hook.event.name().to_owned());
                    Ok::<(), ReplayError>(())
                })
                .unwrap();
            names
        };
        assert_eq!(names(from_files), names(from_memory));
        assert_eq!(names(from_files).len(), events.len());
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let files = [PathBuf::from("/nonexistent/hooks.ndjson")];
        let error = HookSource::Files(&files).sessions().unwrap_err();
        assert!(error.to_string().contains("hooks.ndjson"), "{error}");
    }
}
