//! Counters for the original server's statistics. Atomics only: counting takes no lock on the
//! request path.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// Live counters of one server. Read them with [`Stats::snapshot`].
#[derive(Debug)]
pub struct Stats {
    started: std::sync::Mutex<Instant>,
    pub(crate) accepts: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) socket_errors: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) panics: AtomicU64,
    pub(crate) open_connections: AtomicU64,
    pub(crate) overloaded: AtomicU64,
    pub(crate) access_log_dropped: AtomicU64,
    pub(crate) tls_handshakes: AtomicU64,
    pub(crate) tls_handshake_errors: AtomicU64,
    pub(crate) tls_handshake_timeouts: AtomicU64,
    pub(crate) tls_plain_http: AtomicU64,
    pub(crate) abandoned: AtomicU64,
    /// Responses by status code, 100 ..= 599.
    statuses: Box<[AtomicU64]>,
    /// Request durations (head read to response written), by [`LATENCY_BUCKETS`], plus +Inf.
    latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_sum_micros: AtomicU64,
}

/// Upper bounds, in seconds, of the request-duration histogram.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The request-duration histogram and status counts, for the Prometheus text format.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// Cumulative counts per bucket of [`LATENCY_BUCKETS`], then +Inf.
    pub cumulative: Vec<u64>,
    /// The sum of all durations, in seconds.
    pub sum_seconds: f64,
    /// `(status, count)` for every status answered at least once.
    pub statuses: Vec<(u16, u64)>,
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
    /// Bytes read from client sockets (plaintext under TLS): PROXY headers, request heads and
    /// bodies, pipelined requests. The one count of bytes read: `stats()` and `metrics()` both
    /// show it (bytes drained and dropped while a refused connection closes are not counted).
    pub bytes_read: u64,
    /// Bytes the client sockets took (plaintext under TLS), counted write by write: responses,
    /// the core's own answers (400, 408, 413, 503, ...), `100 Continue`, and the part of a
    /// response that went out before its connection failed or stalled. The one count of bytes
    /// written: `stats()` and `metrics()` both show it.
    pub bytes_written: u64,
    /// Accept and connection I/O errors.
    pub socket_errors: u64,
    /// Requests answered by the core with a 4xx/5xx without reaching the application.
    pub rejected: u64,
    /// Connection tasks that panicked (each closed only its own connection).
    pub panics: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// Requests answered 503 because the queue for a pool slot was full.
    pub overloaded: u64,
    /// Access log lines dropped because the log writer fell behind.
    pub access_log_dropped: u64,
    /// TLS handshakes completed.
    pub tls_handshakes: u64,
    /// TLS handshakes that failed: fatal alerts, protocol errors, untrusted or missing client
    /// certificates, clients that closed part way.
    pub tls_handshake_errors: u64,
    /// TLS handshakes not finished within `timeout`.
    pub tls_handshake_timeouts: u64,
    /// Plain HTTP requests sent to a TLS port (answered 400).
    pub tls_plain_http: u64,
    /// Requests whose client went away (or whose `request_timeout` passed) before their answer
    /// was written: nginx's 499. Not in the status counts, and no application error.
    pub abandoned: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: std::sync::Mutex::new(Instant::now()),
            accepts: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            socket_errors: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            open_connections: AtomicU64::new(0),
            overloaded: AtomicU64::new(0),
            access_log_dropped: AtomicU64::new(0),
            tls_handshakes: AtomicU64::new(0),
            tls_handshake_errors: AtomicU64::new(0),
            tls_handshake_timeouts: AtomicU64::new(0),
            tls_plain_http: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            statuses: (100..600).map(|_| AtomicU64::new(0)).collect(),
            latency: Default::default(),
            latency_sum_micros: AtomicU64::new(0),
        }
    }
}

impl Stats {
    /// Read every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            run_time: self
                .started
                .lock()
                .map(|s| s.elapsed().as_secs_f64())
                .unwrap_or(0.0),
            accepts: self.accepts.load(Relaxed),
            requests: self.requests.load(Relaxed),
            bytes_read: self.bytes_read.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            socket_errors: self.socket_errors.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            panics: self.panics.load(Relaxed),
            open_connections: self.open_connections.load(Relaxed),
            overloaded: self.overloaded.load(Relaxed),
            access_log_dropped: self.access_log_dropped.load(Relaxed),
            tls_handshakes: self.tls_handshakes.load(Relaxed),
            tls_handshake_errors: self.tls_handshake_errors.load(Relaxed),
            tls_handshake_timeouts: self.tls_handshake_timeouts.load(Relaxed),
            tls_plain_http: self.tls_plain_http.load(Relaxed),
            abandoned: self.abandoned.load(Relaxed),
        }
    }

    /// Count one answered request: its status and how long it took.
    pub(crate) fn record(&self, status: u16, elapsed: std::time::Duration) {
        self.count_status(status);
        let secs = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency[bucket].fetch_add(1, Relaxed);
        self.latency_sum_micros
            .fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    /// Count an answer by its status only: the core's own refusals (400, 408, 413, 431, 505…),
    /// answered before a request was admitted, are responses too, but not request durations.
    pub(crate) fn count_status(&self, status: u16) {
        if let Some(c) = self.statuses.get(usize::from(status).wrapping_sub(100)) {
            c.fetch_add(1, Relaxed);
        }
    }

    /// Read the histogram and the status counts.
    pub fn histogram(&self) -> Histogram {
        let mut running = 0;
        let cumulative = self
            .latency
            .iter()
            .map(|c| {
                running += c.load(Relaxed);
                running
            })
            .collect();
        let statuses = self
            .statuses
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let n = c.load(Relaxed);
                (n > 0).then_some((i as u16 + 100, n))
            })
            .collect();
        Histogram {
            cumulative,
            sum_seconds: self.latency_sum_micros.load(Relaxed) as f64 / 1e6,
            statuses,
        }
    }

    /// Reset every counter (the original server's `clear_stats`); open connections stay.
    pub fn clear(&self) {
        for c in [
            &self.accepts,
            &self.requests,
            &self.bytes_read,
            &self.bytes_written,
            &self.socket_errors,
            &self.rejected,
            &self.panics,
            &self.overloaded,
            &self.access_log_dropped,
            &self.tls_handshakes,
            &self.tls_handshake_errors,
            &self.tls_handshake_timeouts,
            &self.tls_plain_http,
            &self.abandoned,
            &self.latency_sum_micros,
        ] {
            c.store(0, Relaxed);
        }
        for c in self.statuses.iter().chain(self.latency.iter()) {
            c.store(0, Relaxed);
        }
        if let Ok(mut s) = self.started.lock() {
            *s = Instant::now();
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }
}
