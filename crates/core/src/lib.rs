//! gatehouse-core: the HTTP/1.1 engine of gatehouse.
//!
//! It accepts connections, reads and checks request heads strictly (RFC 9112/9110), frames
//! bodies both ways, bounds the requests inside the application with a worker pool, and hands
//! each admitted request to a [`Dispatch`] as an [`Exchange`]. It knows nothing of JavaScript:
//! the binding crate implements [`Dispatch`].
//!
//! The wire lives in `proto` (private): request heads, the chunked decoder, response heads and
//! framing. `conn` drives one connection; `server` accepts and stops.
#![deny(missing_docs, missing_debug_implementations)]

mod access_log;
mod config;
mod conn;
mod error;
mod exchange;
mod listener;
mod pool;
mod proto;
mod proxy;
mod server;
mod stats;

pub use access_log::{AccessLogConfig, AccessLogFormat, AccessLogTarget};
pub use config::{BindAddr, Limits, Protocol, ServerConfig, HEAD_SIZE_CEILING};
pub use error::{Error, Kind};
pub use exchange::{
    BodySender, ConnInfo, Exchange, RequestBody, RequestHead, Responder, STREAM_WINDOW,
};
pub use listener::{BoundAddr, PeerAddr};
pub use pool::{Pool, Slot, WorkerStats};
pub use proto::encode::ResponseHead;
pub use proto::head::Version;
pub use server::{Dispatch, Server};
pub use stats::{Histogram, Stats, StatsSnapshot, LATENCY_BUCKETS};
