//! The global allocator, and the one setting the binary changes in it.
//!
//! mimalloc keeps freed pages for reuse: with glibc's allocator, tract's large per-inference
//! buffers went back to the kernel after every run, and a third of the time went to page faults
//! and zeroing fresh pages (see BENCHMARKS.md). mimalloc still returns ("purges") freed pages
//! to the kernel once they have been idle for a while (1 s by default), and an inference frees
//! and allocates hundreds of MB each time, so the kernel still zeroed fresh pages for 10–15 % of
//! the CPU (3,500 `madvise(MADV_DONTNEED)` calls on the 24-photo batch). [`keep_freed_pages`] turns
//! the purge off.

use std::ffi::c_long;

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`'s place in mimalloc 3's `mi_option_e` (libmimalloc-sys names no
/// constant for it; checked against `MIMALLOC_PURGE_DELAY`, which sets this entry). Only used
/// when the linked mimalloc is version 3 and the entry holds the default below, so a different
/// order in another release changes nothing.
const PURGE_DELAY: mi_option_t = 15;
/// mimalloc 3's default purge delay, in milliseconds (`src/options.c`).
const PURGE_DELAY_DEFAULT: c_long = 1000;

/// Tells mimalloc never to return freed pages to the kernel (`purge_delay = -1`), unless the
/// user set `MIMALLOC_PURGE_DELAY` (README: `MIMALLOC_PURGE_DELAY=0` trades time for a lower
/// peak). Freed pages are reused, so the peak RSS grows only a little (+50 MiB on the photo
/// batch, +4 MiB on 1080p video); the photo batch and the video clips run 7–12 % faster
/// (BENCHMARKS.md).
pub fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() || !is_mimalloc_3() {
        return;
    }
    // SAFETY: plain getters and setters of mimalloc's option table, which takes any option
    // index below its last and any value; called before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        if mi_option_get(PURGE_DELAY) == PURGE_DELAY_DEFAULT {
            mi_option_set(PURGE_DELAY, -1);
        }
    }
}

fn is_mimalloc_3() -> bool {
    // SAFETY: returns a constant.
    #[allow(unsafe_code)]
    let version = unsafe { libmimalloc_sys::mi_version() };
    version / 10000 == 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_pages_are_kept_with_the_linked_mimalloc() {
        // If mimalloc is upgraded to a major release with another option order, this fails and
        // PURGE_DELAY must be checked against that release's mimalloc.h.
        assert!(is_mimalloc_3());
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            keep_freed_pages();
            #[allow(unsafe_code)]
            // SAFETY: a getter.
            let delay = unsafe { mi_option_get(PURGE_DELAY) };
            assert_eq!(delay, -1);
        }
    }
}
