//! Packs request heads into the batch buffer that the TypeScript layer decodes into `environ`.
//!
//! The CGI work (HTTP_* names, joining repeated headers, percent-decoding PATH_INFO) is done
//! here, in Rust, so JavaScript only slices strings out of one text. A batch crosses as one
//! Buffer, little-endian:
//!
//! ```text
//! u32 text_len | text (text_len bytes of records) | bodies
//! record   = u32 len | u8 kind | len bytes of fields
//! kind 0   = a request:
//!            u32 index | u32 generation | u8 flags
//!            str method | str request_uri | str path_info (decoded) | str query
//!            str remote_addr | str remote_port | str server_port
//!            u32 lines | lines x (u16 key, [str cgi_name when key is 0], str name, str value,
//!                                  [str joined when key has KEY_JOINED])
//!            u32 n | n x (u16 key, [str cgi_name when key is 0], str value)
//!            with FLAG_BODY: u32 offset | u32 length of the whole body in `bodies`
//! kind 1   = an answer the core refused: u32 ordinal (of the answer in the flush) | str code | str message
//! kind 2   = a request the core abandoned: u32 index | u32 generation | u8 (1: its deadline passed, 0: its client left)
//! str      = u32 length | bytes
//! ```
//!
//! The field lines cross as sent, one entry a line (the name in its case, the value), for what
//! wants them (the Node-style adapter's `rawHeaders`); each line also says the CGI variable it
//! makes: `key`, whose value is the line's value, or with KEY_JOINED the value of every line of
//! that name joined (RFC 9110 section 5.3; Cookie with `; `); KEY_NONE when it makes none (a
//! repeat, a name with '_', a Host replaced by an absolute-form target's authority). So every
//! header value crosses once, and the lines cost the names. After the lines, the variables that
//! come from elsewhere (that authority as HTTP_HOST, the TLS ones).
//!
//! A key above 0 is `KNOWN_KEYS[key - 1]`, a table JavaScript reads once (`NativeLane.knownKeys`):
//! the common headers cross without their CGI name. Every length is a u32 and a head is at
//! most 1 MiB, so no length can wrap, and each record says its own length: a record that
//! JavaScript cannot decode is answered alone, the rest of the batch runs. Under TLS the
//! variables carry HTTPS and the SSL_* variables of mod_ssl after the headers.

use std::io::Write;
use std::net::IpAddr;

use gatehouse_core::{PeerAddr, RequestHead, TlsInfo, Version};

use crate::bridge::RequestId;

/// Flag: the request was HTTP/1.1.
pub const FLAG_HTTP11: u8 = 1;
/// Flag: the decoded PATH_INFO is valid UTF-8.
pub const FLAG_PATH_UTF8: u8 = 2;
/// Flag: the request came over HTTPS: TLS on this connection, or a trusted proxy says so with
/// X-Forwarded-Proto.
pub const FLAG_HTTPS: u8 = 4;
/// Flag: the whole request body came with the head (its place in `bodies` follows the variables).
pub const FLAG_BODY: u8 = 8;
/// Flag: the decoded PATH_INFO is ASCII (the same text under every gateway).
pub const FLAG_PATH_ASCII: u8 = 16;

/// The peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed (gunicorn's and uvicorn's
/// `forwarded_allow_ips`): exact addresses, `*` for any, `unix` for UNIX socket peers.
#[derive(Debug, Default)]
pub struct Trusted {
    any: bool,
    unix: bool,
    ips: Vec<IpAddr>,
}

impl Trusted {
    pub fn new(list: Vec<String>) -> Self {
        let mut t = Trusted::default();
        for item in list {
            match item.as_str() {
                "*" => t.any = true,
                "unix" => t.unix = true,
                other => {
                    if let Ok(ip) = other.trim_matches(|c| c == '[' || c == ']').parse() {
                        t.ips.push(ip);
                    }
                }
            }
        }
        t
    }

    fn trusts_ip(&self, ip: IpAddr) -> bool {
        self.any
            || self.ips.contains(&ip)
            || ip.to_canonical() != ip && self.ips.contains(&ip.to_canonical())
    }

    fn trusts(&self, peer: &PeerAddr) -> bool {
        match peer {
            PeerAddr::Tcp(sa) => self.trusts_ip(sa.ip()),
            PeerAddr::Unix => self.any || self.unix,
        }
    }

