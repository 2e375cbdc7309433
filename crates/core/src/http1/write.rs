//! Framing and writing answers: whole ones (joined with the pipelined answers ready behind
//! them), streams (their waiting chunks in one write), the server's own short answers, and the
//! interim `100 Continue`.

use std::io;

use super::dispatch::Pending;
use super::io::{write_all, write_metered};
use super::rate::WriteRate;
use super::record::Outcome;
use crate::config::Protocol;
use crate::exchange::ResponseHead;
use crate::exchange::{Abandoned, Ticket};
use crate::exchange::{Reply, StreamEvent, StreamReceiver};
use crate::http1::body::BodyShared;
use crate::http1::proto::encode::{self, chunk_header, Answer, Framing};
use crate::net::stream::WriteHalf;
use crate::shared::Shared;

/// Bodies up to this size are copied behind the head so the response goes out in one write.
pub(super) const COALESCE_LIMIT: usize = 16 * 1024;

/// Ready pipelined answers are joined into one write up to this many bytes.
pub(super) const AHEAD_FLUSH: usize = 64 * 1024;

/// A streamed response writes what is waiting, up to this many bytes or chunks, in one go.
pub(super) const STREAM_COALESCE: usize = 256 * 1024;

pub(super) const STREAM_COALESCE_CHUNKS: usize = 64;

/// Wait for the answer to a request with a body. Under `Expect: 100-continue` the interim
/// response goes out when the application first reads; `Err` when it could not be written.
pub(super) async fn await_reply(
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
                // The client is not there to read it.
                return Err(Outcome::abandoned());
            }
            Ok(rx.await.map_err(drop))
        }
    }
}

/// Write the application's response. A whole response is added to `out`, which is written
/// unless `hold` (the next pipelined answer is ready and joins it), up to `AHEAD_FLUSH` bytes;
/// anything else writes what `out` holds first.
pub(super) async fn write_response(
    wr: &mut WriteHalf,
    reply: Result<Reply, ()>,
    ans: Answer,
    body: Option<&BodyShared>,
    shared: &Shared,
    out: &mut Vec<u8>,
    hold: bool,
) -> Outcome {
    let cfg = &shared.config;
    // A write that fails means the client went away (or stopped reading past `timeout`): the
    // request was abandoned, whatever status its answer had.
    let lost = Outcome::abandoned;
    // Every write of this answer (and of the answers held before it) is held to the minimum
    // data rate together.
    let mut rate = WriteRate::answer(&cfg.limits);
    let is_full = matches!(reply, Ok(Reply::Full(..)));
    if !is_full && !out.is_empty() {
        let held = std::mem::take(out);
        if write_metered(wr, &[&held], shared, &mut rate)
            .await
            .is_err()
        {
            return lost();
        }
    }
    let mut keep = ans.keep_alive
        && !*shared.shutdown_rx.borrow()
        && body.is_none_or(BodyShared::reusable_hint);
    match reply {
        Ok(Reply::Abandoned) => lost(),
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
                abandoned: false,
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
                write_metered(wr, &[&held, body_bytes], shared, &mut rate).await
            } else {
                out.extend_from_slice(body_bytes);
                if hold && keep && out.len() < AHEAD_FLUSH {
                    Ok(0)
                } else {
                    let held = std::mem::take(out);
                    write_metered(wr, &[&held], shared, &mut rate).await
                }
            };
            match ok {
                // Each answer counts its own bytes, also when a later write carries them.
                Ok(_) => Outcome {
                    keep,
                    status: head.status(),
                    bytes: head_bytes + body_len,
                    body_bytes: body_len,
                    abandoned: false,
                },
                Err(_) => lost(),
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
            let Ok(head_bytes) = write_metered(wr, &[&head_out], shared, &mut rate).await else {
                return lost();
            };
            let (end, body_bytes) = write_stream(wr, rx, framing, shared, &mut rate).await;
            Outcome {
                keep: end == StreamEnd::Whole && keep,
                status: head.status(),
                bytes: head_bytes as u64 + body_bytes,
                body_bytes,
                abandoned: end == StreamEnd::Lost,
            }
        }
    }
}

/// How a streamed response ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StreamEnd {
    /// Whole, and the connection may carry another request.
    Whole,
    /// Cut by the application (an error, an abort, more or less than its Content-Length) or
    /// close-delimited: the connection closes.
    Cut,
    /// A write failed: the client went away.
    Lost,
}

