//! The bookkeeping of an answered request: how it went, its counters, its access log line.

use tokio::time::Instant;

use crate::access_log::Entry;
use crate::exchange::head::{ParsedHead, Version};
use crate::exchange::ConnInfo;
use crate::pool::Slot;
use crate::shared::Shared;
use crate::stats::Stats;

/// What is counted and logged once a request is answered.
pub(super) struct Done {
    pub(super) started: Instant,
    pub(super) slot: Slot,
    pub(super) logged: Option<Box<LoggedRequest>>,
    pub(super) head_len: u64,
}

/// The request line bits the access log keeps, copied only when the log is on.
pub(super) struct LoggedRequest {
    pub(super) method: Vec<u8>,
    pub(super) target: Vec<u8>,
    http11: bool,
    pub(super) referer: Vec<u8>,
    pub(super) user_agent: Vec<u8>,
}

impl LoggedRequest {
    pub(super) fn of(h: &ParsedHead) -> Self {
        let span = |s: (u32, u32)| h.span(s).to_vec();
        let header = |name: &[u8]| {
            h.headers
                .iter()
                .find(|(n, _)| h.span(*n).eq_ignore_ascii_case(name))
                .map(|(_, v)| span(*v))
                .unwrap_or_default()
        };
        LoggedRequest {
            method: span(h.method),
            target: span(h.target),
            http11: h.version == Version::Http11,
            referer: header(b"referer"),
            user_agent: header(b"user-agent"),
        }
    }
}

/// How a response went.
pub(super) struct Outcome {
    /// The connection may carry another request.
    pub(super) keep: bool,
    /// The status sent (500 when the application gave none).
    pub(super) status: u16,
    /// Bytes written, head included.
    pub(super) bytes: u64,
    /// Body bytes written.
    pub(super) body_bytes: u64,
    /// The client went away before the answer was written (nginx's 499): counted apart, and
    /// not in the status counts.
    pub(super) abandoned: bool,
}

impl Outcome {
    /// A request whose client went away.
    pub(super) fn abandoned() -> Self {
        Outcome {
            keep: false,
            status: 499,
            bytes: 0,
            body_bytes: 0,
            abandoned: true,
        }
    }
}

/// Count and log an answered request.
pub(super) fn record(
    shared: &Shared,
    info: &ConnInfo,
    done: Done,
    body_read: u64,
    outcome: &Outcome,
) {
    let worker = done.slot.worker();
    Stats::add(&worker.bytes_read, done.head_len + body_read);
    Stats::add(&worker.bytes_written, outcome.bytes);
    drop(done.slot);
    let elapsed = done.started.elapsed();
    if outcome.abandoned {
        Stats::add(&shared.stats.abandoned, 1);
    } else {
        shared.stats.record(outcome.status, elapsed);
    }
    if let (Some(log), Some(req)) = (&shared.access_log, &done.logged) {
        let version = if req.http11 { "HTTP/1.1" } else { "HTTP/1.0" };
        let entry = Entry {
            remote: &info.text().remote_ip,
            method: &req.method,
            target: &req.target,
            version,
            status: outcome.status,
            bytes: outcome.body_bytes,
            referer: &req.referer,
            user_agent: &req.user_agent,
            elapsed,
        };
        if !log.log(&entry) {
            Stats::add(&shared.stats.access_log_dropped, 1);
        }
    }
}