    fn is_empty(&self) -> bool {
        !self.any && !self.unix && self.ips.is_empty()
    }
}

/// The client a trusted proxy names: the rightmost X-Forwarded-For entry that is not itself a
/// trusted proxy (a client can prepend anything, so entries left of that are not believed).
fn forwarded_client<'a>(head: &'a RequestHead, trusted: &Trusted) -> Option<&'a [u8]> {
    let mut chosen = None;
    for (name, value) in head.headers() {
        if !name.eq_ignore_ascii_case(b"x-forwarded-for") {
            continue;
        }
        for entry in value.split(|&b| b == b',').rev() {
            let entry = trim(entry);
            if entry.is_empty() {
                continue;
            }
            chosen = Some(entry);
            let parsed = std::str::from_utf8(entry)
                .ok()
                .and_then(|s| s.parse::<IpAddr>().ok());
            if !parsed.is_some_and(|ip| trusted.trusts_ip(ip)) {
                return Some(entry);
            }
        }
    }
    chosen
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

/// Write a length-prefixed string produced by `f` straight into `out` (no temporary String).
fn put_fmt(out: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    f(out);
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Same header for CGI purposes: names equal ignoring ASCII case (names with '_' never get here).
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A record kind: a request.
const KIND_REQUEST: u8 = 0;
/// A record kind: an answer the core refused (see [`Batch::push_refused`]).
const KIND_REFUSED: u8 = 1;
/// A record kind: a request abandoned by the core (see [`Batch::push_abandoned`]).
const KIND_ABANDONED: u8 = 2;

/// A record kind: a request whose client half-closed (see [`Batch::push_half_closed`]).
const KIND_HALF_CLOSED: u8 = 3;

/// Header names common enough that their CGI name crosses as a number: the JavaScript side
/// keeps these strings once, instead of making a key string per request.
pub const KNOWN_KEYS: [(&str, &str); 36] = [
    ("host", "HTTP_HOST"),
    ("user-agent", "HTTP_USER_AGENT"),
    ("accept", "HTTP_ACCEPT"),
    ("accept-encoding", "HTTP_ACCEPT_ENCODING"),
    ("accept-language", "HTTP_ACCEPT_LANGUAGE"),
    ("connection", "HTTP_CONNECTION"),
    ("content-type", "CONTENT_TYPE"),
    ("content-length", "CONTENT_LENGTH"),
    ("cookie", "HTTP_COOKIE"),
    ("referer", "HTTP_REFERER"),
    ("cache-control", "HTTP_CACHE_CONTROL"),
    ("origin", "HTTP_ORIGIN"),
    ("authorization", "HTTP_AUTHORIZATION"),
    ("x-forwarded-for", "HTTP_X_FORWARDED_FOR"),
    ("x-forwarded-proto", "HTTP_X_FORWARDED_PROTO"),
    ("x-real-ip", "HTTP_X_REAL_IP"),
    ("x-requested-with", "HTTP_X_REQUESTED_WITH"),
    (
        "upgrade-insecure-requests",
        "HTTP_UPGRADE_INSECURE_REQUESTS",
    ),
    ("sec-fetch-site", "HTTP_SEC_FETCH_SITE"),
    ("sec-fetch-mode", "HTTP_SEC_FETCH_MODE"),
    ("sec-fetch-dest", "HTTP_SEC_FETCH_DEST"),
    ("sec-fetch-user", "HTTP_SEC_FETCH_USER"),
    ("sec-ch-ua", "HTTP_SEC_CH_UA"),
    ("sec-ch-ua-mobile", "HTTP_SEC_CH_UA_MOBILE"),
    ("sec-ch-ua-platform", "HTTP_SEC_CH_UA_PLATFORM"),
    ("if-none-match", "HTTP_IF_NONE_MATCH"),
    ("if-modified-since", "HTTP_IF_MODIFIED_SINCE"),
    ("pragma", "HTTP_PRAGMA"),
    ("dnt", "HTTP_DNT"),
    ("te", "HTTP_TE"),
    ("transfer-encoding", "HTTP_TRANSFER_ENCODING"),
    ("expect", "HTTP_EXPECT"),
    ("range", "HTTP_RANGE"),
    ("accept-charset", "HTTP_ACCEPT_CHARSET"),
    ("forwarded", "HTTP_FORWARDED"),
    ("via", "HTTP_VIA"),
];

/// The key of a header name in [`KNOWN_KEYS`] (1-based), or 0.
fn known_key(name: &[u8]) -> u16 {
    KNOWN_KEYS
        .iter()
        .position(|(n, _)| n.len() == name.len() && name.eq_ignore_ascii_case(n.as_bytes()))
        .map_or(0, |i| i as u16 + 1)
}

/// The records waiting for a JavaScript thread, and the bodies that came with them.
#[derive(Debug, Default)]
pub struct Batch {
    text: Vec<u8>,
    bodies: Vec<u8>,
    /// Requests in the batch.
    pub count: usize,
}

impl Batch {
    /// Empty it, keeping its memory for the next batch (a batch taken and given back does not
    /// grow its buffers again from nothing).
    pub fn clear(&mut self) {
        self.text.clear();
        self.bodies.clear();
        self.count = 0;
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The parts of the Buffer the batch crosses as: the text's length, the text, the bodies.
    pub fn parts(&self) -> ([u8; 4], &[u8], &[u8]) {
        // A batch holds what arrived while one JavaScript turn ran: far below 4 GiB.
        (
            (self.text.len() as u32).to_le_bytes(),
            &self.text,
            &self.bodies,
        )
    }

    fn start_record(&mut self, kind: u8) -> usize {
        let at = self.text.len();
        self.text.extend_from_slice(&[0, 0, 0, 0, kind]);
        at
    }

    fn end_record(&mut self, at: usize) {
        let len = (self.text.len() - at - 5) as u32;
        self.text[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }

    /// An answer of the last flush that the core refused (its head is not one the server can
    /// send): the JavaScript side answers that request as an application error.
    pub fn push_refused(&mut self, ordinal: u32, code: &str, message: &str) {
        let at = self.start_record(KIND_REFUSED);
        self.text.extend_from_slice(&ordinal.to_le_bytes());
        put_str(&mut self.text, code.as_bytes());
        put_str(&mut self.text, message.as_bytes());
        self.end_record(at);
    }

    /// A request the core abandoned (its client went away, or its deadline passed): the
    /// JavaScript side aborts its signal. `deadline` tells which.
    pub fn push_abandoned(&mut self, id: RequestId, deadline: bool) {
        let at = self.start_record(KIND_ABANDONED);
        self.text.extend_from_slice(&id.index.to_le_bytes());
        self.text.extend_from_slice(&id.generation.to_le_bytes());
        self.text.push(u8::from(deadline));
        self.end_record(at);
    }

    /// A request whose client half-closed its connection: the JavaScript side aborts its
    /// signal, and its answer is still written.
    pub fn push_half_closed(&mut self, id: RequestId) {
        let at = self.start_record(KIND_HALF_CLOSED);
        self.text.extend_from_slice(&id.index.to_le_bytes());
        self.text.extend_from_slice(&id.generation.to_le_bytes());
        self.end_record(at);
    }

    /// Append the record of one request, with its whole body when given.
    pub fn push_request(
        &mut self,
        id: RequestId,
        head: &RequestHead,
        trusted: &Trusted,
        body: Option<&[u8]>,
    ) {
        let at = self.start_record(KIND_REQUEST);
        pack(&mut self.text, id, head, trusted, body.is_some());
        if let Some(body) = body {
            let offset = self.bodies.len() as u32;
            self.text.extend_from_slice(&offset.to_le_bytes());
            self.text
                .extend_from_slice(&(body.len() as u32).to_le_bytes());
            self.bodies.extend_from_slice(body);
        }
        self.end_record(at);
        self.count += 1;
    }
}

/// Append the fields of one request's record to `out`.
fn pack(out: &mut Vec<u8>, id: RequestId, head: &RequestHead, trusted: &Trusted, body: bool) {
    out.extend_from_slice(&id.index.to_le_bytes());
    out.extend_from_slice(&id.generation.to_le_bytes());
    let flags_at = out.len();
    out.push(0);
    let mut flags = 0;
    if head.version() == Version::Http11 {
        flags |= FLAG_HTTP11;
    }
    if head.conn().tls.is_some() {
        flags |= FLAG_HTTPS;
    }
    put_str(out, head.method());
    put_str(out, head.target());
    let path_at = out.len() + 4;
    put_fmt(out, |o| percent_decode(head.path(), o));
    let path = &out[path_at..];
    if path.is_ascii() {
        flags |= FLAG_PATH_ASCII | FLAG_PATH_UTF8;
    } else if std::str::from_utf8(path).is_ok() {
        flags |= FLAG_PATH_UTF8;
    }
    if body {
        flags |= FLAG_BODY;
    }
    out[flags_at] = flags;
    put_str(out, head.query());
    let from_proxy = !trusted.is_empty() && trusted.trusts(&head.conn().remote);
    if from_proxy {
        let proto = head
            .headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case(b"x-forwarded-proto"))
            .last()
            .map(|(_, v)| trim(v));
        if proto.is_some_and(|p| p.eq_ignore_ascii_case(b"https")) {
            out[flags_at] |= FLAG_HTTPS;
        }
    }
    let client = if from_proxy {
        forwarded_client(head, trusted)
    } else {
        None
    };
    // The connection's addresses are made text once per connection, not per request.
    let text = head.conn().text();
    if let Some(client) = client {
        put_str(out, client);
        put_str(out, b"0");
    } else {
        put_str(out, text.remote_ip.as_bytes());
        put_str(out, text.remote_port.as_bytes());
    }
    put_str(out, text.local_port.as_bytes());

    // The field lines, each with the CGI variable it makes, repeats joined (RFC 9110 section
    // 5.3) into the first line of their name: that one collects the later ones.
    let lines_at = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    let mut lines: u32 = 0;
    let absolute = head.authority().is_some();
    let usable = |name: &[u8]| {
        // A name with '_' would collide with the '-' form after mangling (HTTP_X_A from both
        // X-A and X_A): drop it, as nginx, gunicorn and uvicorn do, so it cannot spoof one.
        // An absolute-form target's authority replaces Host (RFC 9112 section 3.2.2).
        !(name.contains(&b'_') || (absolute && name.eq_ignore_ascii_case(b"host")))
    };
    for (i, (name, value)) in head.headers().enumerate() {
        lines += 1;
        if !usable(name)
            || head
                .headers()
                .take(i)
                .any(|(n, _)| usable(n) && same_name(n, name))
        {
            out.extend_from_slice(&KEY_NONE.to_le_bytes());
            put_str(out, name);
            put_str(out, value);
            continue;
        }
        let repeated = head.headers().skip(i + 1).any(|(n, _)| same_name(n, name));
        put_key(out, name, if repeated { KEY_JOINED } else { 0 });
        put_str(out, name);
        put_str(out, value);
        if repeated {
            let sep: &[u8] = if name.eq_ignore_ascii_case(b"cookie") {
                b"; "
            } else {
                b", "
            };
            put_fmt(out, |o| {
                o.extend_from_slice(value);
                for (n, v) in head.headers().skip(i + 1) {
                    if same_name(n, name) {
                        o.extend_from_slice(sep);
                        o.extend_from_slice(v);
                    }
                }
            });
        }
    }
    out[lines_at..lines_at + 4].copy_from_slice(&lines.to_le_bytes());

    // The variables that do not come from a field line.
    let count_at = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    let mut count: u32 = 0;
    if let Some(authority) = head.authority() {
        out.extend_from_slice(&(known_key(b"host")).to_le_bytes());
        put_str(out, authority);
        count += 1;
    }
    if let Some(tls) = &head.conn().tls {
        count += put_tls(out, tls);
    }
    out[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
}

/// Write one CGI variable.
fn put_var(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    put_literal_key(out, key.as_bytes());
    put_str(out, value);
}

/// Write a variable name that is not in [`KNOWN_KEYS`]: key 0, then the name.
fn put_literal_key(out: &mut Vec<u8>, key: &[u8]) {
    out.extend_from_slice(&0u16.to_le_bytes());
    put_str(out, key);
}

/// Write one CGI variable whose value is formatted.
fn put_var_fmt(out: &mut Vec<u8>, key: &str, value: impl std::fmt::Display) {
    put_literal_key(out, key.as_bytes());
    put_fmt(out, |o| {
        let _ = write!(o, "{value}");
    });
}

/// Write HTTPS and the SSL_* variables (mod_ssl's names and formats); returns how many.
fn put_tls(out: &mut Vec<u8>, tls: &TlsInfo) -> u32 {
    let mut n = 0;
    let mut var = |out: &mut Vec<u8>, key: &str, value: &[u8]| {
        put_var(out, key, value);
        n += 1;
    };
    var(out, "HTTPS", b"on");
    var(out, "SSL_PROTOCOL", tls.protocol.as_bytes());
    var(out, "SSL_CIPHER", tls.cipher.as_bytes());
    var(out, "SSL_SERVER_S_DN", tls.server_subject.as_bytes());
    var(out, "SSL_SERVER_I_DN", tls.server_issuer.as_bytes());
    if let Some(sni) = &tls.sni {
        var(out, "SSL_TLS_SNI", sni.as_bytes());
    }
    match &tls.client {
        None => var(out, "SSL_CLIENT_VERIFY", b"NONE"),
        Some(c) => {
            var(out, "SSL_CLIENT_VERIFY", b"SUCCESS");
            var(out, "SSL_CLIENT_S_DN", c.subject.as_bytes());
            if let Some(cn) = &c.subject_cn {
                var(out, "SSL_CLIENT_S_DN_CN", cn.as_bytes());
            }
            var(out, "SSL_CLIENT_I_DN", c.issuer.as_bytes());
            if let Some(cn) = &c.issuer_cn {
                var(out, "SSL_CLIENT_I_DN_CN", cn.as_bytes());
            }
            var(out, "SSL_CLIENT_M_SERIAL", c.serial.as_bytes());
            var(out, "SSL_CLIENT_V_START", c.not_before.as_bytes());
            var(out, "SSL_CLIENT_V_END", c.not_after.as_bytes());
            var(out, "SSL_CLIENT_CERT", c.pem.as_bytes());
        }
    }
    let mut m = 0;
    put_var_fmt(out, "SSL_CIPHER_USEKEYSIZE", tls.cipher_bits);
    put_var_fmt(out, "SSL_CIPHER_ALGKEYSIZE", tls.cipher_bits);
    m += 2;
    if let Some(c) = &tls.client {
        put_var_fmt(out, "SSL_CLIENT_M_VERSION", c.version);
        put_var_fmt(out, "SSL_CLIENT_V_REMAIN", c.days_remaining);
        m += 2;
    }
    n + m
}

/// A field line's key: the line makes no CGI variable.
pub const KEY_NONE: u16 = 0xffff;
/// A field line's key bit: the variable's value is the joined one after the line.
pub const KEY_JOINED: u16 = 0x8000;

/// Write the CGI name of a header: its key in [`KNOWN_KEYS`], or key 0 and the name; `bits`
/// (KEY_JOINED) go with the key.
fn put_key(out: &mut Vec<u8>, name: &[u8], bits: u16) {
    let key = known_key(name);
    out.extend_from_slice(&(key | bits).to_le_bytes());
    if key != 0 {
        return;
    }
    put_fmt(out, |o| {
        o.extend_from_slice(b"HTTP_");
        o.extend(name.iter().map(|&b| {
            if b == b'-' {
                b'_'
            } else {
                b.to_ascii_uppercase()
            }
        }));
    });
}

/// Percent-decode a path (the core already refused malformed escapes).
fn percent_decode(s: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes() {
        let mut out = Vec::new();
        percent_decode(b"/a%20b/%E2%98%BA%2F", &mut out);
        assert_eq!(out, "/a b/\u{263a}/".as_bytes());
    }

    #[test]
    fn mangles_header_names_and_sends_common_ones_by_key() {
        let mut out = Vec::new();
        put_key(&mut out, b"User-Agent", 0);
        let key = u16::from_le_bytes([out[0], out[1]]);
        assert_eq!(KNOWN_KEYS[usize::from(key) - 1].1, "HTTP_USER_AGENT");
        assert_eq!(out.len(), 2);
        out.clear();
        put_key(&mut out, b"content-type", 0);
        let key = u16::from_le_bytes([out[0], out[1]]);
        assert_eq!(KNOWN_KEYS[usize::from(key) - 1].1, "CONTENT_TYPE");
        out.clear();
        put_key(&mut out, b"X-Trace-Id", 0);
        assert_eq!(&out[..2], &[0, 0]);
        assert_eq!(&out[6..], b"HTTP_X_TRACE_ID");
    }

    #[test]
    fn every_known_key_is_the_cgi_name_of_its_header() {
        for (name, key) in KNOWN_KEYS {
            let mangled = match name {
                "content-type" => "CONTENT_TYPE".to_string(),
                "content-length" => "CONTENT_LENGTH".to_string(),
                _ => format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_")),
            };
            assert_eq!(key, mangled);
        }
    }
}
