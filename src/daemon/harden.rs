//! Process hardening of the daemon: it holds credentials (API keys, authorization headers) in
//! memory, so it never leaves a core dump and other processes of the user cannot read its
//! memory through `/proc` or attach to it.

use std::io;

/// Turns core dumps off (`RLIMIT_CORE` 0, soft and hard) and makes the process non-dumpable
/// (`PR_SET_DUMPABLE` 0).
pub(crate) fn disable_core_dumps() -> io::Result<()> {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads the struct we pass; prctl with PR_SET_DUMPABLE takes integers.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_CORE, &none) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each test runs in its own process under nextest, so changing its limits is harmless.
    #[test]
    fn after_hardening_no_core_is_written_and_the_process_is_not_dumpable() {
        disable_core_dumps().unwrap();
        // SAFETY: zeroed rlimit is valid; getrlimit and prctl only read or return integers.
        let (limit, dumpable) = unsafe {
            let mut limit: libc::rlimit = std::mem::zeroed();
            assert_eq!(libc::getrlimit(libc::RLIMIT_CORE, &mut limit), 0);
            (limit, libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0))
        };
        assert_eq!((limit.rlim_cur, limit.rlim_max), (0, 0));
        assert_eq!(dumpable, 0);
    }
}
