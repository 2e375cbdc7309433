//! One task per connection, split by job as hyper splits `proto/h1`: reading and writing bytes
//! (`io`), handing requests to the application and pipelining (`dispatch`), framing and writing
//! answers (`write`), and the bookkeeping of an answered request (`record`). This file holds the
//! connection's steps (the PROXY header, the TLS handshake, the HTTP loop) and what it does
//! between requests, as an explicit state: reading a head, answering, or closing.

mod body;
mod dispatch;
mod io;
mod proto;
mod rate;
mod record;
mod write;

pub use dispatch::WHOLE_BODY_MAX;

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::time::Instant;

use crate::exchange::head::{BodyFraming, ParsedHead};
use crate::exchange::Abandoned;
use crate::exchange::ConnInfo;
use crate::exchange::RequestBody;
use crate::net::listener::PeerAddr;
use crate::net::proxy;
use crate::net::stream::{Stream, WriteHalf};
use crate::net::tls::{self, Accepted};
use crate::shared::Shared;
use crate::stats::Stats;
use body::{new_body, BodyShared, ReadSide};

use dispatch::{answer_for, deadline, dispatch, dispatch_ahead, past, InFlight};
use io::{client_gone, close, is_head_request, read_head, HeadOutcome, Left};
use record::{record, Outcome};
use write::{await_reply, past_deadline, write_error, write_response, write_text};

/// Serve one connection until it closes: the PROXY header when one is expected, the TLS
/// handshake when the server speaks HTTPS, then the HTTP loop. A panic inside is caught,
/// counted, and closes only this connection.
pub(crate) async fn serve(stream: Stream, info: ConnInfo, shared: Arc<Shared>) {
    let stats = shared.stats.clone();
    // Plain connections run a future without the TLS step: it would widen every idle
    // connection's task by the size of the handshake's state.
    let conn: Pin<Box<dyn Future<Output = ()> + Send>> = if shared.tls.is_some() {
        Box::pin(serve_tls(stream, info, shared))
    } else if shared.config.proxy_protocol {
        Box::pin(serve_plain(stream, info, shared))
    } else {
        Box::pin(serve_http(stream, info, shared))
    };
    let result = CatchUnwind(AssertUnwindSafe(conn)).await;
    if result.is_err() {
        Stats::add(&stats.panics, 1);
    }
}

/// The PROXY header, when one is expected: exactly its bytes (what follows may be a TLS
/// handshake). False when there was none in time: the connection is then done.
async fn proxy_step(stream: &mut Stream, info: &mut ConnInfo, shared: &Shared) -> bool {
    if !shared.config.proxy_protocol {
        return true;
    }
    let read = proxy::read_header(stream, shared.config.limits.timeout, &shared.stats);
    match Box::pin(read).await {
        Ok(Some(client)) => info.remote = PeerAddr::Tcp(client),
        Ok(None) => {}
        Err(()) => {
            Stats::add(&shared.stats.rejected, 1);
            return false;
        }
    }
    true
}

/// A plain connection behind a proxy: the PROXY header, then the HTTP loop.
async fn serve_plain(mut stream: Stream, mut info: ConnInfo, shared: Arc<Shared>) {
    if proxy_step(&mut stream, &mut info, &shared).await {
        return serve_http(stream, info, shared).await;
    }
    // Plain HTTP can say why (a TLS client would not understand it).
    let (rd, mut wr) = stream.into_split();
    let why = "Bad Request: a PROXY protocol header was expected";
    refuse(&mut wr, 400, why, None, false, &shared).await;
    close(wr, Some(rd), &shared).await;
}

/// The PROXY header when one is expected, the TLS handshake, then the HTTP loop. The steps
/// before the loop run in a box of their own, freed when the handshake is done: their state
/// (rustls's handshake, the addresses moved through them) would otherwise widen the future of
/// the connection for as long as it lives.
fn serve_tls(
    stream: Stream,
    info: ConnInfo,
    shared: Arc<Shared>,
) -> impl Future<Output = ()> + Send {
    // Boxed before the loop's future is made, so that the loop's future holds only the box,
    // not the stream and addresses that go into it.
    let steps = Box::pin(tls_steps(stream, info, shared.clone()));
    async move {
        if let Some((s, info)) = steps.await {
            serve_http(s, info, shared).await
        }
    }
}

