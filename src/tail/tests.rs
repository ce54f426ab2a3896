//! Tests of [`super`].

use super::*;
use proptest::prelude::*;
use std::io::{Cursor, Write};

fn limits(max_lines: usize, max_bytes: usize, max_line_bytes: usize) -> Limits {
    Limits {
        max_lines,
        max_bytes,
        max_line_bytes,
    }
}

fn stream(tail: &mut LineTail, data: &[u8], end: StreamEnd) -> Batch {
    tail.read_stream(Cursor::new(data), end).unwrap()
}

fn texts(batch: &Batch) -> Vec<String> {
    let lines = batch.items.iter().map(|(_, l)| l.as_slice());
    lines
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect()
}

/// Appends `bytes` to the file at `path` (created if missing), as a writer of a tailed file.
pub(crate) fn append(path: &Path, bytes: &[u8]) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(bytes).unwrap();
}

/// Yields at most `step` bytes per read, to cross chunk boundaries everywhere.
struct Trickle<R>(R, usize);

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.1);
        self.0.read(&mut buf[..n])
    }
}

#[test]
fn complete_lines_come_with_the_offset_after_each() {
    let mut tail = LineTail::new(0, Limits::default());
    let batch = stream(&mut tail, b"a\nbc\n", StreamEnd::Growing);
    assert_eq!(batch.items, vec![(2, b"a".to_vec()), (5, b"bc".to_vec())]);
    assert_eq!((batch.offset, batch.more), (5, false));
}

#[test]
fn a_partial_last_line_is_held_back_until_completed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.ndjson");
    append(&path, b"one\ntw");
    let mut tail = LineTail::new(0, Limits::default());
    assert_eq!(texts(&tail.read_file(&path).unwrap()), ["one"]);
    assert_eq!(tail.offset(), 4);
    assert!(tail.read_file(&path).unwrap().items.is_empty());
    append(&path, b"o\n");
    let batch = tail.read_file(&path).unwrap();
    assert_eq!(batch.items, vec![(8, b"two".to_vec())]);
}

#[test]
fn a_complete_stream_ends_its_last_line_without_a_newline() {
    let mut tail = LineTail::new(0, Limits::default());
    let batch = stream(&mut tail, b"a\nb", StreamEnd::Complete);
    assert_eq!(texts(&batch), ["a", "b"]);
    assert_eq!(batch.offset, 3);
}

#[test]
fn batches_stop_at_the_line_and_byte_limits_and_resume() {
    let data = b"1\n22\n333\n4444\n";
    let mut tail = LineTail::new(0, limits(2, 1 << 20, 100));
    let first = stream(&mut tail, data, StreamEnd::Growing);
    assert_eq!(
        (texts(&first), first.more),
        (vec!["1".into(), "22".into()], true)
    );
    let mut tail = LineTail::new(first.offset, limits(100, 4, 100));
    let second = stream(&mut tail, data, StreamEnd::Growing);
    assert_eq!(texts(&second), ["333"]);
    assert!(second.more);
    let third = stream(&mut tail, data, StreamEnd::Growing);
    assert_eq!(texts(&third), ["4444"]);
    let last = stream(&mut tail, data, StreamEnd::Growing);
    assert_eq!((last.items.len(), last.more, last.offset), (0, false, 14));
}

#[test]
fn an_overlong_line_is_skipped_and_counted_not_buffered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.ndjson");
    let mut tail = LineTail::new(0, limits(100, 1 << 20, 4));
    append(&path, b"ok\n0123456789");
    let batch = tail.read_file(&path).unwrap();
    assert_eq!((texts(&batch), batch.overlong), (vec!["ok".into()], 0));
    append(&path, b"abcdef");
    assert_eq!(tail.read_file(&path).unwrap().overlong, 0);
    append(&path, b"xyz\nfine\n");
    let batch = tail.read_file(&path).unwrap();
    assert_eq!((texts(&batch), batch.overlong), (vec!["fine".into()], 1));
    assert_eq!(batch.offset, std::fs::metadata(&path).unwrap().len());
}

#[test]
fn devices_fifos_directories_and_symlinks_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let fifo_name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(fifo_name.as_ptr(), 0o600) }, 0);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
    for path in [Path::new("/dev/zero"), &fifo, dir.path(), &link] {
        let mut tail = LineTail::new(0, Limits::default());
        let result = tail.read_file(path);
        assert!(
            matches!(result, Err(Error::Open { .. })),
            "{path:?}: {result:?}"
        );
    }
}

#[test]
fn a_missing_file_has_no_lines_yet() {
    let dir = tempfile::tempdir().unwrap();
    let mut tail = LineTail::new(0, Limits::default());
    let batch = tail.read_file(&dir.path().join("absent")).unwrap();
    assert!(batch.missing && batch.items.is_empty() && batch.reset.is_none());
}

