//! [`Witness`]: what a tail remembers of the bytes it has read (the file's first and last few
//! KiB before the offset), so that when the path names a new file or the file shrinks it can
//! tell a copy of the same content (go on where it stopped), the same content cut short (wait
//! for it to come back) and different content (start over).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes kept at each end of what was read.
const WINDOW: u64 = 4096;

/// What a changed file is, compared with what was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It holds everything read so far: go on from the offset.
    Same,
    /// It is shorter than what was read but starts the same: wait until it is restored.
    CutShort,
    /// Its content differs: start over.
    Different,
}

/// The first and last bytes (up to [`WINDOW`] each) before the offset of the read part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Witness {
    head: Vec<u8>,
    tip_end: u64,
    tip: Vec<u8>,
}

impl Witness {
    /// Takes the witness of `file`'s first `offset` bytes.
    pub(crate) fn capture(file: &File, offset: u64) -> io::Result<Self> {
        let head = read_at(file, 0, offset.min(WINDOW))?;
        let tip_start = offset.saturating_sub(WINDOW);
        let tip = read_at(file, tip_start, offset - tip_start)?;
        Ok(Witness {
            head,
            tip_end: offset,
            tip,
        })
    }

    /// Compares `file` (now `len` bytes long) with what was read.
    pub(crate) fn judge(&self, file: &File, len: u64) -> io::Result<Verdict> {
        let head_len = (self.head.len() as u64).min(len);
        if read_at(file, 0, head_len)? != self.head[..head_len as usize] {
            return Ok(Verdict::Different);
        }
        if len < self.tip_end {
            return Ok(Verdict::CutShort);
        }
        let tip_start = self.tip_end - self.tip.len() as u64;
        match read_at(file, tip_start, self.tip.len() as u64)? == self.tip {
            true => Ok(Verdict::Same),
            false => Ok(Verdict::Different),
        }
    }
}

fn read_at(file: &File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; len as usize];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        let file = File::open(&path).unwrap();
        (dir, file)
    }

    fn long(seed: u8) -> Vec<u8> {
        (0..20_000u32)
            .map(|i| (i as u8).wrapping_mul(seed))
            .collect()
    }

    #[test]
    fn a_copy_with_more_appended_is_the_same() {
        let original = long(7);
        let (_d, file) = file_with(&original);
        let witness = Witness::capture(&file, 15_000).unwrap();
        let mut copy = original.clone();
        copy.extend_from_slice(b"more\n");
        let (_d2, copy) = file_with(&copy);
        assert_eq!(witness.judge(&copy, 20_005).unwrap(), Verdict::Same);
    }

    #[test]
    fn the_same_start_cut_short_waits_and_other_content_starts_over() {
        let original = long(7);
        let (_d, file) = file_with(&original);
        let witness = Witness::capture(&file, 15_000).unwrap();
        let (_d2, cut) = file_with(&original[..9_000]);
        assert_eq!(witness.judge(&cut, 9_000).unwrap(), Verdict::CutShort);
        let (_d3, empty) = file_with(b"");
        assert_eq!(witness.judge(&empty, 0).unwrap(), Verdict::CutShort);
        let (_d4, other) = file_with(&long(11));
        assert_eq!(witness.judge(&other, 20_000).unwrap(), Verdict::Different);
    }

    #[test]
    fn a_change_in_the_middle_of_the_read_part_near_its_end_is_different() {
        let original = long(7);
        let (_d, file) = file_with(&original);
        let witness = Witness::capture(&file, 15_000).unwrap();
        let mut edited = original.clone();
        edited[14_000] ^= 0xff;
        let (_d2, edited) = file_with(&edited);
        assert_eq!(witness.judge(&edited, 20_000).unwrap(), Verdict::Different);
    }
}
