//! A TLS stream over rustls's unbuffered API: the connection's buffers are this stream's own,
//! and each is released when it is empty, so an idle keep-alive connection holds rustls's state
//! and no buffer (the buffered `ServerConnection` keeps a 4 KiB receive buffer for its life).
//!
//! Three buffers: `incoming` (TLS bytes read and not yet processed: at rest, at most part of a
//! record), `plaintext` (decrypted and not yet read), `outgoing` (encrypted and not yet sent).
//! Both halves of a split connection share one state behind a lock taken only while one of
//! them is polled, as tokio's split does.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::stream::Stream;

/// How much is read from the socket at a time.
const READ_SIZE: usize = 4096;
/// The most plaintext one write encrypts (one full TLS record).
const WRITE_SIZE: usize = 16 * 1024;
/// Room for a record's header, tag and content type beyond its plaintext.
const RECORD_OVERHEAD: usize = 64;
/// `incoming` never grows past this: a handshake message of up to 64 KiB (rustls's own limit)
/// and its record headers.
const INCOMING_LIMIT: usize = 0x1_0000 + 2048;

/// A TLS connection over a TCP or UNIX stream: the whole, or one half of a split.
pub(crate) struct TlsStream {
    state: Arc<Mutex<State>>,
}

struct State {
    conn: UnbufferedServerConnection,
    io: Stream,
    incoming: Vec<u8>,
    plaintext: Vec<u8>,
    /// How much of `plaintext` was read already.
    plaintext_read: usize,
    outgoing: Vec<u8>,
    /// How much of `outgoing` was sent already.
    outgoing_sent: usize,
    /// The client's close_notify came: after `plaintext`, the end.
    peer_closed: bool,
    /// The socket reached its end (with or without close_notify).
    eof: bool,
    /// Our close_notify is queued: nothing more is written.
    write_closed: bool,
    /// rustls refused what it received: the fatal alert it queued is in `outgoing`, and the
    /// connection ends after sending it.
    failed: bool,
}

/// What processing the received records came to.
enum Step {
    /// More input is needed (the handshake waits, or only part of a record is here).
    NeedInput,
    /// The handshake is done and nothing received is left to process; given data, it was
    /// encrypted into `outgoing`.
    Writable,
    /// Both sides have closed.
    Closed,
}

/// What to encrypt once the connection is writable.
#[derive(Clone, Copy)]
enum Write<'a> {
    Nothing,
    Data(&'a [u8]),
    CloseNotify,
}

