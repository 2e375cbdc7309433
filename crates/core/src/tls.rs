//! TLS with rustls (the `ring` provider): the server configuration from PEM files or PEM text,
//! certificates chosen by SNI, client certificates (none, optional, required) checked against a
//! CA bundle, the handshake of one connection, and certificate reload.
//!
//! Reload builds a whole new rustls configuration off to the side and swaps one `Arc` under a
//! lock held only for the swap: handshakes that start afterwards use the new certificates, and
//! connections already open keep the configuration they were made with.

mod stream;
mod x509;

pub(crate) use stream::TlsStream;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{CipherSuite, ProtocolVersion, RootCertStore, ServerConfig};
use tokio::sync::watch;

use crate::error::{Error, Kind};
use crate::listener::Stream;
use crate::stats::Stats;

// ===== configuration =====

/// Where PEM data comes from: a file (read at start and again at each reload), or the text.
#[derive(Clone, PartialEq, Eq)]
pub enum PemSource {
    /// A PEM file.
    File(PathBuf),
    /// PEM text given directly.
    Pem(String),
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemSource::File(p) => f.debug_tuple("File").field(p).finish(),
            // Never print key material.
            PemSource::Pem(text) => write!(f, "Pem({} bytes)", text.len()),
        }
    }
}

impl PemSource {
    /// How errors name this source: the path, or "PEM text".
    fn describe(&self, role: &str) -> String {
        match self {
            PemSource::File(p) => format!("{role} {}", p.display()),
            PemSource::Pem(_) => format!("{role} (PEM text)"),
        }
    }

    fn read(&self, role: &str) -> Result<Vec<u8>, Error> {
        match self {
            PemSource::File(p) => std::fs::read(p).map_err(|e| {
                Error::io(
                    Kind::Tls,
                    format!("{}: cannot read it", self.describe(role)),
                    e,
                )
            }),
            PemSource::Pem(text) => Ok(text.clone().into_bytes()),
        }
    }
}

/// A certificate with its private key: what the server presents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The server certificate, optionally followed by its intermediates.
    pub certificate: PemSource,
    /// The private key: RSA (PKCS#1 or PKCS#8), ECDSA (SEC1 or PKCS#8) or Ed25519 (PKCS#8).
    pub private_key: PemSource,
    /// Intermediate certificates sent after the server certificate.
    pub chain: Option<PemSource>,
}

/// Whether clients are asked for a certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// Clients are not asked for a certificate.
    #[default]
    None,
    /// Clients are asked; one that sends none is served, one that sends an untrusted one is not.
    Optional,
    /// A client without a certificate trusted by the CA bundle fails the handshake.
    Required,
}

/// The TLS settings of a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// The default identity: for clients that send no SNI name, or one with no entry of its own.
    pub identity: Identity,
    /// Identities by SNI host name (`*.example.org` matches one label).
    pub sni: Vec<(String, Identity)>,
    /// Whether client certificates are asked for.
    pub client_auth: ClientAuth,
    /// The CA certificates client certificates are checked against.
    pub ca_certs: Option<PemSource>,
}

impl TlsConfig {
    /// TLS with one identity and no client certificates.
    pub fn new(identity: Identity) -> Self {
        TlsConfig {
            identity,
            sni: Vec::new(),
            client_auth: ClientAuth::None,
            ca_certs: None,
        }
    }
}

// ===== loading =====

/// A certificate ready to be served, with the names SSL_SERVER_* show.
#[derive(Debug)]
struct Served {
    key: Arc<CertifiedKey>,
    subject: Arc<str>,
    issuer: Arc<str>,
}

/// Chooses the certificate by the SNI name of the ClientHello.
#[derive(Debug)]
struct Resolver {
    default: Arc<Served>,
    exact: HashMap<String, Arc<Served>>,
    /// `*.example.org` is stored as `example.org`.
    wildcard: HashMap<String, Arc<Served>>,
}

