//! The worker pool: how many requests may be inside the application at once.
//!
//! A slot is taken when a request head has been read and given back when its response is done,
//! so an idle keep-alive connection holds no slot (the original server's best-known flaw).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The figures of one worker (one slot of the pool), as the original server keeps per thread.
///
/// The bytes are those of the requests the worker held, counted when each request ends; they
/// are not the server's byte counts ([`crate::Stats`] has those, counted at the socket): what the
/// core reads and writes outside a slot (its own 400/408/413/503 answers, `100 Continue`, PROXY
/// headers) is only in the server's counts, and a response cut by a failed write is counted
/// here as far as it was handed to the writer.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Requests this worker ran.
    pub requests: AtomicU64,
    /// Request head and body bytes of the requests this worker held.
    pub bytes_read: AtomicU64,
    /// Response head and body bytes of the requests this worker held.
    pub bytes_written: AtomicU64,
    /// Microseconds spent holding requests.
    pub work_micros: AtomicU64,
}

/// Request slots, `min ..= max`, with a queue of requests waiting for one.
#[derive(Debug)]
pub struct Pool {
    sem: Arc<Semaphore>,
    min: usize,
    max: Option<usize>,
    size: AtomicUsize,
    waiting: AtomicUsize,
    /// Indices of free worker records; taking one is the slot's assignment, not counting.
    free: Mutex<FreeIndices>,
    workers: Mutex<Vec<Arc<WorkerStats>>>,
}

/// The worker indices not in use, and how many were ever issued.
#[derive(Debug)]
struct FreeIndices {
    list: Vec<usize>,
    issued: usize,
}

/// A taken slot; dropping it gives the slot back and adds its work time.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    index: usize,
    worker: Arc<WorkerStats>,
    since: Instant,
    pool: Arc<Pool>,
}

impl Slot {
    /// The worker record this request is counted in.
    pub fn worker(&self) -> &WorkerStats {
        &self.worker
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.worker
            .work_micros
            .fetch_add(self.since.elapsed().as_micros() as u64, Relaxed);
        if let Ok(mut free) = self.pool.free.lock() {
            free.list.push(self.index);
        }
    }
}

impl Pool {
    /// A pool of `min` slots that may grow to `max` (`None`: no limit).
    pub fn new(min: usize, max: Option<usize>) -> Self {
        let min = min.max(1);
        Pool {
            sem: Arc::new(Semaphore::new(min)),
            min,
            max: max.map(|m| m.max(min)),
            size: AtomicUsize::new(min),
            waiting: AtomicUsize::new(0),
            free: Mutex::new(FreeIndices {
                list: (0..min).rev().collect(),
                issued: min,
            }),
            // Records are made as slots are first used: a large pool that serves few requests
            // at once keeps few records (and `stats()` lists only the workers that worked).
            workers: Mutex::new(Vec::new()),
        }
    }

    /// A free slot now, or `None` (also when requests are already waiting for one: the
    /// semaphore hands released slots to waiters first).
    pub fn try_acquire(self: &Arc<Self>) -> Option<Slot> {
        let permit = self.sem.clone().try_acquire_owned().ok()?;
        Some(self.assign(permit))
    }

