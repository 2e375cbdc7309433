//! Bytes in and out of one connection: reading a request head, noticing a client that leaves,
//! writing with a stall timeout, and closing politely.

use std::future::Future;
use std::io::{self, IoSlice};
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, Instant};

use super::rate::WriteRate;
use crate::exchange::head::ParsedHead;
use crate::http1::body::ReadSide;
use crate::http1::proto::head::{self, Parse, Reject};
use crate::net::stream::{ReadHalf, WriteHalf};
use crate::shared::Shared;
use crate::stats::Stats;

/// The first read of a connection's head reserves this much; an idle connection holds nothing.
pub(super) const FIRST_READ: usize = 2048;

/// The longest a closing connection keeps reading and discarding what the client still sends,
/// so that the answer is not destroyed by a reset (nginx's `lingering_time`).
pub(super) const LINGER_TOTAL: Duration = Duration::from_secs(30);

/// The longest it waits for more between two reads while it lingers (nginx's
/// `lingering_timeout`): a client that has read the answer closes or goes quiet.
pub(super) const LINGER_IDLE: Duration = Duration::from_secs(5);

/// The most a lingering close reads and discards: past it, the client is sending a body it was
/// told it cannot send, and the connection is closed.
pub(super) const LINGER_BYTES: usize = 64 * 1024 * 1024;

pub(super) enum HeadOutcome {
    Head(ParsedHead),
    Close,
    Reject(Reject),
}

pub(super) async fn read_head(
    rs: &mut ReadSide,
    shared: &Shared,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> HeadOutcome {
    let limits = &shared.config.limits;
    let mut scanned = 0;
    let mut started: Option<Instant> = None;
    loop {
        // Only empty lines (which RFC 9112 section 2.2 lets a server ignore) is still idle.
        let idle = rs.buf.chunks(2).all(|c| c == b"\r\n");
        if !rs.buf.is_empty() {
            if !idle {
                started.get_or_insert_with(Instant::now);
            }
            match head::parse(&rs.buf, &mut scanned, limits, shared.config.protocol) {
                Ok(Parse::Complete(mut h, len)) => {
                    h.buf = rs.buf.split_to(len).freeze();
                    return HeadOutcome::Head(h);
                }
                Ok(Parse::Partial) => {}
                Err(r) => return HeadOutcome::Reject(r),
            }
        }
        if rs.eof {
            // The client half-closed: what the buffer holds is all there will be, and an
            // incomplete head will never be completed.
            return HeadOutcome::Close;
        }
        if rs.buf.is_empty() {
            if *shutdown.borrow() {
                return HeadOutcome::Close;
            }
            // Give the buffer back while the connection waits: idle connections cost no buffer.
            if rs.buf.capacity() > 0 {
                rs.buf = BytesMut::new();
            }
        }
        let deadline = started.unwrap_or_else(Instant::now) + limits.timeout;
        let read = async {
            if rs.buf.capacity() == rs.buf.len() {
                rs.rd.readable().await?;
                rs.buf.reserve(if rs.buf.is_empty() {
                    FIRST_READ
                } else {
                    rs.buf.len()
                });
            }
            rs.rd.read_buf(&mut rs.buf).await
        };
        tokio::select! {
            r = tokio::time::timeout_at(deadline, read) => match r {
                Err(_) => {
                    return if idle { HeadOutcome::Close } else { HeadOutcome::Reject(Reject { status: 408, reason: "Request Timeout" }) };
                }
                Ok(Ok(0)) => return HeadOutcome::Close,
                Ok(Ok(n)) => Stats::add(&shared.stats.bytes_read, n as u64),
                Ok(Err(_)) => {
                    Stats::add(&shared.stats.socket_errors, 1);
                    return HeadOutcome::Close;
                }
            },
            _ = shutdown.changed(), if idle => return HeadOutcome::Close,
        }
    }
}

/// Whether the bytes of a refused request start with the HEAD method (its answer has no body).
pub(super) fn is_head_request(buf: &[u8]) -> bool {
    let mut b = buf;
    while b.starts_with(b"\r\n") {
        b = &b[2..];
    }
    b.starts_with(b"HEAD ")
}

/// What a client did while its request was in the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Left {
    /// It half-closed (FIN): it has finished sending, not listening. Its answers are still
    /// written; the application is told, so that it may stop early.
    HalfClosed,
    /// It reset the connection, or reading failed: nobody is there to read an answer.
    Reset,
}

