//! Asymmetric memory fences: a free one for the hot side of a handshake, a
//! costly one for the rare side.
//!
//! Two handshakes in fcc are Dekker's: each side writes its flag and then
//! reads the other's, and one of them runs on every event.
//! - The bus: a publisher writes "I am delivering" and reads the routing
//!   table's pointer; a subscription change swaps the pointer and reads
//!   "delivering?" (`bus::readers`).
//! - A sink worker going to sleep writes "asleep" and looks at its queue
//!   once more; an emitter puts an event on the queue and reads "asleep?"
//!   (`internal::doorbell`).
//!
//! Each side needs a full fence between its write and its read, and a full
//! fence on every event would cost more than the rest of the work. Linux's
//! `membarrier` lets the rare side pay for both: [`heavy`] makes every
//! running thread of the process execute a full fence, so the hot side
//! needs only [`light`], a compiler fence (this is how liburcu and folly do
//! it).
//!
//! Where `membarrier` is unavailable (not Linux, or a sandbox that forbids
//! it) [`heavy`] returns false and the rare side takes a path that needs no
//! handshake (each user says which).

use std::sync::atomic::{compiler_fence, Ordering};

/// The publishing side's fence: orders its write before its read as seen
/// by a thread that has called [`heavy`].
#[inline(always)]
pub(crate) fn light() {
    compiler_fence(Ordering::SeqCst);
}

/// A full memory fence on every running thread of this process. False when
/// the system cannot do it (then nothing may rely on [`light`]).
pub(crate) fn heavy() -> bool {
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

    pub(crate) fn heavy() -> bool {
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
    pub(crate) fn heavy() -> bool {
        false
    }
}