#[test]
fn a_truncated_file_is_reported_and_read_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.ndjson");
    append(&path, b"first line\nsecond\n");
    let mut tail = LineTail::new(0, Limits::default());
    assert_eq!(tail.read_file(&path).unwrap().items.len(), 2);
    std::fs::write(&path, b"new\n").unwrap();
    let batch = tail.read_file(&path).unwrap();
    assert_eq!(batch.reset, Some(Reset::Shrunk { read: 18, len: 4 }));
    assert_eq!(texts(&batch), ["new"]);
}

#[test]
fn a_replaced_file_is_reported_and_read_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.ndjson");
    append(&path, b"old\n");
    let mut tail = LineTail::new(0, Limits::default());
    tail.read_file(&path).unwrap();
    let other = dir.path().join("g.ndjson");
    append(&other, b"new line\nmore\n");
    std::fs::rename(&other, &path).unwrap();
    let batch = tail.read_file(&path).unwrap();
    assert_eq!(batch.reset, Some(Reset::Replaced));
    assert_eq!(texts(&batch), ["new line", "more"]);
}

#[test]
fn a_copy_of_the_file_put_in_its_place_is_read_on_not_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.ndjson");
    append(&path, b"one\ntwo\n");
    let mut tail = LineTail::new(0, Limits::default());
    assert_eq!(tail.read_file(&path).unwrap().items.len(), 2);
    let copy = dir.path().join("copy.ndjson");
    std::fs::copy(&path, &copy).unwrap();
    append(&copy, b"three\n");
    std::fs::rename(&copy, &path).unwrap();
    let batch = tail.read_file(&path).unwrap();
    assert_eq!((batch.reset, batch.kept), (None, Some(Kept::Copied)));
    assert_eq!(texts(&batch), ["three"]);
}

#[test]
fn a_file_cut_short_waits_and_once_restored_is_read_on_not_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.ndjson");
    append(&path, b"one\ntwo\n");
    let mut tail = LineTail::new(0, Limits::default());
    tail.read_file(&path).unwrap();
    std::fs::write(&path, b"one\n").unwrap();
    let cut = tail.read_file(&path).unwrap();
    assert_eq!(cut.kept, Some(Kept::CutShort { read: 8, len: 4 }));
    assert!(cut.items.is_empty() && cut.reset.is_none());
    std::fs::write(&path, b"one\ntwo\nthree\n").unwrap();
    let restored = tail.read_file(&path).unwrap();
    assert_eq!(texts(&restored), ["three"]);
    assert_eq!(restored.reset, None);
}

#[test]
fn a_stream_shorter_than_the_offset_is_reported_as_shrunk() {
    let mut tail = LineTail::new(10, Limits::default());
    let batch = stream(&mut tail, b"ab\n", StreamEnd::Complete);
    assert_eq!(batch.reset, Some(Reset::Shrunk { read: 10, len: 3 }));
    assert_eq!(tail.offset(), 0);
}

#[test]
fn parse_counts_rejected_lines_and_drops_blank_ones() {
    let mut tail = LineTail::new(0, Limits::default());
    let batch = stream(&mut tail, b"1\n\nx\n  \n3\n", StreamEnd::Growing);
    let parsed = batch.parse(|l| std::str::from_utf8(l).ok()?.parse::<u32>().ok());
    assert_eq!(parsed.items, vec![(2, 1), (10, 3)]);
    assert_eq!(parsed.invalid, 1);
}

/// Lines (no `\n` inside), cut points for appending their concatenation in chunks, a
/// read size and a line-length limit.
fn chunked_lines() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<usize>, usize, usize)> {
    let byte = any::<u8>().prop_filter("no newline", |b| *b != b'\n');
    let line = proptest::collection::vec(byte, 0..12);
    (
        proptest::collection::vec(line, 0..8),
        proptest::collection::vec(0usize..40, 0..6),
        1usize..7,
        1usize..14,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn any_chunking_of_appends_yields_the_same_lines(
        (lines, cuts, step, max_line) in chunked_lines()
    ) {
        let data: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
        let mut ends: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        ends.sort_unstable();
        ends.push(data.len());
        let mut tail = LineTail::new(0, limits(3, 1 << 20, max_line));
        let (mut got, mut overlong) = (Vec::new(), 0);
        for end in ends {
            loop {
                let visible = Trickle(Cursor::new(&data[..end]), step);
                let batch = tail.read_stream(visible, StreamEnd::Growing).unwrap();
                prop_assert!(batch.reset.is_none());
                got.extend(batch.items);
                overlong += batch.overlong;
                if !batch.more { break; }
            }
        }
        let mut offset = 0;
        let mut expected = Vec::new();
        for line in &lines {
            offset += line.len() as u64 + 1;
            if line.len() <= max_line {
                expected.push((offset, line.clone()));
            }
        }
        prop_assert_eq!(overlong as usize, lines.len() - expected.len());
        prop_assert_eq!(got, expected);
        prop_assert_eq!(tail.offset(), data.len() as u64);
    }
}
