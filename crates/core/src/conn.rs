//! One task per connection: read a head, check it, hand the exchange to the application, write
//! its response, and go again while the connection may be kept alive.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout, Instant};

use crate::access_log::Entry;
use crate::config::{Protocol, ServerConfig};
use crate::exchange::{
    BodyShared, ConnInfo, Exchange, ReadSide, Reply, RequestBody, RequestHead, Responder,
    StreamEvent,
};
use crate::listener::{PeerAddr, ReadHalf, Stream, WriteHalf};
use crate::pool::Slot;
use crate::proto::encode::{self, chunk_header, Answer, Framing, ResponseHead};
use crate::proto::head::{self, BodyFraming, Parse, ParsedHead, Reject, Version};
use crate::proxy;
use crate::server::Shared;
use crate::stats::Stats;
use crate::tls::{self, Accepted};

/// The first read of a connection's head reserves this much; an idle connection holds nothing.
const FIRST_READ: usize = 2048;
/// Bodies up to this size are copied behind the head so the response goes out in one write.
const COALESCE_LIMIT: usize = 16 * 1024;
/// A Content-Length body up to this size that is already in the socket is read before the
/// request is handed over, so it can go with the head (see `RequestBody::take_whole`).
pub const WHOLE_BODY_MAX: usize = 64 * 1024;
/// At most this many pipelined requests of one connection are in the application at once.
const AHEAD_MAX: usize = 16;
/// Ready pipelined answers are joined into one write up to this many bytes.
const AHEAD_FLUSH: usize = 64 * 1024;
/// A streamed response writes what is waiting, up to this many bytes or chunks, in one go.
const STREAM_COALESCE: usize = 256 * 1024;
const STREAM_COALESCE_CHUNKS: usize = 64;
/// How long a closing connection keeps reading (and discarding) so the client sees the response.
const LINGER: Duration = Duration::from_millis(500);

/// Serve one connection until it closes: the TLS handshake first when the server speaks HTTPS
/// (after the PROXY header, when one is expected). A panic inside is caught, counted, and closes
/// only this connection.
pub(crate) async fn serve(stream: Stream, info: ConnInfo, shared: Arc<Shared>) {
    let stats = shared.stats.clone();
    // Plain connections run the HTTP loop's future alone; TLS ones the handshake step around it.
    let conn: Pin<Box<dyn Future<Output = ()> + Send>> = if shared.tls.is_some() {
        Box::pin(serve_tls(stream, info, shared))
    } else {
        Box::pin(serve_inner(stream, info, shared))
    };
    let result = CatchUnwind(AssertUnwindSafe(conn)).await;
    if result.is_err() {
        Stats::add(&stats.panics, 1);
    }
}

/// The PROXY header when one is expected, the TLS handshake, then the HTTP loop. The handshake
/// future is boxed: it holds rustls's handshake state, which would otherwise widen the future of
/// the connection for as long as it lives.
async fn serve_tls(mut stream: Stream, mut info: ConnInfo, shared: Arc<Shared>) {
    let Some(tls) = &shared.tls else { return };
    if shared.config.proxy_protocol {
        // The PROXY header comes before the TLS handshake: read exactly its bytes.
        match Box::pin(read_proxy_header_raw(&mut stream, &shared)).await {
            Ok(Some(client)) => info.remote = PeerAddr::Tcp(client),
            Ok(None) => {}
            Err(()) => {
                Stats::add(&shared.stats.rejected, 1);
                return;
            }
        }
    }
    let accepted = {
        let mut shutdown = shared.shutdown_rx.clone();
        let timeout = shared.config.limits.timeout;
        Box::pin(tls::accept(
            stream,
            tls,
            &shared.stats,
            timeout,
            &mut shutdown,
        ))
        .await
    };
    match accepted {
        Accepted::Tls(s, tls_info) => {
            info.tls = Some(tls_info);
            serve_inner(s, info, shared).await
        }
        Accepted::PlainHttp(s) => Box::pin(reject_plain_http(s, &shared)).await,
        Accepted::Closed => {}
    }
}

