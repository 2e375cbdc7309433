//! What crosses from the core to the application: the request head, a reader for the body, and
//! a responder that takes the response (whole, or as a stream with backpressure).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, oneshot, Mutex, Notify};

use crate::config::Limits;
use crate::error::{Error, Kind};
use crate::listener::{PeerAddr, ReadHalf};
use crate::proto::chunked::{ChunkError, ChunkedDecoder, Decoded};
use crate::proto::encode::ResponseHead;
use crate::proto::head::{BodyFraming, ParsedHead, Version};
use crate::stats::Stats;
use crate::tls::TlsInfo;

/// One request handed to the application, with the means to answer it.
#[derive(Debug)]
pub struct Exchange {
    /// The request line and headers.
    pub head: RequestHead,
    /// The request body.
    pub body: RequestBody,
    /// Where the response goes.
    pub responder: Responder,
}

/// The addresses of a connection, and what TLS tells about it.
#[derive(Debug)]
pub struct ConnInfo {
    /// The client.
    pub remote: PeerAddr,
    /// This end.
    pub local: PeerAddr,
    /// The TLS facts of the connection; `None` for plain HTTP. Boxed, so that plain connections
    /// do not carry its room.
    pub tls: Option<Box<TlsInfo>>,
    /// The addresses as text, made once per connection on first use (not once per request).
    text: OnceLock<AddrText>,
}

/// A connection's addresses as the CGI variables and the access log write them.
#[derive(Debug)]
pub struct AddrText {
    /// REMOTE_ADDR: the client's IP; empty on a UNIX socket.
    pub remote_ip: String,
    /// REMOTE_PORT; empty on a UNIX socket.
    pub remote_port: String,
    /// SERVER_PORT: the local port; empty on a UNIX socket.
    pub local_port: String,
}

impl ConnInfo {
    /// A connection between `remote` and `local`, without TLS.
    pub fn new(remote: PeerAddr, local: PeerAddr) -> Self {
        ConnInfo {
            remote,
            local,
            tls: None,
            text: OnceLock::new(),
        }
    }

    /// The addresses as text. Set `remote` (a PROXY header) before the first call.
    pub fn text(&self) -> &AddrText {
        self.text.get_or_init(|| {
            let (remote_ip, remote_port) = match &self.remote {
                PeerAddr::Tcp(sa) => (sa.ip().to_string(), sa.port().to_string()),
                PeerAddr::Unix => (String::new(), String::new()),
            };
            let local_port = match &self.local {
                PeerAddr::Tcp(sa) => sa.port().to_string(),
                PeerAddr::Unix => String::new(),
            };
            AddrText {
                remote_ip,
                remote_port,
                local_port,
            }
        })
    }
}

// ===== impl RequestHead =====

/// A checked request head. Every accessor returns bytes exactly as they were on the wire.
#[derive(Debug)]
pub struct RequestHead {
    pub(crate) parsed: ParsedHead,
    pub(crate) conn: Arc<ConnInfo>,
}

impl RequestHead {
    fn span(&self, s: (u32, u32)) -> &[u8] {
        self.parsed.span(s)
    }

    /// The method token.
    pub fn method(&self) -> &[u8] {
        self.parsed.method()
    }

    /// The request target, raw (`REQUEST_URI`).
    pub fn target(&self) -> &[u8] {
        self.span(self.parsed.target)
    }

    /// The path of the target, still percent-encoded; `/` for an absolute-form target without one.
    pub fn path(&self) -> &[u8] {
        let p = self.span(self.parsed.path);
        if p.is_empty() {
            b"/"
        } else {
            p
        }
    }

    /// The query string without `?`, raw.
    pub fn query(&self) -> &[u8] {
        self.span(self.parsed.query)
    }

    /// The authority of an absolute-form target (it replaces the Host header, RFC 9112 3.2.2).
    pub fn authority(&self) -> Option<&[u8]> {
        self.parsed.authority.map(|s| self.span(s))
    }

