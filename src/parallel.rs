//! Work spread over threads with results that do not depend on how many:
//! [`map_in_order`] hands out items to scoped threads and returns the
//! results in item order, and [`Threads`] is the thread count the binaries'
//! `--threads` gives. Training and evaluation use it where items are
//! independent (folds, blocks of documents), so a model is byte-identical
//! whatever the count.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many threads a stage may use; 1 runs everything on the caller's
/// thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threads(NonZeroUsize);

impl Threads {
    pub const ONE: Threads = Threads(NonZeroUsize::MIN);

    pub fn new(threads: NonZeroUsize) -> Self {
        Threads(threads)
    }

    /// One per core the process may use (1 if that cannot be told).
    pub fn all_cores() -> Self {
        Threads(std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN))
    }

    pub fn get(self) -> usize {
        self.0.get()
    }
}

impl Default for Threads {
    fn default() -> Self {
        Threads::ONE
    }
}

/// `f` of every item, in item order, computed on up to `threads` threads
/// (never more than there are items). A panic in `f` is raised again here.
pub fn map_in_order<T, R, F>(items: &[T], threads: Threads, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = threads.get().min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { return };
                let result = f(item);
                // Poisoned only if another thread panicked while pushing,
                // and then the scope re-raises that panic anyway.
                if let Ok(mut done) = done.lock() {
                    done.push((i, result));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_unstable_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_item_order_whatever_the_thread_count() {
        let items: Vec<u64> = (0..1000).collect();
        let want: Vec<u64> = items.iter().map(|x| x * x).collect();
        for threads in [1, 2, 3, 16] {
            let threads = Threads::new(NonZeroUsize::new(threads).unwrap());
            assert_eq!(map_in_order(&items, threads, |x| x * x), want);
        }
        assert!(map_in_order(&[] as &[u8], Threads::all_cores(), |x| *x).is_empty());
    }
}
