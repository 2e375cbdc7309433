//! The one error type of the core: an opaque [`Error`] with a [`Kind`].
//!
//! The binding maps each kind to a stable JavaScript `code` in one place; the text of an
//! error is for people and is not a contract.

use std::fmt;

/// What went wrong, as a closed list. The binding turns each kind into a `GH_ERR_*` code, by
/// name: not `#[non_exhaustive]`, so a new kind does not compile until the binding maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The listening socket could not be created, configured or bound.
    Bind,
    /// An I/O error on a connection.
    Io,
    /// The request body went over `max_request_body_size`.
    BodyTooLarge,
    /// The client stopped sending the request body for longer than `timeout`.
    BodyTimeout,
    /// The request body was malformed (bad chunk framing) or cut short by the client.
    BodyInvalid,
    /// The application gave a status line the server cannot send.
    InvalidStatus,
    /// The application gave a header name or value the server cannot send.
    InvalidHeader,
    /// The application gave a hop-by-hop header (RFC 9110 section 7.6.1), which only the server sets.
    HopByHopHeader,
    /// The request is finished: its response was sent, or the connection went away.
    Closed,
    /// An option has a value the server cannot use.
    InvalidOption,
    /// A TLS certificate, key or CA file cannot be read or used.
    Tls,
}

/// An error of the gatehouse core.
///
/// # Formatting
/// The text of an error is meant for people. Match on [`Error::kind`], never on the text.
pub struct Error {
    inner: Box<ErrorImpl>,
}

struct ErrorImpl {
    kind: Kind,
    message: String,
    cause: Option<std::io::Error>,
}

impl Error {
    /// An error of `kind` with a sentence for people.
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(ErrorImpl {
                kind,
                message: message.into(),
                cause: None,
            }),
        }
    }

    /// An error of `kind` caused by an I/O error.
    pub(crate) fn io(kind: Kind, message: impl Into<String>, cause: std::io::Error) -> Self {
        let mut e = Error::new(kind, message);
        e.inner.cause = Some(cause);
        e
    }

    /// What went wrong.
    pub fn kind(&self) -> Kind {
        self.inner.kind
    }

    /// The operating system's error number of the I/O error that caused this one (`errno` on
    /// UNIX, a Windows error code on Windows), if an OS error caused it.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.inner
            .cause
            .as_ref()
            .and_then(std::io::Error::raw_os_error)
    }

    /// The kind of the I/O error that caused this one, if one did.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        self.inner.cause.as_ref().map(std::io::Error::kind)
    }

    /// True when the request body was over the configured limit.
    pub fn is_body_too_large(&self) -> bool {
        self.inner.kind == Kind::BodyTooLarge
    }

    /// True when the request is already finished.
    pub fn is_closed(&self) -> bool {
        self.inner.kind == Kind::Closed
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(cause) = &self.inner.cause {
            d.field("cause", cause);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(cause) = &self.inner.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.cause.as_ref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_wide_and_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn display_includes_the_cause() {
        let e = Error::io(
            Kind::Bind,
            "cannot bind 127.0.0.1:1",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(e.kind(), Kind::Bind);
        assert!(e.to_string().starts_with("cannot bind 127.0.0.1:1: "));
    }

    #[test]
    fn the_os_error_of_the_cause_is_kept() {
        let e = Error::io(
            Kind::Bind,
            "cannot bind 127.0.0.1:1",
            std::io::Error::from_raw_os_error(98),
        );
        assert_eq!(e.raw_os_error(), Some(98));
        let plain = Error::io(
            Kind::Io,
            "short write",
            std::io::Error::from(std::io::ErrorKind::WriteZero),
        );
        assert_eq!(plain.raw_os_error(), None);
        assert_eq!(plain.io_kind(), Some(std::io::ErrorKind::WriteZero));
        assert_eq!(Error::new(Kind::Io, "x").io_kind(), None);
    }
}
