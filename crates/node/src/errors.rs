//! The one place where a core error kind becomes a stable JavaScript code.
//!
//! Native calls reject or throw with a message `GH_ERR_<KIND>: text`; the TypeScript layer
//! (`src/errors.ts`) turns that prefix into the error's `code`. An error an OS error caused,
//! made on the JavaScript thread by [`to_js`], also carries that error's number as a property.

use gatehouse_core::{Error, Kind};
use napi::bindgen_prelude::{JsObjectValue, JsValue};
use napi::{Env, Status};

/// The property of a native error object that holds the OS error number behind it
/// (`raw_os_error`: `errno` on UNIX, a Windows error code on Windows).
const OS_ERROR_PROPERTY: &str = "rawOsError";

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
    }
}

/// The code of a failure of the binding itself (an answer record it cannot read, a task that
/// died), not of anything the core reports.
pub const INTERNAL: &str = "GH_ERR_INTERNAL";

/// An error with the code of `kind`, made by the binding.
pub fn of_kind(kind: Kind, message: impl std::fmt::Display) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("{}: {message}", code(kind)))
}

/// A failure of the binding itself ([`INTERNAL`]).
pub fn internal(message: impl std::fmt::Display) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("{INTERNAL}: {message}"))
}

/// A core error as a napi error carrying its code.
pub fn to_napi(e: Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("{}: {e}", code(e.kind())))
}

/// A core error as a JavaScript error object: `to_napi`'s message and, when an OS error caused
/// it, that error's number as the `rawOsError` property (src/errors.ts makes `errno` and
/// `osCode` of it). Needs the JavaScript thread, as a promise's settle callback has.
pub fn to_js(env: &Env, e: Error) -> napi::Error {
    let os_error = e.raw_os_error();
    let plain = to_napi(e);
    let Some(os_error) = os_error else {
        return plain;
    };
    let reason = plain.reason.clone();
    let made = env.create_error(plain).and_then(|mut obj| {
        obj.set_named_property(OS_ERROR_PROPERTY, os_error)?;
        Ok(napi::Error::from(obj.to_unknown()))
    });
    // Should the object not be made (the environment is going away), the message still says it.
    made.unwrap_or_else(|_| napi::Error::new(Status::GenericFailure, reason))
}

/// The error for a request id that is no longer open.
pub fn closed(id: f64) -> napi::Error {
    of_kind(
        Kind::Closed,
        format!("request {id} is finished (its response was sent or the client went away)"),
    )
}

/// An option error, named after the option.
pub fn option(message: String) -> napi::Error {
    napi::Error::new(
        Status::InvalidArg,
        format!("{}: {message}", code(Kind::InvalidOption)),
    )
}