impl Resolver {
    fn pick(&self, sni: Option<&str>) -> &Arc<Served> {
        let Some(name) = sni else {
            return &self.default;
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(s) = self.exact.get(&name) {
            return s;
        }
        if let Some((_, parent)) = name.split_once('.') {
            if let Some(s) = self.wildcard.get(parent) {
                return s;
            }
        }
        &self.default
    }
}

thread_local! {
    /// The SNI of the ClientHello this thread's resolver saw last (`Some(None)`: none sent).
    /// rustls 0.23's unbuffered connection does not expose the SNI as its buffered one does;
    /// the resolver sees it, inside the handshake step that [`accept`] runs on this thread and
    /// takes it from right after.
    static HELLO_SNI: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = hello.server_name();
        HELLO_SNI.with(|seen| *seen.borrow_mut() = Some(sni.map(str::to_owned)));
        Some(self.pick(sni).key.clone())
    }
}

/// One loaded configuration: what a handshake uses from start to end.
pub(crate) struct Loaded {
    config: Arc<ServerConfig>,
    resolver: Arc<Resolver>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn certificates(src: &PemSource, role: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = src.read(role)?;
    let mut out = Vec::new();
    for item in CertificateDer::pem_slice_iter(&bytes) {
        match item {
            Ok(c) => out.push(c),
            Err(e) => {
                return Err(Error::new(
                    Kind::Tls,
                    format!(
                        "{}: not valid PEM ({})",
                        src.describe(role),
                        pem_problem(&e)
                    ),
                ))
            }
        }
    }
    if out.is_empty() {
        return Err(Error::new(
            Kind::Tls,
            format!(
                "{}: no PEM certificate found (expected a -----BEGIN CERTIFICATE----- block)",
                src.describe(role)
            ),
        ));
    }
    Ok(out)
}

fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => "a malformed BEGIN line".into(),
        pem::Error::Base64Decode(why) => format!("bad base64: {why}"),
        pem::Error::Io(io) => io.to_string(),
        pem::Error::NoItemsFound => "nothing found".into(),
        other => format!("{other:?}"),
    }
}

fn private_key(src: &PemSource) -> Result<PrivateKeyDer<'static>, Error> {
    let role = "private key";
    let bytes = src.read(role)?;
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(k) => Ok(k),
        Err(pem::Error::NoItemsFound) => {
            let text = String::from_utf8_lossy(&bytes);
            let why = if text.contains("ENCRYPTED PRIVATE KEY")
                || text.contains("Proc-Type: 4,ENCRYPTED")
            {
                "the key is encrypted; give it decrypted (e.g. `openssl pkey -in KEY -out KEY.plain`)"
            } else {
                "no private key found (expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)"
            };
            Err(Error::new(
                Kind::Tls,
                format!("{}: {why}", src.describe(role)),
            ))
        }
        Err(e) => Err(Error::new(
            Kind::Tls,
            format!(
                "{}: not valid PEM ({})",
                src.describe(role),
                pem_problem(&e)
            ),
        )),
    }
}

fn identity(id: &Identity, provider: &CryptoProvider, now: i64) -> Result<Served, Error> {
    let mut chain = certificates(&id.certificate, "certificate")?;
    if let Some(extra) = &id.chain {
        chain.extend(certificates(extra, "certificate chain")?);
    }
    let leaf = chain.first().map(|c| c.as_ref()).unwrap_or_default();
    let Some(fields) = x509::parse(leaf) else {
        return Err(Error::new(
            Kind::Tls,
            format!(
                "{}: the first certificate is not a valid X.509 certificate",
                id.certificate.describe("certificate")
            ),
        ));
    };
    if fields.not_after < now {
        return Err(Error::new(
            Kind::Tls,
            format!(
                "{}: the certificate expired on {} (subject {})",
                id.certificate.describe("certificate"),
                x509::format_time(fields.not_after),
                fields.subject
            ),
        ));
    }
    let key_der = private_key(&id.private_key)?;
    let key = provider.key_provider.load_private_key(key_der).map_err(|e| {
        Error::new(
            Kind::Tls,
            format!(
                "{}: the key cannot be used ({e}); RSA, ECDSA P-256/P-384 and Ed25519 keys are supported",
                id.private_key.describe("private key")
            ),
        )
    })?;
    let certified = CertifiedKey::new(chain, key);
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(Error::new(
                Kind::Tls,
                format!(
                    "{}: the private key does not match the certificate {}",
                    id.private_key.describe("private key"),
                    match &id.certificate {
                        PemSource::File(p) => p.display().to_string(),
                        PemSource::Pem(_) => "(PEM text)".to_string(),
                    }
                ),
            ))
        }
        // Providers that cannot tell their public key: nothing to compare.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(e) => {
            return Err(Error::new(
                Kind::Tls,
                format!("{}: {e}", id.certificate.describe("certificate")),
            ))
        }
    }
    Ok(Served {
        key: Arc::new(certified),
        subject: fields.subject.into(),
        issuer: fields.issuer.into(),
    })
}

