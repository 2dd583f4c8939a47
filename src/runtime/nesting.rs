//! Nested calls on one thread: depth, the shared deadline, and the native
//! stack.
//!
//! A call made while another call of the same runtime is running on this
//! thread, whether served in-runtime (`yao.process` to a loaded script) or
//! coming back through the host's process handler (a wasm script calling a Go
//! process that calls another wasm script), is nested: it counts towards
//! `max_depth` and shares the top-level call's deadline.

use super::context::CallContext;
use crate::error::{Error, Result, TIMEOUT};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Lets a host stop a running call from another thread (a Go context, an
/// HTTP client that went away): the call ends with 408 at its next epoch
/// tick, or when a host callback it is waiting on returns. Clones share one
/// flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What a top-level call may spend, shared by every call nested in it.
#[derive(Debug, Clone)]
pub struct Budget {
    pub deadline: Instant,
    pub timeout_ms: u64,
    pub cancel: Option<CancelToken>,
}

impl Budget {
    /// 408 once the deadline has passed or the host cancelled.
    pub fn check(&self) -> Result<()> {
        if self.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Err(Error::new(TIMEOUT, "cancelled by the host"));
        }
        if Instant::now() >= self.deadline {
            return Err(Error::timeout(self.timeout_ms));
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Frame {
    runtime: usize,
    process: String,
    budget: Budget,
    /// Who the call runs for: given to the top-level call (or to a nested
    /// one that brings its own), inherited from the caller otherwise.
    context: Option<Arc<CallContext>>,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    static STACK_LOW: Cell<usize> = const { Cell::new(0) };
}

/// A call in progress on this thread; leaving pops it.
pub struct Entered {
    pub budget: Budget,
}

impl Drop for Entered {
    fn drop(&mut self) {
        FRAMES.with(|f| f.borrow_mut().pop());
    }
}

/// The deadline of the call running on this thread, if one is: host work
/// done for it (a Redis round trip, say) must not outlive it.
pub fn current_deadline() -> Option<Instant> {
    FRAMES.with(|frames| frames.borrow().last().map(|f| f.budget.deadline))
}

/// The context of the innermost call running on this thread: of `runtime`
/// when given, of any runtime otherwise. `None` when no call is running or
/// it runs without a context.
pub fn current_context(runtime: Option<usize>) -> Option<Arc<CallContext>> {
    FRAMES.with(|frames| {
        let frames = frames.borrow();
        let frame = match runtime {
            Some(runtime) => frames.iter().rev().find(|f| f.runtime == runtime),
            None => frames.last(),
        };
        frame.and_then(|f| f.context.clone())
    })
}

/// Whether a call of any runtime is running on this thread.
pub fn in_a_call() -> bool {
    FRAMES.with(|frames| !frames.borrow().is_empty())
}

/// The process of the innermost call of `runtime` running on this thread
/// (the script a log record made now comes from).
pub fn current_process(runtime: usize) -> Option<String> {
    FRAMES.with(|frames| frames.borrow().iter().rev().find(|f| f.runtime == runtime).map(|f| f.process.clone()))
}

/// Whether a call of `runtime` is running on this thread (so this thread is
/// inside one of its host callbacks).
pub fn is_running(runtime: usize) -> bool {
    FRAMES.with(|frames| frames.borrow().iter().any(|f| f.runtime == runtime))
}

/// The calls of one runtime running on a thread, carried to another thread
/// (a task of `All`/`Any`/`Race`, a `Job`): a call made there is nested in
/// them, with their depth, deadline, cancel token and context.
#[derive(Clone)]
pub struct Inherited {
    frames: Vec<Frame>,
}

/// The frames of `runtime` on this thread, outermost first.
pub fn inherit(runtime: usize) -> Inherited {
    FRAMES.with(|frames| Inherited { frames: frames.borrow().iter().filter(|f| f.runtime == runtime).cloned().collect() })
}

impl Inherited {
    /// Only the innermost call's context, under one frame named `process`
    /// with `budget` (a background `Job` outlives its caller's deadline).
    pub fn detached(&self, runtime: usize, process: &str, budget: Budget) -> Inherited {
        let context = self.frames.last().and_then(|f| f.context.clone());
        Inherited { frames: vec![Frame { runtime, process: process.to_owned(), budget, context }] }
    }

    /// Pushes the frames on this thread, every one with `budget` when given
    /// (a task's own, shorter timeout); dropping the guard pops them.
    pub fn install(&self, budget: Option<&Budget>) -> Installed {
        FRAMES.with(|frames| {
            let mut frames = frames.borrow_mut();
            for frame in &self.frames {
                let mut frame = frame.clone();
                if let Some(budget) = budget {
                    frame.budget = budget.clone();
                }
                frames.push(frame);
            }
        });
        Installed { count: self.frames.len() }
    }
}

/// Frames pushed by [`Inherited::install`]; dropping pops them.
pub struct Installed {
    count: usize,
}

impl Drop for Installed {
    fn drop(&mut self) {
        FRAMES.with(|f| {
            let mut f = f.borrow_mut();
            let keep = f.len().saturating_sub(self.count);
            f.truncate(keep);
        });
    }
}

/// Native stack a nested call must find free before it starts: wasmtime's
/// default wasm stack (512 KiB) plus room for the host frames around it.
const NESTED_STACK_NEEDED: usize = 768 << 10;

/// Enters a call of `runtime` (any stable per-runtime number). A top-level
/// call gets `top_level()`'s budget; a nested one shares its caller's. The
/// call runs with `context`, or without one inherits its caller's.
pub fn enter(
    runtime: usize,
    process: &str,
    top_level: impl FnOnce() -> Budget,
    context: Option<Arc<CallContext>>,
    max_depth: u32,
) -> Result<Entered> {
    FRAMES.with(|frames| {
        let mut frames = frames.borrow_mut();
        let mut outer = frames.iter().filter(|f| f.runtime == runtime);
        let (depth, budget) = match outer.next() {
            None => (1, top_level()),
            Some(first) => (2 + outer.count() as u32, first.budget.clone()),
        };
        if depth > max_depth {
            let chain: Vec<&str> = frames.iter().filter(|f| f.runtime == runtime).map(|f| f.process.as_str()).collect();
            return Err(Error::internal(format!("call depth {depth} exceeds max_depth {max_depth}: {} -> {process}", chain.join(" -> "))));
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
        budget.check()?;
        let context = match context {
            Some(own) => Some(own),
            None if depth > 1 => frames.iter().rev().find(|f| f.runtime == runtime).and_then(|f| f.context.clone()),
            None => None,
        };
        frames.push(Frame { runtime, process: process.to_owned(), budget: budget.clone(), context });
        Ok(Entered { budget })
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
        let t = || Budget { deadline: Instant::now() + std::time::Duration::from_secs(5), timeout_ms: 5000, cancel: None };
        let a = enter(1, "scripts.a.F", t, None, 3).unwrap();
        let other = enter(2, "scripts.x.F", t, None, 1).unwrap();
        assert_ne!(other.budget.deadline, a.budget.deadline);
        let b = enter(1, "scripts.b.G", t, None, 3).unwrap();
        assert_eq!(b.budget.deadline, a.budget.deadline);
        let c = enter(1, "scripts.c.H", t, None, 3).unwrap();
        let e = enter(1, "scripts.d.I", t, None, 3).err().unwrap();
        assert_eq!(e.code(), 500);
        assert!(e.message().contains("scripts.a.F -> scripts.b.G -> scripts.c.H -> scripts.d.I"), "{e}");
        drop((c, b, other, a));
        assert!(enter(1, "scripts.a.F", t, None, 1).is_ok(), "depth is back to 1");
        assert!(free_stack().unwrap() > 0);
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn cancel_and_deadline_are_408() {
        let cancel = CancelToken::new();
        let budget =
            Budget { deadline: Instant::now() + std::time::Duration::from_secs(5), timeout_ms: 5000, cancel: Some(cancel.clone()) };
        assert!(budget.check().is_ok());
        cancel.cancel();
        assert_eq!(budget.check().unwrap_err().code(), 408);
        let late = Budget { deadline: Instant::now(), timeout_ms: 1, cancel: None };
        assert_eq!(late.check().unwrap_err().code(), 408);
    }
}
