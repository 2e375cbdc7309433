//! The TLS settings of a server, as the options give them: where PEM data comes from, the
//! identities served, and whether clients are asked for a certificate.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Kind};

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
    pub(super) fn describe(&self, role: &str) -> String {
        match self {
            PemSource::File(p) => format!("{role} {}", p.display()),
            PemSource::Pem(_) => format!("{role} (PEM text)"),
        }
    }

    pub(super) fn read(&self, role: &str) -> Result<Vec<u8>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(text: &str) -> PemSource {
        PemSource::Pem(text.to_string())
    }

    #[test]
    fn pem_text_is_never_printed() {
        let secret = pem("-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n");
        let shown = format!("{secret:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
