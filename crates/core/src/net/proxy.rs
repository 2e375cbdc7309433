//! The PROXY protocol (HAProxy's, versions 1 and 2): a load balancer in front tells who the client
//! is in a header before the first request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::net::stream::Stream;
use crate::stats::Stats;

/// The v2 signature.
const V2_SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// A v1 line is at most 107 bytes.
const V1_MAX: usize = 107;

/// What a complete PROXY header said.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ProxyHeader {
    /// The real client.
    Client(SocketAddr),
    /// A health check or an unknown family: keep the connection's own address.
    Local,
}

/// Parse a PROXY header at the start of `buf`. `Ok(None)`: need more bytes. `Ok(Some((h, n)))`:
/// the header took `n` bytes. `Err`: not a valid PROXY header.
pub(crate) fn parse(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, &'static str> {
    if buf.len() < V2_SIG.len() {
        let is_prefix = V2_SIG.starts_with(buf) || b"PROXY ".starts_with(&buf[..buf.len().min(6)]);
        return if is_prefix {
            Ok(None)
        } else {
            Err("no PROXY header")
        };
    }
    if buf.starts_with(V2_SIG) {
        return parse_v2(buf);
    }
    if buf.starts_with(b"PROXY ") {
        return parse_v1(buf);
    }
    Err("no PROXY header")
}

fn parse_v1(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, &'static str> {
    let Some(end) = buf.iter().take(V1_MAX).position(|&b| b == b'\n') else {
        return if buf.len() >= V1_MAX {
            Err("PROXY v1 line too long")
        } else {
            Ok(None)
        };
    };
    if end == 0 || buf[end - 1] != b'\r' {
        return Err("PROXY v1 line must end with CRLF");
    }
    let line = std::str::from_utf8(&buf[..end - 1]).map_err(|_| "PROXY v1 line is not ASCII")?;
    let parts: Vec<&str> = line.split(' ').collect();
    match parts.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Ok(Some((ProxyHeader::Local, end + 1))),
        ["PROXY", fam @ ("TCP4" | "TCP6"), src, _dst, sport, _dport] => {
            let ip: IpAddr = src.parse().map_err(|_| "bad PROXY v1 source address")?;
            if (*fam == "TCP4") != ip.is_ipv4() {
                return Err("PROXY v1 family does not match the address");
            }
            let port: u16 = sport.parse().map_err(|_| "bad PROXY v1 source port")?;
            Ok(Some((
                ProxyHeader::Client(SocketAddr::new(ip, port)),
                end + 1,
            )))
        }
        _ => Err("malformed PROXY v1 line"),
    }
}

fn parse_v2(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, &'static str> {
    if buf.len() < 16 {
        return Ok(None);
    }
    let ver_cmd = buf[12];
    if ver_cmd >> 4 != 2 {
        return Err("PROXY v2 version is not 2");
    }
    let fam = buf[13];
    let len = u16::from_be_bytes([buf[14], buf[15]]) as usize;
    let total = 16 + len;
    if buf.len() < total {
        return Ok(None);
    }
    let body = &buf[16..total];
    let header = match (ver_cmd & 0x0f, fam) {
        (0, _) => ProxyHeader::Local,
        (1, 0x11) if body.len() >= 12 => {
            let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            let port = u16::from_be_bytes([body[8], body[9]]);
            ProxyHeader::Client(SocketAddr::new(IpAddr::V4(ip), port))
        }
        (1, 0x21) if body.len() >= 36 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&body[..16]);
            let port = u16::from_be_bytes([body[32], body[33]]);
            ProxyHeader::Client(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), port))
        }
        (1, _) => ProxyHeader::Local,
        _ => return Err("PROXY v2 command is neither LOCAL nor PROXY"),
    };
    Ok(Some((header, total)))
}

/// Read the PROXY header at the start of a connection, taking exactly its bytes (what follows
/// may be a TLS handshake), within `limit`. `Ok(Some)`: the client it names; `Ok(None)`: a
/// LOCAL header (a health check); `Err`: no valid header in time. The one reader, for plain and
/// TLS connections alike.
pub(crate) async fn read_header(
    stream: &mut Stream,
    limit: Duration,
    stats: &Stats,
) -> Result<Option<SocketAddr>, ()> {
    /// The v2 signature (12 bytes) and its version, family and length fields (4 bytes).
    const V2_FIXED: usize = 16;
    let read = async {
        // 12 bytes tell v2 (its signature) from v1 ("PROXY ", at least 15 bytes in all).
        let mut buf = vec![0u8; 12];
        stream.read_exact(&mut buf).await.map_err(drop)?;
        loop {
            match parse(&buf) {
                Ok(Some((header, n))) if n == buf.len() => {
                    Stats::add(&stats.bytes_read, n as u64);
                    return Ok(match header {
                        ProxyHeader::Client(sa) => Some(sa),
                        ProxyHeader::Local => None,
                    });
                }
                Ok(Some(_)) | Err(_) => return Err(()),
                Ok(None) => {}
            }
            // v2: the fixed part says how long the rest is; v1: one byte at a time to the LF.
            let more = if buf.len() >= V2_FIXED && !buf.starts_with(b"PROXY ") {
                (V2_FIXED + usize::from(u16::from_be_bytes([buf[14], buf[15]])))
                    .saturating_sub(buf.len())
            } else if buf.len() < V2_FIXED && !buf.starts_with(b"PROXY ") {
                V2_FIXED - buf.len()
            } else {
                1
            };
            if more == 0 {
                return Err(());
            }
            let at = buf.len();
            buf.resize(at + more, 0);
            stream.read_exact(&mut buf[at..]).await.map_err(drop)?;
        }
    };
    tokio::time::timeout(limit, read).await.unwrap_or(Err(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1() {
        let (h, n) = parse(b"PROXY TCP4 192.0.2.1 192.0.2.2 5000 80\r\nGET")
            .unwrap()
            .unwrap();
        assert_eq!(h, ProxyHeader::Client("192.0.2.1:5000".parse().unwrap()));
        assert_eq!(n, 40);
        assert_eq!(parse(b"PROXY TCP4 192.0.2.1").unwrap(), None);
        assert!(parse(b"GET / HTTP/1.1\r\n").is_err());
        assert!(parse(b"PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n").is_err());
    }

    #[test]
    fn parses_v2() {
        let mut b = V2_SIG.to_vec();
        b.extend_from_slice(&[
            0x21, 0x11, 0, 12, 198, 51, 100, 7, 10, 0, 0, 1, 0x1f, 0x90, 0, 80,
        ]);
        let (h, n) = parse(&b).unwrap().unwrap();
        assert_eq!(h, ProxyHeader::Client("198.51.100.7:8080".parse().unwrap()));
        assert_eq!(n, 28);
        let mut local = V2_SIG.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert_eq!(parse(&local).unwrap().unwrap(), (ProxyHeader::Local, 16));
    }
}
