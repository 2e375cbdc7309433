//! How bytes arrive: listening sockets and accepting ([`listener`]), the accepted connection as
//! one type and its halves ([`stream`]), the PROXY protocol header ([`proxy`]), and TLS
//! ([`tls`]). Nothing here knows HTTP; the protocol rooms take their bytes from here.

pub(crate) mod listener;
pub(crate) mod proxy;
pub(crate) mod stream;
pub(crate) mod tls;
