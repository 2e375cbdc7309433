//! gatehouse-node: the N-API binding. It owns nothing of HTTP: it turns options into a core
//! configuration, runs the core on the napi-rs tokio runtime, and moves bytes and ids between
//! the core and JavaScript (see `bridge`). The calls that end a request (`respond`, `end`,
//! `abort`) consume its id; the calls that borrow it (`read`, `write`) check it is still open.
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod answers;
mod bridge;
mod errors;
mod head;
mod lane;

pub use lane::{attach_lane, NativeLane};

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

use gatehouse_core::{
    AccessLogConfig, AccessLogFormat, AccessLogTarget, BindAddr, BoundAddr, ClientAuth, Identity,
    Kind, PemSource, Protocol, ResponseHead, Server, ServerConfig, TlsConfig, HEAD_SIZE_CEILING,
    LATENCY_BUCKETS,
};
use napi::bindgen_prelude::{Buffer, Function, PromiseRaw};
use napi::{Env, Result};
use napi_derive::napi;

use bridge::Bridge;

/// The tokio runtime: `GATEHOUSE_IO_THREADS` worker threads, by default one per CPU less the
/// one the JavaScript thread needs (at least one). It is process-wide (every server in the
/// process shares it), so it is set from the environment.
///
/// Why not one per CPU: on two CPUs, a second IO thread competes with the JavaScript thread for
/// the same cores and adds thread switches; with wrk beside the server, one IO thread answered
/// hello world about 13% faster from JavaScript (81k against 71k requests/s) and 22% faster
/// from Rust alone (131k against 107k), measured alternating, 3 runs each.
#[napi_derive::module_init]
fn init() {
    let threads = std::env::var("GATEHOUSE_IO_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1).max(1))
                .unwrap_or(1)
        });
    if let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("gatehouse-io")
        .enable_all()
        .build()
    {
        napi::bindgen_prelude::create_custom_tokio_runtime(rt);
    }
}

/// Options the TypeScript `Server` has already validated and normalised.
#[napi(object)]
pub struct NativeOptions {
    /// TCP host (with `port`), or absent for a UNIX socket.
    pub host: Option<String>,
    pub port: Option<u32>,
    /// UNIX socket path.
    pub path: Option<String>,
    pub backlog: u32,
    pub nodelay: bool,
    /// "HTTP/1.1" or "HTTP/1.0".
    pub protocol: String,
    pub max_request_header_size: f64,
    pub max_request_body_size: f64,
    /// Seconds.
    pub timeout: f64,
    /// Seconds.
    pub shutdown_timeout: f64,
    pub numthreads: u32,
    /// -1 for no limit.
    pub max_threads: i32,
    /// The `Server` response header (the `serverHeader` option); empty: none.
    pub server_software: String,
    /// Requests that may wait for a slot before 503.
    pub max_queue: u32,
    /// -1 for no limit.
    pub max_connections: i32,
    pub reuse_port: bool,
    /// File mode of a UNIX socket; -1 to leave it.
    pub unix_mode: i32,
    pub proxy_protocol: bool,
    /// Peers whose X-Forwarded-For / X-Forwarded-Proto are trusted ("*" for any).
    pub forwarded_allow_ips: Vec<String>,
    /// "-" for stdout, or a file path.
    pub access_log: Option<String>,
    /// "common" or "combined".
    pub access_log_format: Option<String>,
    /// An inherited listening descriptor (systemd socket activation).
    pub fd: Option<i32>,
    /// Answer every request from Rust with this text body, never calling JavaScript: the
    /// benchmark ceiling (what the bridge costs is the distance to it).
    pub static_response: Option<String>,
    /// HTTPS settings; absent for plain HTTP.
    pub ssl: Option<NativeSsl>,
    /// Seconds a request may take from its head to the end of its answer; absent: no limit.
    pub request_timeout: Option<f64>,
    /// Bytes per second a request body must average after its grace period; 0: no check.
    pub min_request_body_rate: Option<f64>,
    /// Bytes per second an answer must average, counting the time its writes wait on the
    /// client, after its grace period; 0: no check.
    pub min_response_data_rate: Option<f64>,
    /// Seconds a request body or an answer may be slower than its minimum rate at first.
    pub rate_grace_period: Option<f64>,
}

/// The figures of one worker (pool slot).
#[napi(object)]
pub struct NativeWorker {
    pub requests: f64,
    pub bytes_read: f64,
    pub bytes_written: f64,
    pub work_seconds: f64,
}

