//! Memory admission for batches: a file starts only while the memory the files in flight are
//! estimated to need stays within a budget.
//!
//! Without it, `-j` files run at once whatever their size: on an 8 GB laptop with 8 cores, a
//! folder of 4K phone clips (about 1.9 GiB each, unseen and its ffmpeg processes together) would
//! get the process killed by the kernel's out-of-memory killer, and the whole batch with it.
//! With it, large files run fewer at a time and small ones as many as `-j` allows. One file
//! always runs, whatever its estimate (a file larger than the budget runs alone).
//!
//! The estimates ([`estimate_image`], [`estimate_video`]) are what one more file adds to the
//! process tree's peak, measured on the release build (BENCHMARKS.md, "Memory admission") and
//! rounded up. The default budget ([`default_budget`]) is three quarters of the memory
//! available when the batch starts (`MemAvailable`, or the room left under a cgroup v1 or v2
//! memory limit such as a container's, whichever is smaller).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

const MIB: u64 = 1 << 20;

/// What one more still image adds to the peak memory of the process, in bytes, for an image of
/// `pixels` pixels: 280 MiB (the detector's tensors and the image's copies at photo size) plus
/// 12 bytes a pixel. Measured with tract, peak RSS less that of a run on a 1×1 image (63 MiB): a
/// 12 MP photo adds about 376 MiB, a 48 MP one 807, a 108 MP one 1,252. `extras` (`--text`,
/// `--people`) adds 200 MiB for their detectors' tensors.
#[must_use]
pub fn estimate_image(pixels: u64, extras: bool) -> u64 {
    280 * MIB + 12 * pixels + if extras { 200 * MIB } else { 0 }
}

/// What one more video adds to the peak memory of the process tree (unseen and its ffmpeg
/// decoder, encoder and checks), in bytes, for frames of `frame_pixels` pixels: 370 MiB plus
/// 190 bytes a pixel of one frame. Measured with tract, the tree's peak RSS less 63 MiB: 1080p
/// adds about 736 MiB (unseen 414, ffmpeg 387 at their peaks), 4K 1,834 (744 and 1,153): the
/// lookahead of frames, the decoder's frame threads, x264's. `extras` as in
/// [`estimate_image`].
#[must_use]
pub fn estimate_video(frame_pixels: u64, extras: bool) -> u64 {
    370 * MIB + 190 * frame_pixels + if extras { 200 * MIB } else { 0 }
}

/// The budget for files in flight when the user set none: three quarters of [`available`]
/// memory, or no limit when it cannot be read (not Linux).
#[must_use]
pub fn default_budget() -> u64 {
    available().map_or(u64::MAX, |a| a / 4 * 3)
}

/// Memory available to this process now, in bytes: `MemAvailable` of `/proc/meminfo`, or less
/// when a memory cgroup that holds the process has less room left under its limit (cgroup v2
/// `memory.max` − `memory.current`, v1 `memory.limit_in_bytes` − `memory.usage_in_bytes`: a
/// container's limit). `None` when none of them can be read.
#[must_use]
pub fn available() -> Option<u64> {
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let mut rooms: Vec<u64> = read(Path::new("/proc/meminfo")).and_then(|s| mem_available(&s)).into_iter().collect();
    let cgroups = read(Path::new("/proc/self/cgroup")).unwrap_or_default();
    for (limit, usage) in cgroup_files(&cgroups) {
        if let (Some(l), Some(u)) = (read(&limit), read(&usage)) {
            rooms.extend(cgroup_room(&l, &u));
        }
    }
    rooms.into_iter().min()
}

/// `MemAvailable` from the text of `/proc/meminfo`, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The (limit, usage) files of the memory cgroups that hold this process, from the text of
/// `/proc/self/cgroup`: its own cgroup v2 and v1 memory folders, and the roots of both mounts
/// (what a container sees of its own limit). Files that do not exist are skipped by the caller.
fn cgroup_files(cgroup: &str) -> Vec<(PathBuf, PathBuf)> {
    let root = Path::new("/sys/fs/cgroup");
    let v2 = |dir: PathBuf| (dir.join("memory.max"), dir.join("memory.current"));
    let v1 = |dir: PathBuf| (dir.join("memory.limit_in_bytes"), dir.join("memory.usage_in_bytes"));
    let mut out = vec![v2(root.to_path_buf()), v1(root.join("memory"))];
    for line in cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let path = path.trim_start_matches('/');
        if path.is_empty() {
            continue; // the root: already there
        }
        if controllers.is_empty() {
            out.push(v2(root.join(path)));
        } else if controllers.split(',').any(|c| c == "memory") {
            out.push(v1(root.join("memory").join(path)));
        }
    }
    out
}

/// Room left under a cgroup memory limit, from its limit (`max` when unlimited, in v2) and
/// usage files.
fn cgroup_room(limit: &str, usage: &str) -> Option<u64> {
    let limit: u64 = limit.trim().parse().ok()?; // "max": no limit
    let usage: u64 = usage.trim().parse().ok()?;
    Some(limit.saturating_sub(usage))
}

