//! The worker pool: how many requests may be inside the application at once.
//!
//! A slot is taken when a request head has been read and given back when its response is done,
//! so an idle keep-alive connection holds no slot (the original server's best-known flaw).

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Request slots, `min ..= max`, with a queue of requests waiting for one.
#[derive(Debug)]
pub struct Pool {
    sem: Arc<Semaphore>,
    min: usize,
    max: Option<usize>,
    size: AtomicUsize,
    waiting: AtomicUsize,
}

/// A taken slot; dropping it gives the slot back.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
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
        }
    }

    /// Wait for a free slot.
    pub async fn acquire(&self) -> Slot {
        if let Ok(p) = self.sem.clone().try_acquire_owned() {
            return Slot { _permit: p };
        }
        self.waiting.fetch_add(1, Relaxed);
        let permit = self.sem.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Relaxed);
        match permit {
            Ok(p) => Slot { _permit: p },
            // The semaphore is never closed; if it were, waiting forever would be the bug.
            Err(_) => std::future::pending().await,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slots_are_counted_under_concurrency() {
        let pool = Arc::new(Pool::new(3, Some(5)));
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
        assert_eq!(pool.idle(), 3);
        assert_eq!(pool.qsize(), 0);
        assert_eq!(pool.grow(10), 2);
        assert_eq!(pool.size(), 5);
        assert_eq!(pool.shrink(10), 2);
        assert_eq!(pool.size(), 3);
    }
}
