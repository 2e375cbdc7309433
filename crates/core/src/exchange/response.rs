//! The response head an application gives: its status and headers, checked once (RFC 9110 and
//! PEP 3333's rules) whatever protocol carries the answer, and kept encoded for the wire.

use super::head::is_tchar;
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
    pub(crate) status: u16,
    /// `NNN reason` exactly as it goes on the status line.
    pub(crate) status_line: Vec<u8>,
    /// `Name: value\r\n` for every application header: checked once, encoded as HTTP/1 lines
    /// (the wire most answers take; another protocol reads the fields back from these lines).
    pub(crate) fields: Vec<u8>,
    pub(crate) content_length: Option<u64>,
    pub(crate) has_server: bool,
    pub(crate) has_date: bool,
    /// Framed as node:http frames its answers (see [`ResponseHead::frame_as_node`]): the idle
    /// seconds a kept-alive connection announces.
    pub(crate) node_keep_alive: Option<u64>,
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
}