/// The request-duration histogram and the status counts.
#[napi(object)]
pub struct NativeHistogram {
    /// Upper bounds in seconds (the last bucket, +Inf, is not listed).
    pub bounds: Vec<f64>,
    /// Cumulative counts, one more than `bounds` (+Inf last).
    pub cumulative: Vec<f64>,
    pub sum_seconds: f64,
    /// Flat pairs: status, count, status, count…
    pub statuses: Vec<f64>,
}

/// PEM data: a file to read (`path`), or the text itself (`pem`).
#[napi(object)]
pub struct NativePem {
    pub path: Option<String>,
    pub pem: Option<String>,
}

/// A certificate and its key, optionally with intermediates.
#[napi(object)]
pub struct NativeIdentity {
    pub certificate: NativePem,
    pub private_key: NativePem,
    pub certificate_chain: Option<NativePem>,
}

/// One SNI entry: a host name and the identity served for it.
#[napi(object)]
pub struct NativeSniEntry {
    pub host: String,
    pub identity: NativeIdentity,
}

/// HTTPS settings, validated by the TypeScript layer.
#[napi(object)]
pub struct NativeSsl {
    pub identity: NativeIdentity,
    /// "none", "optional" or "required".
    pub client_auth: String,
    pub ca_certs: Option<NativePem>,
    pub sni: Vec<NativeSniEntry>,
}

/// Where the server listens once started.
#[napi(object)]
pub struct NativeBound {
    pub host: Option<String>,
    pub port: Option<u32>,
    pub path: Option<String>,
}

/// The core's counters.
#[napi(object)]
pub struct NativeStats {
    pub run_time: f64,
    pub accepts: f64,
    pub requests: f64,
    pub bytes_read: f64,
    pub bytes_written: f64,
    pub socket_errors: f64,
    pub rejected: f64,
    pub panics: f64,
    pub open_connections: f64,
    pub overloaded: f64,
    pub access_log_dropped: f64,
    pub tls_handshakes: f64,
    pub tls_handshake_errors: f64,
    pub tls_handshake_timeouts: f64,
    pub tls_plain_http: f64,
    /// Requests whose client went away (or whose requestTimeout passed) before their answer.
    pub abandoned: f64,
    pub pool_min: u32,
    pub pool_max: i32,
    pub pool_size: u32,
    pub pool_idle: u32,
    pub pool_qsize: u32,
}

/// One server in the core, and its bridge to JavaScript.
#[napi]
pub struct NativeServer {
    config: ServerConfig,
    access_log: Option<AccessLogConfig>,
    static_response: Option<Bytes>,
    bridge: Arc<Bridge>,
    server: Arc<Mutex<Option<Arc<Server>>>>,
}

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
/// The longest time an option may name: about 31 years (a longer one is a mistake, and tokio's
/// timers cannot hold much more).
const MAX_SECONDS: f64 = 1e9;

/// A duration option in seconds, checked: a number the server cannot use is an option error,
/// never a panic (`Duration::from_secs_f64` panics on NaN, negative or huge values).
fn seconds_option(name: &str, v: f64) -> Result<Duration> {
    if !(0.0..=MAX_SECONDS).contains(&v) {
        return Err(errors::option(format!(
            "invalid {name}: expected seconds from 0 to {MAX_SECONDS:e}, got {v}"
        )));
    }
    Duration::try_from_secs_f64(v)
        .map_err(|_| errors::option(format!("invalid {name}: {v} is not a duration")))
}

/// A size option in bytes, checked against `max`.
fn bytes_option(name: &str, v: f64, max: f64) -> Result<f64> {
    if !(0.0..=max).contains(&v) || v.fract() != 0.0 {
        return Err(errors::option(format!(
            "invalid {name}: expected a whole number of bytes from 0 to {max}, got {v}"
        )));
    }
    Ok(v)
}

