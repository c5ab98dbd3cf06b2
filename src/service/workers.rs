//! The classification threads: a fixed pool of one OS thread per core, fed
//! through a queue, on which classification runs (unary, batch, stream
//! chunk) unless it is cheap by construction, so health checks and
//! reflection answer promptly however heavy the text.
//!
//! Cheap work ([`Cost::is_cheap`]: at most [`INLINE_WORK_BYTES`] of text
//! already in NFKC form, which analysis cannot grow) runs where it is asked
//! for, on the async worker: the trip to a pool thread and back costs two
//! context switches, about 35 µs per RPC on the 2-core machine, three times
//! the classification of a 1 KB document. The costliest such work measured,
//! 7.4 KB of random Arabic words (every token a memo miss), classifies in
//! 0.34 ms, so an async worker is never held longer than that.
//!
//! A fixed pool rather than tokio's blocking pool: each thread keeps its own
//! analysis caches (a few MB) and malloc arena, and the blocking pool starts
//! a new thread whenever none is idle at the moment work arrives, which under
//! load on a busy machine grew it to 20 threads and the server's RSS with
//! them (161 MB to 183 MB in two minutes of a soak).
//!
//! Callers wait for a permit before they queue, so the queue never holds more
//! than the threads can start at once, and a caller that gives up while
//! waiting leaves no work behind. Large work (over [`LARGE_WORK_BYTES`] of
//! text) first takes one of the `large` permits, one fewer than the threads:
//! it can never hold every thread, so a short request finds one free instead
//! of queueing behind large ones (with 8 clients sending 95 KB of U+FDFA,
//! which NFKC grows to 1 MiB, short requests waited 9 s at p99 in one queue).

use super::error::ServiceError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// Text bytes (titles and texts, as sent) above which a unit of work is
/// large. NFKC grows text at most elevenfold, so work below it analyses at
/// most about 700 KB: tens of milliseconds at worst.
pub(crate) const LARGE_WORK_BYTES: usize = 64 << 10;

/// Text bytes at most, already in NFKC form, for work to be cheap enough to
/// run on an async worker (see the module doc).
pub(crate) const INLINE_WORK_BYTES: usize = 8 << 10;

/// What a unit of work will cost: its text (titles and texts, as sent), and
/// whether analysis may grow it (text not yet in NFKC form).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cost {
    pub(crate) text_bytes: usize,
    pub(crate) may_grow: bool,
}

impl Cost {
    /// The cost of classifying `texts`. Whether they may grow is checked
    /// only while the total stays small enough to be cheap: past it, the
    /// work goes to the pool either way.
    pub(crate) fn of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Cost {
        let mut cost = Cost::default();
        for text in texts {
            cost.text_bytes += text.len();
            if cost.text_bytes <= INLINE_WORK_BYTES && !cost.may_grow {
                cost.may_grow = !crate::text::is_nfkc(text);
            }
        }
        cost
    }

    /// Cheap enough to run on an async worker rather than on the pool.
    pub(crate) fn is_cheap(&self) -> bool {
        self.text_bytes <= INLINE_WORK_BYTES && !self.may_grow
    }

