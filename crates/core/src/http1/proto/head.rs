//! Request heads: find the end of a head in the read buffer, parse it with `httparse`, and check
//! what `httparse` lets through (RFC 9112 and RFC 9110), so that every request that reaches the
//! application has one meaning.

use bytes::Bytes;

use crate::config::{Limits, Protocol};
use crate::exchange::head::{is_tchar, BodyFraming, ParsedHead, Span, Version};

/// A breach of the protocol or of a limit, and the status it is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject {
    /// The status code of the answer.
    pub status: u16,
    /// A short reason, sent as the `text/plain` body.
    pub reason: &'static str,
}

impl Reject {
    const fn new(status: u16, reason: &'static str) -> Self {
        Reject { status, reason }
    }
}

/// The outcome of looking at the read buffer.
#[derive(Debug)]
pub(crate) enum Parse {
    /// Not a whole head yet (leading empty lines, if any, are still in the buffer).
    Partial,
    /// A whole head of `len` bytes.
    Complete(ParsedHead, usize),
}

/// How many empty lines before a request line are ignored (RFC 9112 section 2.2).
const MAX_LEADING_EMPTY_LINES: usize = 4;
/// The most header fields a request may have, whatever the options say.
pub const MAX_HEADERS_CEILING: usize = 256;
/// The longest method we accept; real methods are far shorter.
const MAX_METHOD_LEN: usize = 32;

