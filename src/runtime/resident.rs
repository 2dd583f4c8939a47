//! Keeps one heavy call from slowing down every later call in its memory
//! slot.
//!
//! With PAGEMAP_SCAN (`memory_reset` `pagemap`) wasmtime resets a slot by
//! copying back, from the module's image, every page of it that is private
//! to the process: a page the guest wrote. The copy leaves the page
//! private, so a page written once is copied back after every later call
//! in that slot, for as long as the slot serves that module. One call that
//! wrote 4 MiB of its memory made each later call of a one-page guest copy
//! 4 MiB: 163.6 µs instead of 3.2 µs (BENCHMARKS.md, "A heavy call's
//! pages").
//!
//! So a call that ran across two epoch ticks (over 1 ms; writing megabytes
//! takes that long), and every [`CHECK_EVERY`]th call on a thread (for a
//! slot that many short calls filled), counts before its store drops the
//! bytes its slot holds privately; past [`MAX_KEPT_BYTES`] it gives them
//! back to the kernel (madvise), which puts the slot back to the module's
//! image as the reset would. Only the pages later calls write are private
//! again, each once, by a page fault.

use std::cell::Cell;
use std::os::fd::AsRawFd;

/// Calls on one thread between two counts: a count costs 5 µs for the JS
/// engine's 1.5 MiB, 11 µs for 4 MiB (an open and an ioctl), so this keeps
/// it near 0.02 µs a call, and a slot a heavy call left behind is tidied
/// within this many calls of the thread that uses it.
pub const CHECK_EVERY: u32 = 256;

/// Private bytes a slot may keep between calls: 1 MiB. More than what the
/// example app's calls write in any language (TS, the largest, ~64 pages
/// of 4 KiB), so their slots are never given back and their calls take no
/// page faults; a slot given back costs its next call one fault per page
/// it writes, once.
pub const MAX_KEPT_BYTES: usize = 1 << 20;

