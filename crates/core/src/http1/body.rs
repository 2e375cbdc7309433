//! The request body: read on demand from the connection's read side, decoded (Content-Length
//! or chunked), under the size limit, the stall timeout and the minimum rate. The connection
//! lends its read side to the body while the request runs and takes it back afterwards.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;

use crate::config::Limits;
use crate::error::{Error, Kind};
use crate::exchange::body::{BodySource, Reading, RequestBody};
use crate::exchange::head::BodyFraming;
use crate::http1::proto::chunked::{ChunkError, ChunkedDecoder, Decoded};
use crate::net::stream::ReadHalf;
use crate::stats::Stats;

/// The read side of a connection with its buffer, lent to the body while a request runs.
#[derive(Debug)]
pub(crate) struct ReadSide {
    pub rd: ReadHalf,
    pub buf: BytesMut,
    /// The client half-closed (a read returned the end of the stream): it sends nothing more,
    /// but may still be listening. Only what `buf` holds is left to read.
    pub eof: bool,
}

impl ReadSide {
    /// A read side with nothing read yet.
    pub(crate) fn new(rd: ReadHalf) -> Self {
        ReadSide {
            rd,
            buf: BytesMut::new(),
            eof: false,
        }
    }

    /// Read what the socket already holds, until the buffer has `want` bytes, without waiting.
    /// Returns the bytes read; stops early at the end of the stream or an error, which the next
    /// waiting read reports.
    pub(crate) async fn read_available(&mut self, want: usize) -> usize {
        let mut total = 0;
        if self.buf.len() < want {
            self.buf.reserve(want - self.buf.len());
        }
        while self.buf.len() < want {
            let mut read = std::pin::pin!(self.rd.read_buf(&mut self.buf));
            match std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await {
                Poll::Ready(Ok(n)) if n > 0 => total += n,
                _ => break,
            }
        }
        total
    }
}

impl std::fmt::Debug for ReadHalf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadHalf")
    }
}

#[derive(Debug)]
enum Decoder {
    Length(u64),
    Chunked(ChunkedDecoder),
    Done,
}

#[derive(Debug)]
pub(crate) struct BodyState {
    side: Option<ReadSide>,
    decoder: Decoder,
    received: u64,
    limit: u64,
    timeout: Duration,
    /// The least the body must average once `grace` passed since its first read (0: no check).
    min_rate: u64,
    grace: Duration,
    /// When the application first read the body (the clock of the minimum rate).
    first_read: Option<Instant>,
    failed: Option<Kind>,
    /// The body failed because the client closed or reset its connection.
    client_left: bool,
    stats: Arc<Stats>,
}

#[derive(Debug)]
pub(crate) struct BodyShared {
    state: Mutex<BodyState>,
    /// `Expect: 100-continue` was asked and no `100 Continue` has been asked for yet.
    pub(crate) continue_pending: AtomicBool,
    /// Woken by the first read of a body whose client waits for `100 Continue`.
    pub(crate) continue_wanted: Notify,
}

/// The most a read returns when the caller asks for "a convenient amount" (0): what the socket
/// already holds, up to this. Each read crosses threads once, so a large upload goes faster in
/// large pieces (a 64 KiB cap read 1 GiB at about 350 MiB/s on the bench machine).
const READ_CHUNK: usize = 1024 * 1024;

/// A body reader for a request framed as `framing`, on the connection's read side: the
/// application's handle, and the connection's (to take the read side back, and `100 Continue`).
pub(crate) fn new_body(
    side: ReadSide,
    framing: BodyFraming,
    expect_continue: bool,
    limits: &Limits,
    stats: Arc<Stats>,
) -> (RequestBody, Arc<BodyShared>) {
    let decoder = match framing {
        BodyFraming::None => Decoder::Done,
        BodyFraming::Length(n) => Decoder::Length(n),
        BodyFraming::Chunked => Decoder::Chunked(ChunkedDecoder::new(limits.max_trailer_size)),
    };
    let shared = Arc::new(BodyShared {
        state: Mutex::new(BodyState {
            side: Some(side),
            decoder,
            received: 0,
            limit: limits.max_body_size,
            timeout: limits.timeout,
            min_rate: limits.min_body_rate,
            grace: limits.body_rate_grace,
            first_read: None,
            failed: None,
            client_left: false,
            stats,
        }),
        continue_pending: AtomicBool::new(expect_continue),
        continue_wanted: Notify::new(),
    });
    (RequestBody::from_source(shared.clone()), shared)
}

