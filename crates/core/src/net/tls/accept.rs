//! The handshake of one connection, within its deadline, and what it tells the application
//! (the SSL_* variables of mod_ssl).

use std::sync::Arc;

use rustls::{CipherSuite, ProtocolVersion};
use tokio::sync::watch;

use crate::net::stream::Stream;
use crate::stats::Stats;

use super::load::{now_unix, Tls, HELLO_SNI};
use super::stream::TlsStream;
use super::x509;

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