fn config_from(o: &NativeOptions) -> Result<ServerConfig> {
    let bind = match (&o.path, &o.host) {
        _ if o.fd.is_some() => BindAddr::Fd(o.fd.unwrap_or(-1)),
        (Some(p), _) => BindAddr::Unix(PathBuf::from(p)),
        (None, Some(h)) => {
            let ip: IpAddr = h
                .trim_matches(|c| c == '[' || c == ']')
                .parse()
                .map_err(|_| errors::option(format!("bind host {h:?} is not an IP address")))?;
            let port = o.port.unwrap_or(0);
            let port = u16::try_from(port)
                .map_err(|_| errors::option(format!("invalid port: {port} is above 65535")))?;
            BindAddr::Tcp(SocketAddr::new(ip, port))
        }
        (None, None) => {
            return Err(errors::option(
                "bind needs a host and port, or a path".into(),
            ))
        }
    };
    let mut c = ServerConfig::new(bind);
    c.backlog = o.backlog;
    c.nodelay = o.nodelay;
    c.protocol = if o.protocol == "HTTP/1.0" {
        Protocol::Http10
    } else {
        Protocol::Http11
    };
    c.limits.max_head_size = bytes_option(
        "maxRequestHeaderSize",
        o.max_request_header_size,
        HEAD_SIZE_CEILING as f64,
    )? as usize;
    c.limits.max_body_size = bytes_option(
        "maxRequestBodySize",
        o.max_request_body_size,
        MAX_SAFE_INTEGER,
    )? as u64;
    c.limits.timeout = seconds_option("timeout", o.timeout)?;
    if c.limits.timeout.is_zero() {
        return Err(errors::option(
            "invalid timeout: expected a number of seconds > 0".into(),
        ));
    }
    c.shutdown_timeout = seconds_option("shutdownTimeout", o.shutdown_timeout)?;
    c.limits.request_timeout = o
        .request_timeout
        .map(|t| seconds_option("requestTimeout", t))
        .transpose()?
        .filter(|t| !t.is_zero());
    if let Some(rate) = o.min_request_body_rate {
        c.limits.min_body_rate = bytes_option("minRequestBodyRate", rate, MAX_SAFE_INTEGER)? as u64;
    }
    if let Some(rate) = o.min_response_data_rate {
        c.limits.min_response_rate =
            bytes_option("minResponseDataRate", rate, MAX_SAFE_INTEGER)? as u64;
    }
    if let Some(grace) = o.rate_grace_period {
        let grace = seconds_option("rateGracePeriod", grace)?;
        c.limits.body_rate_grace = grace;
        c.limits.response_rate_grace = grace;
    }
    if o.numthreads == 0 {
        return Err(errors::option(
            "invalid numthreads: expected an integer >= 1".into(),
        ));
    }
    c.min_workers = o.numthreads as usize;
    c.max_workers = if o.max_threads < 0 {
        None
    } else {
        Some(o.max_threads as usize)
    };
    if o.server_software
        .chars()
        .any(|c| !c.is_ascii() || (c.is_ascii_control() && c != '\t'))
    {
        return Err(errors::option(format!(
            "invalid serverHeader: {:?} is not a header value (printable ASCII)",
            o.server_software
        )));
    }
    c.server_software = o.server_software.clone();
    c.max_queue = o.max_queue as usize;
    c.max_connections = usize::try_from(o.max_connections).ok();
    c.reuse_port = o.reuse_port;
    c.unix_mode = u32::try_from(o.unix_mode).ok();
    c.proxy_protocol = o.proxy_protocol;
    c.tls = o.ssl.as_ref().map(tls_from).transpose()?;
    Ok(c)
}

fn access_log_from(o: &NativeOptions) -> Option<AccessLogConfig> {
    let target = match o.access_log.as_deref()? {
        "-" => AccessLogTarget::Stdout,
        path => AccessLogTarget::File(PathBuf::from(path)),
    };
    let format = match o.access_log_format.as_deref() {
        Some("common") => AccessLogFormat::Common,
        _ => AccessLogFormat::Combined,
    };
    Some(AccessLogConfig { target, format })
}

fn pem_from(p: &NativePem, what: &str) -> Result<PemSource> {
    match (&p.path, &p.pem) {
        (Some(path), None) => Ok(PemSource::File(PathBuf::from(path))),
        (None, Some(text)) => Ok(PemSource::Pem(text.clone())),
        _ => Err(errors::option(format!(
            "{what} needs exactly one of a file path or PEM text"
        ))),
    }
}

fn identity_from(i: &NativeIdentity, at: &str) -> Result<Identity> {
    Ok(Identity {
        certificate: pem_from(&i.certificate, &format!("{at}.certificate"))?,
        private_key: pem_from(&i.private_key, &format!("{at}.privateKey"))?,
        chain: i
            .certificate_chain
            .as_ref()
            .map(|c| pem_from(c, &format!("{at}.certificateChain")))
            .transpose()?,
    })
}