/// Resolves when the client half-closes or resets its connection while its request is in the
/// application. What it sends meanwhile (pipelined requests) is kept for later, up to the head
/// limit. Never resolves without the read side (a request with a body holds it), nor once the
/// client half-closed (a reset then shows up as a failed write).
pub(super) async fn client_gone(side: Option<&mut ReadSide>, shared: &Shared) -> Left {
    let Some(rs) = side.filter(|rs| !rs.eof) else {
        return std::future::pending().await;
    };
    let limit = shared.config.limits.effective_head_size();
    loop {
        if rs.buf.len() >= limit {
            return std::future::pending().await;
        }
        if rs.rd.readable().await.is_err() {
            return Left::Reset;
        }
        rs.buf.reserve(FIRST_READ);
        match rs.rd.read_buf(&mut rs.buf).await {
            Ok(0) => {
                rs.eof = true;
                return Left::HalfClosed;
            }
            Ok(n) => Stats::add(&shared.stats.bytes_read, n as u64),
            Err(_) => return Left::Reset,
        }
    }
}

/// Close politely: send FIN (after close_notify under TLS); given the read side, also read and
/// drop what the client still sends, so that an answer followed by unread input is not
/// destroyed by a reset in the client's receive buffer: until the client closes or goes quiet
/// for [`LINGER_IDLE`], at most [`LINGER_TOTAL`] and [`LINGER_BYTES`], or the server stops.
/// Only then: a clean `Connection: close` exchange has nothing left to drain, and its task need
/// not wait for the client's FIN.
pub(super) async fn close(mut wr: WriteHalf, rd: Option<ReadHalf>, shared: &Shared) {
    let _ = timeout(shared.config.limits.timeout, wr.shutdown()).await;
    let Some(mut rd) = rd else { return };
    let until = Instant::now() + LINGER_TOTAL;
    let mut stopping = shared.shutdown_rx.clone();
    // On the heap, and only while lingering: an idle connection's future holds no room for it.
    let mut sink = vec![0u8; 16 * 1024];
    let mut drained = 0usize;
    while drained < LINGER_BYTES && !*stopping.borrow() {
        let gap = (Instant::now() + LINGER_IDLE).min(until);
        tokio::select! {
            r = tokio::time::timeout_at(gap, rd.read(&mut sink)) => match r {
                Ok(Ok(n)) if n > 0 => drained += n,
                _ => break,
            },
            _ = stopping.changed() => break,
        }
    }
}

/// Write every slice. `timeout` bounds a stall, not the whole write: each write call (and the
/// flush) that makes no progress for `timeout` cuts the client off, so a client that stops
/// reading is cut after about `timeout`, and a slow but steady reader gets a response of any
/// size, as reads are timed. A write that completes at once (the common case) never arms a
/// timer.
///
/// Bytes are counted in `bytes_written` as the socket takes them, also when a later part of the
/// write fails or stalls: the counter is what clients were sent.
pub(super) async fn write_all(
    wr: &mut WriteHalf,
    parts: &[&[u8]],
    shared: &Shared,
) -> io::Result<usize> {
    write_metered(wr, parts, shared, &mut WriteRate::unmetered()).await
}

/// [`write_all`] for a part of an answer: also cut off (`TimedOut`, as a stall) when the waits
/// on the socket run past what `rate` allows, a client reading below the minimum data rate.
pub(super) async fn write_metered(
    wr: &mut WriteHalf,
    parts: &[&[u8]],
    shared: &Shared,
    rate: &mut WriteRate,
) -> io::Result<usize> {
    /// Poll `fut` once; only if it is not ready, give it `limit` (or what `rate` still allows,
    /// if less) to finish, and add the wait to `rate`.
    async fn stall_bound<F: Future>(
        fut: F,
        limit: Duration,
        rate: &mut WriteRate,
    ) -> Result<F::Output, ()> {
        let mut fut = std::pin::pin!(fut);
        match std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await {
            Poll::Ready(r) => Ok(r),
            Poll::Pending => {
                let bound = rate.allowance().map_or(limit, |a| a.min(limit));
                let began = Instant::now();
                let r = timeout(bound, fut).await.map_err(drop);
                rate.waited(began.elapsed());
                r
            }
        }
    }
    let limit = shared.config.limits.timeout;
    let mut slices: Vec<IoSlice<'_>> = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| IoSlice::new(p))
        .collect();
    let mut bufs = &mut slices[..];
    let mut written = 0usize;
    let result = loop {
        if bufs.is_empty() {
            // TLS may keep records that did not fit the socket: push them out. TCP: nothing.
            break stall_bound(wr.flush(), limit, rate).await;
        }
        match stall_bound(wr.write_vectored(bufs), limit, rate).await {
            Ok(Ok(0)) => break Ok(Err(io::Error::from(io::ErrorKind::WriteZero))),
            Ok(Ok(n)) => {
                written += n;
                rate.took(n);
                Stats::add(&shared.stats.bytes_written, n as u64);
                IoSlice::advance_slices(&mut bufs, n);
            }
            other => break other.map(|r| r.map(drop)),
        }
    };
    match result {
        Ok(Ok(())) => Ok(written),
        Ok(Err(e)) => {
            Stats::add(&shared.stats.socket_errors, 1);
            Err(e)
        }
        Err(()) => Err(io::Error::from(io::ErrorKind::TimedOut)),
    }
}
