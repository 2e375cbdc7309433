//! The request head as every protocol hands it to the application: the bytes once, and ranges
//! into them for the method, target, path, query, authority and each field line; the version and
//! how the body is framed. The HTTP/1 parser (`http1::proto::head`) makes one from the wire.

use std::sync::Arc;

use bytes::Bytes;

use super::ConnInfo;

/// The HTTP version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    Http11,
}

/// How the request body is framed (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// `Content-Length: n`, n > 0.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A byte range inside the head buffer.
pub(crate) type Span = (u32, u32);

/// A parsed and checked request head. The bytes are kept once; fields are ranges into them.
#[derive(Clone, Debug)]
pub(crate) struct ParsedHead {
    pub buf: Bytes,
    pub method: Span,
    pub target: Span,
    /// The path of the target (for absolute-form, the part after the authority).
    pub path: Span,
    /// The query without its `?`, empty when there is none.
    pub query: Span,
    /// The authority of an absolute-form target.
    pub authority: Option<Span>,
    pub version: Version,
    pub headers: Vec<(Span, Span)>,
    pub framing: BodyFraming,
    pub expect_continue: bool,
    /// The client asked to close (`Connection: close`, or HTTP/1.0 without keep-alive).
    pub wants_close: bool,
}

impl ParsedHead {
    /// The bytes of `s`, once `buf` holds the head.
    pub(crate) fn span(&self, s: Span) -> &[u8] {
        &self.buf[s.0 as usize..s.1 as usize]
    }

    /// The method token, once `buf` holds the head.
    pub(crate) fn method(&self) -> &[u8] {
        self.span(self.method)
    }
}

/// A checked request head. Every accessor returns bytes exactly as they were on the wire.
#[derive(Debug)]
pub struct RequestHead {
    pub(crate) parsed: ParsedHead,
    pub(crate) conn: Arc<ConnInfo>,
}

impl RequestHead {
    fn span(&self, s: (u32, u32)) -> &[u8] {
        self.parsed.span(s)
    }

    /// The method token.
    pub fn method(&self) -> &[u8] {
        self.parsed.method()
    }

    /// The request target, raw (`REQUEST_URI`).
    pub fn target(&self) -> &[u8] {
        self.span(self.parsed.target)
    }

    /// The path of the target, still percent-encoded; `/` for an absolute-form target without one.
    pub fn path(&self) -> &[u8] {
        let p = self.span(self.parsed.path);
        if p.is_empty() {
            b"/"
        } else {
            p
        }
    }

    /// The query string without `?`, raw.
    pub fn query(&self) -> &[u8] {
        self.span(self.parsed.query)
    }

    /// The authority of an absolute-form target (it replaces the Host header, RFC 9112 3.2.2).
    pub fn authority(&self) -> Option<&[u8]> {
        self.parsed.authority.map(|s| self.span(s))
    }

    /// The HTTP version of the request.
    pub fn version(&self) -> Version {
        self.parsed.version
    }

    /// The header fields in the order received, names as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.parsed
            .headers
            .iter()
            .map(move |&(n, v)| (self.span(n), self.span(v)))
    }

    /// The declared body length: `Some(0)` for no body, `None` for a chunked body.
    pub fn content_length(&self) -> Option<u64> {
        match self.parsed.framing {
            BodyFraming::None => Some(0),
            BodyFraming::Length(n) => Some(n),
            BodyFraming::Chunked => None,
        }
    }

    /// The connection's addresses.
    pub fn conn(&self) -> &ConnInfo {
        &self.conn
    }
}

/// `tchar` of RFC 9110 section 5.6.2.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