fn tls_from(s: &NativeSsl) -> Result<TlsConfig> {
    let client_auth = match s.client_auth.as_str() {
        "none" => ClientAuth::None,
        "optional" => ClientAuth::Optional,
        "required" => ClientAuth::Required,
        other => {
            return Err(errors::option(format!(
                "ssl.clientAuth must be 'none', 'optional' or 'required', got {other:?}"
            )))
        }
    };
    let mut sni = Vec::with_capacity(s.sni.len());
    for e in &s.sni {
        sni.push((
            e.host.clone(),
            identity_from(&e.identity, &format!("ssl.sni[{:?}]", e.host))?,
        ));
    }
    Ok(TlsConfig {
        identity: identity_from(&s.identity, "ssl")?,
        sni,
        client_auth,
        ca_certs: s
            .ca_certs
            .as_ref()
            .map(|c| pem_from(c, "ssl.caCerts"))
            .transpose()?,
    })
}

#[napi]
impl NativeServer {
    #[napi(constructor, catch_unwind)]
    pub fn new(options: NativeOptions) -> Result<Self> {
        let trusted = options
            .forwarded_allow_ips
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let config = config_from(&options)?;
        // As node: the whole seconds of the keep-alive timeout.
        let keep_alive_secs = config.limits.timeout.as_secs();
        Ok(NativeServer {
            config,
            access_log: access_log_from(&options),
            static_response: options
                .static_response
                .as_ref()
                .map(|s| Bytes::from(s.clone().into_bytes())),
            bridge: Bridge::new(trusted, keep_alive_secs),
            server: Arc::new(Mutex::new(None)),
        })
    }

    /// The key worker threads attach their lanes by (`attachLane`).
    #[napi(getter, catch_unwind)]
    pub fn key(&self) -> u32 {
        self.bridge.key
    }

    /// Attach the calling (main) JavaScript thread as a lane; `on_requests` receives each
    /// packed batch of request heads. Attach every lane before `start`.
    #[napi(catch_unwind)]
    pub fn attach(
        &self,
        env: Env,
        on_requests: Function<'_, Buffer, ()>,
    ) -> Result<lane::NativeLane> {
        lane::attach(&env, &self.bridge, on_requests)
    }

    /// Bind and start accepting.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeBound>")]
    pub fn start<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, NativeBound>> {
        if self.static_response.is_none() && self.bridge.lane_count() == 0 {
            return Err(errors::option("attach a lane before start()".into()));
        }
        let config = self.config.clone();
        let access_log = self.access_log.clone();
        let bridge = self.bridge.clone();
        let slot = self.server.clone();
        let dispatch: Arc<dyn gatehouse_core::Dispatch> = match &self.static_response {
            Some(body) => Arc::new(StaticResponse { body: body.clone() }),
            None => bridge.clone(),
        };
        // The promise settles on the JavaScript thread, where a bind error becomes an error
        // object that carries its OS error number.
        let started = async move {
            let server = match Server::start_with_log(config, dispatch, access_log) {
                Ok(s) => s,
                Err(e) => {
                    bridge.release_lanes();
                    return Ok(Err(e));
                }
            };
            let bound = match server.local_addr() {
                BoundAddr::Tcp(sa) => NativeBound {
                    host: Some(sa.ip().to_string()),
                    port: Some(u32::from(sa.port())),
                    path: None,
                },
                BoundAddr::Unix(p) => NativeBound {
                    host: None,
                    port: None,
                    path: Some(p.display().to_string()),
                },
            };
            if let Ok(mut s) = slot.lock() {
                *s = Some(Arc::new(server));
            }
            Ok(Ok(bound))
        };
        env.spawn_future_with_callback(started, |env, r| r.map_err(|e| errors::to_js(env, e)))
    }

