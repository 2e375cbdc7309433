//! A running server: the accept loop, and graceful and forced stop.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::access_log::{AccessLog, AccessLogConfig};
use crate::config::ServerConfig;
use crate::error::{Error, Kind};
use crate::exchange::{ConnInfo, Dispatch};
use crate::http1;
use crate::net::listener::{self, BoundAddr, Listener};
use crate::net::tls::{Tls, TlsConfig};
use crate::pool::Pool;
use crate::shared::Shared;
use crate::stats::Stats;

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
        f.debug_struct("Server")
            .field("local", &self.local)
            .finish()
    }
}

impl Server {
    /// Bind the listening socket and start accepting. Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// [`Kind::Bind`] when the socket cannot be created, bound or listened on;
    /// [`Kind::InvalidOption`] for a configuration the server cannot use; [`Kind::Tls`] when a
    /// certificate, key or CA file cannot be read or used (checked before binding).
    pub fn start(config: ServerConfig, dispatch: Arc<dyn Dispatch>) -> Result<Server, Error> {
        Self::start_with_log(config, dispatch, None)
    }

    /// [`Server::start`] with an access log.
    ///
    /// # Errors
    /// As [`Server::start`], and [`Kind::InvalidOption`] when the access log cannot be opened.
    pub fn start_with_log(
        config: ServerConfig,
        dispatch: Arc<dyn Dispatch>,
        access_log: Option<AccessLogConfig>,
    ) -> Result<Server, Error> {
        if config.limits.timeout.is_zero() {
            return Err(Error::new(
                Kind::InvalidOption,
                "timeout must be greater than 0",
            ));
        }
        let access_log = access_log.as_ref().map(AccessLog::open).transpose()?;
        let tls = config.tls.clone().map(Tls::new).transpose()?;
        let opts = listener::BindOptions {
            backlog: config.backlog,
            reuse_port: config.reuse_port,
            unix_mode: config.unix_mode,
        };
        let listener = listener::bind(&config.bind, opts)?;
        let local = listener.local_addr();
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (force_tx, force_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            pool: Arc::new(Pool::new(config.min_workers, config.max_workers)),
            access_log,
            config,
            dispatch,
            stats: Arc::new(Stats::default()),
            shutdown_rx,
            tls,
            force_rx,
            live: AtomicUsize::new(0),
            all_closed: Notify::new(),
            conn_closed: Notify::new(),
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

    /// Reset the statistics (the original server's `clear_stats`): the server's counters and
    /// every worker's figures.
    pub fn clear_stats(&self) {
        self.shared.stats.clear();
        self.shared.pool.clear_stats();
    }

    /// The worker pool.
    pub fn pool(&self) -> &Pool {
        &self.shared.pool
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Whether the server speaks HTTPS.
    pub fn is_tls(&self) -> bool {
        self.shared.tls.is_some()
    }

    /// Load certificates again: from `config`, or by reading the files of the current TLS
    /// settings again. Handshakes that start afterwards use them; open connections go on with
    /// the ones they were made with. On error nothing changes.
    ///
    /// # Errors
    /// [`Kind::Tls`] when a file cannot be read or used, or the server does not speak HTTPS.
    pub fn reload_tls(&self, config: Option<TlsConfig>) -> Result<(), Error> {
        match &self.shared.tls {
            Some(tls) => tls.reload(config),
            None => Err(Error::new(
                Kind::Tls,
                "the server was started without TLS; certificates cannot be reloaded",
            )),
        }
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
        if let Some(max) = shared.config.max_connections {
            // At the cap, stop accepting: the kernel's backlog holds new clients until one closes.
            loop {
                let closed = shared.conn_closed.notified();
                if shared.live.load(Ordering::Acquire) < max {
                    break;
                }
                closed.await;
            }
        }
        match listener.0.accept(shared.config.nodelay).await {
            Ok((stream, remote, local)) => {
                Stats::add(&shared.stats.accepts, 1);
                shared.live.fetch_add(1, Ordering::AcqRel);
                Stats::add(&shared.stats.open_connections, 1);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let info = ConnInfo::new(remote, local);
                    let mut force = shared.force_rx.clone();
                    tokio::select! {
                        _ = http1::serve(stream, info, shared.clone()) => {}
                        _ = force.wait_for(|f| *f) => {}
                    }
                    shared
                        .stats
                        .open_connections
                        .fetch_sub(1, Ordering::Relaxed);
                    if shared.live.fetch_sub(1, Ordering::AcqRel) == 1 {
                        shared.all_closed.notify_waiters();
                    }
                    shared.conn_closed.notify_waiters();
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
mod tests {
    use super::*;
    use crate::exchange::{Exchange, ResponseHead, Ticket};
    use crate::net::listener::BindAddr;
    use bytes::Bytes;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Answers every request with its method and path, in Rust.
    struct Echo;

    impl Dispatch for Echo {
        fn dispatch(&self, ex: Exchange) -> Ticket {
            let body = format!(
                "{} {}",
                String::from_utf8_lossy(ex.head.method()),
                String::from_utf8_lossy(ex.head.path())
            );
            if let Ok(head) = ResponseHead::from_app("200 OK", [("Content-Type", "text/plain")]) {
                let _ = ex.responder.respond(head, Bytes::from(body));
            }
            0
        }
    }

    async fn start() -> (Server, std::net::SocketAddr) {
        let mut config = ServerConfig::new(BindAddr::Tcp(([127, 0, 0, 1], 0).into()));
        config.limits.timeout = Duration::from_secs(2);
        let server = Server::start(config, Arc::new(Echo)).expect("bind");
        let BoundAddr::Tcp(addr) = server.local_addr().clone() else {
            panic!("tcp")
        };
        (server, addr)
    }

    async fn exchange(addr: std::net::SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(raw).await.expect("write");
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pipelined_requests_are_answered_in_order() {
        let (server, addr) = start().await;
        let out = exchange(
            addr,
            b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        )
        .await;
        let a = out.find("GET /a").expect("first");
        let b = out.find("GET /b").expect("second");
        assert!(a < b);
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2);
        server.stop(Duration::from_secs(1)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_a_connection_task_is_contained_and_counted() {
        let (server, addr) = start().await;
        server.panic_next_connection();
        let out = exchange(addr, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").await;
        assert_eq!(
            out, "",
            "the panicking connection is closed without an answer"
        );
        // The count lands just after the socket is dropped by the unwinding task.
        for _ in 0..100 {
            if server.stats().snapshot().panics == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(server.stats().snapshot().panics, 1);
        let out = exchange(
            addr,
            b"GET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(out.contains("GET /ok"), "the server keeps serving: {out}");
        server.stop(Duration::from_secs(1)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stop_closes_idle_keep_alive_connections_at_once() {
        let (server, addr) = start().await;
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.expect("read");
        assert!(n > 0);
        let started = std::time::Instant::now();
        server.stop(Duration::from_secs(5)).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "idle connections do not wait for the grace period"
        );
        let n = s.read(&mut buf).await.unwrap_or(0);
        assert_eq!(n, 0, "the idle connection was closed");
    }
}
