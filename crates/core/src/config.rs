//! What a server is told before it starts: where to listen and how strict to be.

use std::time::Duration;

use crate::net::listener::BindAddr;
use crate::net::tls::TlsConfig;

/// The highest HTTP version the server speaks (the original server's `protocol` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.0 only: no chunked responses, keep-alive only when asked for.
    Http10,
    /// HTTP/1.1 (the default).
    Http11,
}

/// The limits a request must stay within; each breach has its own status.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The whole request head (request line and headers), in bytes; 431 past it.
    /// 0 means no limit of its own (the 1 MiB hard ceiling still applies). Default is 64 KiB.
    pub max_head_size: usize,
    /// The request target, in bytes; 414 past it. Default is 16 KiB.
    pub max_target_size: usize,
    /// How many header fields a request may have; 431 past it. Default is 100.
    pub max_headers: usize,
    /// The request body, in bytes; 413 when declared longer, a read error when chunked and longer.
    /// 0 means no limit. Default is 0, as in the original server.
    pub max_body_size: u64,
    /// The trailer section of a chunked body, in bytes. Default is 16 KiB.
    pub max_trailer_size: usize,
    /// The longest a TLS handshake or a request head may take, the longest a keep-alive
    /// connection may sit idle, and the longest one read or write of a body may stall. Default is
    /// 10 seconds.
    pub timeout: Duration,
    /// The least a request body must average, in bytes per second, once
    /// [`Limits::body_rate_grace`] has passed since its first read; a body slower than that is
    /// refused as timed out (408), so a client that trickles cannot hold a pool slot. 0 turns the
    /// check off. Default is 240 (Kestrel's `MinRequestBodyDataRate`).
    pub min_body_rate: u64,
    /// How long a body may be slower than [`Limits::min_body_rate`] at first. Default is 5 seconds
    /// (Kestrel's grace period).
    pub body_rate_grace: Duration,
    /// The least an answer must average, in bytes per second the client's socket takes, once
    /// [`Limits::response_rate_grace`] of waiting on the socket has passed; a client that reads
    /// slower than that is cut off and its request counted abandoned, so a reader that takes a
    /// little just before every `timeout` cannot hold an answer open without end. Only time spent
    /// waiting for the client counts, not the time the application takes to produce the answer.
    /// 0 turns the check off. Default is 240 (Kestrel's `MinResponseDataRate`).
    pub min_response_rate: u64,
    /// How long an answer's writes may wait on the client before [`Limits::min_response_rate`]
    /// applies. Default is 5 seconds (Kestrel's grace period).
    pub response_rate_grace: Duration,
    /// The longest a request may take from its head to the end of its answer; past it the client
    /// gets 503 (or, once the answer started, a closed connection) and the pool slot is freed.
    /// `None` is no limit. Default is `None`.
    pub request_timeout: Option<Duration>,
}

/// The hard ceiling on a request head, whatever the options say.
pub const HEAD_SIZE_CEILING: usize = 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_size: 64 * 1024,
            max_target_size: 16 * 1024,
            max_headers: 100,
            max_body_size: 0,
            max_trailer_size: 16 * 1024,
            timeout: Duration::from_secs(10),
            min_body_rate: 240,
            body_rate_grace: Duration::from_secs(5),
            min_response_rate: 240,
            response_rate_grace: Duration::from_secs(5),
            request_timeout: None,
        }
    }
}

impl Limits {
    /// The head size actually enforced: the option, or the hard ceiling when it is 0 or larger.
    pub fn effective_head_size(&self) -> usize {
        if self.max_head_size == 0 {
            HEAD_SIZE_CEILING
        } else {
            self.max_head_size.min(HEAD_SIZE_CEILING)
        }
    }
}

/// Everything a [`crate::Server`] needs to start.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen.
    pub bind: BindAddr,
    /// The listen backlog (`requestQueueSize`). Default is 511, as node:http: the original
    /// server's 5 overflows (the kernel drops SYNs, clients wait a second) when 64 clients connect
    /// at once. The kernel caps it at net.core.somaxconn.
    pub backlog: u32,
    /// Set TCP_NODELAY on accepted connections. Default is true.
    pub nodelay: bool,
    /// The highest protocol spoken. Default is HTTP/1.1.
    pub protocol: Protocol,
    /// Request limits.
    pub limits: Limits,
    /// The value of the `Server` response header (unless the application sets one); empty sends
    /// none. It goes on the wire as it is: printable ASCII (HTAB allowed).
    pub server_software: String,
    /// Requests inside the application at once (`numthreads`). Default is 1024: a JavaScript
    /// thread runs many requests at once (the original server's 10 were threads).
    pub min_workers: usize,
    /// The most the pool may grow to; `None` is no limit. Default is `None`.
    pub max_workers: Option<usize>,
    /// How long `stop()` lets in-flight requests run before cutting them. Default is 5 seconds.
    pub shutdown_timeout: Duration,
    /// Requests that may wait for a pool slot; past it the server answers 503 with `Retry-After`
    /// instead of queueing without end. Default is 1000.
    pub max_queue: usize,
    /// Open connections at most; past it the server stops accepting (the kernel's backlog holds
    /// the rest) instead of failing. `None` is no limit. Default is `None`.
    pub max_connections: Option<usize>,
    /// Set SO_REUSEPORT so a new process can bind beside the old one. Default is false.
    pub reuse_port: bool,
    /// File mode of a UNIX socket (e.g. 0o660). `None` keeps the process umask. Default is `None`.
    pub unix_mode: Option<u32>,
    /// Expect a PROXY protocol v1 or v2 header at the start of each connection and take the
    /// client address from it. Default is false.
    pub proxy_protocol: bool,
    /// Serve HTTPS with these certificates. Default is `None` (plain HTTP).
    pub tls: Option<TlsConfig>,
}

impl ServerConfig {
    /// A configuration with the defaults for `bind`.
    pub fn new(bind: BindAddr) -> Self {
        ServerConfig {
            bind,
            backlog: 511,
            nodelay: true,
            protocol: Protocol::Http11,
            limits: Limits::default(),
            server_software: concat!("gatehouse/", env!("CARGO_PKG_VERSION")).to_string(),
            min_workers: 1024,
            max_workers: None,
            shutdown_timeout: Duration::from_secs(5),
            max_queue: 1000,
            max_connections: None,
            reuse_port: false,
            unix_mode: None,
            proxy_protocol: false,
            tls: None,
        }
    }
}
