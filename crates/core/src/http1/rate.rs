//! The minimum data rate of an answer (Kestrel's `MinResponseDataRate`): a client that reads
//! slower than it, however steadily, is cut off, so it cannot hold a response open without end
//! by reading a little just before each stall `timeout`.

use std::time::Duration;

use crate::config::Limits;

/// What one answer has written, and how long its writes waited for the client to make room.
///
/// Only the time spent waiting on the socket counts: the time the application takes to produce
/// the next chunk is not the client's doing. The bytes are those the socket took, so what the
/// kernel buffers counts as sent (as in Kestrel).
#[derive(Debug)]
pub(super) struct WriteRate {
    /// Bytes per second the answer must average; 0 means unmetered.
    min: u64,
    grace: Duration,
    bytes: u64,
    waited: Duration,
}

impl WriteRate {
    /// The meter of one answer under `limits`.
    pub(super) fn answer(limits: &Limits) -> Self {
        WriteRate {
            min: limits.min_response_rate,
            grace: limits.response_rate_grace,
            bytes: 0,
            waited: Duration::ZERO,
        }
    }

    /// No minimum rate: the server's own short answers, bounded by the stall timeout alone.
    pub(super) fn unmetered() -> Self {
        WriteRate {
            min: 0,
            grace: Duration::ZERO,
            bytes: 0,
            waited: Duration::ZERO,
        }
    }

    /// The socket took `n` bytes.
    pub(super) fn took(&mut self, n: usize) {
        self.bytes += n as u64;
    }

    /// A write waited `d` on the socket.
    pub(super) fn waited(&mut self, d: Duration) {
        self.waited += d;
    }

    /// How much longer the answer's writes may wait on the socket before the answer falls below
    /// the minimum rate: the grace period, or the time the bytes written so far earn at the
    /// minimum rate if that is longer, less the time already waited. `None` when unmetered.
    pub(super) fn allowance(&self) -> Option<Duration> {
        if self.min == 0 {
            return None;
        }
        let earned = Duration::from_secs_f64(self.bytes as f64 / self.min as f64);
        Some(earned.max(self.grace).saturating_sub(self.waited))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metered(min: u64, grace_ms: u64) -> WriteRate {
        let limits = Limits {
            min_response_rate: min,
            response_rate_grace: Duration::from_millis(grace_ms),
            ..Limits::default()
        };
        WriteRate::answer(&limits)
    }

    #[test]
    fn the_grace_period_is_allowed_before_any_byte_is_written() {
        let r = metered(1000, 500);
        assert_eq!(r.allowance(), Some(Duration::from_millis(500)));
    }

    #[test]
    fn written_bytes_earn_waiting_time_at_the_minimum_rate() {
        let mut r = metered(1000, 500);
        r.took(2000);
        assert_eq!(r.allowance(), Some(Duration::from_secs(2)));
        r.waited(Duration::from_millis(1500));
        assert_eq!(r.allowance(), Some(Duration::from_millis(500)));
        r.waited(Duration::from_secs(1));
        assert_eq!(r.allowance(), Some(Duration::ZERO));
    }

    #[test]
    fn a_rate_of_zero_and_the_servers_own_answers_are_unmetered() {
        let mut r = metered(0, 500);
        r.waited(Duration::from_secs(3600));
        assert_eq!(r.allowance(), None);
        assert_eq!(WriteRate::unmetered().allowance(), None);
    }
}
