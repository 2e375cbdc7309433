//! The chunked transfer coding, decoding side (RFC 9112 section 7.1), strict: hex sizes that
//! cannot overflow, extensions that follow the grammar, CRLF and nothing else after each line,
//! trailers read and size-limited but never merged into the request headers.

use bytes::{Bytes, BytesMut};

use crate::exchange::head::is_tchar;

/// The longest chunk-size line we accept (size, extensions and CRLF).
const MAX_CHUNK_LINE: usize = 4096;
/// The most chunk-extension bytes one body may carry in all. Extensions are read and dropped, so
/// without a cap a client could make the server parse without end for no data (node's
/// CVE-2024-22019, Go's CVE-2023-39326); RFC 9112 section 7.1.1 asks for a limit.
const MAX_EXTENSIONS_TOTAL: usize = 16 * 1024;
/// The largest chunk size: 2^63 - 1, so that no signed 64-bit parser in front of us reads it as
/// negative.
const MAX_CHUNK_SIZE: u64 = i64::MAX as u64;

/// What a call to [`ChunkedDecoder::decode`] produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Body bytes.
    Data(Bytes),
    /// More input is needed.
    NeedMore,
    /// The last chunk and the trailers were read.
    Done,
}

/// Why a chunked body was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChunkError {
    /// The framing does not follow RFC 9112 section 7.1.
    Invalid(&'static str),
    /// The trailer section is over its limit.
    TrailersTooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    DataEnd,
    Trailers(usize),
    Done,
}

/// A chunked body decoder over the connection's read buffer.
#[derive(Clone, Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
    max_trailer: usize,
    /// Chunk-extension bytes seen so far in this body.
    extensions: usize,
}

impl ChunkedDecoder {
    pub(crate) fn new(max_trailer: usize) -> Self {
        ChunkedDecoder {
            state: State::Size,
            max_trailer,
            extensions: 0,
        }
    }

    /// Decode from the front of `buf`, returning at most `max` bytes of data.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut, max: usize) -> Result<Decoded, ChunkError> {
        loop {
            match self.state {
                State::Done => return Ok(Decoded::Done),
                State::Size => {
                    let Some(line) = take_line(buf, MAX_CHUNK_LINE)? else {
                        return Ok(Decoded::NeedMore);
                    };
                    let (size, ext_len) = parse_size_line(&line)?;
                    self.extensions += ext_len;
                    if self.extensions > MAX_EXTENSIONS_TOTAL {
                        return Err(ChunkError::Invalid("Too many chunk extension bytes"));
                    }
                    self.state = if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(rem) => {
                    if buf.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    let n = (rem.min(buf.len() as u64) as usize).min(max.max(1));
                    let data = buf.split_to(n).freeze();
                    let left = rem - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                    return Ok(Decoded::Data(data));
                }
                State::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Decoded::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(ChunkError::Invalid("Missing CRLF after chunk data"));
                    }
                    let _ = buf.split_to(2);
                    self.state = State::Size;
                }
                State::Trailers(seen) => {
                    let room = self.max_trailer.saturating_sub(seen) + 2;
                    let Some(line) = take_line(buf, room).map_err(|e| match e {
                        ChunkError::Invalid("Chunk line too long") => ChunkError::TrailersTooLarge,
                        other => other,
                    })?
                    else {
                        return Ok(Decoded::NeedMore);
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                        return Ok(Decoded::Done);
                    }
                    check_trailer_field(&line)?;
                    let seen = seen + line.len() + 2;
                    if seen > self.max_trailer {
                        return Err(ChunkError::TrailersTooLarge);
                    }
                    self.state = State::Trailers(seen);
                }
            }
        }
    }
}