/// Shared by the workers of a batch (and the clones of a [`crate::Pipeline`]): how much of the
/// budget the files in flight hold.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    used: u64,
    leases: usize,
    peak_leases: usize,
    waited: u64,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    #[must_use]
    pub fn new(limit: u64) -> MemoryBudget {
        MemoryBudget { limit, state: Mutex::default(), freed: Condvar::new() }
    }

    /// The budget, in bytes.
    #[must_use]
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Waits until `bytes` fit beside what the files in flight hold (or nothing is in flight)
    /// and holds them until the lease is dropped. `None` when `stop` was set while waiting (the
    /// caller then gives up the file).
    pub fn acquire(&self, bytes: u64, stop: &AtomicBool) -> Option<Lease<'_>> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut waited = false;
        while s.leases > 0 && s.used.saturating_add(bytes) > self.limit {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            waited = true;
            // a timeout, so a stop is seen even when no file finishes
            s = self.freed.wait_timeout(s, Duration::from_millis(100)).unwrap_or_else(PoisonError::into_inner).0;
        }
        s.used = s.used.saturating_add(bytes);
        s.leases += 1;
        s.peak_leases = s.peak_leases.max(s.leases);
        s.waited += u64::from(waited);
        Some(Lease { budget: self, bytes })
    }

    /// The most files that held a lease at once so far.
    #[must_use]
    pub fn peak_leases(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).peak_leases
    }

    /// How many files had to wait for memory so far.
    #[must_use]
    pub fn waited(&self) -> u64 {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).waited
    }
}

/// Memory held for one file in flight; given back when dropped.
#[derive(Debug)]
pub struct Lease<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut s = self.budget.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.used = s.used.saturating_sub(self.bytes);
        s.leases -= 1;
        drop(s);
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn a_file_that_does_not_fit_waits_until_memory_is_given_back() {
        let budget = MemoryBudget::new(100);
        let stop = AtomicBool::new(false);
        let first = budget.acquire(60, &stop).expect("nothing in flight");
        let (tx, rx) = channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let lease = budget.acquire(60, &stop);
                tx.send(lease.is_some()).unwrap();
            });
            assert!(rx.recv_timeout(Duration::from_millis(400)).is_err(), "60 + 60 > 100 must wait");
            drop(first);
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(true), "admitted once the first is done");
        });
        assert_eq!(budget.peak_leases(), 1);
        assert_eq!(budget.waited(), 1);
    }

    #[test]
    fn files_that_fit_run_together_and_a_large_one_runs_alone() {
        let budget = MemoryBudget::new(100);
        let stop = AtomicBool::new(false);
        let a = budget.acquire(40, &stop).unwrap();
        let b = budget.acquire(40, &stop).unwrap();
        assert_eq!(budget.peak_leases(), 2);
        drop((a, b));
        // larger than the whole budget: admitted when nothing else is in flight
        let big = budget.acquire(1_000, &stop).unwrap();
        drop(big);
        assert_eq!(budget.waited(), 0);
        let _c = budget.acquire(100, &stop).unwrap();
    }

    #[test]
    fn a_stop_ends_the_wait_without_a_lease() {
        let budget = MemoryBudget::new(100);
        let stop = AtomicBool::new(false);
        let _held = budget.acquire(100, &stop).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| budget.acquire(1, &stop).is_none());
            std::thread::sleep(Duration::from_millis(150));
            stop.store(true, Ordering::Relaxed);
            assert!(waiter.join().unwrap(), "a stop while waiting gives no lease");
        });
    }

    #[test]
    fn estimates_grow_with_the_picture_and_cover_the_measured_peaks() {
        // measured additions (BENCHMARKS.md, "Memory admission"): 1080p video 736 MiB, 4K 1,834;
        // photos of 12 MP 376 MiB, 48 MP 807, 108 MP 1,252
        assert!(estimate_video(1920 * 1080, false) >= 736 * MIB);
        assert!(estimate_video(3840 * 2160, false) >= 1834 * MIB);
        assert!(estimate_image(4000 * 3000, false) >= 376 * MIB);
        assert!(estimate_image(8000 * 6000, false) >= 807 * MIB);
        assert!(estimate_image(12_000 * 9_000, false) >= 1252 * MIB);
        // and not so far above that a small machine runs one file at a time for nothing
        assert!(estimate_video(1920 * 1080, false) < 900 * MIB);
        assert!(estimate_image(4000 * 3000, false) < 500 * MIB);
        assert!(estimate_image(100, true) > estimate_image(100, false));
    }

    #[test]
    fn reads_available_memory_and_cgroup_room() {
        let meminfo = "MemTotal:       24684000 kB\nMemFree:        21000000 kB\nMemAvailable:   23000000 kB\n";
        assert_eq!(mem_available(meminfo), Some(23_000_000 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
        let files = cgroup_files("4:memory:/process_api/abc\n1:cpu:/\n0::/user.slice/ci.scope\n");
        let names: Vec<String> = files.iter().map(|(l, _)| l.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "/sys/fs/cgroup/memory.max",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes",
                "/sys/fs/cgroup/user.slice/ci.scope/memory.max",
            ]
        );
        assert_eq!(files[2].1, Path::new("/sys/fs/cgroup/memory/process_api/abc/memory.usage_in_bytes"));
        assert_eq!(cgroup_files("0::/\n").len(), 2, "the root only once");
        // v1 without a limit
        assert_eq!(cgroup_room("9223372036854771712\n", "2685386752\n"), Some(9_223_372_034_169_384_960));
        assert_eq!(cgroup_room("4294967296\n", "1073741824\n"), Some(3 << 30));
        assert_eq!(cgroup_room("max\n", "1073741824\n"), None);
        assert_eq!(cgroup_room("100\n", "200\n"), Some(0));
    }
}
