//! Nested calls on one thread: depth, the shared deadline, and the native
//! stack.
//!
//! A call made while another call of the same runtime is running on this
//! thread, whether served in-runtime (`yao.process` to a loaded script) or
//! coming back through the host's process handler (a wasm script calling a Go
//! process that calls another wasm script), is nested: it counts towards
//! `max_depth` and shares the top-level call's deadline.

use crate::error::{Error, Result};
use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

struct Frame {
    runtime: usize,
    process: String,
    deadline: Instant,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    static STACK_LOW: Cell<usize> = const { Cell::new(0) };
}

/// A call in progress on this thread; leaving pops it.
pub struct Entered {
    pub deadline: Instant,
}

impl Drop for Entered {
    fn drop(&mut self) {
        FRAMES.with(|f| f.borrow_mut().pop());
    }
}

/// Native stack a nested call must find free before it starts: wasmtime's
/// default wasm stack (512 KiB) plus room for the host frames around it.
const NESTED_STACK_NEEDED: usize = 768 << 10;

/// Enters a call of `runtime` (any stable per-runtime number).
pub fn enter(runtime: usize, process: &str, timeout: Duration, max_depth: u32) -> Result<Entered> {
    FRAMES.with(|frames| {
        let mut frames = frames.borrow_mut();
        let mut outer = frames.iter().filter(|f| f.runtime == runtime);
        let (depth, deadline) = match outer.next() {
            None => (1, Instant::now() + timeout),
            Some(first) => (2 + outer.count() as u32, first.deadline),
        };
        if depth > max_depth {
            let chain: Vec<&str> = frames.iter().filter(|f| f.runtime == runtime).map(|f| f.process.as_str()).collect();
            return Err(Error::internal(format!(
                "call depth {depth} exceeds max_depth {max_depth}: {} -> {process}",
                chain.join(" -> ")
            )));
        }
        if depth > 1 {
            if let Some(free) = free_stack() {
                if free < NESTED_STACK_NEEDED {
                    return Err(Error::internal(format!(
                        "native stack nearly exhausted at call depth {depth} ({} KiB left): {process}",
                        free >> 10
                    )));
                }
            }
        }
        frames.push(Frame { runtime, process: process.to_owned(), deadline });
        Ok(Entered { deadline })
    })
}

/// Bytes of native stack left below this frame on this thread, if the
/// platform tells us where the stack ends.
fn free_stack() -> Option<usize> {
    // A real stack slot: `&0u8` alone would be promoted to a static.
    let marker = std::hint::black_box(0u8);
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    let low = STACK_LOW.with(|low| {
        if low.get() == 0 {
            low.set(stack_low_bound().unwrap_or(usize::MAX));
        }
        low.get()
    });
    (low != usize::MAX).then(|| here.saturating_sub(low))
}

#[cfg(target_os = "linux")]
fn stack_low_bound() -> Option<usize> {
    // SAFETY: pthread_getattr_np fills an attr we own and destroy; it only
    // reads the calling thread's own stack description.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        ok.then_some(addr as usize)
    }
}

#[cfg(not(target_os = "linux"))]
fn stack_low_bound() -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_and_deadline_are_shared_per_runtime() {
        let t = Duration::from_secs(5);
        let a = enter(1, "scripts.a.F", t, 3).unwrap();
        let other = enter(2, "scripts.x.F", t, 1).unwrap();
        assert_ne!(other.deadline, a.deadline);
        let b = enter(1, "scripts.b.G", t, 3).unwrap();
        assert_eq!(b.deadline, a.deadline);
        let c = enter(1, "scripts.c.H", t, 3).unwrap();
        let e = enter(1, "scripts.d.I", t, 3).err().unwrap();
        assert_eq!(e.code(), 500);
        assert!(e.message().contains("scripts.a.F -> scripts.b.G -> scripts.c.H -> scripts.d.I"), "{e}");
        drop((c, b, other, a));
        assert!(enter(1, "scripts.a.F", t, 1).is_ok(), "depth is back to 1");
        assert!(free_stack().unwrap() > 0);
    }
}
