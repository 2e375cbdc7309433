//! TLS with rustls (the `ring` provider), by job: the settings ([`config`]: PEM files or PEM
//! text, identities, client authentication), loading them into a rustls configuration with
//! certificates chosen by SNI and reloading it ([`load`]), the handshake of one connection and
//! what it tells (`accept`), the encrypted stream ([`stream`]), and the X.509 fields shown to the
//! application (`x509`).
//!
//! Reload builds a whole new rustls configuration off to the side and swaps one `Arc` under a
//! lock held only for the swap: handshakes that start afterwards use the new certificates, and
//! connections already open keep the configuration they were made with.

mod accept;
mod config;
mod load;
mod stream;
mod x509;

pub(crate) use accept::{accept, Accepted};
pub use accept::{ClientCert, TlsInfo};
pub use config::{ClientAuth, Identity, PemSource, TlsConfig};
pub(crate) use load::Tls;
pub(crate) use stream::TlsStream;