/// Write the body of a streamed response, held to `rate`, and say how it ended.
pub(super) async fn write_stream(
    wr: &mut WriteHalf,
    mut rx: StreamReceiver,
    framing: Framing,
    shared: &Shared,
    rate: &mut WriteRate,
) -> (StreamEnd, u64) {
    let mut sent: u64 = 0;
    let mut next: Option<StreamEvent> = None;
    loop {
        let event = match next.take() {
            Some(e) => Some(e),
            None => rx.recv().await,
        };
        match event {
            // The sender went away without End: treat as cut.
            None | Some(StreamEvent::Abort) => return (StreamEnd::Cut, sent),
            Some(StreamEvent::End) => {
                let end = match framing {
                    Framing::Chunked => {
                        match write_metered(wr, &[b"0\r\n\r\n"], shared, rate).await {
                            Ok(_) => StreamEnd::Whole,
                            Err(_) => StreamEnd::Lost,
                        }
                    }
                    Framing::Length(n) if sent == n => StreamEnd::Whole,
                    Framing::Length(_) | Framing::Close => StreamEnd::Cut,
                    Framing::Empty => StreamEnd::Whole,
                };
                return (end, sent);
            }
            Some(StreamEvent::Data(first)) => {
                // Take every chunk already waiting too, and write them with one syscall: an app
                // that streams many small chunks then costs few writes (and one chunk header).
                let mut chunks = vec![first];
                let mut total = chunks[0].len();
                while total < STREAM_COALESCE && chunks.len() < STREAM_COALESCE_CHUNKS {
                    match rx.try_recv() {
                        Some(StreamEvent::Data(c)) => {
                            total += c.len();
                            chunks.push(c);
                        }
                        Some(other) => {
                            next = Some(other);
                            break;
                        }
                        None => break,
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
                        write_metered(wr, &parts, shared, rate).await
                    }
                    Framing::Chunked => {
                        chunk_header(&mut header, total);
                        parts.push(&header);
                        parts.extend(chunks.iter().map(|c| &c[..]));
                        parts.push(b"\r\n");
                        write_metered(wr, &parts, shared, rate).await
                    }
                    Framing::Length(n) => {
                        let mut room = n.saturating_sub(sent) as usize;
                        for c in &chunks {
                            let take = c.len().min(room);
                            parts.push(&c[..take]);
                            room -= take;
                        }
                        let r = write_metered(wr, &parts, shared, rate).await;
                        if total as u64 > n.saturating_sub(sent) {
                            // More than the declared Content-Length: cut here.
                            return (StreamEnd::Cut, n);
                        }
                        r
                    }
                };
                // The bytes left the window (written, or dropped for a HEAD): room for more.
                rx.written(total);
                if ok.is_err() {
                    return (StreamEnd::Lost, sent);
                }
                sent += total as u64;
            }
        }
    }
}

/// A request ran past `request_timeout`: the application is told, and the client gets 503 if
/// nothing of the answer went out yet (after `held`, the answers before it), else a closed
/// connection. Counted as a 503 either way.
pub(super) async fn past_deadline(
    wr: &mut WriteHalf,
    ticket: Ticket,
    ans: Answer,
    answering: bool,
    held: &[u8],
    shared: &Shared,
) -> Outcome {
    shared.dispatch.cancel(ticket, Abandoned::Deadline);
    let mut bytes = 0;
    if !answering && (held.is_empty() || write_all(wr, &[held], shared).await.is_ok()) {
        bytes = write_error(wr, 503, "Service Unavailable", &[], ans.is_head, shared)
            .await
            .unwrap_or(0);
    }
    Outcome {
        keep: false,
        status: 503,
        bytes: bytes as u64,
        body_bytes: 0,
        abandoned: false,
    }
}

/// A short `text/plain` answer with `Connection: close` and optional extra header lines.
///
/// The server's own answers always close the connection. They speak the highest version the
/// server is configured for, and carry no body when they answer a HEAD request.
pub(super) async fn write_error(
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
pub(super) async fn write_text(
    wr: &mut WriteHalf,
    status: u16,
    reason: &str,
    extra: &[&[u8]],
    body: &str,
    is_head: bool,
    shared: &Shared,
) -> io::Result<usize> {
    // Encoded before the first await: only the bytes live across it, not the head they were
    // made from (the write's state is part of every connection's future, see
    // the_connection_future_stays_small).
    let out = encode_text(status, reason, extra, body, is_head, shared);
    write_all(wr, &[&out], shared).await
}

/// The bytes of a [`write_text`] answer.
fn encode_text(
    status: u16,
    reason: &str,
    extra: &[&[u8]],
    body: &str,
    is_head: bool,
    shared: &Shared,
) -> Vec<u8> {
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
    out
}