fn tls_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl State {
    /// Process what was received (handshake records, application data into `plaintext`,
    /// answers into `outgoing`) until more input is needed or the connection is writable; then
    /// encrypt `write`, if any. Records answered here are sent by the next flush.
    ///
    /// On an error, the fatal alert rustls queued for it is encoded into `outgoing` too, so
    /// that the client learns why (a handshake with no common version, a record that does not
    /// decrypt) rather than seeing the connection drop.
    fn process(&mut self, write: Write<'_>) -> io::Result<Step> {
        if self.failed {
            return Err(tls_error("the TLS connection failed already"));
        }
        let processed = self.process_records(write);
        if processed.is_err() {
            self.failed = true;
            self.queue_alert();
        }
        processed
    }

    /// After rustls refused a record: encode what it queued (the fatal alert). rustls hands out
    /// what it has queued before repeating its error, so this ends at that error.
    fn queue_alert(&mut self) {
        // rustls queues one alert per error; the bound is only a guard.
        for _ in 0..4 {
            let UnbufferedStatus { discard, state } =
                self.conn.process_tls_records(&mut self.incoming);
            let queued = match state {
                Ok(ConnectionState::EncodeTlsData(mut encode)) => {
                    let start = self.outgoing.len();
                    self.outgoing.resize(start + RECORD_OVERHEAD, 0);
                    let written = match encode.encode(&mut self.outgoing[start..]) {
                        Err(EncodeError::InsufficientSize(e)) => {
                            self.outgoing.resize(start + e.required_size, 0);
                            encode.encode(&mut self.outgoing[start..])
                        }
                        other => other,
                    };
                    let n = written.unwrap_or(0);
                    self.outgoing.truncate(start + n);
                    n > 0
                }
                Ok(ConnectionState::TransmitTlsData(transmit)) => {
                    transmit.done();
                    true
                }
                _ => false,
            };
            if discard > 0 {
                self.incoming.drain(..discard.min(self.incoming.len()));
            }
            if !queued {
                return;
            }
        }
    }

    fn process_records(&mut self, write: Write<'_>) -> io::Result<Step> {
        // Each turn decrypts or encodes something, or returns; rustls emits a bounded number of
        // states per record.
        loop {
            let State {
                conn,
                incoming,
                plaintext,
                outgoing,
                peer_closed,
                ..
            } = self;
            let UnbufferedStatus { mut discard, state } = conn.process_tls_records(incoming);
            let step = match state.map_err(tls_error)? {
                ConnectionState::ReadTraffic(mut records) => {
                    while let Some(record) = records.next_record() {
                        let record = record.map_err(tls_error)?;
                        discard += record.discard;
                        plaintext.extend_from_slice(record.payload);
                    }
                    None
                }
                ConnectionState::EncodeTlsData(mut encode) => {
                    let start = outgoing.len();
                    outgoing.resize(start + READ_SIZE, 0);
                    let written = match encode.encode(&mut outgoing[start..]) {
                        Err(EncodeError::InsufficientSize(e)) => {
                            outgoing.resize(start + e.required_size, 0);
                            encode.encode(&mut outgoing[start..])
                        }
                        other => other,
                    };
                    match written {
                        Ok(n) => outgoing.truncate(start + n),
                        Err(e) => {
                            outgoing.truncate(start);
                            return Err(tls_error(e));
                        }
                    }
                    None
                }
                // Sent by the next flush, in order with everything else in `outgoing`.
                ConnectionState::TransmitTlsData(transmit) => {
                    transmit.done();
                    None
                }
                ConnectionState::BlockedHandshake => Some(Step::NeedInput),
                ConnectionState::PeerClosed => {
                    *peer_closed = true;
                    None
                }
                ConnectionState::Closed => {
                    *peer_closed = true;
                    Some(Step::Closed)
                }
                ConnectionState::WriteTraffic(mut traffic) => {
                    let start = outgoing.len();
                    let encrypted = match write {
                        Write::Nothing => Ok(0),
                        Write::Data(data) => {
                            outgoing.resize(start + data.len() + RECORD_OVERHEAD, 0);
                            match traffic.encrypt(data, &mut outgoing[start..]) {
                                Err(EncryptError::InsufficientSize(e)) => {
                                    outgoing.resize(start + e.required_size, 0);
                                    traffic.encrypt(data, &mut outgoing[start..])
                                }
                                other => other,
                            }
                        }
                        Write::CloseNotify => {
                            outgoing.resize(start + RECORD_OVERHEAD, 0);
                            match traffic.queue_close_notify(&mut outgoing[start..]) {
                                Err(EncryptError::InsufficientSize(e)) => {
                                    outgoing.resize(start + e.required_size, 0);
                                    traffic.queue_close_notify(&mut outgoing[start..])
                                }
                                other => other,
                            }
                        }
                    };
                    match encrypted {
                        Ok(n) => outgoing.truncate(start + n),
                        Err(e) => {
                            outgoing.truncate(start);
                            return Err(tls_error(e));
                        }
                    }
                    Some(Step::Writable)
                }
                ConnectionState::ReadEarlyData(_) => {
                    return Err(tls_error("early data, which is not enabled"))
                }
                _ => return Err(tls_error("a TLS state this server does not handle")),
            };
            if discard > 0 {
                self.incoming.drain(..discard);
            }
            if let Some(step) = step {
                return Ok(step);
            }
        }
    }

    /// Read once from the socket into `incoming`; `Ok(0)` at its end.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let start = self.incoming.len();
        if start >= INCOMING_LIMIT {
            return Poll::Ready(Err(tls_error("TLS message too large")));
        }
        self.incoming.resize(start + READ_SIZE, 0);
        let mut buf = ReadBuf::new(&mut self.incoming[start..]);
        let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
        let n = buf.filled().len();
        self.incoming.truncate(start + n);
        if self.incoming.is_empty() {
            // Idle: keep no receive buffer.
            self.incoming = Vec::new();
        }
        match polled {
            Poll::Ready(Ok(())) => {
                if n == 0 {
                    self.eof = true;
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Send all of `outgoing`, then release it.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.outgoing_sent < self.outgoing.len() {
            let pending = &self.outgoing[self.outgoing_sent..];
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.outgoing_sent += n;
        }
        self.outgoing = Vec::new();
        self.outgoing_sent = 0;
        Poll::Ready(Ok(()))
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        // Each turn takes plaintext, or reads from the socket (which ends or is pending).
        loop {
            if self.plaintext_read < self.plaintext.len() {
                let ready = &self.plaintext[self.plaintext_read..];
                let n = ready.len().min(buf.remaining());
                buf.put_slice(&ready[..n]);
                self.plaintext_read += n;
                if self.plaintext_read == self.plaintext.len() {
                    self.plaintext = Vec::new();
                    self.plaintext_read = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if self.peer_closed {
                return Poll::Ready(Ok(()));
            }
            if let Err(e) = self.process(Write::Nothing) {
                // The alert, if the socket takes it now: the reader's error ends the
                // connection, and nothing else would send it.
                let _ = self.poll_send(cx);
                return Poll::Ready(Err(e));
            }
            if self.plaintext_read < self.plaintext.len() || self.peer_closed {
                continue;
            }
            if self.eof {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "peer closed connection without sending TLS close_notify",
                )));
            }
            // What the records received asked to send (a key update) waits for the writer's
            // next write or flush: polling the socket for writing from here would take the
            // writer's place as the one woken.
            ready!(self.poll_fill(cx))?;
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_send(cx))?;
        if self.write_closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let data = &data[..data.len().min(WRITE_SIZE)];
        match self.process(Write::Data(data))? {
            Step::Writable => {}
            Step::NeedInput | Step::Closed => {
                return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
            }
        }
        // Taken: send what can go now; the rest goes with the next write or flush.
        if let Poll::Ready(Err(e)) = self.poll_send(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.write_closed {
            ready!(self.poll_send(cx))?;
            self.write_closed = true;
            // After a fatal alert no close_notify follows (RFC 8446 §6.2); closed already
            // (both sides), there is none to send either.
            if !self.failed {
                self.process(Write::CloseNotify)?;
            }
        }
        ready!(self.poll_send(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl TlsStream {
    /// Run a server handshake over `io`. `after_step` runs after each step of rustls's, on
    /// this thread (the SNI is read from the certificate resolver's side that way).
    pub(crate) async fn accept(
        config: Arc<ServerConfig>,
        io: Stream,
        mut after_step: impl FnMut(),
    ) -> io::Result<TlsStream> {
        let conn = UnbufferedServerConnection::new(config).map_err(tls_error)?;
        let mut state = State {
            conn,
            io,
            incoming: Vec::new(),
            plaintext: Vec::new(),
            plaintext_read: 0,
            outgoing: Vec::new(),
            outgoing_sent: 0,
            peer_closed: false,
            eof: false,
            write_closed: false,
            failed: false,
        };
        // Each turn reads more of the client's flight; INCOMING_LIMIT and the handshake
        // timeout bound them.
        loop {
            let step = state.process(Write::Nothing);
            after_step();
            let step = match step {
                Ok(step) => step,
                Err(e) => {
                    // The alert goes out before the connection closes (the handshake timeout
                    // bounds a client that does not read it).
                    let _ = poll_fn(|cx| state.poll_send(cx)).await;
                    return Err(e);
                }
            };
            match step {
                Step::Writable if !state.conn.is_handshaking() => break,
                Step::Closed => return Err(io::ErrorKind::UnexpectedEof.into()),
                Step::Writable | Step::NeedInput => {}
            }
            poll_fn(|cx| state.poll_send(cx)).await?;
            if poll_fn(|cx| state.poll_fill(cx)).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed during the TLS handshake",
                ));
            }
        }
        poll_fn(|cx| state.poll_flush(cx)).await?;
        Ok(TlsStream {
            state: Arc::new(Mutex::new(state)),
        })
    }

    /// Both halves: the same connection, each polled under the lock.
    pub(crate) fn split(self) -> (TlsStream, TlsStream) {
        let other = TlsStream {
            state: self.state.clone(),
        };
        (self, other)
    }

    /// The connection's rustls state, to read what the handshake settled.
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&UnbufferedServerConnection) -> T) -> T {
        match self.state.lock() {
            Ok(s) => f(&s.conn),
            Err(poisoned) => f(&poisoned.into_inner().conn),
        }
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| io::Error::other("a TLS stream's lock was poisoned"))
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.lock()?.poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.lock()?.poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // One record for small parts together (a head and its body), rather than one each.
        let mut parts = bufs.iter().filter(|b| !b.is_empty());
        let Some(first) = parts.next() else {
            return Poll::Ready(Ok(0));
        };
        if first.len() >= WRITE_SIZE || bufs.len() == 1 {
            return self.lock()?.poll_write(cx, first);
        }
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let mut joined = Vec::with_capacity(total.min(WRITE_SIZE));
        joined.extend_from_slice(first);
        for part in parts {
            let room = WRITE_SIZE - joined.len();
            if room == 0 {
                break;
            }
            joined.extend_from_slice(&part[..part.len().min(room)]);
        }
        self.lock()?.poll_write(cx, &joined)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.lock()?.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.lock()?.poll_shutdown(cx)
    }
}
