//! Response heads: the application's status and headers, checked once, then framed by the server
//! (`Content-Length`, `Transfer-Encoding`, `Connection`, `Date`, `Server`).

use super::head::is_tchar;
use crate::date;
use crate::error::{Error, Kind};

/// Headers that only the server may send (hop-by-hop, RFC 9110 section 7.6.1, and the framing
/// header `Transfer-Encoding`). PEP 3333 makes them the application's error.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A response head as the application gave it, checked and pre-encoded.
#[derive(Clone, Debug)]
pub struct ResponseHead {
    status: u16,
    /// `NNN reason` exactly as it goes on the status line.
    status_line: Vec<u8>,
    /// `Name: value\r\n` for every application header.
    fields: Vec<u8>,
    content_length: Option<u64>,
    has_server: bool,
    has_date: bool,
    /// Framed as node:http frames its answers (see [`ResponseHead::frame_as_node`]): the idle
    /// seconds a kept-alive connection announces.
    node_keep_alive: Option<u64>,
}

impl ResponseHead {
    /// Check an application's `status` ("200 OK") and headers, and encode them as latin-1.
    ///
    /// # Errors
    /// [`Kind::InvalidStatus`] for a status that is not three digits, a space and a reason;
    /// [`Kind::InvalidHeader`] for a name that is not a token or a value with CR, LF, NUL, another
    /// control character or a character above U+00FF; [`Kind::HopByHopHeader`] for a hop-by-hop
    /// header.
    pub fn from_app<'a, I>(status: &str, headers: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let sb = status.as_bytes();
        let ok = sb.len() >= 4
            && sb[..3].iter().all(u8::is_ascii_digit)
            && sb[3] == b' '
            && sb[0] != b'0';
        if !ok {
            return Err(Error::new(
                Kind::InvalidStatus,
                format!("invalid status {status:?}: expected three digits, a space and a reason, like \"200 OK\""),
            ));
        }
        let code = (sb[0] - b'0') as u16 * 100 + (sb[1] - b'0') as u16 * 10 + (sb[2] - b'0') as u16;
        if code < 200 {
            return Err(Error::new(
                Kind::InvalidStatus,
                format!("invalid status {status:?}: interim (1xx) responses are the server's, the application's status must be 200 or above"),
            ));
        }
        let mut status_line = Vec::with_capacity(sb.len());
        push_latin1(&mut status_line, status).ok_or_else(|| {
            Error::new(
                Kind::InvalidStatus,
                format!("invalid character in status {status:?}"),
            )
        })?;

        let mut head = ResponseHead {
            status: code,
            status_line,
            fields: Vec::with_capacity(128),
            content_length: None,
            has_server: false,
            has_date: false,
            node_keep_alive: None,
        };
        for (name, value) in headers {
            if name.is_empty() || !name.bytes().all(is_tchar) {
                return Err(Error::new(
                    Kind::InvalidHeader,
                    format!("invalid header name {name:?}"),
                ));
            }
            if HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                return Err(Error::new(
                    Kind::HopByHopHeader,
                    format!("hop-by-hop header {name:?} is set by the server, not the application (PEP 3333)"),
                ));
            }
            if name.eq_ignore_ascii_case("content-length") {
                // The value goes on the wire as given, so it must be what a client parses:
                // 1*DIGIT (RFC 9110 section 8.6), no sign, no space; and one of it only, as a
                // client may refuse or misframe a repeated one even with the same value.
                if head.content_length.is_some() {
                    return Err(Error::new(
                        Kind::InvalidHeader,
                        "Content-Length given more than once: the server sends one only",
                    ));
                }
                head.content_length = Some(parse_content_length(value).ok_or_else(|| {
                    Error::new(
                        Kind::InvalidHeader,
                        format!(
                            "invalid Content-Length {value:?}: expected digits only, like \"42\""
                        ),
                    )
                })?);
            } else if name.eq_ignore_ascii_case("server") {
                head.has_server = true;
            } else if name.eq_ignore_ascii_case("date") {
                head.has_date = true;
            }
            head.fields.extend_from_slice(name.as_bytes());
            head.fields.extend_from_slice(b": ");
            push_latin1(&mut head.fields, value).ok_or_else(|| {
                Error::new(
                    Kind::InvalidHeader,
                    format!("invalid value for header {name:?}: CR, LF, NUL, control characters and characters above U+00FF are not allowed"),
                )
            })?;
            head.fields.extend_from_slice(b"\r\n");
        }
        Ok(head)
    }

    /// A plain-text head the server itself sends (errors).
    pub(crate) fn plain(status: u16, reason: &str) -> Self {
        let mut status_line = Vec::new();
        status_line.extend_from_slice(format!("{status} {reason}").as_bytes());
        ResponseHead {
            status,
            status_line,
            fields: b"Content-Type: text/plain; charset=utf-8\r\n".to_vec(),
            content_length: None,
            has_server: false,
            has_date: false,
            node_keep_alive: None,
        }
    }

    /// Frame this head as node:http frames its answers (the Node-style adapter's): no default
    /// `Server` header, and the connection's fate said ahead of the framing header, as node
    /// does: `Connection: keep-alive` with `Keep-Alive: timeout=N` (N: the seconds a kept-alive
    /// connection may idle), or `Connection: close`.
    pub fn frame_as_node(&mut self, keep_alive_secs: u64) {
        self.node_keep_alive = Some(keep_alive_secs);
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The Content-Length the application declared, if it did.
    pub fn declared_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Whether this status forbids a body (1xx, 204, 304; RFC 9110 section 6.4.1).
    pub(crate) fn forbids_body(&self) -> bool {
        self.status < 200 || self.status == 204 || self.status == 304
    }
}

