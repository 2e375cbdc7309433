//! Response heads on the HTTP/1 wire: the application's checked head ([`ResponseHead`]) framed by
//! the server (`Content-Length`, `Transfer-Encoding`, `Connection`, `Date`, `Server`), and chunk
//! sizes.

use crate::date;
use crate::exchange::ResponseHead;

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