    /// Wait for a free slot.
    pub async fn acquire(self: &Arc<Self>) -> Slot {
        if let Some(slot) = self.try_acquire() {
            return slot;
        }
        self.waiting.fetch_add(1, Relaxed);
        let permit = self.sem.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Relaxed);
        match permit {
            Ok(p) => self.assign(p),
            // The semaphore is never closed; if it were, waiting forever would be the bug.
            Err(_) => std::future::pending().await,
        }
    }

    fn assign(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Slot {
        // There are at least as many free indices as permits; should the two ever disagree, a
        // new index keeps the request going.
        let index = self.free.lock().ok().map(|mut f| {
            f.list.pop().unwrap_or_else(|| {
                f.issued += 1;
                f.issued - 1
            })
        });
        let index = index.unwrap_or(0);
        let worker = self
            .workers
            .lock()
            .map(|mut ws| {
                while ws.len() <= index {
                    ws.push(Arc::default());
                }
                ws[index].clone()
            })
            .unwrap_or_default();
        w_inc(&worker.requests);
        Slot {
            _permit: permit,
            index,
            worker,
            since: Instant::now(),
            pool: self.clone(),
        }
    }

    /// The per-worker records, one per slot that has run a request.
    pub fn workers(&self) -> Vec<Arc<WorkerStats>> {
        self.workers.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Set every worker's figures to zero; the records stay, one per slot that has run a
    /// request. A request in flight is counted whole when it ends, as in the server's counts.
    pub fn clear_stats(&self) {
        for w in self.workers() {
            for c in [&w.requests, &w.bytes_read, &w.bytes_written, &w.work_micros] {
                c.store(0, Relaxed);
            }
        }
    }

    /// The minimum number of slots.
    pub fn min(&self) -> usize {
        self.min
    }

    /// The maximum number of slots, `None` for no limit.
    pub fn max(&self) -> Option<usize> {
        self.max
    }

    /// The current number of slots.
    pub fn size(&self) -> usize {
        self.size.load(Relaxed)
    }

    /// Free slots.
    pub fn idle(&self) -> usize {
        self.sem.available_permits()
    }

    /// Requests waiting for a slot.
    pub fn qsize(&self) -> usize {
        self.waiting.load(Relaxed)
    }

    /// Add up to `n` slots, never above max. Returns how many were added.
    pub fn grow(&self, n: usize) -> usize {
        let size = self.size.load(Relaxed);
        let room = self.max.map_or(n, |m| m.saturating_sub(size).min(n));
        if room > 0 {
            if let Ok(mut free) = self.free.lock() {
                // New indices only past those ever issued (shrink forgets permits, not
                // indices: those of removed slots are still on the free list or in use).
                let need = (size + room).saturating_sub(free.issued);
                for i in 0..need {
                    let index = free.issued + i;
                    free.list.push(index);
                }
                free.issued += need;
            }
            self.size.fetch_add(room, Relaxed);
            self.sem.add_permits(room);
        }
        room
    }

    /// Remove up to `n` free slots, never below min. Returns how many were removed.
    pub fn shrink(&self, n: usize) -> usize {
        let size = self.size.load(Relaxed);
        let want = n.min(size.saturating_sub(self.min));
        let removed = self.sem.forget_permits(want);
        self.size.fetch_sub(removed, Relaxed);
        removed
    }
}

fn w_inc(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slots_are_counted_under_concurrency() {
        let pool = Arc::new(Pool::new(3, Some(5)));
        let total_before: u64 = 0;
        let mut tasks = Vec::new();
        let inside = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        for _ in 0..64 {
            let (pool, inside, peak) = (pool.clone(), inside.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = pool.acquire().await;
                let now = inside.fetch_add(1, Relaxed) + 1;
                peak.fetch_max(now, Relaxed);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Relaxed);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(peak.load(Relaxed) <= 3);
        let counted: u64 = pool
            .workers()
            .iter()
            .map(|w| w.requests.load(Relaxed))
            .sum();
        assert_eq!(
            counted - total_before,
            64,
            "every request is counted in exactly one worker"
        );
        assert_eq!(pool.idle(), 3);
        assert_eq!(pool.qsize(), 0);
        assert_eq!(pool.grow(10), 2);
        assert_eq!(pool.size(), 5);
        assert_eq!(pool.shrink(10), 2);
        assert_eq!(pool.size(), 3);
    }

    #[tokio::test]
    async fn clear_stats_zeroes_every_worker_record_and_keeps_it() {
        let pool = Arc::new(Pool::new(2, None));
        let (a, b) = (pool.acquire().await, pool.acquire().await);
        a.worker().bytes_written.store(10, Relaxed);
        drop((a, b));
        pool.clear_stats();
        let workers = pool.workers();
        assert_eq!(workers.len(), 2);
        for w in &workers {
            let figures = [&w.requests, &w.bytes_read, &w.bytes_written, &w.work_micros];
            assert!(figures.iter().all(|c| c.load(Relaxed) == 0));
        }
    }
}