enum HeadOutcome {
    Head(ParsedHead),
    Close,
    Reject(Reject),
}

async fn serve_inner(stream: Stream, mut info: ConnInfo, shared: Arc<Shared>) {
    let (rd, mut wr) = stream.into_split();
    let mut side = Some(ReadSide {
        rd,
        buf: BytesMut::new(),
    });
    let cfg = &shared.config;
    let mut shutdown = shared.shutdown_rx.clone();

    #[cfg(test)]
    crate::server::maybe_panic_for_test(&shared);

    if cfg.proxy_protocol && info.tls.is_none() {
        let Some(rs) = side.as_mut() else { return };
        match read_proxy_header(rs, &shared).await {
            Ok(Some(client)) => info.remote = PeerAddr::Tcp(client),
            Ok(None) => {}
            Err(()) => {
                Stats::add(&shared.stats.rejected, 1);
                let _ = write_error(
                    &mut wr,
                    400,
                    "Bad Request: a PROXY protocol header was expected",
                    &[],
                    false,
                    &shared,
                )
                .await;
                return;
            }
        }
    }
    let info = Arc::new(info);

    // Whether the client may still be sending bytes we will not read (a refused request, an
    // unread body): then the close lingers, so those bytes do not turn into a reset that
    // destroys the answer before the client reads it.
    let mut linger = false;
    loop {
        let Some(mut rs) = side.take() else { break };
        let outcome = read_head(&mut rs, &shared, &mut shutdown).await;
        let parsed = match outcome {
            HeadOutcome::Head(h) => h,
            HeadOutcome::Close => {
                side = Some(rs);
                break;
            }
            HeadOutcome::Reject(r) => {
                Stats::add(&shared.stats.requests, 1);
                Stats::add(&shared.stats.rejected, 1);
                let is_head = is_head_request(&rs.buf);
                let _ = write_error(&mut wr, r.status, r.reason, &[], is_head, &shared).await;
                side = Some(rs);
                linger = true;
                break;
            }
        };
        Stats::add(&shared.stats.requests, 1);
        let started = Instant::now();
        let is_head = parsed.method() == b"HEAD";

        if shared.pool.idle() == 0 && shared.pool.qsize() >= cfg.max_queue {
            // Past the queue bound: say so and when to retry, instead of growing memory.
            Stats::add(&shared.stats.overloaded, 1);
            shared.stats.record(503, started.elapsed());
            let _ = write_error(
                &mut wr,
                503,
                "Service Unavailable",
                &[b"Retry-After: 1\r\n"],
                is_head,
                &shared,
            )
            .await;
            side = Some(rs);
            linger = true;
            break;
        }

        if let BodyFraming::Length(n) = parsed.framing {
            let max = cfg.limits.max_body_size;
            if max > 0 && n > max {
                Stats::add(&shared.stats.rejected, 1);
                let _ = write_error(&mut wr, 413, "Payload Too Large", &[], is_head, &shared).await;
                side = Some(rs);
                linger = true;
                break;
            }
            // A small body the client sent with the head may already wait in the socket: take
            // it now, without waiting, so that it can cross with the head in one piece.
            if n <= WHOLE_BODY_MAX as u64 && !parsed.expect_continue {
                let more = rs.read_available(n as usize).await;
                Stats::add(&shared.stats.bytes_read, more as u64);
            }
        }

        let ans = answer_for(&parsed, is_head, cfg);
        let (body, body_shared) = if parsed.framing == BodyFraming::None {
            side = Some(rs);
            (RequestBody::empty(), None)
        } else {
            let (b, s) = RequestBody::new(
                rs,
                parsed.framing,
                parsed.expect_continue,
                cfg.limits.max_body_size,
                cfg.limits.max_trailer_size,
                cfg.limits.timeout,
                shared.stats.clone(),
            );
            (b, Some(s))
        };

        let slot = shared.pool.acquire().await;
        let safe = is_head || parsed.method() == b"GET";
        let first = dispatch(parsed, body, started, slot, ans, &info, &shared);

        let mut out = Vec::new();
        let keep = if let Some(b) = body_shared {
            // Boxed: a request with a body is the rarer case, and its states would otherwise
            // widen every connection's future (see the_connection_future_stays_small).
            let (outcome, received, complete, back) = Box::pin(async {
                let outcome = match await_reply(&mut wr, first.reply, ans, &b, &shared).await {
                    Ok(reply) => {
                        write_response(&mut wr, reply, ans, Some(&b), &shared, &mut out, false)
                            .await
                    }
                    Err(failed) => failed,
                };
                let (back, complete, received) = b.reclaim().await;
                (outcome, received, complete, back)
            })
            .await;
            linger = linger || !complete;
            side = back;
            record(&shared, &info, first.done, received, &outcome);
            outcome.keep && complete
        } else {
            // A safe request with more complete heads behind it: those go to the application
            // now too, and the answers go out in order, several per write when they are ready.
            let mut queue = VecDeque::from([first]);
            if let (true, true, Some(rs)) = (safe, ans.keep_alive, side.as_mut()) {
                dispatch_ahead(&mut queue, rs, &info, &shared);
            }
            let mut keep = true;
            while let Some(f) = queue.pop_front() {
                let reply = f.reply.take().await;
                let hold = queue.front_mut().is_some_and(InFlight::is_ready);
                let outcome =
                    write_response(&mut wr, reply, f.ans, None, &shared, &mut out, hold).await;
                record(&shared, &info, f.done, 0, &outcome);
                if !outcome.keep {
                    // Requests dispatched ahead and not answered: a client that pipelines
                    // retries them (RFC 9112 section 9.3.2); they were safe methods only.
                    keep = false;
                    break;
                }
            }
            keep
        };
        if !keep || *shutdown.borrow() {
            break;
        }
    }
    // Pipelined requests we will not answer are unread input too.
    linger = linger || side.as_ref().is_some_and(|s| !s.buf.is_empty());
    close(wr, side.filter(|_| linger).map(|s| s.rd), &shared).await;
}