/// A Content-Length value: one or more ASCII digits and nothing else, within u64.
fn parse_content_length(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Append `s` to `out` as latin-1, refusing CR, LF, NUL, other controls (HTAB allowed) and
/// characters that latin-1 cannot hold.
fn push_latin1(out: &mut Vec<u8>, s: &str) -> Option<()> {
    if s.is_ascii() {
        if s.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return None;
        }
        out.extend_from_slice(s.as_bytes());
        return Some(());
    }
    for c in s.chars() {
        let c = c as u32;
        if c > 0xff || (c < 0x20 && c != 0x09) || c == 0x7f {
            return None;
        }
        out.push(c as u8);
    }
    Some(())
}

/// How the body of a response is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body bytes at all (HEAD, 1xx, 204, 304).
    Empty,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes (HTTP/1.0 with an unknown length).
    Close,
}

/// Everything about the request the response head depends on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Answer {
    /// Answer with `HTTP/1.1` (else `HTTP/1.0`).
    pub http11: bool,
    pub is_head: bool,
    pub keep_alive: bool,
}

/// Decide the framing of a response whose body is `full_len` bytes long (known) or streamed
/// (`None`), and whether the connection can stay open after it.
pub(crate) fn framing(head: &ResponseHead, ans: &Answer, full_len: Option<u64>) -> (Framing, bool) {
    let mut keep = ans.keep_alive;
    // 205 Reset Content has no content either, but says so with Content-Length: 0 (RFC 9110
    // section 15.3.6; see encode_head): whatever body the application gives is dropped.
    let framing = if head.forbids_body() || head.status == 205 {
        Framing::Empty
    } else if let Some(n) = head.content_length {
        if ans.is_head {
            Framing::Empty
        } else {
            Framing::Length(n)
        }
    } else if let Some(n) = full_len {
        if ans.is_head {
            Framing::Empty
        } else {
            Framing::Length(n)
        }
    } else if ans.is_head {
        Framing::Empty
    } else if ans.http11 {
        Framing::Chunked
    } else {
        keep = false;
        Framing::Close
    };
    (framing, keep)
}

