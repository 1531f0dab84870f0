//! The global allocator, and the one setting the binary changes in it.
//!
//! mimalloc keeps freed pages for reuse: with glibc's allocator, tract's large per-inference
//! buffers went back to the kernel after every run, and a third of the time went to page faults
//! and zeroing fresh pages (see BENCHMARKS.md). mimalloc still returns ("purges") freed pages
//! to the kernel once they have been idle for a while (1 s by default), and an inference frees
//! and allocates hundreds of MB each time, so the kernel still zeroed fresh pages for 10–15 % of
//! the CPU (3,500 `madvise(MADV_DONTNEED)` calls on the 24-photo batch). [`keep_freed_pages`] turns
//! the purge off.
//!
//! mimalloc also asks the kernel for transparent huge pages (`MADV_HUGEPAGE` on its 1 GiB
//! arena). Where the system's memory is fragmented, as on a machine that has been up for a while,
//! each 2 MiB page the kernel has to assemble stalls the process in compaction: 4–6 s of system
//! time on the 24-photo batch, which then ran 25 % slower. [`no_transparent_huge_pages`] turns
//! them off for the process.

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

/// Turns transparent huge pages off for this process and the ffmpeg processes it starts
/// (`prctl(PR_SET_THP_DISABLE)`, inherited by children), unless the user set
/// `MIMALLOC_ALLOW_THP` (mimalloc's own switch for the same thing). Measured on a machine up for
/// 15 hours, alternating: the 24-photo batch 9.4–11.0 s with huge pages and 7.5–8.3 s without
/// (system time 3.7–6.1 s against 0.2–0.3 s), a 4-s 720p cut 14.8–15.5 s against 12.1–12.8 s,
/// and the 1080p clip's peak RSS 493 MiB against 450 MiB (BENCHMARKS.md, tenth session).
pub fn no_transparent_huge_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: sets one flag of this process; takes no pointers. An error (a kernel without the
    // option) leaves huge pages as they were, which is only slower.
    #[allow(unsafe_code)]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
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

    #[cfg(target_os = "linux")]
    #[test]
    fn transparent_huge_pages_are_off() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            no_transparent_huge_pages();
            #[allow(unsafe_code)]
            // SAFETY: a getter of this process's flag.
            let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
            assert_eq!(disabled, 1);
        }
    }
}
