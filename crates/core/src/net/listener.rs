//! Listening sockets: TCP (v4/v6), UNIX and inherited descriptors, with the backlog and socket
//! options set before `listen`; accepting connections as [`Stream`]s.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

#[cfg(unix)]
use socket2::SockAddr;
use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::net::UnixListener;

use crate::error::{Error, Kind};
use crate::net::stream::Stream;

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindAddr {
    /// A TCP address, IPv4 or IPv6. Port 0 picks a free port.
    Tcp(SocketAddr),
    /// A UNIX domain socket path. A stale socket file left by a dead server is removed.
    #[cfg(unix)]
    Unix(PathBuf),
    /// Never constructed off UNIX; keeps the type the same shape on every platform.
    #[cfg(not(unix))]
    #[doc(hidden)]
    Unix(PathBuf),
    /// An inherited listening socket (systemd socket activation: `LISTEN_FDS`), by descriptor.
    Fd(i32),
}

/// The address a server actually listens on (the real port when 0 was asked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoundAddr {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A UNIX socket path.
    Unix(PathBuf),
}

/// The other end of a connection, or this end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerAddr {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A UNIX socket (peers of UNIX sockets are usually unnamed).
    Unix,
}

pub(crate) enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    /// The listener, its path, and whether the socket file is ours to remove on stop.
    Unix(UnixListener, PathBuf, bool),
}

/// Socket options applied before `listen`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BindOptions {
    pub backlog: u32,
    pub reuse_port: bool,
    #[cfg_attr(not(unix), allow(dead_code))]
    pub unix_mode: Option<u32>,
}

/// Create, configure and bind the listening socket. Must run inside a tokio runtime.
pub(crate) fn bind(addr: &BindAddr, opts: BindOptions) -> Result<Listener, Error> {
    let backlog = opts.backlog.clamp(1, i32::MAX as u32) as i32;
    match addr {
        BindAddr::Fd(fd) => from_fd(*fd),
        BindAddr::Tcp(sa) => {
            let fail = |what: &str, e| Error::io(Kind::Bind, format!("cannot {what} {sa}"), e);
            let socket = Socket::new(Domain::for_address(*sa), Type::STREAM, None)
                .map_err(|e| fail("create a socket for", e))?;
            #[cfg(unix)]
            socket
                .set_reuse_address(true)
                .map_err(|e| fail("set SO_REUSEADDR on", e))?;
            #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
            if opts.reuse_port {
                socket
                    .set_reuse_port(true)
                    .map_err(|e| fail("set SO_REUSEPORT on", e))?;
            }
            #[cfg(not(unix))]
            if opts.reuse_port {
                return Err(fail(
                    "set SO_REUSEPORT on",
                    io::Error::new(
                        io::ErrorKind::Unsupported,
                        "reusePort is only available on UNIX",
                    ),
                ));
            }
            socket.bind(&(*sa).into()).map_err(|e| fail("bind", e))?;
            socket.listen(backlog).map_err(|e| fail("listen on", e))?;
            socket
                .set_nonblocking(true)
                .map_err(|e| fail("configure", e))?;
            let l = TcpListener::from_std(socket.into()).map_err(|e| fail("register", e))?;
            Ok(Listener::Tcp(l))
        }
        #[cfg(unix)]
        BindAddr::Unix(path) => {
            let fail = |what: &str, e| {
                Error::io(Kind::Bind, format!("cannot {what} {}", path.display()), e)
            };
            if path.exists() {
                // A socket file nobody answers on is left over from a dead server: remove it.
                match std::os::unix::net::UnixStream::connect(path) {
                    Ok(_) => {
                        return Err(fail(
                            "bind",
                            io::Error::new(
                                io::ErrorKind::AddrInUse,
                                "another server is listening there",
                            ),
                        ))
                    }
                    Err(_) => std::fs::remove_file(path)
                        .map_err(|e| fail("remove the stale socket", e))?,
                }
            }
            let socket = Socket::new(Domain::UNIX, Type::STREAM, None)
                .map_err(|e| fail("create a socket for", e))?;
            let sa = SockAddr::unix(path).map_err(|e| fail("use the path", e))?;
            socket.bind(&sa).map_err(|e| fail("bind", e))?;
            if let Some(mode) = opts.unix_mode {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| fail("set the mode of", e))?;
            }
            socket.listen(backlog).map_err(|e| fail("listen on", e))?;
            socket
                .set_nonblocking(true)
                .map_err(|e| fail("configure", e))?;
            let std_listener: std::os::unix::net::UnixListener = socket.into();
            let l = UnixListener::from_std(std_listener).map_err(|e| fail("register", e))?;
            Ok(Listener::Unix(l, path.clone(), true))
        }
        #[cfg(not(unix))]
        BindAddr::Unix(path) => Err(Error::new(
            Kind::Bind,
            format!(
                "UNIX sockets are not available on this platform: {}",
                path.display()
            ),
        )),
    }
}