/// Take one CRLF-terminated line (without the CRLF) off the front of `buf`.
fn take_line(buf: &mut BytesMut, limit: usize) -> Result<Option<BytesMut>, ChunkError> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            if lf == 0 || buf[lf - 1] != b'\r' {
                return Err(ChunkError::Invalid("Bare LF in chunked framing"));
            }
            if lf + 1 > limit {
                return Err(ChunkError::Invalid("Chunk line too long"));
            }
            let mut line = buf.split_to(lf + 1);
            line.truncate(lf - 1);
            if line.contains(&b'\r') {
                return Err(ChunkError::Invalid("Bare CR in chunked framing"));
            }
            Ok(Some(line))
        }
        None if buf.len() >= limit => Err(ChunkError::Invalid("Chunk line too long")),
        None => Ok(None),
    }
}

/// `chunk-size [ chunk-ext ]` where `chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] )`.
/// Returns the size and the length of the extensions.
fn parse_size_line(line: &[u8]) -> Result<(u64, usize), ChunkError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(ChunkError::Invalid("Missing chunk size"));
    }
    if digits > 16 {
        return Err(ChunkError::Invalid("Chunk size overflows"));
    }
    let mut size: u64 = 0;
    for &b in &line[..digits] {
        let v = (b as char).to_digit(16).unwrap_or(0) as u64;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(v))
            .ok_or(ChunkError::Invalid("Chunk size overflows"))?;
    }
    if size > MAX_CHUNK_SIZE {
        return Err(ChunkError::Invalid("Chunk size overflows"));
    }
    check_extensions(&line[digits..])?;
    Ok((size, line.len() - digits))
}

fn check_extensions(mut s: &[u8]) -> Result<(), ChunkError> {
    let bad = ChunkError::Invalid("Invalid chunk extension");
    let skip_bws =
        |s: &[u8]| -> usize { s.iter().take_while(|b| **b == b' ' || **b == b'\t').count() };
    loop {
        let ws = skip_bws(s);
        s = &s[ws..];
        if s.is_empty() {
            // BWS is only allowed before a ";": "5 \r\n" or "5;a=b \r\n" is not the grammar.
            return if ws == 0 { Ok(()) } else { Err(bad) };
        }
        if s[0] != b';' {
            return Err(bad);
        }
        s = &s[1..];
        s = &s[skip_bws(s)..];
        let name = s.iter().take_while(|b| is_tchar(**b)).count();
        if name == 0 {
            return Err(bad);
        }
        s = &s[name..];
        let ws = skip_bws(s);
        if s.get(ws) == Some(&b'=') {
            s = &s[ws + 1..];
            s = &s[skip_bws(s)..];
            if s.first() == Some(&b'"') {
                let mut i = 1;
                loop {
                    match s.get(i) {
                        None => return Err(bad),
                        Some(b'"') => break,
                        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                        Some(b'\\') => match s.get(i + 1) {
                            Some(&b) if b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80 => {
                                i += 2
                            }
                            _ => return Err(bad),
                        },
                        Some(&b) if b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80 => i += 1,
                        Some(_) => return Err(bad),
                    }
                }
                s = &s[i + 1..];
            } else {
                let v = s.iter().take_while(|b| is_tchar(**b)).count();
                if v == 0 {
                    return Err(bad);
                }
                s = &s[v..];
            }
        }
    }
}