/// Encode the status line and the header section into `out`.
pub(crate) fn encode_head(
    head: &ResponseHead,
    ans: &Answer,
    framing: Framing,
    full_len: Option<u64>,
    keep_alive: bool,
    server: &str,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(if ans.http11 {
        b"HTTP/1.1 "
    } else {
        b"HTTP/1.0 "
    });
    out.extend_from_slice(&head.status_line);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&head.fields);
    if !head.has_server && head.node_keep_alive.is_none() && !server.is_empty() {
        out.extend_from_slice(b"Server: ");
        out.extend_from_slice(server.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !head.has_date {
        out.extend_from_slice(b"Date: ");
        date::append_now(out);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(secs) = head.node_keep_alive {
        if keep_alive {
            out.extend_from_slice(b"Connection: keep-alive\r\nKeep-Alive: timeout=");
            push_decimal(out, secs);
            out.extend_from_slice(b"\r\n");
        } else {
            out.extend_from_slice(b"Connection: close\r\n");
        }
    }
    match framing {
        Framing::Length(n) if head.content_length.is_none() => {
            push_content_length(out, n);
        }
        Framing::Empty if head.status == 205 && head.content_length.is_none() => {
            push_content_length(out, 0);
        }
        Framing::Empty if ans.is_head && head.content_length.is_none() && !head.forbids_body() => {
            // HEAD gets the headers GET would have had (RFC 9110 section 9.3.2).
            if let Some(n) = full_len {
                push_content_length(out, n);
            }
        }
        Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        _ => {}
    }
    if head.node_keep_alive.is_some() {
        // Said above, where node says it.
    } else if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if !ans.http11 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn push_content_length(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"Content-Length: ");
    push_decimal(out, n);
    out.extend_from_slice(b"\r\n");
}

fn push_decimal(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Append the chunk-size line of a chunk of `len` bytes.
pub(crate) fn chunk_header(out: &mut Vec<u8>, len: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut v = len;
    loop {
        i -= 1;
        digits[i] = HEX[v & 0xf];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_application_headers() {
        assert!(ResponseHead::from_app("200 OK", [("X-A", "b")]).is_ok());
        assert_eq!(
            ResponseHead::from_app("200 OK", [("X-A", "b\r\nX: y")])
                .unwrap_err()
                .kind(),
            Kind::InvalidHeader
        );
        assert_eq!(
            ResponseHead::from_app("200 OK", [("Connection", "close")])
                .unwrap_err()
                .kind(),
            Kind::HopByHopHeader
        );
        assert_eq!(
            ResponseHead::from_app("OK", []).unwrap_err().kind(),
            Kind::InvalidStatus
        );
        assert_eq!(
            ResponseHead::from_app("200 OK", [("X", "\u{263a}")])
                .unwrap_err()
                .kind(),
            Kind::InvalidHeader
        );
    }

    #[test]
    fn content_length_from_the_application_is_digits_only_and_once() {
        let cl = |v: &'static str| ResponseHead::from_app("200 OK", [("Content-Length", v)]);
        assert_eq!(cl("5").unwrap().declared_length(), Some(5));
        assert_eq!(cl("0").unwrap().declared_length(), Some(0));
        assert_eq!(cl("007").unwrap().declared_length(), Some(7));
        for bad in [
            "+5",
            "-5",
            " 5",
            "5 ",
            "\t5",
            "5\t",
            "",
            "5,5",
            "0x5",
            "5.0",
            "1e3",
            "18446744073709551616",
        ] {
            let e = cl(bad).unwrap_err();
            assert_eq!(e.kind(), Kind::InvalidHeader, "{bad:?}");
        }
        for (a, b) in [("5", "5"), ("5", "6")] {
            let e =
                ResponseHead::from_app("200 OK", [("Content-Length", a), ("content-length", b)])
                    .unwrap_err();
            assert_eq!(e.kind(), Kind::InvalidHeader, "{a} then {b}");
            assert!(e.to_string().contains("more than once"), "{e}");
        }
    }

    #[test]
    fn encodes_a_keep_alive_head() {
        let head = ResponseHead::from_app("200 OK", [("Content-Type", "text/plain")]).unwrap();
        let ans = Answer {
            http11: true,
            is_head: false,
            keep_alive: true,
        };
        let (f, keep) = framing(&head, &ans, Some(5));
        assert_eq!(f, Framing::Length(5));
        let mut out = Vec::new();
        encode_head(&head, &ans, f, Some(5), keep, "gh", &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nServer: gh\r\nDate: ")
        );
        assert!(s.ends_with("GMT\r\nContent-Length: 5\r\n\r\n"));
    }

    #[test]
    fn a_head_framed_as_node_says_keep_alive_before_its_length_and_has_no_default_server() {
        let mut head = ResponseHead::from_app("200 OK", [("X-A", "b")]).unwrap();
        head.frame_as_node(10);
        let ans = Answer {
            http11: true,
            is_head: false,
            keep_alive: true,
        };
        let mut out = Vec::new();
        encode_head(
            &head,
            &ans,
            Framing::Length(2),
            Some(2),
            true,
            "gh",
            &mut out,
        );
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\nX-A: b\r\nDate: "), "{s}");
        assert!(
            s.ends_with("GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\nContent-Length: 2\r\n\r\n"),
            "{s}"
        );
        let mut out = Vec::new();
        encode_head(&head, &ans, Framing::Chunked, None, false, "gh", &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.ends_with("GMT\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "{s}"
        );
    }

    #[test]
    fn an_empty_server_value_sends_no_server_header() {
        let head = ResponseHead::from_app("200 OK", []).unwrap();
        let ans = Answer {
            http11: true,
            is_head: false,
            keep_alive: true,
        };
        let mut out = Vec::new();
        encode_head(&head, &ans, Framing::Length(0), Some(0), true, "", &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\nDate: "), "{s}");
        assert!(!s.to_ascii_lowercase().contains("server:"), "{s}");
    }

    #[test]
    fn streams_on_http10_close_the_connection() {
        let head = ResponseHead::from_app("200 OK", []).unwrap();
        let ans = Answer {
            http11: false,
            is_head: false,
            keep_alive: true,
        };
        assert_eq!(framing(&head, &ans, None), (Framing::Close, false));
    }

    #[test]
    fn formats_chunk_sizes_in_hex() {
        let mut out = Vec::new();
        chunk_header(&mut out, 255);
        assert_eq!(out, b"ff\r\n");
    }
}
