//! Asymmetric memory fences: a free one for the publishing thread, a costly
//! one for the rare thread that reclaims routing tables.
//!
//! Reclaiming a table another thread has cached is Dekker's handshake: the
//! publisher writes "I am delivering" and then reads the cached table; the
//! reclaimer takes the table and then reads "delivering?". Each side needs a
//! full fence between its write and its read, and a full fence on every
//! publish would cost more than the whole delivery. Linux's `membarrier`
//! lets the reclaimer pay for both sides: [`heavy`] makes every running
//! thread of the process execute a full fence, so the publisher's side
//! needs only [`light`], a compiler fence (this is how liburcu and folly
//! do it).
//!
//! Where `membarrier` is unavailable (not Linux, or a sandbox that forbids
//! it) [`heavy`] returns false and the reclaimer does not free tables that
//! other threads hold: each thread frees a stale table itself at the end of
//! its next publish.

use std::sync::atomic::{compiler_fence, Ordering};

/// The publishing side's fence: orders its write before its read as seen
/// by a thread that has called [`heavy`].
#[inline(always)]
pub(super) fn light() {
    compiler_fence(Ordering::SeqCst);
}

/// A full memory fence on every running thread of this process. False when
/// the system cannot do it (then nothing may rely on [`light`]).
pub(super) fn heavy() -> bool {
    imp::heavy()
}

#[cfg(target_os = "linux")]
mod imp {
    use std::sync::OnceLock;

    // From <linux/membarrier.h>.
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    fn membarrier(cmd: libc::c_long) -> bool {
        // SAFETY: membarrier takes two integers and touches no memory of
        // ours; an unknown command or a forbidden call returns -1.
        unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0 as libc::c_long) == 0 }
    }

    pub(super) fn heavy() -> bool {
        // A process registers once (Linux 4.14+). A forked child that has
        // not registered fails the command: register and try again.
        static REGISTERED: OnceLock<bool> = OnceLock::new();
        if !*REGISTERED.get_or_init(|| membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)) {
            return false;
        }
        membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
            || (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
                && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED))
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn heavy() -> bool {
        false
    }
}
