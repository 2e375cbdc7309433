//! Counters for the original server's statistics. Atomics only: counting takes no lock on the
//! request path.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// Live counters of one server. Read them with [`Stats::snapshot`].
#[derive(Debug)]
pub struct Stats {
    started: Instant,
    pub(crate) accepts: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) socket_errors: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) panics: AtomicU64,
    pub(crate) open_connections: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatsSnapshot {
    /// Seconds since the server started.
    pub run_time: f64,
    /// Connections accepted.
    pub accepts: u64,
    /// Requests whose head was read (including rejected ones).
    pub requests: u64,
    /// Bytes read from clients.
    pub bytes_read: u64,
    /// Bytes written to clients.
    pub bytes_written: u64,
    /// Accept and connection I/O errors.
    pub socket_errors: u64,
    /// Requests answered by the core with a 4xx/5xx without reaching the application.
    pub rejected: u64,
    /// Connection tasks that panicked (each closed only its own connection).
    pub panics: u64,
    /// Connections open now.
    pub open_connections: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            accepts: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            socket_errors: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            open_connections: AtomicU64::new(0),
        }
    }
}

impl Stats {
    /// Read every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            run_time: self.started.elapsed().as_secs_f64(),
            accepts: self.accepts.load(Relaxed),
            requests: self.requests.load(Relaxed),
            bytes_read: self.bytes_read.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            socket_errors: self.socket_errors.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            panics: self.panics.load(Relaxed),
            open_connections: self.open_connections.load(Relaxed),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }
}