    /// Stop gracefully within `grace_seconds`; resolves when every connection is closed.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn stop<'env>(&self, env: &'env Env, grace_seconds: f64) -> Result<PromiseRaw<'env, ()>> {
        let server = self.server.lock().ok().and_then(|mut s| s.take());
        let bridge = self.bridge.clone();
        env.spawn_future(async move {
            if let Some(server) = server {
                let grace = seconds_option("shutdownTimeout", grace_seconds)
                    .unwrap_or(server.config().shutdown_timeout);
                server.stop(grace).await;
            }
            bridge.release_lanes();
            Ok(())
        })
    }

    /// Read the certificates again (from `ssl`, or from the files of the current settings) and
    /// use them for new handshakes; open connections go on. Rejects, changing nothing, when a
    /// file cannot be read or used.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn reload_certificates<'env>(
        &self,
        env: &'env Env,
        ssl: Option<NativeSsl>,
    ) -> Result<PromiseRaw<'env, ()>> {
        let config = ssl.as_ref().map(tls_from).transpose()?;
        let server = self.server.lock().ok().and_then(|s| s.clone());
        let reloaded = async move {
            let Some(server) = server else {
                return Err(errors::of_kind(Kind::Tls, "the server is not running"));
            };
            // Reading files blocks: keep it off the I/O threads.
            tokio::task::spawn_blocking(move || server.reload_tls(config))
                .await
                .map_err(|e| errors::internal(format!("reload failed: {e}")))
        };
        // Settled on the JavaScript thread: a file that cannot be read carries its OS error.
        env.spawn_future_with_callback(reloaded, |env, r| r.map_err(|e| errors::to_js(env, e)))
    }

    /// The core's counters and the pool's figures.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> Option<NativeStats> {
        let server = self.server.lock().ok()?.clone()?;
        let s = server.stats().snapshot();
        let pool = server.pool();
        Some(NativeStats {
            run_time: s.run_time,
            accepts: s.accepts as f64,
            requests: s.requests as f64,
            bytes_read: s.bytes_read as f64,
            bytes_written: s.bytes_written as f64,
            socket_errors: s.socket_errors as f64,
            rejected: s.rejected as f64,
            panics: s.panics as f64,
            open_connections: s.open_connections as f64,
            overloaded: s.overloaded as f64,
            access_log_dropped: s.access_log_dropped as f64,
            tls_handshakes: s.tls_handshakes as f64,
            tls_handshake_errors: s.tls_handshake_errors as f64,
            tls_handshake_timeouts: s.tls_handshake_timeouts as f64,
            tls_plain_http: s.tls_plain_http as f64,
            abandoned: s.abandoned as f64,
            pool_min: pool.min() as u32,
            pool_max: pool.max().map_or(-1, |m| m as i32),
            pool_size: pool.size() as u32,
            pool_idle: pool.idle() as u32,
            pool_qsize: pool.qsize() as u32,
        })
    }

    /// Per-worker figures (one per pool slot the pool has had).
    #[napi(catch_unwind)]
    pub fn workers(&self) -> Vec<NativeWorker> {
        let Some(server) = self.running() else {
            return Vec::new();
        };
        server
            .pool()
            .workers()
            .iter()
            .map(|w| NativeWorker {
                requests: w.requests.load(Relaxed) as f64,
                bytes_read: w.bytes_read.load(Relaxed) as f64,
                bytes_written: w.bytes_written.load(Relaxed) as f64,
                work_seconds: w.work_micros.load(Relaxed) as f64 / 1e6,
            })
            .collect()
    }

    /// The request-duration histogram and the status counts.
    #[napi(catch_unwind)]
    pub fn histogram(&self) -> Option<NativeHistogram> {
        let server = self.running()?;
        let h = server.stats().histogram();
        Some(NativeHistogram {
            bounds: LATENCY_BUCKETS.to_vec(),
            cumulative: h.cumulative.iter().map(|c| *c as f64).collect(),
            sum_seconds: h.sum_seconds,
            statuses: h
                .statuses
                .iter()
                .flat_map(|(s, c)| [f64::from(*s), *c as f64])
                .collect(),
        })
    }

    /// Reset the counters and every worker's figures (the original server's `clear_stats`).
    #[napi(catch_unwind)]
    pub fn clear_stats(&self) {
        if let Some(server) = self.running() {
            server.clear_stats();
        }
    }

    /// Add up to `n` pool slots (never above max); returns how many were added.
    #[napi(catch_unwind)]
    pub fn pool_grow(&self, n: u32) -> u32 {
        self.running()
            .map_or(0, |s| s.pool().grow(n as usize) as u32)
    }

    /// Remove up to `n` free pool slots (never below min); returns how many were removed.
    #[napi(catch_unwind)]
    pub fn pool_shrink(&self, n: u32) -> u32 {
        self.running()
            .map_or(0, |s| s.pool().shrink(n as usize) as u32)
    }

    /// Requests handed to JavaScript and not yet finished.
    #[napi(catch_unwind)]
    pub fn open_requests(&self) -> u32 {
        self.bridge.open_requests() as u32
    }
}

/// The Rust-only responder: the same answer to every request, without JavaScript.
struct StaticResponse {
    body: Bytes,
}

impl gatehouse_core::Dispatch for StaticResponse {
    fn dispatch(&self, exchange: gatehouse_core::Exchange) -> gatehouse_core::Ticket {
        if let Ok(head) =
            ResponseHead::from_app("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        {
            let _ = exchange.responder.respond(head, self.body.clone());
        }
        0
    }
}

impl NativeServer {
    fn running(&self) -> Option<Arc<Server>> {
        self.server.lock().ok()?.clone()
    }
}