    /// Large: takes one of the pool's `large` permits.
    fn is_large(&self) -> bool {
        self.text_bytes > LARGE_WORK_BYTES
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The pool; its threads end once it is dropped and their queue is empty.
#[derive(Debug)]
pub(crate) struct Workers {
    /// Threads started.
    started: usize,
    threads: Arc<Semaphore>,
    large: Arc<Semaphore>,
    /// `Sender` is `Sync`: callers queue without a lock.
    jobs: mpsc::Sender<Job>,
}

impl Workers {
    /// One thread per core; large work on one fewer (at least one).
    pub(crate) fn for_this_machine() -> Workers {
        Workers::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// `wanted` threads, or as many as the system lets us start: each one it
    /// refuses is logged, and with none at all every classification answers
    /// INTERNAL, saying so, while health and admin calls still work.
    fn new(wanted: usize) -> Workers {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut threads = 0;
        for n in 0..wanted {
            let queue = queue.clone();
            match std::thread::Builder::new()
                .name(format!("docclass-classify-{n}"))
                .spawn(move || {
                    lower_this_threads_priority();
                    run_jobs(&queue)
                }) {
                Ok(_) => threads += 1,
                Err(error) => tracing::error!(%error, "cannot start a classification thread"),
            }
        }
        Workers {
            started: threads,
            threads: Arc::new(Semaphore::new(threads.max(1))),
            large: Arc::new(Semaphore::new(threads.saturating_sub(1).max(1))),
            jobs,
        }
    }

    /// How many threads classify.
    pub(crate) fn threads(&self) -> usize {
        self.started
    }

    /// Runs `work`, of `cost`, on a pool thread once one is free. Dropping
    /// the future while it waits for a thread leaves the queue; once the
    /// work has started, it runs to its end (it can watch a flag of its own
    /// to stop early).
    pub(crate) async fn run<T, F>(&self, cost: Cost, work: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let closed = |_| ServiceError::Internal("the classification threads have stopped".into());
        let large = if cost.is_large() {
            Some(self.large.clone().acquire_owned().await.map_err(closed)?)
        } else {
            None
        };
        let thread = self.threads.clone().acquire_owned().await.map_err(closed)?;
        let (done_tx, done_rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _permits: (OwnedSemaphorePermit, Option<OwnedSemaphorePermit>) = (thread, large);
            let outcome = catch_unwind(AssertUnwindSafe(work));
            // The caller may have gone (deadline, cancel): nobody to tell.
            drop(done_tx.send(outcome));
        });
        self.jobs.send(job).map_err(|_| {
            ServiceError::Internal("the classification threads have stopped".into())
        })?;
        match done_rx.await {
            Ok(outcome) => caught(outcome),
            Err(_) => Err(ServiceError::Internal(
                "a classification thread stopped".into(),
            )),
        }
    }
}

/// Runs cheap `work` here, on the caller's thread, with the same answer to
/// a panic as on the pool.
pub(crate) fn run_here<T>(work: impl FnOnce() -> T) -> Result<T, ServiceError> {
    caught(catch_unwind(AssertUnwindSafe(work)))
}

fn caught<T>(outcome: std::thread::Result<T>) -> Result<T, ServiceError> {
    outcome.map_err(|_panic| {
        ServiceError::Internal(
            "classification failed unexpectedly (a bug: see the server log)".into(),
        )
    })
}

/// How much lower the classification threads' scheduling priority is than
/// the async workers' (nice values). When both want a core, the async
/// workers (network I/O, health checks, cheap work) get about three times
/// the CPU share, so heavy text slows short requests less.
const POOL_NICENESS: i32 = 5;

/// This thread's nice value, [`POOL_NICENESS`] above where it was (Linux
/// keeps a nice value per thread). Raising one's own nice value needs no
/// privilege; where it fails, the thread runs at the process's priority and
/// says so once.
pub(crate) fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        let thread = this_thread_id();
        // SAFETY: getpriority and setpriority take no pointers.
        let (now, rc) = unsafe {
            let now = libc::getpriority(libc::PRIO_PROCESS, thread);
            let lower = (now + POOL_NICENESS).min(19);
            (now, libc::setpriority(libc::PRIO_PROCESS, thread, lower))
        };
        if rc != 0 {
            let error = std::io::Error::last_os_error();
            tracing::warn!(%error, nice = now, "cannot lower a classification thread's priority");
        }
    }
}

/// The calling thread's kernel id, which `getpriority`/`setpriority` take
/// to mean that thread alone.
#[cfg(target_os = "linux")]
fn this_thread_id() -> libc::id_t {
    // SAFETY: gettid takes no arguments and cannot fail.
    let id = unsafe { libc::syscall(libc::SYS_gettid) };
    libc::id_t::try_from(id).unwrap_or(0)
}