/// The PROXY header and the TLS handshake: the TLS stream to serve, or `None` when the
/// connection is done (no PROXY header in time, a failed handshake, plain HTTP answered).
async fn tls_steps(
    mut stream: Stream,
    mut info: ConnInfo,
    shared: Arc<Shared>,
) -> Option<(Stream, ConnInfo)> {
    let shared = &*shared;
    let tls = shared.tls.as_ref()?;
    if !proxy_step(&mut stream, &mut info, shared).await {
        return None;
    }
    let mut shutdown = shared.shutdown_rx.clone();
    let timeout = shared.config.limits.timeout;
    let accepted = tls::accept(stream, tls, &shared.stats, timeout, &mut shutdown).await;
    match accepted {
        Accepted::Tls(s, tls_info) => {
            info.tls = Some(tls_info);
            Some((s, info))
        }
        Accepted::PlainHttp(s) => {
            reject_plain_http(s, shared).await;
            None
        }
        Accepted::Closed => None,
    }
}

/// One connection between requests: its two halves and what every request of it shares.
struct Conn {
    wr: WriteHalf,
    /// The read side with its buffer; lent to a request's body while the body is read.
    side: Option<ReadSide>,
    info: Arc<ConnInfo>,
    shared: Arc<Shared>,
}

/// What a connection does after a request: the explicit state of its loop.
enum Next {
    /// Read the next request head (keep-alive).
    ReadHead,
    /// Close. `linger`: the client may still be sending bytes that will not be read (a refused
    /// request, an unread body, unanswered pipelined input), so the close reads and drops them
    /// for a moment, lest they turn into a reset that destroys the answer before it is read.
    Close { linger: bool },
}

/// The HTTP/1.1 loop of one connection: read a head, answer it, and go again while the
/// connection may be kept alive.
async fn serve_http(stream: Stream, info: ConnInfo, shared: Arc<Shared>) {
    let (rd, wr) = stream.into_split();
    let mut shutdown = shared.shutdown_rx.clone();

    #[cfg(test)]
    crate::shared::maybe_panic_for_test(&shared);

    let mut conn = Conn {
        wr,
        side: Some(ReadSide::new(rd)),
        info: Arc::new(info),
        shared,
    };
    let linger = loop {
        let Some(mut rs) = conn.side.take() else {
            break false;
        };
        let next = match read_head(&mut rs, &conn.shared, &mut shutdown).await {
            HeadOutcome::Head(parsed) => conn.answer(parsed, rs).await,
            HeadOutcome::Close => {
                conn.side = Some(rs);
                Next::Close { linger: false }
            }
            HeadOutcome::Reject(r) => {
                let shared = &conn.shared;
                Stats::add(&shared.stats.requests, 1);
                Stats::add(&shared.stats.rejected, 1);
                let is_head = is_head_request(&rs.buf);
                refuse(&mut conn.wr, r.status, r.reason, None, is_head, shared).await;
                conn.side = Some(rs);
                Next::Close { linger: true }
            }
        };
        match next {
            Next::ReadHead if !*shutdown.borrow() => {}
            Next::ReadHead => break false,
            Next::Close { linger } => break linger,
        }
    };
    // Pipelined requests we will not answer are unread input too.
    let Conn {
        wr, side, shared, ..
    } = conn;
    let linger = linger || side.as_ref().is_some_and(|s| !s.buf.is_empty());
    // Boxed: the close holds a buffer to drain into, which would otherwise widen every idle
    // connection's future (see the_connection_future_stays_small).
    Box::pin(close(wr, side.filter(|_| linger).map(|s| s.rd), &shared)).await;
}