impl BodySource for BodyShared {
    fn take_whole(&self, max: usize) -> Option<Bytes> {
        if self.continue_pending.load(Ordering::Acquire) {
            return None;
        }
        let mut state = self.state.try_lock().ok()?;
        let Decoder::Length(rem) = state.decoder else {
            return None;
        };
        let side = state.side.as_mut()?;
        if rem > max as u64 || (side.buf.len() as u64) < rem {
            return None;
        }
        let whole = side.buf.split_to(rem as usize).freeze();
        state.decoder = Decoder::Done;
        state.received += rem;
        Some(whole)
    }

    fn read(&self, max: usize) -> Reading<'_> {
        Box::pin(async move {
            if self.continue_pending.swap(false, Ordering::AcqRel) {
                self.continue_wanted.notify_one();
            }
            let max = if max == 0 { READ_CHUNK } else { max };
            self.state.lock().await.read(max).await
        })
    }
}

impl BodyState {
    async fn read(&mut self, max: usize) -> Result<Bytes, Error> {
        if let Some(kind) = self.failed {
            return Err(Error::new(kind, "the request body failed earlier"));
        }
        self.first_read.get_or_insert_with(Instant::now);
        let result = self.read_inner(max).await;
        if let Err(e) = &result {
            self.failed = Some(e.kind());
        }
        result
    }

    async fn read_inner(&mut self, max: usize) -> Result<Bytes, Error> {
        loop {
            let Some(side) = self.side.as_mut() else {
                return Err(Error::new(Kind::Closed, "the request is finished"));
            };
            let piece = match &mut self.decoder {
                Decoder::Done => return Ok(Bytes::new()),
                Decoder::Length(rem) => {
                    if side.buf.is_empty() {
                        None
                    } else {
                        let n = (*rem).min(side.buf.len() as u64).min(max as u64) as usize;
                        *rem -= n as u64;
                        let b = side.buf.split_to(n).freeze();
                        if *rem == 0 {
                            self.decoder = Decoder::Done;
                        }
                        Some(b)
                    }
                }
                Decoder::Chunked(d) => match d.decode(&mut side.buf, max) {
                    Ok(Decoded::Data(b)) => Some(b),
                    Ok(Decoded::NeedMore) => None,
                    Ok(Decoded::Done) => {
                        self.decoder = Decoder::Done;
                        return Ok(Bytes::new());
                    }
                    Err(ChunkError::Invalid(why)) => {
                        return Err(Error::new(
                            Kind::BodyInvalid,
                            format!("invalid chunked body: {why}"),
                        ))
                    }
                    Err(ChunkError::TrailersTooLarge) => {
                        return Err(Error::new(
                            Kind::BodyTooLarge,
                            "the trailer section is too large",
                        ))
                    }
                },
            };
            if let Some(b) = piece {
                self.received += b.len() as u64;
                if self.limit > 0 && self.received > self.limit {
                    return Err(Error::new(
                        Kind::BodyTooLarge,
                        format!(
                            "the request body is larger than maxRequestBodySize ({} bytes)",
                            self.limit
                        ),
                    ));
                }
                return Ok(b);
            }
            // Need more bytes from the socket: wait for some, then take what else is already
            // there, up to what the caller asked for. The wait ends at a stall of `timeout`, or
            // when the body falls below its minimum rate, whichever comes first.
            side.buf.reserve(16 * 1024);
            let stalled = Instant::now() + self.timeout;
            let too_slow = match (self.min_rate, self.first_read) {
                (0, _) | (_, None) => None,
                (rate, Some(first)) => {
                    let allowed = Duration::from_secs_f64(self.received as f64 / rate as f64);
                    Some(first + allowed.max(self.grace))
                }
            };
            let until = too_slow.map_or(stalled, |t| t.min(stalled));
            let read = tokio::time::timeout_at(until, side.rd.read_buf(&mut side.buf)).await;
            match read {
                Err(_) if too_slow.is_some_and(|t| t <= stalled) => {
                    return Err(Error::new(
                        Kind::BodyTimeout,
                        format!(
                            "the request body came slower than minRequestBodyRate ({} bytes/s)",
                            self.min_rate
                        ),
                    ))
                }
                Err(_) => {
                    return Err(Error::new(
                        Kind::BodyTimeout,
                        format!("the client sent no body bytes for {:?}", self.timeout),
                    ))
                }
                Ok(Err(e)) => {
                    self.client_left = true;
                    return Err(Error::io(
                        Kind::Closed,
                        "the client's connection failed before the end of the body",
                        e,
                    ));
                }
                Ok(Ok(0)) => {
                    self.client_left = true;
                    return Err(Error::new(
                        Kind::Closed,
                        "the client closed its connection before the end of the body",
                    ));
                }
                Ok(Ok(n)) => {
                    let more = side.read_available(max).await;
                    Stats::add(&self.stats.bytes_read, (n + more) as u64);
                }
            }
        }
    }

