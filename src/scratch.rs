//! Per-thread buffers reused from one document to the next.
//!
//! Analysing a document needs a few vectors sized by its text (its token
//! boundaries, its feature ids). Allocating them afresh for every document
//! costs more than it seems in a server: they are larger than the
//! allocator's small-chunk caches, so each one can make glibc consolidate the
//! small chunks that responses freed. Each buffer lives in a thread-local
//! `Cell`, taken out for one use and put back, so a nested use on the same
//! thread simply gets a new empty vector instead of a borrow error.

use std::cell::Cell;
use std::thread::LocalKey;

/// Runs `f` with `key`'s vector, emptied; keeps the vector for the next use
/// unless it grew past `max_kept` elements (one huge document must not pin
/// its memory on the thread for good).
pub(crate) fn with_buffer<T: 'static, R>(
    key: &'static LocalKey<Cell<Vec<T>>>,
    max_kept: usize,
    f: impl FnOnce(&mut Vec<T>) -> R,
) -> R {
    let mut buffer = key.take();
    buffer.clear();
    let result = f(&mut buffer);
    if buffer.capacity() <= max_kept {
        buffer.clear();
        key.set(buffer);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static BUFFER: Cell<Vec<u32>> = const { Cell::new(Vec::new()) };
    }

    #[test]
    fn a_buffer_is_reused_empty_and_a_nested_use_gets_its_own() {
        with_buffer(&BUFFER, 64, |b| b.extend([1, 2, 3]));
        with_buffer(&BUFFER, 64, |outer| {
            assert!(outer.is_empty());
            assert!(outer.capacity() >= 3, "the first use's allocation is kept");
            outer.push(7);
            with_buffer(&BUFFER, 64, |inner| {
                assert!(inner.is_empty());
                assert_eq!(inner.capacity(), 0, "the outer use holds the buffer");
                inner.push(8);
            });
            assert_eq!(outer, &[7]);
        });
    }

    #[test]
    fn a_buffer_grown_past_the_limit_is_dropped() {
        with_buffer(&BUFFER, 64, |b| b.extend(0..1000));
        with_buffer(&BUFFER, 64, |b| assert_eq!(b.capacity(), 0));
    }
}
