//! What crosses from the core to the application, whatever the protocol: the request head
//! ([`head`]), a reader for the body ([`body`]), the connection's addresses, and a responder that
//! takes the response ([`response`]'s checked head; whole, or as a stream with backpressure).
//! The protocol rooms (`http1`, and those to come) meet here and in `net`, never in each other.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::error::{Error, Kind};
use crate::net::listener::PeerAddr;
use crate::net::tls::TlsInfo;

pub(crate) mod body;
pub(crate) mod dispatch;
pub(crate) mod head;
pub(crate) mod response;

pub use body::RequestBody;
pub use dispatch::{Abandoned, Dispatch, Ticket};
pub use head::{RequestHead, Version};
pub use response::ResponseHead;

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

// ===== impl Responder =====

/// The answer of the application: whole (the fast path), or a head and a stream of chunks.
#[derive(Debug)]
pub(crate) enum Reply {
    /// The whole response at once. The head is shared: a lane reuses the head of its last
    /// answer when the next one has the same status and headers.
    Full(Arc<ResponseHead>, Bytes),
    /// The head of a streamed response and the stream of its body.
    Stream(ResponseHead, StreamReceiver),
    /// No answer: the application gave the request up because its client half-closed (it
    /// stopped when its signal aborted). Counted as abandoned; the connection closes.
    Abandoned,
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

    /// Give the request up without an answer because its client half-closed: counted as
    /// abandoned (not as a 500), and the connection closes after the answers before it.
    pub fn abandon(self) {
        let _ = self.tx.send(Reply::Abandoned);
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
