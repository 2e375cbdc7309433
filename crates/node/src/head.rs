//! Packs a request head into bytes that the TypeScript layer decodes into `environ`.
//!
//! The CGI work (HTTP_* names, joining repeated headers, percent-decoding PATH_INFO) is done
//! here, in Rust, so JavaScript only slices strings out of one buffer. Layout, little-endian:
//!
//! ```text
//! u32 id | u8 flags (1: HTTP/1.1, 2: PATH_INFO is valid UTF-8)
//! str method | str request_uri | str path_info (decoded) | str query | str remote_addr | str remote_port
//! u16 n | n × (u16 key_len, key, u32 value_len, value)        where str = u32 len, bytes
//! ```

use gatehouse_core::{PeerAddr, RequestHead, Version};

/// Flag: the request was HTTP/1.1.
pub const FLAG_HTTP11: u8 = 1;
/// Flag: the decoded PATH_INFO is valid UTF-8.
pub const FLAG_PATH_UTF8: u8 = 2;

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

/// Append the packed record of one request to `out`.
pub fn pack(out: &mut Vec<u8>, id: u32, head: &RequestHead) {
    out.extend_from_slice(&id.to_le_bytes());
    let mut path = Vec::with_capacity(head.path().len());
    percent_decode(head.path(), &mut path);
    let mut flags = 0;
    if head.version() == Version::Http11 {
        flags |= FLAG_HTTP11;
    }
    if std::str::from_utf8(&path).is_ok() {
        flags |= FLAG_PATH_UTF8;
    }
    out.push(flags);
    put_str(out, head.method());
    put_str(out, head.target());
    put_str(out, &path);
    put_str(out, head.query());
    match &head.conn().remote {
        PeerAddr::Tcp(sa) => {
            put_str(out, sa.ip().to_string().as_bytes());
            put_str(out, sa.port().to_string().as_bytes());
        }
        PeerAddr::Unix => {
            put_str(out, b"");
            put_str(out, b"");
        }
    }

    // CGI variables from the header fields, repeats joined (RFC 9110 section 5.3).
    let mut vars: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(16);
    for (name, value) in head.headers() {
        // A name with '_' would collide with the '-' form after mangling (HTTP_X_A from both
        // X-A and X_A): drop it, as nginx, gunicorn and uvicorn do, so it cannot spoof one.
        if name.contains(&b'_') {
            continue;
        }
        let is_host = name.eq_ignore_ascii_case(b"host");
        if is_host && head.authority().is_some() {
            continue;
        }
        let key = cgi_name(name);
        let sep: &[u8] = if name.eq_ignore_ascii_case(b"cookie") { b"; " } else { b", " };
        match vars.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => {
                v.extend_from_slice(sep);
                v.extend_from_slice(value);
            }
            None => vars.push((key, value.to_vec())),
        }
    }
    if let Some(authority) = head.authority() {
        vars.push((b"HTTP_HOST".to_vec(), authority.to_vec()));
    }
    out.extend_from_slice(&(vars.len() as u16).to_le_bytes());
    for (k, v) in &vars {
        out.extend_from_slice(&(k.len() as u16).to_le_bytes());
        out.extend_from_slice(k);
        put_str(out, v);
    }
}

/// `Content-Type` → `CONTENT_TYPE`, `Content-Length` → `CONTENT_LENGTH`, others `HTTP_NAME`.
fn cgi_name(name: &[u8]) -> Vec<u8> {
    if name.eq_ignore_ascii_case(b"content-type") {
        return b"CONTENT_TYPE".to_vec();
    }
    if name.eq_ignore_ascii_case(b"content-length") {
        return b"CONTENT_LENGTH".to_vec();
    }
    let mut k = Vec::with_capacity(5 + name.len());
    k.extend_from_slice(b"HTTP_");
    k.extend(name.iter().map(|&b| if b == b'-' { b'_' } else { b.to_ascii_uppercase() }));
    k
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
    fn mangles_header_names() {
        assert_eq!(cgi_name(b"User-Agent"), b"HTTP_USER_AGENT");
        assert_eq!(cgi_name(b"content-type"), b"CONTENT_TYPE");
    }
}
