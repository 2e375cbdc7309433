//! An accepted connection as one type whatever carries it (TCP, UNIX, TLS over either), and its
//! read and write halves.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{tcp, TcpStream};
#[cfg(unix)]
use tokio::net::{unix, UnixStream};

use crate::net::tls::TlsStream;

/// An accepted connection, and the same after a TLS handshake.
pub(crate) enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    /// TLS over a TCP or UNIX stream (its state is behind an `Arc`, shared by the halves).
    Tls(TlsStream),
}

impl Stream {
    pub(crate) fn into_split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Stream::Tcp(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            #[cfg(unix)]
            Stream::Unix(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
            Stream::Tls(s) => {
                // Both halves share the connection behind a lock taken only while one of them
                // is polled: the body can be read while the response is written.
                let (r, w) = s.split();
                (
                    ReadHalf::Tls(Box::new(TlsRead {
                        rd: r,
                        peeked: None,
                    })),
                    WriteHalf::Tls(w),
                )
            }
        }
    }

    /// Wait for the first byte the client sends, without taking it: `None` when the client
    /// closed first. Used to tell a TLS ClientHello from a plain HTTP request.
    pub(crate) async fn peek_first_byte(&self) -> io::Result<Option<u8>> {
        match self {
            Stream::Tcp(s) => {
                let mut b = [0u8; 1];
                let n = s.peek(&mut b).await?;
                Ok((n == 1).then_some(b[0]))
            }
            #[cfg(unix)]
            Stream::Unix(s) => loop {
                s.readable().await?;
                let peeked = s.try_io(tokio::io::Interest::READABLE, || {
                    let mut b = [std::mem::MaybeUninit::new(0u8)];
                    let n = socket2::SockRef::from(s).peek(&mut b)?;
                    // SAFETY: the byte was initialised when the array was made, and recv(2)
                    // with MSG_PEEK only ever writes initialised bytes into it.
                    let byte = unsafe { b[0].assume_init() };
                    Ok((n, byte))
                });
                match peeked {
                    Ok((0, _)) => return Ok(None),
                    Ok((_, b)) => return Ok(Some(b)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            },
            Stream::Tls(_) => Ok(None),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            #[cfg(unix)]
            Stream::Unix(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// The read side of a TLS connection, with the byte [`ReadHalf::readable`] had to take.
pub(crate) struct TlsRead {
    rd: TlsStream,
    peeked: Option<u8>,
}

/// The read side of a connection. It can wait for readability without a buffer of its own, so
/// an idle keep-alive connection holds no read buffer.
///
/// Under TLS, readiness of the socket says nothing about readable plaintext (a record may be
/// incomplete, or carry only a session ticket or a key update), so [`ReadHalf::readable`] reads
/// one byte of plaintext and keeps it for the next read. The memory an idle TLS connection
/// holds beyond a plain one is then rustls's unbuffered connection state (0.23, TLS 1.3 with
/// AES-256-GCM, counted with a counting allocator: 1088 bytes inline, inside the halves'
/// shared state, and 2088 on the heap: the traffic state and the two record keys); the
/// stream's own buffers are released while empty ([`TlsStream`], issue 17).
pub(crate) enum ReadHalf {
    Tcp(tcp::OwnedReadHalf),
    #[cfg(unix)]
    Unix(unix::OwnedReadHalf),
    Tls(Box<TlsRead>),
}

impl ReadHalf {
    pub(crate) async fn readable(&mut self) -> io::Result<()> {
        match self {
            ReadHalf::Tcp(r) => r.readable().await,
            #[cfg(unix)]
            ReadHalf::Unix(r) => r.readable().await,
            ReadHalf::Tls(t) => {
                if t.peeked.is_none() {
                    let mut one = [0u8; 1];
                    // 0 (the end) is seen again by the next read, which returns 0 too.
                    if t.rd.read(&mut one).await? == 1 {
                        t.peeked = Some(one[0]);
                    }
                }
                Ok(())
            }
        }
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            #[cfg(unix)]
            ReadHalf::Unix(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Tls(t) => {
                let Some(b) = t.peeked else {
                    return Pin::new(&mut t.rd).poll_read(cx, buf);
                };
                if buf.remaining() == 0 {
                    return Poll::Ready(Ok(()));
                }
                buf.put_slice(&[b]);
                t.peeked = None;
                // Add whatever else is ready now; an error or the end shows at the next read.
                let _ = Pin::new(&mut t.rd).poll_read(cx, buf);
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// The write side of a connection.
pub(crate) enum WriteHalf {
    Tcp(tcp::OwnedWriteHalf),
    #[cfg(unix)]
    Unix(unix::OwnedWriteHalf),
    Tls(TlsStream),
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_write(cx, buf),
            #[cfg(unix)]
            WriteHalf::Unix(w) => Pin::new(w).poll_write(cx, buf),
            WriteHalf::Tls(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            WriteHalf::Unix(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            WriteHalf::Tls(w) => Pin::new(w).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_flush(cx),
            #[cfg(unix)]
            WriteHalf::Unix(w) => Pin::new(w).poll_flush(cx),
            WriteHalf::Tls(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_shutdown(cx),
            #[cfg(unix)]
            WriteHalf::Unix(w) => Pin::new(w).poll_shutdown(cx),
            WriteHalf::Tls(w) => Pin::new(w).poll_shutdown(cx),
        }
    }
}
