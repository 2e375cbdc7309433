//! gatehouse-core: the HTTP/1.1 engine of gatehouse.
//!
//! It accepts connections, reads and checks request heads strictly (RFC 9112/9110), frames
//! bodies both ways, bounds the requests inside the application with a worker pool, and hands
//! each admitted request to a [`Dispatch`] as an [`Exchange`]. It knows nothing of JavaScript:
//! the binding crate implements [`Dispatch`].
//!
//! Bytes arrive through `net` (listeners, the stream type, PROXY, TLS). `http1` serves a
//! connection in HTTP/1.x (its wire in `http1::proto`); what any protocol hands the application
//! is in `exchange`. `server` accepts and stops.
#![deny(missing_docs, missing_debug_implementations)]

mod access_log;
mod config;
mod date;
mod error;
mod exchange;
mod http1;
mod net;
mod pool;
mod server;
mod shared;
mod stats;

pub use access_log::{AccessLogConfig, AccessLogFormat, AccessLogTarget};
pub use config::{Limits, Protocol, ServerConfig, HEAD_SIZE_CEILING};
pub use error::{Error, Kind};
pub use exchange::{
    Abandoned, AddrText, BodySender, ConnInfo, Dispatch, Exchange, RequestBody, RequestHead,
    Responder, ResponseHead, Ticket, Version, STREAM_WINDOW,
};
pub use http1::WHOLE_BODY_MAX;
pub use net::listener::{BindAddr, BoundAddr, PeerAddr};
pub use net::tls::{ClientAuth, ClientCert, Identity, PemSource, TlsConfig, TlsInfo};
pub use pool::{Pool, Slot, WorkerStats};
pub use server::Server;
pub use stats::{Histogram, Stats, StatsSnapshot, LATENCY_BUCKETS};

/// Whether debug lines go to stderr: `GATEHOUSE_DEBUG` set to anything but `0` or empty.
fn debug_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var_os("GATEHOUSE_DEBUG").is_some_and(|v| !v.is_empty() && v != "0")
    })
}

/// Write a debug line to stderr when `GATEHOUSE_DEBUG` is set: events that are normal on the
/// internet (failed handshakes, clients that vanish) and not worth an error line.
pub(crate) fn debug(args: std::fmt::Arguments<'_>) {
    if debug_enabled() {
        eprintln!("gatehouse: debug: {args}");
    }
}
