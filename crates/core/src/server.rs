//! A running server: the accept loop, graceful and forced stop, and what they share with the
//! connection tasks.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::config::ServerConfig;
use crate::conn;
use crate::error::{Error, Kind};
use crate::exchange::{ConnInfo, Exchange};
use crate::listener::{self, BoundAddr, Listener};
use crate::pool::Pool;
use crate::stats::Stats;

/// Receives every admitted request. Implemented by the binding (the bridge to JavaScript) and by
/// the Rust-only responder used as the benchmark ceiling.
pub trait Dispatch: Send + Sync + 'static {
    /// Take one exchange. Must not block: queue it and return.
    fn dispatch(&self, exchange: Exchange);
}

/// What the accept loop and every connection task share.
pub(crate) struct Shared {
    pub config: ServerConfig,
    pub dispatch: Arc<dyn Dispatch>,
    pub stats: Arc<Stats>,
    pub pool: Pool,
    pub shutdown_rx: watch::Receiver<bool>,
    /// Set once in-flight requests ran out of time: every connection task ends at once.
    force_rx: watch::Receiver<bool>,
    live: AtomicUsize,
    all_closed: Notify,
    #[cfg(test)]
    pub panic_on_connect: std::sync::atomic::AtomicBool,
}

/// A listening server. Dropping it does not stop it; call [`Server::stop`].
pub struct Server {
    shared: Arc<Shared>,
    local: BoundAddr,
    shutdown_tx: watch::Sender<bool>,
    force_tx: watch::Sender<bool>,
    accept: Mutex<Option<JoinHandle<()>>>,
    stopped: AtomicU64,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("local", &self.local).finish()
    }
}

impl Server {
    /// Bind the listening socket and start accepting. Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// [`Kind::Bind`] when the socket cannot be created, bound or listened on;
    /// [`Kind::InvalidOption`] for a configuration the server cannot use.
    pub fn start(config: ServerConfig, dispatch: Arc<dyn Dispatch>) -> Result<Server, Error> {
        if config.limits.timeout.is_zero() {
            return Err(Error::new(Kind::InvalidOption, "timeout must be greater than 0"));
        }
        let listener = listener::bind(&config.bind, config.backlog)?;
        let local = listener.local_addr();
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (force_tx, force_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            pool: Pool::new(config.min_workers, config.max_workers),
            config,
            dispatch,
            stats: Arc::new(Stats::default()),
            shutdown_rx,
            force_rx,
            live: AtomicUsize::new(0),
            all_closed: Notify::new(),
            #[cfg(test)]
            panic_on_connect: std::sync::atomic::AtomicBool::new(false),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Server {
            shared,
            local,
            shutdown_tx,
            force_tx,
            accept: Mutex::new(Some(accept)),
            stopped: AtomicU64::new(0),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> &BoundAddr {
        &self.local
    }

    /// The live counters.
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// The worker pool.
    pub fn pool(&self) -> &Pool {
        &self.shared.pool
    }

    /// Stop: no new connections at once; idle keep-alive connections close at once; requests in
    /// flight get `grace` to finish (their responses carry `Connection: close`), then every
    /// connection still open is cut. Idempotent; resolves when every connection is closed.
    pub async fn stop(&self, grace: Duration) {
        self.stopped.fetch_add(1, Ordering::Relaxed);
        let accept = self.accept.lock().ok().and_then(|mut a| a.take());
        if let Some(task) = accept {
            task.abort();
            let _ = task.await;
        }
        let _ = self.shutdown_tx.send(true);
        let drained = tokio::time::timeout(grace, self.wait_closed()).await;
        if drained.is_err() {
            let _ = self.force_tx.send(true);
            self.wait_closed().await;
        }
    }

    async fn wait_closed(&self) {
        loop {
            let notified = self.shared.all_closed.notified();
            if self.shared.live.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    #[cfg(test)]
    pub(crate) fn panic_next_connection(&self) {
        self.shared.panic_on_connect.store(true, Ordering::SeqCst);
    }
}

struct CleanupListener(Listener);

impl Drop for CleanupListener {
    fn drop(&mut self) {
        self.0.cleanup();
    }
}

async fn accept_loop(listener: Listener, shared: Arc<Shared>) {
    let listener = CleanupListener(listener);
    let mut logged_exhaustion = false;
    loop {
        match listener.0.accept(shared.config.nodelay).await {
            Ok((stream, remote, local)) => {
                Stats::add(&shared.stats.accepts, 1);
                shared.live.fetch_add(1, Ordering::AcqRel);
                Stats::add(&shared.stats.open_connections, 1);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let info = Arc::new(ConnInfo { remote, local });
                    let mut force = shared.force_rx.clone();
                    tokio::select! {
                        _ = conn::serve(stream, info, shared.clone()) => {}
                        _ = force.wait_for(|f| *f) => {}
                    }
                    shared.stats.open_connections.fetch_sub(1, Ordering::Relaxed);
                    if shared.live.fetch_sub(1, Ordering::AcqRel) == 1 {
                        shared.all_closed.notify_waiters();
                    }
                });
            }
            Err(e) => {
                Stats::add(&shared.stats.socket_errors, 1);
                // Out of file descriptors (EMFILE/ENFILE) or memory: back off instead of spinning.
                if !logged_exhaustion {
                    eprintln!("gatehouse: accept failed ({e}); backing off");
                    logged_exhaustion = true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[cfg(test)]
pub(crate) fn maybe_panic_for_test(shared: &Shared) {
    if shared.panic_on_connect.swap(false, Ordering::SeqCst) {
        panic!("test panic inside a connection task");
    }
}