fn check_trailer_field(line: &[u8]) -> Result<(), ChunkError> {
    let bad = ChunkError::Invalid("Invalid trailer field");
    let colon = line.iter().position(|&b| b == b':').ok_or(bad)?;
    if colon == 0 || !line[..colon].iter().all(|b| is_tchar(*b)) {
        return Err(ChunkError::Invalid("Invalid trailer field"));
    }
    if line[colon + 1..]
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(ChunkError::Invalid("Invalid trailer field"));
    }
    // Framing fields have no meaning in a trailer (RFC 9110 section 6.5.1); a client that sends
    // one is confused or probing, and node:http refuses them too.
    let name = &line[..colon];
    if name.eq_ignore_ascii_case(b"content-length")
        || name.eq_ignore_ascii_case(b"transfer-encoding")
    {
        return Err(ChunkError::Invalid("Framing field in the trailer section"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<Vec<u8>, ChunkError> {
        let mut d = ChunkedDecoder::new(1024);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match d.decode(&mut buf, usize::MAX)? {
                Decoded::Data(b) => out.extend_from_slice(&b),
                Decoded::Done => return Ok(out),
                Decoded::NeedMore => return Err(ChunkError::Invalid("incomplete")),
            }
        }
    }

    #[test]
    fn decodes_chunks_extensions_and_trailers() {
        let body = b"5;a=b;c=\"d e\"\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
        assert_eq!(decode_all(body).unwrap(), b"hello world");
    }

    #[test]
    fn rejects_smuggling_tricks() {
        assert!(decode_all(b"5\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"5\r\nhelloXX0\r\n\r\n").is_err());
        assert!(decode_all(b"fffffffffffffffff\r\n").is_err());
        assert!(decode_all(b"-5\r\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"5;\r\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"5 x\r\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"0x5\r\nhello\r\n0\r\n\r\n").is_err());
    }

    #[test]
    fn whitespace_only_before_a_semicolon() {
        assert_eq!(
            decode_all(b"5 ;a=b\r\nhello\r\n0\r\n\r\n").unwrap(),
            b"hello"
        );
        assert_eq!(
            decode_all(b"5;a = b\r\nhello\r\n0\r\n\r\n").unwrap(),
            b"hello"
        );
        assert!(decode_all(b"5 \r\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"5\t\r\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"5;a=b \r\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"5\r\nhello\r\n0 \r\n\r\n").is_err());
    }

    #[test]
    fn quoted_pairs_escape_only_visible_characters() {
        assert_eq!(
            decode_all(b"5;a=\"x\\\"y\"\r\nhello\r\n0\r\n\r\n").unwrap(),
            b"hello"
        );
        assert!(decode_all(b"5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"5;a=\"\\\r\nhello\r\n0\r\n\r\n").is_err());
    }

    #[test]
    fn chunk_sizes_stay_below_2_pow_63() {
        let mut d = ChunkedDecoder::new(16);
        let mut buf = BytesMut::from(&b"7fffffffffffffff\r\nab"[..]);
        assert_eq!(
            d.decode(&mut buf, 100),
            Ok(Decoded::Data(Bytes::from_static(b"ab")))
        );
        assert!(decode_all(b"8000000000000000\r\nhello\r\n0\r\n\r\n").is_err());
        assert!(decode_all(b"f0000000000000003\r\nabc\r\n0\r\n\r\n").is_err());
    }

    #[test]
    fn extensions_are_capped_per_body() {
        let one = format!("1;e={}\r\na\r\n", "x".repeat(1000));
        let under = format!("{}0\r\n\r\n", one.repeat(16));
        assert_eq!(decode_all(under.as_bytes()).unwrap(), b"a".repeat(16));
        let over = format!("{}0\r\n\r\n", one.repeat(17));
        assert_eq!(
            decode_all(over.as_bytes()),
            Err(ChunkError::Invalid("Too many chunk extension bytes"))
        );
    }

    #[test]
    fn framing_fields_are_refused_in_trailers() {
        assert!(decode_all(b"0\r\nContent-Length: 5\r\n\r\n").is_err());
        assert!(decode_all(b"0\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
        assert!(decode_all(b"0\r\nX-Content-Length: 5\r\n\r\n").is_ok());
    }

    #[test]
    fn limits_trailers() {
        let mut d = ChunkedDecoder::new(16);
        let mut buf = BytesMut::from(&b"0\r\nX-Long-Trailer: 0123456789\r\n\r\n"[..]);
        assert_eq!(d.decode(&mut buf, 100), Err(ChunkError::TrailersTooLarge));
    }

    #[test]
    fn waits_for_more_input() {
        let mut d = ChunkedDecoder::new(16);
        let mut buf = BytesMut::from(&b"5\r\nhe"[..]);
        assert_eq!(
            d.decode(&mut buf, 100),
            Ok(Decoded::Data(Bytes::from_static(b"he")))
        );
        assert_eq!(d.decode(&mut buf, 100), Ok(Decoded::NeedMore));
    }
}