impl Conn {
    /// Admit a request whose head was read, hand it to the application and write its answer
    /// (with those pipelined behind it, for a body-less one).
    async fn answer(&mut self, parsed: ParsedHead, mut rs: ReadSide) -> Next {
        let shared = self.shared.clone();
        let cfg = &shared.config;
        Stats::add(&shared.stats.requests, 1);
        let started = Instant::now();
        let is_head = parsed.method() == b"HEAD";

        if shared.pool.idle() == 0 && shared.pool.qsize() >= cfg.max_queue {
            // Past the queue bound: say so and when to retry, instead of growing memory.
            Stats::add(&shared.stats.overloaded, 1);
            shared.stats.record(503, started.elapsed());
            let retry: &[&[u8]] = &[b"Retry-After: 1\r\n"];
            let _ = write_error(
                &mut self.wr,
                503,
                "Service Unavailable",
                retry,
                is_head,
                &shared,
            )
            .await;
            self.side = Some(rs);
            return Next::Close { linger: true };
        }

        if let BodyFraming::Length(n) = parsed.framing {
            let max = cfg.limits.max_body_size;
            if max > 0 && n > max {
                Stats::add(&shared.stats.rejected, 1);
                refuse(
                    &mut self.wr,
                    413,
                    "Payload Too Large",
                    None,
                    is_head,
                    &shared,
                )
                .await;
                self.side = Some(rs);
                return Next::Close { linger: true };
            }
            // A small body the client sent with the head may already wait in the socket: take
            // it now, without waiting, so that it can cross with the head in one piece.
            if n <= WHOLE_BODY_MAX as u64 && !parsed.expect_continue {
                let more = rs.read_available(n as usize).await;
                Stats::add(&shared.stats.bytes_read, more as u64);
            }
        }

        let ans = answer_for(&parsed, is_head, cfg);
        let safe = is_head || parsed.method() == b"GET";
        if parsed.framing == BodyFraming::None {
            self.side = Some(rs);
            let slot = shared.pool.acquire().await;
            let first = dispatch(
                parsed,
                RequestBody::empty(),
                started,
                slot,
                ans,
                &self.info,
                &shared,
            );
            // Boxed: its waits would otherwise widen every connection's future.
            Box::pin(self.answer_pipelined(first, safe && ans.keep_alive)).await
        } else {
            let (body, body_shared) = new_body(
                rs,
                parsed.framing,
                parsed.expect_continue,
                &cfg.limits,
                shared.stats.clone(),
            );
            let slot = shared.pool.acquire().await;
            let first = dispatch(parsed, body, started, slot, ans, &self.info, &shared);
            // Boxed: a request with a body is the rarer case, and its states would otherwise
            // widen every connection's future (see the_connection_future_stays_small).
            Box::pin(self.answer_with_body(first, body_shared)).await
        }
    }

    /// Wait for the answer to a request with a body and write it; take the read side back.
    async fn answer_with_body(&mut self, first: InFlight, b: Arc<BodyShared>) -> Next {
        let shared = self.shared.clone();
        let InFlight {
            reply,
            ans,
            ticket,
            done,
        } = first;
        let answering = AtomicBool::new(false);
        let mut out = Vec::new();
        let wr = &mut self.wr;
        let work = async {
            match await_reply(wr, reply, ans, &b, &shared).await {
                Ok(reply) => {
                    answering.store(true, Relaxed);
                    write_response(wr, reply, ans, Some(&b), &shared, &mut out, false).await
                }
                Err(failed) => failed,
            }
        };
        // The body holds the read side: a client that goes away shows up as a failed read or
        // write; the deadline applies all the same.
        let outcome = tokio::select! {
            biased;
            o = work => o,
            _ = past(deadline(&done, &shared.config)) => {
                past_deadline(&mut self.wr, ticket, ans, answering.load(Relaxed), &[], &shared).await
            }
        };
        let (back, complete, received, client_left) = b.reclaim().await;
        let outcome = if client_left {
            // The application saw a read error; the client is what went wrong.
            Outcome::abandoned()
        } else {
            outcome
        };
        if outcome.abandoned {
            shared.dispatch.cancel(ticket, Abandoned::ClientGone);
        }
        self.side = back;
        record(&shared, &self.info, done, received, &outcome);
        if outcome.keep && complete {
            Next::ReadHead
        } else {
            Next::Close { linger: !complete }
        }
    }

    /// Answer a request without a body. A safe one with more complete heads behind it in the
    /// buffer (`ahead`): those go to the application now too, and the answers go out in order,
    /// several per write when they are ready.
    ///
    /// A client that half-closes meanwhile has finished sending, not listening: every request
    /// in flight is told (its signal aborts), and every answer is still written, in order. Only
    /// a reset, or a write that fails, abandons them.
    async fn answer_pipelined(&mut self, first: InFlight, ahead: bool) -> Next {
        let shared = self.shared.clone();
        let mut queue = VecDeque::from([first]);
        if let (true, Some(rs)) = (ahead, self.side.as_mut()) {
            dispatch_ahead(&mut queue, rs, &self.info, &shared);
        }
        if self.side.as_ref().is_some_and(|rs| rs.eof) {
            // The requests left in the buffer after a half-close: told at once.
            for f in &queue {
                shared.dispatch.half_closed(f.ticket);
            }
        }
        let mut out = Vec::new();
        let mut next = Next::ReadHead;
        while let Some(f) = queue.pop_front() {
            let InFlight {
                reply,
                ans,
                done,
                ticket,
            } = f;
            let late = deadline(&done, &shared.config);
            let outcome = async {
                let tell = |queue: &VecDeque<InFlight>| {
                    shared.dispatch.half_closed(ticket);
                    for f in queue {
                        shared.dispatch.half_closed(f.ticket);
                    }
                };
                let reply =
                    match watching(reply.take(), &mut self.side, late, || tell(&queue), &shared)
                        .await
                    {
                        Watched::Done(reply) => reply,
                        Watched::Reset => return Outcome::abandoned(),
                        Watched::Late => {
                            let held = std::mem::take(&mut out);
                            return past_deadline(&mut self.wr, ticket, ans, false, &held, &shared)
                                .await;
                        }
                    };
                let hold = queue.front_mut().is_some_and(InFlight::is_ready);
                let write = write_response(&mut self.wr, reply, ans, None, &shared, &mut out, hold);
                match watching(write, &mut self.side, late, || tell(&queue), &shared).await {
                    Watched::Done(outcome) => outcome,
                    Watched::Reset => Outcome::abandoned(),
                    // Part of the answer may be out: the client gets a cut connection.
                    Watched::Late => {
                        past_deadline(&mut self.wr, ticket, ans, true, &[], &shared).await
                    }
                }
            }
            .await;
            if outcome.abandoned {
                // A write failed: the application may still be streaming; tell it.
                shared.dispatch.cancel(ticket, Abandoned::ClientGone);
            }
            record(&shared, &self.info, done, 0, &outcome);
            if !outcome.keep {
                // Requests dispatched ahead and not answered: a client that pipelines retries
                // them (RFC 9112 section 9.3.2); they were safe methods only.
                next = Next::Close { linger: false };
                break;
            }
        }
        for f in queue {
            shared.dispatch.cancel(f.ticket, Abandoned::ClientGone);
            record(&shared, &self.info, f.done, 0, &Outcome::abandoned());
        }
        next
    }
}