/// Close politely: send FIN (after close_notify under TLS); given the read side, also read and
/// drop what the client still sends for a moment, so a response followed by unread input is not
/// destroyed by a reset. Only then: a clean `Connection: close` exchange has nothing left to
/// drain, and its task need not wait for the client's FIN.
async fn close(mut wr: WriteHalf, rd: Option<ReadHalf>, shared: &Shared) {
    let _ = timeout(shared.config.limits.timeout, wr.shutdown()).await;
    if let Some(mut rd) = rd {
        let deadline = Instant::now() + LINGER;
        let mut sink = [0u8; 1024];
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, rd.read(&mut sink)).await {
            if n == 0 {
                break;
            }
        }
    }
}

/// The body of the answer to plain HTTP on a TLS port (the original server's NoSSLError).
const PLAIN_HTTP_ON_TLS: &str =
    "This port speaks HTTPS: the client sent a plain HTTP request. Use https:// instead.\n";

/// Answer a client that sent plain HTTP to a TLS port with a plain-text 400, then close.
async fn reject_plain_http(stream: Stream, shared: &Shared) {
    Stats::add(&shared.stats.requests, 1);
    Stats::add(&shared.stats.rejected, 1);
    let (rd, mut wr) = stream.into_split();
    let _ = write_text(
        &mut wr,
        400,
        "Bad Request",
        &[],
        PLAIN_HTTP_ON_TLS,
        false,
        shared,
    )
    .await;
    close(wr, Some(rd), shared).await;
}

