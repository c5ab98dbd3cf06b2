//! Per-thread buffers reused from one document to the next.
//!
//! Analysing a document needs a few vectors sized by its text (its token
//! boundaries, its feature ids). Allocating them afresh for every document
//! costs more than it seems in a server: they are larger than the
//! allocator's small-chunk caches, so each one can make glibc consolidate the
//! small chunks that responses freed. Each buffer lives in a thread-local
//! `Cell`, taken out for one use and put back when the use ends, so a nested
//! use on the same thread simply gets a new empty vector instead of a borrow
//! error.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::thread::LocalKey;

/// A thread's reusable vector, taken out of `key` empty; it goes back when
/// dropped, unless it grew past `max_kept` elements (one huge document must
/// not pin its memory on the thread for good).
pub(crate) struct Reused<T: 'static> {
    key: &'static LocalKey<Cell<Vec<T>>>,
    max_kept: usize,
    buffer: Vec<T>,
}

impl<T: 'static> Reused<T> {
    pub(crate) fn take(key: &'static LocalKey<Cell<Vec<T>>>, max_kept: usize) -> Self {
        let mut buffer = key.take();
        buffer.clear();
        Self {
            key,
            max_kept,
            buffer,
        }
    }
}

impl<T: 'static> Deref for Reused<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.buffer
    }
}

impl<T: 'static> DerefMut for Reused<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.buffer
    }
}

impl<T: 'static> Drop for Reused<T> {
    fn drop(&mut self) {
        if self.buffer.capacity() <= self.max_kept {
            self.buffer.clear();
            self.key.set(std::mem::take(&mut self.buffer));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static BUFFER: Cell<Vec<u32>> = const { Cell::new(Vec::new()) };
    }

    #[test]
    fn a_buffer_is_reused_empty_and_a_nested_use_gets_its_own() {
        Reused::take(&BUFFER, 64).extend([1, 2, 3]);
        let mut outer = Reused::take(&BUFFER, 64);
        assert!(outer.is_empty());
        assert!(outer.capacity() >= 3, "the first use's allocation is kept");
        outer.push(7);
        {
            let mut inner = Reused::take(&BUFFER, 64);
            assert!(inner.is_empty());
            assert_eq!(inner.capacity(), 0, "the outer use holds the buffer");
            inner.push(8);
        }
        assert_eq!(*outer, [7]);
    }

    #[test]
    fn a_buffer_grown_past_the_limit_is_dropped() {
        Reused::take(&BUFFER, 64).extend(0..1000);
        assert_eq!(Reused::take(&BUFFER, 64).capacity(), 0);
    }
}