    /// Whether the body is complete, or can be completed from what is already buffered.
    fn finish_from_buffer(&mut self) -> bool {
        if self.failed.is_some() {
            return false;
        }
        let Some(side) = self.side.as_mut() else {
            return false;
        };
        loop {
            match &mut self.decoder {
                Decoder::Done => return true,
                Decoder::Length(rem) => {
                    if (side.buf.len() as u64) < *rem {
                        return false;
                    }
                    let _ = side.buf.split_to(*rem as usize);
                    self.decoder = Decoder::Done;
                }
                Decoder::Chunked(d) => match d.decode(&mut side.buf, usize::MAX) {
                    Ok(Decoded::Data(_)) => {}
                    Ok(Decoded::Done) => self.decoder = Decoder::Done,
                    _ => return false,
                },
            }
        }
    }
}

impl BodyState {
    /// Whether the body could be completed from what is already buffered, without taking
    /// anything: the application may still read it (a response can start while the body is
    /// read), so its bytes stay where they are.
    fn could_finish_from_buffer(&self) -> bool {
        if self.failed.is_some() {
            return false;
        }
        let Some(side) = self.side.as_ref() else {
            return false;
        };
        match &self.decoder {
            Decoder::Done => true,
            Decoder::Length(rem) => side.buf.len() as u64 >= *rem,
            Decoder::Chunked(d) => {
                // Decode copies: the buffered chunks are the application's to read.
                let (mut d, mut buf) = (d.clone(), side.buf.clone());
                loop {
                    match d.decode(&mut buf, usize::MAX) {
                        Ok(Decoded::Data(_)) => {}
                        Ok(Decoded::Done) => return true,
                        _ => return false,
                    }
                }
            }
        }
    }
}

impl BodyShared {
    /// Would the connection be reusable after this body if the response ended now? Does not
    /// wait, and takes nothing from the body (the application may still be reading it).
    pub(crate) fn reusable_hint(&self) -> bool {
        match self.state.try_lock() {
            Ok(st) => st.could_finish_from_buffer(),
            Err(_) => false,
        }
    }

    /// Take the read side back after the response. `Some` with `true` when the body was read (or
    /// drained from the buffer) to its end, so the next request can follow on the connection.
    /// Then how many body bytes the application read, and whether the body failed because the
    /// client closed or reset its connection.
    pub(crate) async fn reclaim(&self) -> (Option<ReadSide>, bool, u64, bool) {
        let mut st = self.state.lock().await;
        let complete = st.finish_from_buffer();
        (st.side.take(), complete, st.received, st.client_left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::stream::Stream;

    /// A body over a real socket whose buffer already holds `buffered`; the client end is
    /// returned so the socket stays open.
    async fn body_with(
        buffered: &[u8],
        framing: BodyFraming,
        expect_continue: bool,
    ) -> (RequestBody, tokio::net::TcpStream) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let client = tokio::net::TcpStream::connect(l.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (server, _) = l.accept().await.expect("accept");
        let (rd, _wr) = Stream::Tcp(server).into_split();
        let side = ReadSide {
            buf: BytesMut::from(buffered),
            ..ReadSide::new(rd)
        };
        let limits = Limits {
            timeout: Duration::from_secs(1),
            ..Limits::default()
        };
        let (body, _) = new_body(
            side,
            framing,
            expect_continue,
            &limits,
            Arc::new(Stats::default()),
        );
        (body, client)
    }

    #[tokio::test]
    async fn a_small_body_already_buffered_is_taken_whole_and_reads_then_end() {
        let (body, _c) = body_with(b"hello, world", BodyFraming::Length(5), false).await;
        assert_eq!(body.take_whole(64).as_deref(), Some(&b"hello"[..]));
        assert!(body.read(0).await.expect("read").is_empty());
        // What follows the body (a pipelined request) stays for the connection.
        assert!(body.take_whole(64).is_none());
    }

    #[tokio::test]
    async fn a_body_is_not_taken_whole_when_it_is_not_all_there_large_chunked_or_awaits_continue() {
        let (partial, _c1) = body_with(b"hel", BodyFraming::Length(5), false).await;
        assert!(partial.take_whole(64).is_none());
        let (large, _c2) = body_with(b"hello", BodyFraming::Length(5), false).await;
        assert!(large.take_whole(4).is_none());
        assert_eq!(large.read(0).await.expect("read").as_ref(), b"hello");
        let (chunked, _c3) =
            body_with(b"5\r\nhello\r\n0\r\n\r\n", BodyFraming::Chunked, false).await;
        assert!(chunked.take_whole(64).is_none());
        let (expecting, _c4) = body_with(b"hello", BodyFraming::Length(5), true).await;
        assert!(expecting.take_whole(64).is_none());
    }
}
