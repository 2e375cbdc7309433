//! Handing requests to the application: one at a time, or several safe ones read ahead from
//! the buffer (pipelining), each with what its answer's bookkeeping needs.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::record::{Done, LoggedRequest};
use crate::config::{Protocol, ServerConfig};
use crate::exchange::head::{BodyFraming, ParsedHead, Version};
use crate::exchange::RequestBody;
use crate::exchange::Ticket;
use crate::exchange::{ConnInfo, Exchange, Reply, RequestHead, Responder};
use crate::http1::body::ReadSide;
use crate::http1::proto::encode::Answer;
use crate::http1::proto::head::{self, Parse};
use crate::pool::Slot;
use crate::shared::Shared;
use crate::stats::Stats;

/// A Content-Length body up to this size that is already in the socket is read before the
/// request is handed over, so it can go with the head (see `RequestBody::take_whole`).
pub const WHOLE_BODY_MAX: usize = 64 * 1024;

/// At most this many pipelined requests of one connection are in the application at once.
pub(super) const AHEAD_MAX: usize = 16;

/// The answer to a request handed to the application: coming, or already here.
pub(super) enum Pending {
    Waiting(oneshot::Receiver<Reply>),
    /// `Err`: the application dropped the request without an answer. Boxed, as the logged
    /// request is: every connection's future holds room for an `InFlight`.
    Ready(Box<Result<Reply, ()>>),
}

impl Pending {
    pub(super) async fn take(self) -> Result<Reply, ()> {
        match self {
            Pending::Waiting(rx) => rx.await.map_err(drop),
            Pending::Ready(r) => *r,
        }
    }
}

/// A request in the application, and what its answer's bookkeeping needs.
pub(super) struct InFlight {
    pub(super) reply: Pending,
    pub(super) ans: Answer,
    pub(super) done: Done,
    /// What the dispatcher calls this request (for `Dispatch::cancel`).
    pub(super) ticket: Ticket,
}

impl InFlight {
    /// Whether the answer is here (taking it if it just came).
    pub(super) fn is_ready(&mut self) -> bool {
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

/// Hand a request to the application.
pub(super) fn dispatch(
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
    let ticket = shared.dispatch.dispatch(Exchange {
        head: RequestHead {
            parsed,
            conn: info.clone(),
        },
        body,
        responder: Responder { tx },
    });
    InFlight {
        ticket,
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
pub(super) fn dispatch_ahead(
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
pub(super) fn answer_for(parsed: &ParsedHead, is_head: bool, cfg: &ServerConfig) -> Answer {
    Answer {
        http11: parsed.version == Version::Http11 && cfg.protocol == Protocol::Http11,
        is_head,
        keep_alive: !parsed.wants_close,
    }
}

/// When a request's `request_timeout` runs out, if it has one.
pub(super) fn deadline(done: &Done, cfg: &ServerConfig) -> Option<Instant> {
    cfg.limits.request_timeout.map(|d| done.started + d)
}

/// Resolves at `deadline`; never without one.
pub(super) async fn past(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