    /// The HTTP version of the request.
    pub fn version(&self) -> Version {
        self.parsed.version
    }

    /// The header fields in the order received, names as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.parsed
            .headers
            .iter()
            .map(move |&(n, v)| (self.span(n), self.span(v)))
    }

    /// The declared body length: `Some(0)` for no body, `None` for a chunked body.
    pub fn content_length(&self) -> Option<u64> {
        match self.parsed.framing {
            BodyFraming::None => Some(0),
            BodyFraming::Length(n) => Some(n),
            BodyFraming::Chunked => None,
        }
    }

    /// The connection's addresses.
    pub fn conn(&self) -> &ConnInfo {
        &self.conn
    }
}

// ===== impl RequestBody =====

/// The read side of a connection with its buffer, lent to the body while a request runs.
#[derive(Debug)]
pub(crate) struct ReadSide {
    pub rd: ReadHalf,
    pub buf: BytesMut,
}

impl ReadSide {
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

/// The request body, read on demand. Cloning shares the same body.
#[derive(Clone, Debug, Default)]
pub struct RequestBody {
    inner: Option<Arc<BodyShared>>,
}

/// The most a read returns when the caller asks for "a convenient amount" (0): what the socket
/// already holds, up to this. Each read crosses threads once, so a large upload goes faster in
/// large pieces (a 64 KiB cap read 1 GiB at about 350 MiB/s on the bench machine).
const READ_CHUNK: usize = 1024 * 1024;

impl RequestBody {
    pub(crate) fn new(
        side: ReadSide,
        framing: BodyFraming,
        expect_continue: bool,
        limits: &Limits,
        stats: Arc<Stats>,
    ) -> (Self, Arc<BodyShared>) {
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
        (
            RequestBody {
                inner: Some(shared.clone()),
            },
            shared,
        )
    }

    /// A body that is empty.
    pub fn empty() -> Self {
        RequestBody { inner: None }
    }

