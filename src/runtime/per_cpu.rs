//! Values kept once per CPU (a few stripes, each on its own cache line), for
//! what every call writes: a counter two CPUs bump at once bounces its cache
//! line between them, which cost calls of a few microseconds more than the
//! counting itself (BENCHMARKS.md, "Two threads").

use crossbeam_utils::CachePadded;

/// Stripes per value: calls on up to this many CPUs never share one.
pub const STRIPES: usize = 4;

/// `T` once per stripe; the stripe of a write is the CPU's.
#[derive(Debug, Default)]
pub struct PerCpu<T> {
    stripes: [CachePadded<T>; STRIPES],
}

impl<T> PerCpu<T> {
    /// This CPU's stripe and its index (to come back to the same stripe
    /// when the thread may have moved since).
    pub fn here(&self) -> (usize, &T) {
        let stripe = cpu() % STRIPES;
        (stripe, &self.stripes[stripe])
    }

    pub fn stripe(&self, index: usize) -> &T {
        &self.stripes[index]
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.stripes.iter().map(|s| &**s)
    }
}

/// The CPU this thread runs on now: glibc reads it from the kernel's rseq
/// area, a few nanoseconds. 0 if the kernel does not say.
pub fn cpu() -> usize {
    // SAFETY: no arguments, no memory handed over.
    usize::try_from(unsafe { libc::sched_getcpu() }).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn writes_from_every_thread_are_summed_and_a_stripe_is_found_again() {
        let counter: PerCpu<AtomicU64> = PerCpu::default();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        let (index, stripe) = counter.here();
                        stripe.fetch_add(1, Ordering::Relaxed);
                        assert!(std::ptr::eq(counter.stripe(index), stripe));
                    }
                });
            }
        });
        assert_eq!(counter.iter().map(|c| c.load(Ordering::Relaxed)).sum::<u64>(), 4000);
    }
}