thread_local! {
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

/// After a call (and before its store drops) of a runtime that resets with
/// PAGEMAP_SCAN: when the call `ran_long`, and on every [`CHECK_EVERY`]th
/// call of this thread, gives the slot's private pages back to the kernel
/// when they hold more than [`MAX_KEPT_BYTES`].
pub fn tidy(memory: &mut [u8], ran_long: bool) {
    let due = CALLS.with(|calls| {
        let n = calls.get().wrapping_add(1);
        calls.set(n);
        n % CHECK_EVERY == 0
    });
    if !due && !ran_long {
        return;
    }
    let Some(bytes) = private_bytes(memory) else { return };
    #[cfg(test)]
    LAST_COUNT.with(|last| last.set(Some(bytes)));
    if bytes > MAX_KEPT_BYTES {
        give_back(memory);
    }
}

/// Bytes of `memory` in pages that are private to this process (written
/// since they were mapped from the image, or since zero pages were first
/// written): what wasmtime's reset would copy back. `None` when the kernel
/// cannot say (no PAGEMAP_SCAN).
fn private_bytes(memory: &[u8]) -> Option<usize> {
    // Opened per count, not kept: a descriptor kept across a fork would
    // describe the parent's pages in the child.
    let pagemap = std::fs::File::open("/proc/self/pagemap").ok()?;
    let start = memory.as_ptr() as u64;
    let end = start + memory.len() as u64;
    let mut regions = [PageRegion::default(); 32];
    let mut bytes = 0;
    let mut from = start;
    while from < end {
        let mut scan = PmScanArg {
            size: std::mem::size_of::<PmScanArg>() as u64,
            start: from,
            end,
            vec: regions.as_mut_ptr() as u64,
            vec_len: regions.len() as u64,
            // Pages that are present and written, and neither the shared
            // zero page nor a page of the image (a file): as wasmtime's
            // reset looks for them.
            category_inverted: PAGE_IS_PFNZERO | PAGE_IS_FILE,
            category_mask: PAGE_IS_WRITTEN | PAGE_IS_PRESENT | PAGE_IS_PFNZERO | PAGE_IS_FILE,
            ..PmScanArg::default()
        };
        // SAFETY: PAGEMAP_SCAN only reads the page tables of `from..end`
        // and writes `scan.walk_end` and at most `vec_len` entries of
        // `regions`, both alive for the call.
        let found = unsafe { libc::ioctl(pagemap.as_raw_fd(), PAGEMAP_SCAN as _, &mut scan) };
        let found = usize::try_from(found).ok()?;
        bytes += regions[..found].iter().map(|r| (r.end - r.start) as usize).sum::<usize>();
        if scan.walk_end <= from {
            break;
        }
        from = scan.walk_end;
    }
    Some(bytes)
}

/// Drops the slot's private pages: what was mapped from the image reads
/// as the image again, the rest as zeros, which is the state wasmtime's
/// reset puts it in; its scan then finds nothing to copy. `memory` must be
/// an instance's whole memory, whose store is about to drop.
pub(crate) fn give_back(memory: &mut [u8]) {
    // SAFETY: `memory` is a whole wasm memory of a call that has returned:
    // page-aligned, borrowed mutably from its store, and nothing reads it
    // before the store drops and wasmtime resets it. MADV_DONTNEED on these
    // private mappings only puts back the contents the reset would.
    unsafe { libc::madvise(memory.as_mut_ptr().cast(), memory.len(), libc::MADV_DONTNEED) };
}

/// `_IOWR('f', 16, struct pm_scan_arg)` (linux/fs.h, Linux 6.7).
const PAGEMAP_SCAN: u64 = 0xC060_6610;
const PAGE_IS_WRITTEN: u64 = 1 << 1;
const PAGE_IS_FILE: u64 = 1 << 2;
const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_PFNZERO: u64 = 1 << 5;

/// `struct pm_scan_arg` (linux/fs.h).
#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `struct page_region` (linux/fs.h).
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

#[cfg(test)]
thread_local! {
    static LAST_COUNT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Makes this thread's next call count its slot (tests only).
#[cfg(test)]
pub fn count_next_call() {
    CALLS.with(|calls| calls.set(CHECK_EVERY - 1));
}

/// What the last count on this thread found, taken (tests only).
#[cfg(test)]
pub fn last_count() -> Option<usize> {
    LAST_COUNT.with(|last| last.take())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Runtime;

    const HEAVY_AND_LIGHT: &str = include_str!("../../tests/guests/wat/heavy_and_light.wat");

    #[test]
    fn a_slot_a_heavy_call_left_behind_is_given_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.wasm"), wat::parse_str(HEAVY_AND_LIGHT).unwrap()).unwrap();
        // One engine, one thread: each call takes the slot the last one left.
        let Ok(rt) = Runtime::from_json(Some(r#"{"engine_shards": 1, "memory_reset": "pagemap"}"#)) else {
            eprintln!("skipped: this kernel has no PAGEMAP_SCAN, and the fallback reset keeps nothing");
            return;
        };
        rt.load_dir(dir.path()).unwrap();
        let counted = |function: &str| {
            count_next_call();
            rt.exec(&format!("scripts.s.{function}"), &[0x90]).unwrap();
            last_count().expect("counted")
        };
        rt.exec("scripts.s.Light", &[0x90]).unwrap();
        let light = counted("Light");
        assert!(light < 64 << 10, "a one-byte call's slot holds {light} private bytes");
        // Not asked to count: a call this long (it spins past an epoch
        // tick) is counted anyway.
        rt.exec("scripts.s.Heavy", &[0x90]).unwrap();
        let heavy = last_count().expect("a long call is counted");
        assert!(heavy >= 4 << 20, "the heavy call's slot holds {heavy} private bytes");
        // Given back: the slot reads as the image, and the next call in it
        // finds only its own page.
        assert_eq!(rt.exec("scripts.s.Peek", &[0x90]).unwrap(), [0], "a slot given back reads as the image");
        let after = counted("Light");
        assert!(after < 64 << 10, "after the heavy call its slot still holds {after} private bytes");
    }
}