/// Read every file of `cfg` and build the rustls configuration. Nothing is bound or changed.
pub(crate) fn load(cfg: &TlsConfig) -> Result<Loaded, Error> {
    let provider = provider();
    let now = now_unix();
    let default = Arc::new(identity(&cfg.identity, &provider, now)?);
    let mut exact = HashMap::new();
    let mut wildcard = HashMap::new();
    for (host, id) in &cfg.sni {
        let served = Arc::new(
            identity(id, &provider, now)
                .map_err(|e| Error::new(Kind::Tls, format!("ssl.sni[{host:?}]: {e}")))?,
        );
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match host.strip_prefix("*.") {
            Some(parent) => wildcard.insert(parent.to_string(), served),
            None => exact.insert(host, served),
        };
    }
    let resolver = Arc::new(Resolver {
        default,
        exact,
        wildcard,
    });

    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::new(Kind::Tls, format!("TLS versions: {e}")))?;
    let builder = match cfg.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let Some(ca) = &cfg.ca_certs else {
                return Err(Error::new(
                    Kind::InvalidOption,
                    "client certificates need CA certificates to check them against (caCerts)",
                ));
            };
            let mut roots = RootCertStore::empty();
            for cert in certificates(ca, "CA certificates")? {
                roots.add(cert).map_err(|e| {
                    Error::new(
                        Kind::Tls,
                        format!("{}: {e}", ca.describe("CA certificates")),
                    )
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth == ClientAuth::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier.build().map_err(|e| {
                Error::new(
                    Kind::Tls,
                    format!("{}: {e}", ca.describe("CA certificates")),
                )
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(resolver.clone());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Loaded {
        config: Arc::new(config),
        resolver,
    })
}

/// The TLS state of a running server: its settings and the configuration handshakes use now.
pub(crate) struct Tls {
    config: Mutex<TlsConfig>,
    current: RwLock<Arc<Loaded>>,
}

impl Tls {
    pub(crate) fn new(config: TlsConfig) -> Result<Tls, Error> {
        let loaded = load(&config)?;
        Ok(Tls {
            config: Mutex::new(config),
            current: RwLock::new(Arc::new(loaded)),
        })
    }

    fn current(&self) -> Option<Arc<Loaded>> {
        self.current.read().ok().map(|l| l.clone())
    }

    /// Load `config` (or read the files of the current settings again) and swap it in. On error
    /// nothing changes.
    pub(crate) fn reload(&self, config: Option<TlsConfig>) -> Result<(), Error> {
        let config = match config {
            Some(c) => c,
            None => self
                .config
                .lock()
                .map_err(|_| Error::new(Kind::Tls, "the TLS settings are unavailable"))?
                .clone(),
        };
        let loaded = Arc::new(load(&config)?);
        if let Ok(mut settings) = self.config.lock() {
            *settings = config;
        }
        if let Ok(mut current) = self.current.write() {
            *current = loaded;
        }
        Ok(())
    }
}

// ===== one connection =====

/// What TLS tells about a connection: the SSL_* variables of mod_ssl.
#[derive(Clone, Debug)]
pub struct TlsInfo {
    /// `TLSv1.2` or `TLSv1.3` (SSL_PROTOCOL).
    pub protocol: &'static str,
    /// The cipher suite by its OpenSSL name (SSL_CIPHER).
    pub cipher: &'static str,
    /// Secret bits of the cipher (SSL_CIPHER_USEKEYSIZE and SSL_CIPHER_ALGKEYSIZE).
    pub cipher_bits: u16,
    /// The host name the client asked for (SSL_TLS_SNI).
    pub sni: Option<String>,
    /// The served certificate's subject (SSL_SERVER_S_DN).
    pub server_subject: Arc<str>,
    /// The served certificate's issuer (SSL_SERVER_I_DN).
    pub server_issuer: Arc<str>,
    /// The client's certificate, verified, when it sent one.
    pub client: Option<Box<ClientCert>>,
}

/// A verified client certificate (SSL_CLIENT_*).
#[derive(Clone, Debug)]
pub struct ClientCert {
    /// SSL_CLIENT_S_DN, RFC 4514.
    pub subject: String,
    /// SSL_CLIENT_S_DN_CN.
    pub subject_cn: Option<String>,
    /// SSL_CLIENT_I_DN, RFC 4514.
    pub issuer: String,
    /// SSL_CLIENT_I_DN_CN.
    pub issuer_cn: Option<String>,
    /// SSL_CLIENT_M_VERSION.
    pub version: u8,
    /// SSL_CLIENT_M_SERIAL: upper-case hex.
    pub serial: String,
    /// SSL_CLIENT_V_START: `Jan  2 03:04:05 2026 GMT`.
    pub not_before: String,
    /// SSL_CLIENT_V_END.
    pub not_after: String,
    /// SSL_CLIENT_V_REMAIN: whole days until it expires.
    pub days_remaining: i64,
    /// SSL_CLIENT_CERT: PEM.
    pub pem: String,
}

fn protocol_name(v: Option<ProtocolVersion>) -> &'static str {
    match v {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
        _ => "",
    }
}

/// The OpenSSL name and secret bits of each suite the ring provider offers.
fn cipher_name(suite: CipherSuite) -> (&'static str, u16) {
    match suite {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => ("TLS_AES_128_GCM_SHA256", 128),
        CipherSuite::TLS13_AES_256_GCM_SHA384 => ("TLS_AES_256_GCM_SHA384", 256),
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => ("TLS_CHACHA20_POLY1305_SHA256", 256),
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => {
            ("ECDHE-ECDSA-AES128-GCM-SHA256", 128)
        }
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => {
            ("ECDHE-ECDSA-AES256-GCM-SHA384", 256)
        }
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => {
            ("ECDHE-ECDSA-CHACHA20-POLY1305", 256)
        }
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => ("ECDHE-RSA-AES128-GCM-SHA256", 128),
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => ("ECDHE-RSA-AES256-GCM-SHA384", 256),
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => {
            ("ECDHE-RSA-CHACHA20-POLY1305", 256)
        }
        other => (other.as_str().unwrap_or("UNKNOWN"), 0),
    }
}

fn client_cert(der: &[u8]) -> ClientCert {
    let fields = x509::parse(der).unwrap_or_default();
    let remaining = (fields.not_after - now_unix()).div_euclid(86_400);
    ClientCert {
        subject: fields.subject,
        subject_cn: fields.subject_cn,
        issuer: fields.issuer,
        issuer_cn: fields.issuer_cn,
        version: fields.version,
        serial: fields.serial,
        not_before: x509::format_time(fields.not_before),
        not_after: x509::format_time(fields.not_after),
        days_remaining: remaining.max(0),
        pem: x509::to_pem(der),
    }
}

/// How the start of a connection to a TLS port went.
pub(crate) enum Accepted {
    /// The handshake completed.
    Tls(Stream, Box<TlsInfo>),
    /// The client spoke plain HTTP: answer 400 in plain text, then close.
    PlainHttp(Stream),
    /// The handshake failed, timed out, or the server is stopping: close.
    Closed,
}

/// A TLS record of type handshake starts with this byte.
const TLS_HANDSHAKE: u8 = 0x16;

/// Run the handshake of one connection, within `timeout` from the first byte awaited to the
/// last one sent. Failures are counted and, with `GATEHOUSE_DEBUG`, logged; never raised.
pub(crate) async fn accept(
    stream: Stream,
    tls: &Tls,
    stats: &Stats,
    timeout: std::time::Duration,
    shutdown: &mut watch::Receiver<bool>,
) -> Accepted {
    let Some(loaded) = tls.current() else {
        return Accepted::Closed;
    };
    let work = async {
        match stream.peek_first_byte().await {
            Ok(Some(TLS_HANDSHAKE)) => {}
            Ok(Some(b)) if b.is_ascii_uppercase() => return Err(Some(stream)),
            Ok(Some(_)) => {
                // Neither TLS nor an HTTP method: let rustls refuse it properly.
            }
            Ok(None) => {
                Stats::add(&stats.tls_handshake_errors, 1);
                crate::debug(format_args!("TLS: the client closed before a ClientHello"));
                return Err(None);
            }
            Err(e) => {
                Stats::add(&stats.tls_handshake_errors, 1);
                crate::debug(format_args!("TLS: reading the ClientHello failed: {e}"));
                return Err(None);
            }
        }
        HELLO_SNI.with(|seen| seen.borrow_mut().take());
        let mut sni = None;
        let take_sni = || {
            if let Some(seen) = HELLO_SNI.with(|seen| seen.borrow_mut().take()) {
                sni = Some(seen);
            }
        };
        match TlsStream::accept(loaded.config.clone(), stream, take_sni).await {
            Ok(s) => Ok((s, sni.flatten())),
            Err(e) => {
                Stats::add(&stats.tls_handshake_errors, 1);
                crate::debug(format_args!("TLS handshake failed: {e}"));
                Err(None)
            }
        }
    };
    let outcome = tokio::select! {
        r = tokio::time::timeout(timeout, work) => r,
        _ = shutdown.wait_for(|s| *s) => return Accepted::Closed,
    };
    let (tls_stream, sni) = match outcome {
        Err(_) => {
            Stats::add(&stats.tls_handshake_timeouts, 1);
            crate::debug(format_args!(
                "TLS handshake not finished within {timeout:?}"
            ));
            return Accepted::Closed;
        }
        Ok(Err(Some(plain))) => {
            Stats::add(&stats.tls_plain_http, 1);
            return Accepted::PlainHttp(plain);
        }
        Ok(Err(None)) => return Accepted::Closed,
        Ok(Ok(s)) => s,
    };
    Stats::add(&stats.tls_handshakes, 1);
    let served = loaded.resolver.pick(sni.as_deref());
    let (protocol, cipher, cipher_bits, client) = tls_stream.with_conn(|conn| {
        let (cipher, cipher_bits) = conn
            .negotiated_cipher_suite()
            .map_or(("", 0), |s| cipher_name(s.suite()));
        let client = conn
            .peer_certificates()
            .and_then(|certs| certs.first())
            .map(|leaf| Box::new(client_cert(leaf)));
        (
            protocol_name(conn.protocol_version()),
            cipher,
            cipher_bits,
            client,
        )
    });
    let info = TlsInfo {
        protocol,
        cipher,
        cipher_bits,
        sni,
        server_subject: served.subject.clone(),
        server_issuer: served.issuer.clone(),
        client,
    };
    Accepted::Tls(Stream::Tls(tls_stream), Box::new(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(text: &str) -> PemSource {
        PemSource::Pem(text.to_string())
    }

    fn load_err(cfg: &TlsConfig) -> String {
        match load(cfg) {
            Ok(_) => String::from("loaded"),
            Err(e) => {
                assert_eq!(e.kind(), Kind::Tls);
                e.to_string()
            }
        }
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let missing = PathBuf::from("/nonexistent/gatehouse/cert.pem");
        let cfg = TlsConfig::new(Identity {
            certificate: PemSource::File(missing.clone()),
            private_key: pem(""),
            chain: None,
        });
        let msg = load_err(&cfg);
        assert!(msg.contains("/nonexistent/gatehouse/cert.pem"), "{msg}");
        assert!(msg.contains("cannot read"), "{msg}");

        let cfg = TlsConfig::new(Identity {
            certificate: pem("hello\n"),
            private_key: pem(""),
            chain: None,
        });
        let msg = load_err(&cfg);
        assert!(msg.contains("certificate (PEM text)"), "{msg}");
        assert!(msg.contains("no PEM certificate"), "{msg}");

        let cfg = TlsConfig::new(Identity {
            certificate: pem("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"),
            private_key: pem(""),
            chain: None,
        });
        assert!(load_err(&cfg).contains("not valid PEM"));
    }

    #[test]
    fn pem_text_is_never_printed() {
        let secret = pem("-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n");
        let shown = format!("{secret:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn cipher_names_are_openssl_names() {
        assert_eq!(
            cipher_name(CipherSuite::TLS13_AES_256_GCM_SHA384),
            ("TLS_AES_256_GCM_SHA384", 256)
        );
        assert_eq!(
            cipher_name(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
            ("ECDHE-RSA-AES128-GCM-SHA256", 128)
        );
        assert_eq!(protocol_name(Some(ProtocolVersion::TLSv1_2)), "TLSv1.2");
    }
}