/// Adopt a listening socket passed by the service manager (systemd socket activation).
///
/// The descriptor is checked before it is taken: a wrong `LISTEN_FDS` or fd number may name a
/// file, a connection or a descriptor another part of the process owns, and owning it would
/// close it when the server stops (or at once, on an error). Only a listening stream socket of
/// the IPv4, IPv6 or UNIX family is taken; anything else is refused with [`Kind::Bind`] and
/// left as it was.
#[cfg(unix)]
fn from_fd(fd: i32) -> Result<Listener, Error> {
    use std::os::fd::{BorrowedFd, FromRawFd};
    let fail = |what: &str, e| {
        Error::io(
            Kind::Bind,
            format!("cannot {what} inherited descriptor {fd}"),
            e,
        )
    };
    if fd < 0 {
        return Err(fail("use", io::Error::from(io::ErrorKind::InvalidInput)));
    }
    {
        // SAFETY: the borrow lives only in this block and is used only for getsockopt and
        // getsockname, which neither close nor change the descriptor. A number that names no
        // open descriptor makes them fail with EBADF, which refuses it.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        check_inherited(socket2::SockRef::from(&borrowed)).map_err(|e| fail("use", e))?;
    }
    // SAFETY: checked above, it is a listening stream socket; the service manager handed it to
    // the process (LISTEN_FDS) for this server to own, and the caller passes each descriptor to
    // exactly one server.
    let socket = unsafe { Socket::from_raw_fd(fd) };
    socket
        .set_nonblocking(true)
        .map_err(|e| fail("configure", e))?;
    let local = socket.local_addr().map_err(|e| fail("inspect", e))?;
    if local.as_socket().is_some() {
        let l = TcpListener::from_std(socket.into()).map_err(|e| fail("register", e))?;
        Ok(Listener::Tcp(l))
    } else {
        let path = local.as_pathname().map(PathBuf::from).unwrap_or_default();
        let std_listener: std::os::unix::net::UnixListener = socket.into();
        let l = UnixListener::from_std(std_listener).map_err(|e| fail("register", e))?;
        // Not ours to remove on stop: the service manager owns the socket file.
        Ok(Listener::Unix(l, path, false))
    }
}

/// Whether an inherited descriptor is a listening stream socket of the IPv4, IPv6 or UNIX
/// family; an error saying what it is not, otherwise.
#[cfg(unix)]
fn check_inherited(socket: socket2::SockRef<'_>) -> io::Result<()> {
    let refuse = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_string());
    // SO_TYPE: fails with ENOTSOCK for a file or pipe, EBADF for a closed number.
    if socket.r#type()? != Type::STREAM {
        return Err(refuse("not a stream socket"));
    }
    // getsockname gives the family (and, for UNIX, that it is one).
    let family = socket.local_addr()?.domain();
    if ![Domain::IPV4, Domain::IPV6, Domain::UNIX].contains(&family) {
        return Err(refuse("not an IPv4, IPv6 or UNIX socket"));
    }
    // SO_ACCEPTCONN where the platform has it; elsewhere a socket with a peer is a connection.
    #[cfg(any(
        target_os = "android",
        target_os = "freebsd",
        target_os = "fuchsia",
        target_os = "linux"
    ))]
    let listening = socket.is_listener()?;
    #[cfg(not(any(
        target_os = "android",
        target_os = "freebsd",
        target_os = "fuchsia",
        target_os = "linux"
    )))]
    let listening = socket.peer_addr().is_err();
    if !listening {
        return Err(refuse("not a listening socket"));
    }
    Ok(())
}

#[cfg(not(unix))]
fn from_fd(fd: i32) -> Result<Listener, Error> {
    Err(Error::new(
        Kind::Bind,
        format!("inherited descriptors ({fd}) are only available on UNIX"),
    ))
}