/// Read a PROXY header from a connection that has not started TLS yet, taking exactly the
/// header's bytes (what follows belongs to the TLS handshake). Within `timeout`.
async fn read_proxy_header_raw(
    stream: &mut Stream,
    shared: &Shared,
) -> Result<Option<std::net::SocketAddr>, ()> {
    /// The v2 signature (12 bytes) and its version, family and length fields (4 bytes).
    const V2_FIXED: usize = 16;
    let read = async {
        // 12 bytes tell v2 (its signature) from v1 ("PROXY ", at least 15 bytes in all).
        let mut buf = vec![0u8; 12];
        stream.read_exact(&mut buf).await.map_err(drop)?;
        loop {
            match proxy::parse(&buf) {
                Ok(Some((header, n))) if n == buf.len() => {
                    Stats::add(&shared.stats.bytes_read, n as u64);
                    return Ok(match header {
                        proxy::ProxyHeader::Client(sa) => Some(sa),
                        proxy::ProxyHeader::Local => None,
                    });
                }
                Ok(Some(_)) | Err(_) => return Err(()),
                Ok(None) => {}
            }
            // v2: the fixed part says how long the rest is; v1: one byte at a time to the LF.
            let more = if buf.len() >= V2_FIXED && !buf.starts_with(b"PROXY ") {
                (V2_FIXED + usize::from(u16::from_be_bytes([buf[14], buf[15]])))
                    .saturating_sub(buf.len())
            } else if buf.len() < V2_FIXED && !buf.starts_with(b"PROXY ") {
                V2_FIXED - buf.len()
            } else {
                1
            };
            if more == 0 {
                return Err(());
            }
            let at = buf.len();
            buf.resize(at + more, 0);
            stream.read_exact(&mut buf[at..]).await.map_err(drop)?;
        }
    };
    tokio::time::timeout(shared.config.limits.timeout, read)
        .await
        .unwrap_or(Err(()))
}