/// Look for a whole request head at the start of `buf`.
///
/// `scanned` remembers how far line endings were already checked, so that a head arriving a byte
/// at a time is not rescanned from the start.
pub(crate) fn parse(
    buf: &[u8],
    scanned: &mut usize,
    limits: &Limits,
    protocol: Protocol,
) -> Result<Parse, Reject> {
    // Leading empty lines are tolerated (a few), as RFC 9112 section 2.2 asks.
    let mut start = 0;
    let mut empties = 0;
    while buf.len() >= start + 2 && &buf[start..start + 2] == b"\r\n" {
        start += 2;
        empties += 1;
        if empties > MAX_LEADING_EMPTY_LINES {
            return Err(Reject::new(
                400,
                "Too many empty lines before the request line",
            ));
        }
    }
    let body = &buf[start..];

    // Line endings must be CRLF: a bare LF or a bare CR is a smuggling vector (RFC 9112 2.2).
    let mut end_of_head = None;
    let mut i = (*scanned).max(start);
    while i < buf.len() {
        match buf[i] {
            b'\n' => {
                if i == 0 || buf[i - 1] != b'\r' {
                    return Err(Reject::new(400, "Bare LF in the request head"));
                }
                if i >= 3 && &buf[i - 3..=i] == b"\r\n\r\n" && i - 3 >= start {
                    end_of_head = Some(i + 1);
                    break;
                }
            }
            b'\r' => {
                if i + 1 < buf.len() && buf[i + 1] != b'\n' {
                    return Err(Reject::new(400, "Bare CR in the request head"));
                }
                if i + 1 == buf.len() {
                    // Wait for the next byte before judging this CR.
                    break;
                }
            }
            0 => return Err(Reject::new(400, "NUL in the request head")),
            _ => {}
        }
        i += 1;
    }
    *scanned = i;

    let first_line_end = body.iter().position(|&b| b == b'\r');
    let first_line = &body[..first_line_end.unwrap_or(body.len())];
    if first_line.len() > limits.max_target_size + MAX_METHOD_LEN + 16 {
        return Err(Reject::new(414, "Request-URI Too Long"));
    }
    // An empty first line can only be a CR at the very end of the buffer (a whole CRLF would have
    // been skipped above as an empty line): wait for the byte after it.
    if first_line_end.is_some() && !first_line.is_empty() {
        check_request_line(first_line, limits)?;
    }

    let Some(end) = end_of_head else {
        if buf.len() > limits.effective_head_size() {
            return Err(Reject::new(431, "Request Header Fields Too Large"));
        }
        return Ok(Parse::Partial);
    };
    if end - start > limits.effective_head_size() {
        return Err(Reject::new(431, "Request Header Fields Too Large"));
    }

    let head = &buf[start..end];
    let mut slots =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CEILING];
    let cap = limits.max_headers.clamp(1, MAX_HEADERS_CEILING);
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(head, &mut slots[..cap]) {
        Ok(httparse::Status::Complete(n)) if n == head.len() => {}
        Ok(_) => return Err(Reject::new(400, "Malformed request head")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Reject::new(431, "Too many header fields"))
        }
        Err(httparse::Error::Version) => return Err(Reject::new(400, "Malformed HTTP version")),
        Err(httparse::Error::HeaderName) => {
            return Err(Reject::new(400, "Invalid header field name"))
        }
        Err(httparse::Error::HeaderValue) => {
            return Err(Reject::new(400, "Invalid header field value"))
        }
        Err(httparse::Error::NewLine) => return Err(Reject::new(400, "Invalid line ending")),
        Err(httparse::Error::Token) => return Err(Reject::new(400, "Invalid method")),
        Err(_) => return Err(Reject::new(400, "Malformed request head")),
    }

    let base = head.as_ptr() as usize;
    let span_of = |s: &[u8]| -> Span {
        let off = s.as_ptr() as usize - base;
        ((start + off) as u32, (start + off + s.len()) as u32)
    };
    let method = req.method.unwrap_or("");
    let target = req.path.unwrap_or("");
    let version = match req.version {
        Some(0) => Version::Http10,
        _ => Version::Http11,
    };
    if method.len() > MAX_METHOD_LEN {
        return Err(Reject::new(400, "Method too long"));
    }

    let mut parsed = ParsedHead {
        buf: Bytes::new(),
        method: span_of(method.as_bytes()),
        target: span_of(target.as_bytes()),
        path: (0, 0),
        query: (0, 0),
        authority: None,
        version,
        headers: Vec::with_capacity(req.headers.len()),
        framing: BodyFraming::None,
        expect_continue: false,
        wants_close: version == Version::Http10,
    };

    // The request target (RFC 9112 section 3.2).
    let tb = target.as_bytes();
    let (path_range, authority) = check_target(method.as_bytes(), tb)?;
    let t0 = parsed.target.0 as usize;
    let path_abs = (t0 + path_range.0, t0 + path_range.1);
    let p = &buf[path_abs.0..path_abs.1];
    match p.iter().position(|&b| b == b'?') {
        Some(q) => {
            parsed.path = (path_abs.0 as u32, (path_abs.0 + q) as u32);
            parsed.query = ((path_abs.0 + q + 1) as u32, path_abs.1 as u32);
        }
        None => {
            parsed.path = (path_abs.0 as u32, path_abs.1 as u32);
            parsed.query = (path_abs.1 as u32, path_abs.1 as u32);
        }
    }
    parsed.authority = authority.map(|(a, b)| ((t0 + a) as u32, (t0 + b) as u32));

    // Header fields (RFC 9110 section 5, RFC 9112 section 5 and 6).
    let mut hosts = 0;
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding: Vec<&[u8]> = Vec::new();
    let mut keep_alive_asked = false;
    let mut close_asked = false;
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        // Whitespace (SP, HTAB) around a field value is not part of it (RFC 9110 section 5.5):
        // every check below, and the application, see the value without it.
        let value = trim_ows(h.value);
        for &b in value {
            if (b < 0x20 && b != b'\t') || b == 0x7f {
                return Err(Reject::new(400, "Control character in a header value"));
            }
        }
        if name.eq_ignore_ascii_case(b"host") {
            hosts += 1;
            if hosts > 1 {
                return Err(Reject::new(400, "More than one Host header"));
            }
            check_host(value)?;
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_content_length(value)?;
            // RFC 9110 section 8.6 lets a recipient either reject repeats or fold equal ones;
            // node:http rejects them, and so does this server: one field, one length.
            if content_length.is_some() {
                return Err(Reject::new(400, "More than one Content-Length header"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            transfer_encoding.push(value);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',') {
                let token = trim_ows(token);
                if token.eq_ignore_ascii_case(b"close") {
                    close_asked = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive_asked = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            if value.eq_ignore_ascii_case(b"100-continue") {
                parsed.expect_continue = version == Version::Http11;
            } else {
                return Err(Reject::new(417, "Expectation Failed"));
            }
        }
        parsed.headers.push((span_of(name), span_of(value)));
    }
    if version == Version::Http11 && hosts == 0 {
        return Err(Reject::new(400, "Missing Host header"));
    }
    // Persistence (RFC 9112 section 9.3): 1.1 stays open unless "close"; 1.0 closes unless
    // "keep-alive". A server limited to HTTP/1.0 treats every request as 1.0 here.
    let speaks_11 = version == Version::Http11 && protocol == Protocol::Http11;
    parsed.wants_close = close_asked || (!speaks_11 && !keep_alive_asked);

    if !transfer_encoding.is_empty() {
        if version == Version::Http10 {
            return Err(Reject::new(400, "Transfer-Encoding in an HTTP/1.0 request"));
        }
        if content_length.is_some() {
            return Err(Reject::new(
                400,
                "Both Content-Length and Transfer-Encoding",
            ));
        }
        check_transfer_encoding(&transfer_encoding)?;
        parsed.framing = BodyFraming::Chunked;
    } else if let Some(n) = content_length {
        if n > 0 {
            parsed.framing = BodyFraming::Length(n);
        }
    }
    if parsed.framing == BodyFraming::None {
        parsed.expect_continue = false;
    }
    Ok(Parse::Complete(parsed, end))
}

/// The request line before httparse sees it: versions other than 1.0/1.1 get 505, HTTP/0.9
/// style lines and stray spaces get 400.
fn check_request_line(line: &[u8], limits: &Limits) -> Result<(), Reject> {
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(Reject::new(400, "Malformed request line"));
    }
    if parts[1].len() > limits.max_target_size {
        return Err(Reject::new(414, "Request-URI Too Long"));
    }
    let v = parts[2];
    let well_formed = v.len() == 8
        && v.starts_with(b"HTTP/")
        && v[5].is_ascii_digit()
        && v[6] == b'.'
        && v[7].is_ascii_digit();
    if !well_formed {
        return Err(Reject::new(400, "Malformed HTTP version"));
    }
    if v != b"HTTP/1.1" && v != b"HTTP/1.0" {
        return Err(Reject::new(505, "HTTP Version Not Supported"));
    }
    Ok(())
}

/// Check the request target's form against the method; return the path range (relative to the
/// target) and, for absolute-form, the authority range.
#[allow(clippy::type_complexity)]
fn check_target(
    method: &[u8],
    t: &[u8],
) -> Result<((usize, usize), Option<(usize, usize)>), Reject> {
    if t.contains(&b'#') {
        return Err(Reject::new(400, "Fragment in the request target"));
    }
    // Only the characters of RFC 3986 (RFC 9112 section 3.2): anything else (a backslash, "{",
    // "|", "^", a quote, "<", ">", "`", controls, non-ASCII) must be percent-encoded, or two
    // readers of the target may disagree on what it names. One allowance, in the query only:
    // the characters the WHATWG URL standard leaves raw there ("{", "}", "|", "^", "`"), which
    // every browser and fetch() send as they are (`fetch('/?q={a}')`); they cannot change
    // where the path ends or what it names.
    let (path, query) = match t.iter().position(|&b| b == b'?') {
        Some(q) => t.split_at(q),
        None => (t, &t[t.len()..]),
    };
    let query_char = |b: u8| is_uri_char(b) || matches!(b, b'{' | b'}' | b'|' | b'^' | b'`');
    if !path.iter().all(|&b| is_uri_char(b)) || !query.iter().all(|&b| query_char(b)) {
        return Err(Reject::new(400, "Invalid character in the request target"));
    }
    if method == b"CONNECT" {
        return Err(Reject::new(
            405,
            "CONNECT is not served by an origin server",
        ));
    }
    if t == b"*" {
        return if method == b"OPTIONS" {
            Ok(((0, 1), None))
        } else {
            Err(Reject::new(400, "Asterisk-form target is only for OPTIONS"))
        };
    }
    if t[0] == b'/' {
        check_percent(t)?;
        return Ok(((0, t.len()), None));
    }
    // absolute-form: scheme "://" authority path-abempty [ "?" query ]
    let lower: Vec<u8> = t.iter().take(8).map(|b| b.to_ascii_lowercase()).collect();
    let scheme_len = if lower.starts_with(b"http://") {
        7
    } else if lower.starts_with(b"https://") {
        8
    } else {
        return Err(Reject::new(400, "Invalid request target"));
    };
    let rest = &t[scheme_len..];
    let auth_end = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    check_host(authority)?;
    let path_start = scheme_len + auth_end;
    check_percent(&t[path_start..])?;
    // An empty path (`http://h` or `http://h?q`) means "/" (RFC 9112 section 3.2.2); the
    // caller sees an empty path range and treats it as "/".
    Ok(((path_start, t.len()), Some((scheme_len, path_start))))
}

fn check_percent(s: &[u8]) -> Result<(), Reject> {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if i + 2 >= s.len() || !(s[i + 1].is_ascii_hexdigit() && s[i + 2].is_ascii_hexdigit()) {
                return Err(Reject::new(400, "Malformed percent-encoding"));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// `Host = uri-host [ ":" port ]` (RFC 9110 section 7.2): no userinfo, path, list or spaces.
fn check_host(v: &[u8]) -> Result<(), Reject> {
    let bad = || Reject::new(400, "Invalid Host");
    if v.is_empty() {
        return Err(bad());
    }
    let (host, port) = if v[0] == b'[' {
        let close = v.iter().position(|&b| b == b']').ok_or_else(bad)?;
        let inner = &v[1..close];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(bad());
        }
        match &v[close + 1..] {
            [] => (&v[..=close], None),
            [b':', port @ ..] => (&v[..=close], Some(port)),
            _ => return Err(bad()),
        }
    } else {
        match v.iter().position(|&b| b == b':') {
            Some(c) => (&v[..c], Some(&v[c + 1..])),
            None => (v, None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    if v[0] != b'[' {
        let ok = host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+;=%".contains(&b));
        if !ok {
            return Err(bad());
        }
    }
    if let Some(port) = port {
        if port.len() > 5 || !port.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        // A port is a TCP port: at most 65535 (RFC 3986 section 3.2.3 leaves it to the scheme).
        let n = port.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
        if n > 65535 {
            return Err(bad());
        }
    }
    Ok(())
}

/// `Content-Length = 1*DIGIT` (RFC 9110 section 8.6). No sign, no spaces, no list, no overflow.
fn parse_content_length(v: &[u8]) -> Result<u64, Reject> {
    let bad = || Reject::new(400, "Invalid Content-Length");
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let mut n: u64 = 0;
    for &b in v {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or_else(bad)?;
    }
    Ok(n)
}

/// Transfer-Encoding must be a list of tokens whose last one is `chunked`, with `chunked` once.
/// Codings other than chunked are valid but not implemented here (RFC 9112 section 6.1: 501).
fn check_transfer_encoding(values: &[&[u8]]) -> Result<(), Reject> {
    let bad = || Reject::new(400, "Invalid Transfer-Encoding");
    let mut codings: Vec<&[u8]> = Vec::new();
    for v in values {
        for item in v.split(|&b| b == b',') {
            let item = trim_ows(item);
            if item.is_empty() || !item.iter().all(|&b| is_tchar(b)) {
                return Err(bad());
            }
            codings.push(item);
        }
    }
    let chunked_count = codings
        .iter()
        .filter(|c| c.eq_ignore_ascii_case(b"chunked"))
        .count();
    match codings.last() {
        Some(last) if last.eq_ignore_ascii_case(b"chunked") && chunked_count == 1 => {}
        _ => return Err(bad()),
    }
    if codings.len() > 1 {
        return Err(Reject::new(501, "Transfer coding not implemented"));
    }
    Ok(())
}

/// A character RFC 3986 allows in a URI: unreserved, reserved (gen-delims and sub-delims) or the
/// "%" of a percent-encoding.
fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raw: &[u8]) -> Result<Parse, Reject> {
        let mut scanned = 0;
        parse(raw, &mut scanned, &Limits::default(), Protocol::Http11)
    }

    fn status(raw: &[u8]) -> u16 {
        match run(raw) {
            Ok(Parse::Complete(..)) => 200,
            Ok(Parse::Partial) => 0,
            Err(r) => r.status,
        }
    }

    #[test]
    fn a_simple_get_parses() {
        match run(b"GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n") {
            Ok(Parse::Complete(h, n)) => {
                assert_eq!(n, 36);
                assert_eq!(h.version, Version::Http11);
                assert_eq!(h.framing, BodyFraming::None);
                assert!(!h.wants_close);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_partial_head_waits() {
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: h\r\n"), 0);
    }

    #[test]
    fn bad_versions_get_505_or_400() {
        assert_eq!(status(b"GET / HTTP/1.2\r\nHost: h\r\n\r\n"), 505);
        assert_eq!(status(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
        assert_eq!(status(b"GET / HTTX/1.1\r\nHost: h\r\n\r\n"), 400);
        assert_eq!(status(b"GET /\r\n\r\n"), 400);
    }

    #[test]
    fn smuggling_framing_is_rejected() {
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"),
            400
        );
        assert_eq!(status(b"GET / HTTP/1.1\nHost: h\n\n"), 400);
    }

    #[test]
    fn host_is_required_once_and_well_formed() {
        assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: u@h\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.0\r\n\r\n"), 200);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"), 200);
    }

    #[test]
    fn a_leading_crlf_arriving_a_byte_at_a_time_is_waited_for() {
        let limits = Limits::default();
        let mut scanned = 0;
        let mut buf = Vec::new();
        for (i, &b) in b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n".iter().enumerate() {
            buf.push(b);
            match parse(&buf, &mut scanned, &limits, Protocol::Http11) {
                Ok(Parse::Partial) => {}
                Ok(Parse::Complete(_, n)) => {
                    assert_eq!(n, buf.len(), "complete only at the end (byte {i})");
                    return;
                }
                Err(r) => panic!("rejected at byte {i}: {r:?}"),
            }
        }
        panic!("never complete");
    }

    #[test]
    fn transfer_encoding_whitespace_is_exact() {
        let te = |v: &str| {
            status(
                format!("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:{v}\r\n\r\n").as_bytes(),
            )
        };
        // SP and HTAB around a value are not part of it (RFC 9110 section 5.5).
        assert_eq!(te(" chunked"), 200);
        assert_eq!(te("chunked"), 200);
        assert_eq!(te(" Chunked"), 200);
        assert_eq!(te("  chunked"), 200);
        assert_eq!(te("\tchunked"), 200);
        assert_eq!(te(" chunked "), 200);
        assert_eq!(te(" chunked\t"), 200);
        assert_eq!(te("\tchunked\t"), 200);
        assert_eq!(te(" \t chunked \t "), 200);
        // Other whitespace is a control character, and no whitespace is no value.
        assert_eq!(te(" \x0bchunked"), 400);
        assert_eq!(te(" chunked\x0c"), 400);
        assert_eq!(te(""), 400);
        assert_eq!(te(" \t "), 400);
        assert_eq!(te(" gzip, chunked"), 501);
        match run(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tchunked\t\r\n\r\n") {
            Ok(Parse::Complete(h, _)) => {
                assert_eq!(h.framing, BodyFraming::Chunked);
                let (_, v) = h.headers[1];
                assert_eq!(
                    &b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tchunked\t\r\n\r\n"
                        [v.0 as usize..v.1 as usize],
                    b"chunked"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn whitespace_around_any_value_is_not_part_of_it() {
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost:\th\t\r\n\r\n"), 200);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: h:80 \r\n\r\n"), 200);
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\t5 \r\n\r\n"),
            200
        );
        assert_eq!(
            status(
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\t\r\nContent-Length: 5\r\n\r\n"
            ),
            400
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\n"),
            400
        );
        match run(
            b"POST / HTTP/1.1\r\nHost: h\r\nExpect:  100-continue\t\r\nContent-Length: 1\r\n\r\n",
        ) {
            Ok(Parse::Complete(h, _)) => {
                assert!(h.expect_continue);
                assert_eq!(h.framing, BodyFraming::Length(1));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn targets_refuse_characters_outside_rfc_3986_but_what_browsers_send_raw_in_a_query() {
        let get = |t: &str| status(format!("GET {t} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
        assert_eq!(get("/<x>"), 400);
        assert_eq!(get("/?q=<x>"), 400);
        assert_eq!(get("/a`b"), 400);
        for c in ["\\", "{", "}", "|", "^", "\""] {
            assert_eq!(get(&format!("/a{c}b")), 400, "{c} in the path");
        }
        for c in ["\\", "\"", "<", ">"] {
            assert_eq!(get(&format!("/a?b={c}")), 400, "{c} in the query");
        }
        // The WHATWG URL standard leaves these raw in a query: browsers and fetch() send them.
        for c in ["{", "}", "|", "^", "`"] {
            assert_eq!(get(&format!("/a?b={c}")), 200, "{c} in the query");
        }
        // Every character RFC 3986 has is fine where the grammar allows it.
        assert_eq!(get("/a-b._~:@!$&'()*+,;=%20/?x=/?[]:@"), 200);
        assert_eq!(get("/%5C"), 200);
    }

    #[test]
    fn host_ports_are_tcp_ports() {
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: h:65535\r\n\r\n"), 200);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: h:65536\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nHost: [::1]:99999\r\n\r\n"), 400);
        assert_eq!(
            status(b"GET http://h:70000/ HTTP/1.1\r\nHost: h\r\n\r\n"),
            400
        );
    }

    #[test]
    fn limits_give_414_and_431() {
        let long = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(20_000));
        assert_eq!(status(long.as_bytes()), 414);
        let big = format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
            "a".repeat(70_000)
        );
        assert_eq!(status(big.as_bytes()), 431);
    }
}
