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
//! handshake (the doorbell), or both sides use the `_paired` fences, which
//! are then full fences on both sides (the bus).

use std::sync::atomic::{compiler_fence, fence, AtomicBool, Ordering};

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

/// Whether [`heavy`] works in this process, found out (once) by
/// [`init_paired`]. Until then, and where it does not, false.
static HEAVY_WORKS: AtomicBool = AtomicBool::new(false);

/// Finds out whether [`heavy`] works, for [`light_paired`] and
/// [`heavy_paired`]. Call it before any thread can run `light_paired` for
/// the handshake at hand (the bus calls it when it is made, before anyone
/// can publish on it).
pub(crate) fn init_paired() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| HEAVY_WORKS.store(imp::heavy(), Ordering::SeqCst));
}

/// The hot side's fence for a handshake that must hold everywhere: a
/// compiler fence where [`heavy`] works, a full fence where it does not.
#[inline(always)]
pub(crate) fn light_paired() {
    if HEAVY_WORKS.load(Ordering::Relaxed) {
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The rare side's fence, paired with [`light_paired`]: [`heavy`] where it
/// works, else a full fence on this thread (every hot side then runs one
/// too). False only if [`heavy`] worked and then stopped working (then
/// nothing may rely on the handshake).
pub(crate) fn heavy_paired() -> bool {
    // Once true, never false again: a hot side that read false ran a full
    // fence, which pairs with `heavy` as well.
    if HEAVY_WORKS.load(Ordering::Relaxed) {
        imp::heavy()
    } else {
        fence(Ordering::SeqCst);
        true
    }
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
