//! What a running server's accept loop and every connection task share, whatever protocol the
//! connection speaks.

use std::sync::atomic::AtomicUsize;
#[cfg(test)]
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{watch, Notify};

use crate::access_log::AccessLog;
use crate::config::ServerConfig;
use crate::exchange::Dispatch;
#[cfg(test)]
use crate::exchange::{Exchange, Ticket};
use crate::net::tls::Tls;
use crate::pool::Pool;
use crate::stats::Stats;

/// What the accept loop and every connection task share.
pub(crate) struct Shared {
    pub config: ServerConfig,
    pub dispatch: Arc<dyn Dispatch>,
    pub stats: Arc<Stats>,
    pub pool: Arc<Pool>,
    pub access_log: Option<AccessLog>,
    pub shutdown_rx: watch::Receiver<bool>,
    /// The TLS configuration, when the server speaks HTTPS.
    pub tls: Option<Tls>,
    /// Set once in-flight requests ran out of time: every connection task ends at once.
    pub force_rx: watch::Receiver<bool>,
    pub live: AtomicUsize,
    pub all_closed: Notify,
    /// Woken whenever a connection closes (the accept loop waits on it at `max_connections`).
    pub conn_closed: Notify,
    #[cfg(test)]
    pub panic_on_connect: std::sync::atomic::AtomicBool,
}

#[cfg(test)]
impl Shared {
    /// A Shared with no listener, for unit tests of a connection.
    pub(crate) fn for_test(config: ServerConfig) -> Arc<Shared> {
        struct Nothing;
        impl Dispatch for Nothing {
            fn dispatch(&self, _: Exchange) -> Ticket {
                0
            }
        }
        let (_, shutdown_rx) = watch::channel(false);
        let (_, force_rx) = watch::channel(false);
        Arc::new(Shared {
            pool: Arc::new(Pool::new(config.min_workers, config.max_workers)),
            access_log: None,
            config,
            dispatch: Arc::new(Nothing),
            stats: Arc::new(Stats::default()),
            shutdown_rx,
            tls: None,
            force_rx,
            live: AtomicUsize::new(0),
            all_closed: Notify::new(),
            conn_closed: Notify::new(),
            panic_on_connect: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

#[cfg(test)]
pub(crate) fn maybe_panic_for_test(shared: &Shared) {
    if shared.panic_on_connect.swap(false, Ordering::SeqCst) {
        panic!("test panic inside a connection task");
    }
}
