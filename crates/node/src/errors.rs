//! The one place where a core error kind becomes a stable JavaScript code.
//!
//! Native calls reject or throw with a message `GH_ERR_<KIND>: text`; the TypeScript layer
//! (`src/errors.ts`) turns that prefix into the error's `code`.

use gatehouse_core::{Error, Kind};
use napi::Status;

/// The stable code of an error kind.
pub fn code(kind: Kind) -> &'static str {
    match kind {
        Kind::Bind => "GH_ERR_BIND",
        Kind::Io => "GH_ERR_IO",
        Kind::BodyTooLarge => "GH_ERR_BODY_TOO_LARGE",
        Kind::BodyTimeout => "GH_ERR_BODY_TIMEOUT",
        Kind::BodyInvalid => "GH_ERR_BODY_INVALID",
        Kind::InvalidStatus => "GH_ERR_INVALID_STATUS",
        Kind::InvalidHeader => "GH_ERR_INVALID_HEADER",
        Kind::HopByHopHeader => "GH_ERR_HOP_BY_HOP_HEADER",
        Kind::Closed => "GH_ERR_CLOSED",
        Kind::InvalidOption => "GH_ERR_INVALID_OPTION",
        Kind::Tls => "GH_ERR_TLS",
        _ => "GH_ERR_INTERNAL",
    }
}

/// A core error as a napi error carrying its code.
pub fn to_napi(e: Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("{}: {e}", code(e.kind())))
}

/// The error for a request id that is no longer open.
pub fn closed(id: f64) -> napi::Error {
    napi::Error::new(
        Status::GenericFailure,
        format!("GH_ERR_CLOSED: request {id} is finished (its response was sent or the client went away)"),
    )
}

/// An option error, named after the option.
pub fn option(message: String) -> napi::Error {
    napi::Error::new(
        Status::InvalidArg,
        format!("GH_ERR_INVALID_OPTION: {message}"),
    )
}