impl Listener {
    pub(crate) fn local_addr(&self) -> BoundAddr {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(BoundAddr::Tcp)
                .unwrap_or(BoundAddr::Tcp(SocketAddr::from(([0, 0, 0, 0], 0)))),
            #[cfg(unix)]
            Listener::Unix(_, p, _) => BoundAddr::Unix(p.clone()),
        }
    }

    pub(crate) async fn accept(&self, nodelay: bool) -> io::Result<(Stream, PeerAddr, PeerAddr)> {
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                if nodelay {
                    let _ = s.set_nodelay(true);
                }
                let local = s.local_addr().map(PeerAddr::Tcp).unwrap_or(PeerAddr::Unix);
                Ok((Stream::Tcp(s), PeerAddr::Tcp(peer), local))
            }
            #[cfg(unix)]
            Listener::Unix(l, _, _) => {
                let (s, _) = l.accept().await?;
                Ok((Stream::Unix(s), PeerAddr::Unix, PeerAddr::Unix))
            }
        }
    }

    /// Remove the socket file of a UNIX listener.
    pub(crate) fn cleanup(&self) {
        #[cfg(unix)]
        if let Listener::Unix(_, p, true) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};
    use std::os::fd::{AsRawFd, IntoRawFd};

    fn refused(fd: i32) -> Error {
        match bind(&BindAddr::Fd(fd), BindOptions::default()) {
            Ok(_) => panic!("descriptor {fd} was taken"),
            Err(e) => e,
        }
    }

    #[tokio::test]
    async fn a_regular_file_is_refused_and_stays_open() {
        let path = std::env::temp_dir().join(format!("gh-fd-test-{}", std::process::id()));
        let mut file = std::fs::File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let e = refused(file.as_raw_fd());
        assert_eq!(e.kind(), Kind::Bind);
        assert!(e.to_string().contains("inherited descriptor"), "{e}");
        // Still open, still the same file.
        file.write_all(b"still here").unwrap();
        file.rewind().unwrap();
        let mut back = String::new();
        file.read_to_string(&mut back).unwrap();
        assert_eq!(back, "still here");
        drop(file);
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_connected_socket_is_refused_and_stays_open() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut server, _) = l.accept().unwrap();
        for fd in [client.as_raw_fd(), server.as_raw_fd()] {
            let e = refused(fd);
            assert_eq!(e.kind(), Kind::Bind);
            assert!(e.to_string().contains("not a listening socket"), "{e}");
        }
        // Both ends still work.
        client.write_all(b"ping").unwrap();
        let mut got = [0u8; 4];
        server.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
    }

    #[tokio::test]
    async fn sockets_that_are_not_listening_streams_are_refused() {
        // Bound, not listening.
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        assert_eq!(refused(s.as_raw_fd()).kind(), Kind::Bind);
        assert!(s.local_addr().is_ok(), "still open");
        // A datagram socket.
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let e = refused(u.as_raw_fd());
        assert!(e.to_string().contains("not a stream socket"), "{e}");
        assert!(u.local_addr().is_ok(), "still open");
        // A pipe end (stdin of the test may be anything; make one).
        let (rd, _wr) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(refused(rd.as_raw_fd()).kind(), Kind::Bind);
        assert!(rd.local_addr().is_ok(), "still open");
    }

    #[tokio::test]
    async fn a_number_that_names_no_descriptor_is_refused() {
        // Far above anything the kernel hands out (it takes the lowest free number), so no
        // other test can open it meanwhile.
        for fd in [999_999, i32::MAX] {
            let e = refused(fd);
            assert_eq!(e.kind(), Kind::Bind);
        }
        assert_eq!(refused(-1).kind(), Kind::Bind);
    }

    #[tokio::test]
    async fn a_listening_socket_is_taken() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let fd = l.into_raw_fd();
        let Ok(listener) = bind(&BindAddr::Fd(fd), BindOptions::default()) else {
            panic!("a listening TCP socket was refused");
        };
        assert_eq!(listener.local_addr(), BoundAddr::Tcp(addr));
        let dir = std::env::temp_dir().join(format!("gh-fd-unix-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let u = std::os::unix::net::UnixListener::bind(&dir).unwrap();
        let Ok(Listener::Unix(_, path, owned)) =
            bind(&BindAddr::Fd(u.into_raw_fd()), BindOptions::default())
        else {
            panic!("a listening UNIX socket was refused");
        };
        assert_eq!(path, dir);
        assert!(
            !owned,
            "the service manager's socket file is not ours to remove"
        );
        let _ = std::fs::remove_file(dir);
    }
}