async fn read_head(
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
fn is_head_request(buf: &[u8]) -> bool {
    let mut b = buf;
    while b.starts_with(b"\r\n") {
        b = &b[2..];
    }
    b.starts_with(b"HEAD ")
}

/// The request line bits the access log keeps, copied only when the log is on.
struct LoggedRequest {
    method: Vec<u8>,
    target: Vec<u8>,
    http11: bool,
    referer: Vec<u8>,
    user_agent: Vec<u8>,
}

impl LoggedRequest {
    fn of(h: &ParsedHead) -> Self {
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
struct Outcome {
    /// The connection may carry another request.
    keep: bool,
    /// The status sent (500 when the application gave none).
    status: u16,
    /// Bytes written, head included.
    bytes: u64,
    /// Body bytes written.
    body_bytes: u64,
}

/// Read an optional PROXY protocol header. `Ok(Some)`: the client it names; `Ok(None)`: a LOCAL
/// header (health check); `Err`: no valid header within `timeout`.
async fn read_proxy_header(
    rs: &mut ReadSide,
    shared: &Shared,
) -> Result<Option<std::net::SocketAddr>, ()> {
    let deadline = Instant::now() + shared.config.limits.timeout;
    loop {
        match proxy::parse(&rs.buf) {
            Ok(Some((header, n))) => {
                let _ = rs.buf.split_to(n);
                return Ok(match header {
                    proxy::ProxyHeader::Client(sa) => Some(sa),
                    proxy::ProxyHeader::Local => None,
                });
            }
            Ok(None) => {}
            Err(_) => return Err(()),
        }
        rs.buf.reserve(256);
        match tokio::time::timeout_at(deadline, rs.rd.read_buf(&mut rs.buf)).await {
            Ok(Ok(n)) if n > 0 => Stats::add(&shared.stats.bytes_read, n as u64),
            _ => return Err(()),
        }
    }
}

/// The answer to a request handed to the application: coming, or already here.
enum Pending {
    Waiting(oneshot::Receiver<Reply>),
    /// `Err`: the application dropped the request without an answer. Boxed, as the logged
    /// request is: every connection's future holds room for an `InFlight`.
    Ready(Box<Result<Reply, ()>>),
}

impl Pending {
    async fn take(self) -> Result<Reply, ()> {
        match self {
            Pending::Waiting(rx) => rx.await.map_err(drop),
            Pending::Ready(r) => *r,
        }
    }
}

/// A request in the application, and what its answer's bookkeeping needs.
struct InFlight {
    reply: Pending,
    ans: Answer,
    done: Done,
}

impl InFlight {
    /// Whether the answer is here (taking it if it just came).
    fn is_ready(&mut self) -> bool {
        if let Pending::Waiting(rx) = &mut self.reply {
            match rx.try_recv() {
                Ok(r) => self.reply = Pending::Ready(Box::new(Ok(r))),
                Err(oneshot::error::TryRecvError::Closed) => {
                    self.reply = Pending::Ready(Box::new(Err(())))
                }
                Err(oneshot::error::TryRecvError::Empty) => return false,
            }
        }
        true
    }
}

/// What is counted and logged once a request is answered.
struct Done {
    started: Instant,
    slot: Slot,
    logged: Option<Box<LoggedRequest>>,
    head_len: u64,
}

/// Hand a request to the application.
fn dispatch(
    parsed: ParsedHead,
    body: RequestBody,
    started: Instant,
    slot: Slot,
    ans: Answer,
    info: &Arc<ConnInfo>,
    shared: &Shared,
) -> InFlight {
    let (tx, rx) = oneshot::channel();
    // What the access log needs outlives the head handed to the application.
    let logged = shared
        .access_log
        .as_ref()
        .map(|_| Box::new(LoggedRequest::of(&parsed)));
    let head_len = parsed.buf.len() as u64;
    shared.dispatch.dispatch(Exchange {
        head: RequestHead {
            parsed,
            conn: info.clone(),
        },
        body,
        responder: Responder { tx },
    });
    InFlight {
        reply: Pending::Waiting(rx),
        ans,
        done: Done {
            started,
            slot,
            logged,
            head_len,
        },
    }
}

/// Pipelining: while the read buffer already holds complete heads of safe, body-less,
/// keep-alive requests and a pool slot is free at once, dispatch them without waiting for the
/// answers before them. The application works on them together (one batch for JavaScript), and
/// the answers go out in order.
fn dispatch_ahead(
    queue: &mut VecDeque<InFlight>,
    rs: &mut ReadSide,
    info: &Arc<ConnInfo>,
    shared: &Shared,
) {
    let cfg = &shared.config;
    while queue.len() < AHEAD_MAX && !rs.buf.is_empty() && !*shared.shutdown_rx.borrow() {
        let mut scanned = 0;
        let Ok(Parse::Complete(mut parsed, len)) =
            head::parse(&rs.buf, &mut scanned, &cfg.limits, cfg.protocol)
        else {
            // Incomplete or malformed: the connection loop reads or refuses it in turn.
            break;
        };
        if parsed.framing != BodyFraming::None || parsed.wants_close {
            break;
        }
        // The head is still in the read buffer: its method is read from there.
        let method = &rs.buf[parsed.method.0 as usize..parsed.method.1 as usize];
        let is_head = method == b"HEAD";
        if !(is_head || method == b"GET") {
            break;
        }
        let Some(slot) = shared.pool.try_acquire() else {
            break;
        };
        let ans = answer_for(&parsed, is_head, cfg);
        parsed.buf = rs.buf.split_to(len).freeze();
        Stats::add(&shared.stats.requests, 1);
        let started = Instant::now();
        queue.push_back(dispatch(
            parsed,
            RequestBody::empty(),
            started,
            slot,
            ans,
            info,
            shared,
        ));
    }
}

/// What the answer to a request depends on.
fn answer_for(parsed: &ParsedHead, is_head: bool, cfg: &ServerConfig) -> Answer {
    Answer {
        http11: parsed.version == Version::Http11 && cfg.protocol == Protocol::Http11,
        is_head,
        keep_alive: !parsed.wants_close,
    }
}

/// Count and log an answered request.
fn record(shared: &Shared, info: &ConnInfo, done: Done, body_read: u64, outcome: &Outcome) {
    let worker = done.slot.worker();
    Stats::add(&worker.bytes_read, done.head_len + body_read);
    Stats::add(&worker.bytes_written, outcome.bytes);
    drop(done.slot);
    let elapsed = done.started.elapsed();
    shared.stats.record(outcome.status, elapsed);
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

/// Wait for the answer to a request with a body. Under `Expect: 100-continue` the interim
/// response goes out when the application first reads; `Err` when it could not be written.
async fn await_reply(
    wr: &mut WriteHalf,
    reply: Pending,
    ans: Answer,
    body: &BodyShared,
    shared: &Shared,
) -> Result<Result<Reply, ()>, Outcome> {
    let Pending::Waiting(mut rx) = reply else {
        return Ok(reply.take().await);
    };
    if !body
        .continue_pending
        .load(std::sync::atomic::Ordering::Acquire)
    {
        return Ok(rx.await.map_err(drop));
    }
    tokio::select! {
        r = &mut rx => Ok(r.map_err(drop)),
        _ = body.continue_wanted.notified() => {
            // The application's first read: now the client may send the body.
            if ans.http11 && write_all(wr, &[b"HTTP/1.1 100 Continue\r\n\r\n"], shared).await.is_err() {
                return Err(Outcome { keep: false, status: 500, bytes: 0, body_bytes: 0 });
            }
            Ok(rx.await.map_err(drop))
        }
    }
}

/// Write the application's response. A whole response is added to `out`, which is written
/// unless `hold` (the next pipelined answer is ready and joins it), up to `AHEAD_FLUSH` bytes;
/// anything else writes what `out` holds first.
async fn write_response(
    wr: &mut WriteHalf,
    reply: Result<Reply, ()>,
    ans: Answer,
    body: Option<&BodyShared>,
    shared: &Shared,
    out: &mut Vec<u8>,
    hold: bool,
) -> Outcome {
    let cfg = &shared.config;
    let fail = |status| Outcome {
        keep: false,
        status,
        bytes: 0,
        body_bytes: 0,
    };
    let is_full = matches!(reply, Ok(Reply::Full(..)));
    if !is_full && !out.is_empty() {
        let held = std::mem::take(out);
        if write_all(wr, &[&held], shared).await.is_err() {
            return fail(500);
        }
    }
    let mut keep = ans.keep_alive
        && !*shared.shutdown_rx.borrow()
        && body.is_none_or(BodyShared::reusable_hint);
    match reply {
        Err(_) => {
            // The application dropped the request without an answer.
            let bytes = write_error(wr, 500, "Internal Server Error", &[], ans.is_head, shared)
                .await
                .unwrap_or(0);
            Outcome {
                keep: false,
                status: 500,
                bytes: bytes as u64,
                body_bytes: 0,
            }
        }
        Ok(Reply::Full(head, bytes)) => {
            let len = bytes.len() as u64;
            let (framing, k) = encode::framing(&head, &ans, Some(len));
            keep = k && keep;
            let body_bytes: &[u8] = match framing {
                Framing::Length(n) => {
                    if n != len {
                        // The declared length does not match: send at most what was declared
                        // and close, so the client cannot mistake the body for whole.
                        keep = false;
                    }
                    &bytes[..(n.min(len) as usize)]
                }
                Framing::Close => {
                    keep = false;
                    &bytes
                }
                _ => &[],
            };
            let before = out.len();
            out.reserve(256 + body_bytes.len().min(COALESCE_LIMIT));
            encode::encode_head(
                &head,
                &ans,
                framing,
                Some(len),
                keep,
                &cfg.server_software,
                out,
            );
            let head_bytes = (out.len() - before) as u64;
            let body_len = body_bytes.len() as u64;
            let ok = if body_bytes.len() > COALESCE_LIMIT {
                let held = std::mem::take(out);
                write_all(wr, &[&held, body_bytes], shared).await
            } else {
                out.extend_from_slice(body_bytes);
                if hold && keep && out.len() < AHEAD_FLUSH {
                    Ok(0)
                } else {
                    let held = std::mem::take(out);
                    write_all(wr, &[&held], shared).await
                }
            };
            match ok {
                // Each answer counts its own bytes, also when a later write carries them.
                Ok(_) => Outcome {
                    keep,
                    status: head.status(),
                    bytes: head_bytes + body_len,
                    body_bytes: body_len,
                },
                Err(_) => fail(head.status()),
            }
        }
        Ok(Reply::Stream(head, rx)) => {
            let (framing, k) = encode::framing(&head, &ans, None);
            keep = k && keep;
            let mut head_out = Vec::with_capacity(256);
            encode::encode_head(
                &head,
                &ans,
                framing,
                None,
                keep,
                &cfg.server_software,
                &mut head_out,
            );
            let Ok(head_bytes) = write_all(wr, &[&head_out], shared).await else {
                return fail(head.status());
            };
            let (whole, body_bytes) = write_stream(wr, rx, framing, shared).await;
            Outcome {
                keep: whole && keep,
                status: head.status(),
                bytes: head_bytes as u64 + body_bytes,
                body_bytes,
            }
        }
    }
}

/// Write the body of a streamed response. Returns whether it ended cleanly and whole.
async fn write_stream(
    wr: &mut WriteHalf,
    mut rx: mpsc::Receiver<StreamEvent>,
    framing: Framing,
    shared: &Shared,
) -> (bool, u64) {
    let mut sent: u64 = 0;
    let mut next: Option<StreamEvent> = None;
    loop {
        let event = match next.take() {
            Some(e) => Some(e),
            None => rx.recv().await,
        };
        match event {
            // The sender went away without End: treat as cut.
            None | Some(StreamEvent::Abort) => return (false, sent),
            Some(StreamEvent::End) => {
                let whole = match framing {
                    Framing::Chunked => write_all(wr, &[b"0\r\n\r\n"], shared).await.is_ok(),
                    Framing::Length(n) => sent == n,
                    Framing::Close => false,
                    Framing::Empty => true,
                };
                return (whole, sent);
            }
            Some(StreamEvent::Data(first)) => {
                // Take every chunk already waiting too, and write them with one syscall: an app
                // that streams many small chunks then costs few writes (and one chunk header).
                let mut chunks = vec![first];
                let mut total = chunks[0].len();
                while total < STREAM_COALESCE && chunks.len() < STREAM_COALESCE_CHUNKS {
                    match rx.try_recv() {
                        Ok(StreamEvent::Data(c)) => {
                            total += c.len();
                            chunks.push(c);
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                if total == 0 {
                    continue;
                }
                let mut parts: Vec<&[u8]> = Vec::with_capacity(chunks.len() + 2);
                let mut header = Vec::new();
                let ok = match framing {
                    Framing::Empty => Ok(0),
                    Framing::Close => {
                        parts.extend(chunks.iter().map(|c| &c[..]));
                        write_all(wr, &parts, shared).await
                    }
                    Framing::Chunked => {
                        chunk_header(&mut header, total);
                        parts.push(&header);
                        parts.extend(chunks.iter().map(|c| &c[..]));
                        parts.push(b"\r\n");
                        write_all(wr, &parts, shared).await
                    }
                    Framing::Length(n) => {
                        let mut room = n.saturating_sub(sent) as usize;
                        for c in &chunks {
                            let take = c.len().min(room);
                            parts.push(&c[..take]);
                            room -= take;
                        }
                        let r = write_all(wr, &parts, shared).await;
                        if total as u64 > n.saturating_sub(sent) {
                            // More than the declared Content-Length: cut here.
                            return (false, n);
                        }
                        r
                    }
                };
                sent += total as u64;
                if ok.is_err() {
                    return (false, sent);
                }
            }
        }
    }
}

/// A short `text/plain` answer with `Connection: close` and optional extra header lines.
///
/// The server's own answers always close the connection. They speak the highest version the
/// server is configured for, and carry no body when they answer a HEAD request.
async fn write_error(
    wr: &mut WriteHalf,
    status: u16,
    reason: &str,
    extra: &[&[u8]],
    is_head: bool,
    shared: &Shared,
) -> io::Result<usize> {
    write_text(
        wr,
        status,
        reason,
        extra,
        &format!("{reason}\n"),
        is_head,
        shared,
    )
    .await
}

/// A `text/plain` answer with `Connection: close`, extra header lines and the given body (left
/// out for HEAD).
async fn write_text(
    wr: &mut WriteHalf,
    status: u16,
    reason: &str,
    extra: &[&[u8]],
    body: &str,
    is_head: bool,
    shared: &Shared,
) -> io::Result<usize> {
    let head = ResponseHead::plain(status, reason);
    let ans = Answer {
        http11: shared.config.protocol == Protocol::Http11,
        is_head,
        keep_alive: false,
    };
    let mut out = Vec::with_capacity(256);
    let len = body.len() as u64;
    encode::encode_head(
        &head,
        &ans,
        Framing::Length(len),
        Some(len),
        false,
        &shared.config.server_software,
        &mut out,
    );
    // Extra header lines go before the blank line that ends the head.
    out.truncate(out.len() - 2);
    for line in extra {
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b"\r\n");
    if !is_head {
        out.extend_from_slice(body.as_bytes());
    }
    write_all(wr, &[&out], shared).await
}

/// Write every slice. `timeout` bounds a stall, not the whole write: each write call (and the
/// flush) that makes no progress for `timeout` cuts the client off, so a client that stops
/// reading is cut after about `timeout`, and a slow but steady reader gets a response of any
/// size, as reads are timed. A write that completes at once (the common case) never arms a
/// timer.
///
/// Bytes are counted in `bytes_written` as the socket takes them, also when a later part of the
/// write fails or stalls: the counter is what clients were sent.
async fn write_all(wr: &mut WriteHalf, parts: &[&[u8]], shared: &Shared) -> io::Result<usize> {
    /// Poll `fut` once; only if it is not ready, give it `limit` to finish.
    async fn stall_bound<F: Future>(fut: F, limit: Duration) -> Result<F::Output, ()> {
        let mut fut = std::pin::pin!(fut);
        match std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await {
            Poll::Ready(r) => Ok(r),
            Poll::Pending => timeout(limit, fut).await.map_err(drop),
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
            break stall_bound(wr.flush(), limit).await;
        }
        match stall_bound(wr.write_vectored(bufs), limit).await {
            Ok(Ok(0)) => break Ok(Err(io::Error::from(io::ErrorKind::WriteZero))),
            Ok(Ok(n)) => {
                written += n;
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

/// Poll a future inside `catch_unwind`, so a panic ends only this future.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<AssertUnwindSafe<F>> {
    type Output = Result<F::Output, ()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut inner.0).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

impl<F> Unpin for CatchUnwind<F> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle keep-alive connection costs its task's future (this size), the socket, and no
    /// read buffer. Guard the future's size so that idle connections stay cheap.
    #[tokio::test]
    async fn the_connection_future_stays_small() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (server, _) = l.accept().await.expect("accept");
        let config = crate::config::ServerConfig::new(crate::config::BindAddr::Tcp(addr));
        let shared = crate::server::Shared::for_test(config);
        let info = ConnInfo::new(PeerAddr::Unix, PeerAddr::Unix);
        let fut = serve_inner(Stream::Tcp(server), info, shared.clone());
        let size = std::mem::size_of_val(&fut);
        eprintln!(
            "connection future: {size} bytes; in flight {} reply {} done {} out {}",
            std::mem::size_of::<InFlight>(),
            std::mem::size_of::<Pending>(),
            std::mem::size_of::<Done>(),
            std::mem::size_of::<Outcome>()
        );
        assert!(size < 3072, "the connection future grew to {size} bytes");
        drop(fut);
        // What a connection task really holds: the TLS handshake (boxed) or the HTTP loop.
        let (server, _) = {
            let _c2 = tokio::net::TcpStream::connect(addr).await.expect("connect");
            l.accept().await.expect("accept")
        };
        let info = ConnInfo::new(PeerAddr::Unix, PeerAddr::Unix);
        let fut = serve_tls(Stream::Tcp(server), info, shared);
        let outer = std::mem::size_of_val(&fut);
        eprintln!("connection future with the TLS step: {outer} bytes");
        assert!(outer < 3072, "the connection future grew to {outer} bytes");
        drop(fut);
        drop(client);
    }
}
