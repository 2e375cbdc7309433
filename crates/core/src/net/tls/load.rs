//! Loading the settings into a rustls configuration (certificates chosen by SNI, client
//! certificates checked against a CA bundle), and the running server's TLS state that reload swaps.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};

use crate::error::{Error, Kind};

use super::config::{ClientAuth, Identity, PemSource, TlsConfig};
use super::x509;

/// A certificate ready to be served, with the names SSL_SERVER_* show.
#[derive(Debug)]
pub(super) struct Served {
    key: Arc<CertifiedKey>,
    pub(super) subject: Arc<str>,
    pub(super) issuer: Arc<str>,
}

/// Chooses the certificate by the SNI name of the ClientHello.
#[derive(Debug)]
pub(super) struct Resolver {
    default: Arc<Served>,
    exact: HashMap<String, Arc<Served>>,
    /// `*.example.org` is stored as `example.org`.
    wildcard: HashMap<String, Arc<Served>>,
}

impl Resolver {
    pub(super) fn pick(&self, sni: Option<&str>) -> &Arc<Served> {
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
    /// the resolver sees it, inside the handshake step that `accept` runs on this thread and
    /// takes it from right after.
    pub(super) static HELLO_SNI: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
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
    pub(super) config: Arc<ServerConfig>,
    pub(super) resolver: Arc<Resolver>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(super) fn now_unix() -> i64 {
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

    pub(super) fn current(&self) -> Option<Arc<Loaded>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::config::PemSource;
    use std::path::PathBuf;

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
}