/// A pool thread: runs jobs until the pool is dropped. A job that panics is
/// caught inside it, so the thread lives on.
fn run_jobs(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // Held only to take one job; a poisoned lock still holds a good queue.
        let next = match queue.lock() {
            Ok(receiver) => receiver.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Cost {
        Cost {
            text_bytes: 10,
            may_grow: false,
        }
    }

    fn large() -> Cost {
        Cost {
            text_bytes: LARGE_WORK_BYTES + 1,
            may_grow: false,
        }
    }

    #[test]
    fn only_small_text_already_in_nfkc_form_is_cheap() {
        assert!(Cost::of(["title", "some plain text"]).is_cheap());
        assert!(Cost::of(["", "déjà vu, naïve café"]).is_cheap());
        // U+FDFA grows to 33 bytes under NFKC; a ligature and a full-width
        // letter grow too.
        assert!(!Cost::of(["", "\u{fdfa}"]).is_cheap());
        assert!(!Cost::of(["\u{fb01}le", "text"]).is_cheap());
        assert!(!Cost::of(["", "\u{ff21}"]).is_cheap());
        let at_limit = "a ".repeat(INLINE_WORK_BYTES / 2);
        assert!(Cost::of([at_limit.as_str()]).is_cheap());
        assert!(!Cost::of([at_limit.as_str(), "b"]).is_cheap());
        // The total counts, over every text of the work.
        let half = "a".repeat(INLINE_WORK_BYTES / 2 + 1);
        assert!(!Cost::of([half.as_str(), half.as_str()]).is_cheap());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_pool_runs_below_the_caller_s_priority() {
        // SAFETY: getpriority takes no pointers.
        let nice = || unsafe { libc::getpriority(libc::PRIO_PROCESS, this_thread_id()) };
        let here = nice();
        let workers = Workers::new(1);
        let there = workers.run(small(), nice).await.unwrap();
        assert_eq!(there, (here + POOL_NICENESS).min(19));
    }

    #[test]
    fn work_run_here_answers_a_panic_as_the_pool_does() {
        assert_eq!(run_here(|| 3).unwrap(), 3);
        let failed = run_here(|| -> u32 { panic!("boom") });
        assert!(matches!(failed, Err(ServiceError::Internal(_))));
    }

    #[tokio::test]
    async fn work_runs_on_the_pool_s_named_threads_and_a_panic_leaves_them_serving() {
        let workers = Workers::new(2);
        let name = workers
            .run(small(), || std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("docclass-classify-"));
        let failed = workers.run(small(), || -> u32 { panic!("boom") }).await;
        assert!(matches!(failed, Err(ServiceError::Internal(_))));
        for n in 0..8u32 {
            assert_eq!(workers.run(small(), move || n * 2).await.unwrap(), n * 2);
        }
    }

    #[tokio::test]
    async fn large_work_leaves_a_thread_for_small_work() {
        let workers = Arc::new(Workers::new(2));
        // One large job holds its thread until released.
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = oneshot::channel::<()>();
        let held = {
            let workers = workers.clone();
            tokio::spawn(async move {
                workers
                    .run(large(), move || {
                        started_tx.send(()).ok();
                        release_rx.recv().ok();
                    })
                    .await
            })
        };
        started_rx.await.unwrap();
        // A second large job cannot start: it waits for the large permit.
        let queued_large = {
            let workers = workers.clone();
            tokio::spawn(async move { workers.run(large(), || 1).await })
        };
        tokio::task::yield_now().await;
        assert!(!queued_large.is_finished());
        // Small work still finds the other thread.
        assert_eq!(workers.run(small(), || 7).await.unwrap(), 7);
        release_tx.send(()).unwrap();
        held.await.unwrap().unwrap();
        assert_eq!(queued_large.await.unwrap().unwrap(), 1);
    }
}
