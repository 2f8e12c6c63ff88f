//! "Recorded after shutdown": the most common mistake with an fcc set-up is
//! `let _ = fcc::init()`, which drops the guard at once. The set-up marks
//! here when its installed pipeline shut down; the first span or event
//! recorded after that says so on stderr, once.

use std::sync::atomic::{AtomicBool, Ordering};

static FIRED: AtomicBool = AtomicBool::new(false);
static WARNED: AtomicBool = AtomicBool::new(false);

/// A new installed set-up starts quiet.
pub(crate) fn rearm() {
    FIRED.store(false, Ordering::Release);
    WARNED.store(false, Ordering::Release);
}

/// The installed set-up shut down.
pub(crate) fn fire() {
    FIRED.store(true, Ordering::Release);
}

/// Whether an installed set-up has shut down (one relaxed load).
#[inline]
pub(crate) fn fired() -> bool {
    FIRED.load(Ordering::Relaxed)
}

/// Prints the warning, the first time only.
pub(crate) fn warn() {
    if !WARNED.swap(true, Ordering::AcqRel) {
        super::diagnostics::warn(
            "a span or event was recorded after telemetry shut down, and is lost: \
             the Telemetry guard was dropped. Keep it for the life of the program: \
             `let _guard = fcc::init()?;` (not `let _ = fcc::init()`)",
        );
    }
}
