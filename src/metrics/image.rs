//! Which addresses hold bytes that can never change: the read-only parts of
//! the program's own image (string literals, promoted constants such as
//! `&[("service", "api")]`, `metrics`' static keys).
//!
//! The thread cache uses this to recognise a static label set by its
//! address alone. A pointer is never trusted by itself (a reused buffer
//! with new content is a new label set), but two equal pointers into
//! memory that cannot be written, with equal lengths, are the same bytes.
//! Everything else is still compared byte for byte.
//!
//! "Read-only" here is the main program's `PT_LOAD` segments without write
//! permission and its `PT_GNU_RELRO` range (made read-only by the dynamic
//! loader before `main`; with PIE, constant arrays of `&str` live there).
//! The main program is never unloaded, so these ranges hold for the life of
//! the process. A shared object loaded later (which `dlclose` could unmap)
//! is left out, and so is every platform other than 64-bit Linux: their
//! strings just take the exact compare.

use std::sync::OnceLock;

/// The main program's read-only ranges, `[start, end)`.
fn ranges() -> &'static [(usize, usize)] {
    static RANGES: OnceLock<Vec<(usize, usize)>> = OnceLock::new();
    RANGES.get_or_init(read_only_ranges)
}

/// Whether `len` bytes at `ptr` lie in the program's read-only image
/// (nothing can ever write them). An empty range always does: no bytes to
/// change.
#[inline]
pub(crate) fn immutable(ptr: *const u8, len: usize) -> bool {
    if len == 0 {
        return true;
    }
    let start = ptr as usize;
    let Some(end) = start.checked_add(len) else {
        return false;
    };
    ranges().iter().any(|&(s, e)| s <= start && end <= e)
}

/// Whether a string's bytes are in the read-only image.
#[inline]
pub(crate) fn immutable_str(s: &str) -> bool {
    immutable(s.as_ptr(), s.len())
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn read_only_ranges() -> Vec<(usize, usize)> {
    use std::ffi::{c_int, c_void};

    unsafe extern "C" fn first_object(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: `dl_iterate_phdr` passes a valid `dl_phdr_info` whose
        // `dlpi_phdr` points to `dlpi_phnum` program headers, for the
        // duration of this call; `data` is the `Vec` passed below, borrowed
        // mutably by nothing else while the iteration runs.
        let (info, out) = unsafe { (&*info, &mut *data.cast::<Vec<(usize, usize)>>()) };
        let headers: &[libc::Elf64_Phdr] = if info.dlpi_phdr.is_null() {
            &[]
        } else {
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
        };
        let base = info.dlpi_addr as usize;
        for h in headers {
            let read_only = (h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_W == 0)
                || h.p_type == libc::PT_GNU_RELRO;
            if read_only && h.p_memsz > 0 {
                let start = base.wrapping_add(h.p_vaddr as usize);
                out.push((start, start.saturating_add(h.p_memsz as usize)));
            }
        }
        // The first object is the main program: stop there.
        1
    }

    let mut out: Vec<(usize, usize)> = Vec::new();
    // SAFETY: the callback only reads what the loader hands it and writes
    // into `out`, which outlives the call.
    unsafe {
        libc::dl_iterate_phdr(
            Some(first_object),
            std::ptr::from_mut(&mut out).cast::<c_void>(),
        );
    }
    out
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn read_only_ranges() -> Vec<(usize, usize)> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::{immutable, immutable_str};

    static LITERALS: [(&str, &str); 2] = [("service", "api"), ("route", "/orders")];

    #[test]
    fn literals_are_immutable_and_the_heap_and_stack_are_not() {
        if !cfg!(all(target_os = "linux", target_pointer_width = "64")) {
            return;
        }
        assert!(immutable_str("a string literal"));
        assert!(LITERALS
            .iter()
            .all(|(k, v)| immutable_str(k) && immutable_str(v)));
        let promoted: &'static [(&str, &str)] = &[("k", "v")];
        assert!(immutable(
            promoted.as_ptr().cast(),
            std::mem::size_of_val(promoted)
        ));
        let heap = String::from("on the heap");
        assert!(!immutable_str(&heap));
        let stack = *b"on the stack";
        assert!(!immutable(stack.as_ptr(), stack.len()));
        let mut writable = 0u64;
        writable += 1;
        assert!(!immutable(std::ptr::from_ref(&writable).cast(), 8));
        assert!(immutable_str(""));
        assert!(!immutable(usize::MAX as *const u8, 2));
    }
}