    /// Whether there is no body at all.
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// The whole body, taken out in one piece, when it is a Content-Length body of at most
    /// `max` bytes that is already in the connection's buffer (the client sent it with the
    /// head) and no `100 Continue` is awaited. Later reads see the end of the body. `None`
    /// otherwise: the body is then read with [`RequestBody::read`].
    pub fn take_whole(&self, max: usize) -> Option<Bytes> {
        let shared = self.inner.as_ref()?;
        if shared.continue_pending.load(Ordering::Acquire) {
            return None;
        }
        let mut state = shared.state.try_lock().ok()?;
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

    /// Read the next piece of the body, at most `max` bytes (0: what has arrived, up to 1 MiB).
    /// An empty result is the end of the body. The first read of a request sent with
    /// `Expect: 100-continue` is what sends `100 Continue`.
    ///
    /// # Errors
    /// [`Kind::BodyTooLarge`] past `max_request_body_size`, [`Kind::BodyTimeout`] when the client
    /// stalls longer than `timeout`, [`Kind::BodyInvalid`] for bad framing or a body cut short.
    pub async fn read(&self, max: usize) -> Result<Bytes, Error> {
        let Some(shared) = &self.inner else {
            return Ok(Bytes::new());
        };
        if shared.continue_pending.swap(false, Ordering::AcqRel) {
            shared.continue_wanted.notify_one();
        }
        let max = if max == 0 { READ_CHUNK } else { max };
        shared.state.lock().await.read(max).await
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

impl BodyShared {
    /// Would the connection be reusable after this body if the response ended now? Does not wait.
    pub(crate) fn reusable_hint(&self) -> bool {
        match self.state.try_lock() {
            Ok(mut st) => st.finish_from_buffer(),
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

// ===== impl Responder =====

/// The answer of the application: whole (the fast path), or a head and a stream of chunks.
#[derive(Debug)]
pub(crate) enum Reply {
    /// The whole response at once. The head is shared: a lane reuses the head of its last
    /// answer when the next one has the same status and headers.
    Full(Arc<ResponseHead>, Bytes),
    /// The head of a streamed response and the stream of its body.
    Stream(ResponseHead, StreamReceiver),
}

/// What follows the head of a streamed response, in order.
#[derive(Debug)]
pub(crate) enum StreamEvent {
    /// A piece of the body.
    Data(Bytes),
    /// The body is complete.
    End,
    /// Cut the response: the connection is closed so the client cannot take it as whole.
    Abort,
}

/// How many bytes of a streamed response may wait for the socket before
/// [`BodySender::write`] says "no more room": a slow client slows an application that waits
/// for room instead of growing a buffer. Past it nothing is refused (the order of the bytes
/// is what matters most); the room is what an application that awaits `write()` waits for.
pub const STREAM_WINDOW: usize = 256 * 1024;

/// The bytes of a stream that are queued and not yet written, shared by both ends.
#[derive(Debug, Default)]
struct Window {
    queued: AtomicUsize,
    /// Woken when `queued` drops below [`STREAM_WINDOW`].
    room: Notify,
}

/// The connection's end of a streamed response: events in the order they were sent.
#[derive(Debug)]
pub(crate) struct StreamReceiver {
    rx: mpsc::UnboundedReceiver<StreamEvent>,
    window: Arc<Window>,
}

impl StreamReceiver {
    /// The next event; `None` when the sender went away without [`StreamEvent::End`].
    pub(crate) async fn recv(&mut self) -> Option<StreamEvent> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub(crate) fn try_recv(&mut self) -> Option<StreamEvent> {
        self.rx.try_recv().ok()
    }

    /// `n` bytes taken from the stream were written (or dropped): make room for the sender.
    pub(crate) fn written(&self, n: usize) {
        let before = self.window.queued.fetch_sub(n, Ordering::AcqRel);
        if before >= STREAM_WINDOW && before - n < STREAM_WINDOW {
            self.window.room.notify_waiters();
        }
    }
}

/// Takes the response of one request. Consumed by [`Responder::respond`] or [`Responder::start`];
/// dropped unused, the core answers 500 and closes the connection.
#[derive(Debug)]
pub struct Responder {
    pub(crate) tx: oneshot::Sender<Reply>,
}

impl Responder {
    /// Send the whole response in one step.
    ///
    /// # Errors
    /// [`Kind::Closed`] when the connection is already gone.
    pub fn respond(self, head: ResponseHead, body: Bytes) -> Result<(), Error> {
        self.respond_shared(Arc::new(head), body)
    }

    /// [`Responder::respond`] with a head shared with other answers.
    ///
    /// # Errors
    /// [`Kind::Closed`] when the connection is already gone.
    pub fn respond_shared(self, head: Arc<ResponseHead>, body: Bytes) -> Result<(), Error> {
        self.tx
            .send(Reply::Full(head, body))
            .map_err(|_| Error::new(Kind::Closed, "the client went away"))
    }

    /// Start a streamed response; the body follows through the returned sender.
    ///
    /// # Errors
    /// [`Kind::Closed`] when the connection is already gone.
    pub fn start(self, head: ResponseHead) -> Result<BodySender, Error> {
        let (tx, rx) = mpsc::unbounded_channel();
        let window = Arc::new(Window::default());
        self.tx
            .send(Reply::Stream(
                head,
                StreamReceiver {
                    rx,
                    window: window.clone(),
                },
            ))
            .map_err(|_| Error::new(Kind::Closed, "the client went away"))?;
        Ok(BodySender { tx, window })
    }
}

/// The writing end of a streamed response. Every call queues at once, in call order: the bytes
/// leave in exactly the order they were written and the end comes after all of them. The
/// window ([`STREAM_WINDOW`] bytes) is advice: [`BodySender::write`] says when it is full and
/// [`BodySender::writable`] waits until it is not. A clone shares the stream (to wait for room
/// from another task); the stream is cut if every sender goes without [`BodySender::end`].
#[derive(Clone, Debug)]
pub struct BodySender {
    tx: mpsc::UnboundedSender<StreamEvent>,
    window: Arc<Window>,
}

fn gone() -> Error {
    Error::new(Kind::Closed, "the client went away")
}

impl BodySender {
    /// Queue a chunk. `Ok(true)` while the window has room, `Ok(false)` once it is full (the
    /// chunk is queued either way).
    ///
    /// # Errors
    /// [`Kind::Closed`] when the client went away (the chunk is dropped).
    pub fn write(&self, chunk: Bytes) -> Result<bool, Error> {
        let n = chunk.len();
        let queued = self.window.queued.fetch_add(n, Ordering::AcqRel) + n;
        if self.tx.send(StreamEvent::Data(chunk)).is_err() {
            self.window.queued.fetch_sub(n, Ordering::AcqRel);
            return Err(gone());
        }
        Ok(queued < STREAM_WINDOW)
    }

    /// Bytes queued and not yet written.
    pub fn queued(&self) -> usize {
        self.window.queued.load(Ordering::Acquire)
    }

    /// Wait until the window has room.
    ///
    /// # Errors
    /// [`Kind::Closed`] when the client went away.
    pub async fn writable(&self) -> Result<(), Error> {
        loop {
            let notified = self.window.room.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so a release between the two is not missed.
            notified.as_mut().enable();
            if self.tx.is_closed() {
                return Err(gone());
            }
            if self.queued() < STREAM_WINDOW {
                return Ok(());
            }
            tokio::select! {
                _ = notified => {}
                _ = self.tx.closed() => return Err(gone()),
            }
        }
    }

    /// Finish the response, after every chunk queued before.
    pub fn end(self) {
        let _ = self.tx.send(StreamEvent::End);
    }

    /// Cut the response and close the connection, after every chunk queued before.
    pub fn abort(self) {
        let _ = self.tx.send(StreamEvent::Abort);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::Stream;

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
            rd,
            buf: BytesMut::from(buffered),
        };
        let limits = Limits {
            timeout: Duration::from_secs(1),
            ..Limits::default()
        };
        let (body, _) = RequestBody::new(
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

    #[tokio::test]
    async fn a_stream_keeps_call_order_past_the_window_and_ends_after_every_chunk() {
        let (tx, mut rx) = oneshot::channel();
        let sender = Responder { tx }
            .start(ResponseHead::from_app("200 OK", []).expect("head"))
            .expect("start");
        let Ok(Reply::Stream(_, mut stream)) = rx.try_recv() else {
            panic!("a stream reply");
        };
        let mut room = Vec::new();
        for i in 0..100u8 {
            room.push(sender.write(Bytes::from(vec![i; 8 * 1024])).expect("write"));
        }
        // 800 KiB queued: the window (256 KiB) said "full" from the 32nd chunk on, and took
        // every chunk anyway.
        assert!(room[..31].iter().all(|r| *r));
        assert!(room[31..].iter().all(|r| !*r));
        sender.clone().end();
        let waiter = tokio::spawn({
            let sender = sender.clone();
            async move { sender.writable().await }
        });
        for i in 0..100u8 {
            match stream.recv().await {
                Some(StreamEvent::Data(c)) => {
                    assert_eq!(c[0], i);
                    stream.written(c.len());
                }
                other => panic!("chunk {i}: {other:?}"),
            }
        }
        assert!(matches!(stream.recv().await, Some(StreamEvent::End)));
        assert!(waiter.await.expect("join").is_ok(), "room came back");
        drop(stream);
        assert!(sender.write(Bytes::from_static(b"late")).is_err());
        assert!(
            sender.writable().await.is_err(),
            "a gone client is an error"
        );
    }
}