/// How a wait watched by [`watching`] ended.
enum Watched<T> {
    Done(T),
    /// The client reset the connection.
    Reset,
    /// `request_timeout` passed.
    Late,
}

/// Wait for `work` while watching the client and the request's deadline. A client that
/// half-closes meanwhile is not a reason to stop: `on_half_close` tells the application, and
/// the wait goes on.
async fn watching<F: Future>(
    work: F,
    side: &mut Option<ReadSide>,
    late: Option<Instant>,
    mut on_half_close: impl FnMut(),
    shared: &Shared,
) -> Watched<F::Output> {
    let mut work = std::pin::pin!(work);
    let mut late = std::pin::pin!(past(late));
    loop {
        tokio::select! {
            biased;
            o = &mut work => return Watched::Done(o),
            left = client_gone(side.as_mut(), shared) => match left {
                Left::Reset => return Watched::Reset,
                Left::HalfClosed => on_half_close(),
            },
            _ = &mut late => return Watched::Late,
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
    refuse(
        &mut wr,
        400,
        "Bad Request",
        Some(PLAIN_HTTP_ON_TLS),
        false,
        shared,
    )
    .await;
    close(wr, Some(rd), shared).await;
}

/// The core's own refusal of a request it will not serve: `status` with a plain-text body
/// (`body`, or the reason) and `Connection: close`, counted by its status. The caller counts
/// why (rejected, overloaded) and closes, lingering: the client may still be sending.
async fn refuse(
    wr: &mut WriteHalf,
    status: u16,
    reason: &str,
    body: Option<&str>,
    is_head: bool,
    shared: &Shared,
) {
    shared.stats.count_status(status);
    let text;
    let body = match body {
        Some(b) => b,
        None => {
            text = format!("{reason}\n");
            &text
        }
    };
    // Boxed: a refusal is rare, and its write would otherwise widen every connection's future.
    let _ = Box::pin(write_text(wr, status, reason, &[], body, is_head, shared)).await;
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
    use super::dispatch::Pending;
    use super::record::Done;
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
        let config = crate::config::ServerConfig::new(crate::net::listener::BindAddr::Tcp(addr));
        let shared = crate::shared::Shared::for_test(config);
        let info = ConnInfo::new(PeerAddr::Unix, PeerAddr::Unix);
        let fut = serve_http(Stream::Tcp(server), info, shared.clone());
        let size = std::mem::size_of_val(&fut);
        eprintln!(
            "connection future: {size} bytes; in flight {} reply {} done {} out {}",
            std::mem::size_of::<InFlight>(),
            std::mem::size_of::<Pending>(),
            std::mem::size_of::<Done>(),
            std::mem::size_of::<Outcome>()
        );
        // 1632 bytes now (issue 17: 1856 before the close and the refusals' heads were kept
        // out of it, 1464 then, 1632 with the write rate and the half-close watch); each 100
        // bytes here is about 0.1 KiB of RSS per idle connection.
        assert!(size <= 1664, "the connection future grew to {size} bytes");
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
        // 1688 bytes now (2344 when the handshake's steps were part of it).
        assert!(outer <= 1920, "the connection future grew to {outer} bytes");
        drop(fut);
        drop(client);
    }
}
