//! The few X.509 fields the SSL_* variables show, read from DER by hand: serial number, issuer
//! and subject names, validity. rustls (webpki) verifies certificates; this module only reads
//! them, and returns `None` for anything it does not understand instead of failing.
//!
//! Formats follow mod_ssl 2.4 (OpenSSL underneath): names as RFC 4514 strings, most specific
//! attribute first (`CN=client,O=Example,C=US`); the serial as upper-case hex, two digits a
//! byte; times as `Jan  2 03:04:05 2026 GMT`; certificates as PEM.

use std::fmt::Write;

use crate::date::civil_from_days;

/// The fields of one certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CertFields {
    /// The X.509 version (1, 2 or 3).
    pub version: u8,
    /// Upper-case hex, two digits a byte, no leading zero bytes.
    pub serial: String,
    /// The issuer as an RFC 4514 string.
    pub issuer: String,
    /// The issuer's commonName, if any.
    pub issuer_cn: Option<String>,
    /// The subject as an RFC 4514 string.
    pub subject: String,
    /// The subject's commonName, if any.
    pub subject_cn: Option<String>,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION_TAG: u8 = 0xA0;

/// A cursor over consecutive DER elements.
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Der { rest: bytes }
    }

    /// The next element: its tag, its contents, and the whole encoding.
    fn next(&mut self) -> Option<(u8, &'a [u8], &'a [u8])> {
        let all = self.rest;
        let tag = *all.first()?;
        if tag & 0x1F == 0x1F {
            return None; // multi-byte tags appear nowhere this module reads
        }
        let first = *all.get(1)? as usize;
        let (len, header) = if first < 0x80 {
            (first, 2)
        } else {
            let n = first & 0x7F;
            if n == 0 || n > 4 {
                return None;
            }
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | *all.get(2 + i)? as usize;
            }
            (len, 2 + n)
        };
        let end = header.checked_add(len)?;
        if end > all.len() {
            return None;
        }
        self.rest = &all[end..];
        Some((tag, &all[header..end], &all[..end]))
    }

    /// The next element, which must have `tag`.
    fn take(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (t, body, _) if t == tag => Some(body),
            _ => None,
        }
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }
}

/// Read the fields of a DER certificate.
pub(crate) fn parse(cert: &[u8]) -> Option<CertFields> {
    let certificate = Der::new(cert).take(SEQUENCE)?;
    let tbs = Der::new(certificate).take(SEQUENCE)?;
    let mut tbs = Der::new(tbs);
    let mut version = 1;
    if tbs.peek_tag() == Some(VERSION_TAG) {
        let v = tbs.take(VERSION_TAG)?;
        let v = Der::new(v).take(INTEGER)?;
        version = v.last().copied().unwrap_or(0).saturating_add(1);
    }
    let serial = hex_serial(tbs.take(INTEGER)?);
    let _signature = tbs.take(SEQUENCE)?;
    let issuer = tbs.take(SEQUENCE)?;
    let validity = tbs.take(SEQUENCE)?;
    let subject = tbs.take(SEQUENCE)?;
    let mut validity = Der::new(validity);
    let not_before = time(&mut validity)?;
    let not_after = time(&mut validity)?;
    let (issuer, issuer_cn) = name(issuer)?;
    let (subject, subject_cn) = name(subject)?;
    Some(CertFields {
        version,
        serial,
        issuer,
        issuer_cn,
        subject,
        subject_cn,
        not_before,
        not_after,
    })
}

/// A serial number as OpenSSL prints it: upper-case hex, two digits a byte, no sign byte.
fn hex_serial(int: &[u8]) -> String {
    let start = int.iter().position(|&b| b != 0).unwrap_or(int.len());
    let digits = &int[start..];
    if digits.is_empty() {
        return "00".to_string();
    }
    let mut s = String::with_capacity(digits.len() * 2);
    for b in digits {
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// A UTCTime or GeneralizedTime (always UTC in certificates), as Unix seconds.
fn time(der: &mut Der<'_>) -> Option<i64> {
    let (tag, body, _) = der.next()?;
    let text = std::str::from_utf8(body).ok()?;
    let text = text.strip_suffix('Z')?;
    let (year, rest) = match tag {
        UTC_TIME => {
            let yy: i64 = digits(text.get(0..2)?)?;
            // RFC 5280 4.1.2.5.1: 50..99 are 19YY, 00..49 are 20YY.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        GENERALIZED_TIME => (digits(text.get(0..4)?)?, text.get(4..)?),
        _ => return None,
    };
    // Fractions of a second (GeneralizedTime allows them) do not matter here.
    let rest = rest.split('.').next()?;
    let month: i64 = digits(rest.get(0..2)?)?;
    let day: i64 = digits(rest.get(2..4)?)?;
    let hour: i64 = digits(rest.get(4..6)?)?;
    let minute: i64 = digits(rest.get(6..8)?)?;
    let second: i64 = match rest.get(8..10) {
        Some(s) => digits(s)?,
        None => 0,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second.min(60))
}

fn digits(s: &str) -> Option<i64> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Count years from March, so the leap day is the last day of the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A time as OpenSSL's `ASN1_TIME_print` writes it (and so mod_ssl's SSL_CLIENT_V_START):
/// `Jan  2 03:04:05 2026 GMT`.
pub(crate) fn format_time(unix: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let name = MONTHS
        .get((month as usize).saturating_sub(1))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{name} {day:>2} {:02}:{:02}:{:02} {year} GMT",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// The short names OpenSSL uses in RFC 2253 output, by the DER contents of their OID.
const ATTRIBUTES: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x04], "SN"),
    (&[0x55, 0x04, 0x05], "serialNumber"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x09], "street"),
    (&[0x55, 0x04, 0x0A], "O"),
    (&[0x55, 0x04, 0x0B], "OU"),
    (&[0x55, 0x04, 0x0C], "title"),
    (&[0x55, 0x04, 0x11], "postalCode"),
    (&[0x55, 0x04, 0x2A], "GN"),
    (&[0x55, 0x04, 0x2B], "initials"),
    (&[0x55, 0x04, 0x2E], "dnQualifier"),
    (
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x01],
        "emailAddress",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x19],
        "DC",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x01],
        "UID",
    ),
];

const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// A Name as an RFC 4514 string (the last RDN first), and its first commonName.
fn name(der: &[u8]) -> Option<(String, Option<String>)> {
    let mut rdns = Vec::new();
    let mut cn = None;
    let mut seq = Der::new(der);
    while !seq.rest.is_empty() {
        let set = seq.take(SET)?;
        let mut parts = Vec::new();
        let mut set = Der::new(set);
        while !set.rest.is_empty() {
            let atv = set.take(SEQUENCE)?;
            let mut atv = Der::new(atv);
            let oid = atv.take(OID)?;
            let (tag, body, whole) = atv.next()?;
            let mut part = String::new();
            match ATTRIBUTES.iter().find(|(o, _)| *o == oid) {
                Some((_, short)) => part.push_str(short),
                None => part.push_str(&dotted(oid)),
            }
            part.push('=');
            match string_value(tag, body) {
                Some(text) => {
                    escape_into(&text, &mut part);
                    if oid == COMMON_NAME && cn.is_none() {
                        cn = Some(text);
                    }
                }
                None => {
                    // RFC 4514 2.4: a value of a type that is not a string is `#` and its DER.
                    part.push('#');
                    for b in whole {
                        let _ = write!(part, "{b:02X}");
                    }
                }
            }
            parts.push(part);
        }
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Some((rdns.join(","), cn))
}

/// The text of a directory string, or `None` for a type that is not one.
fn string_value(tag: u8, body: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, NumericString, PrintableString, IA5String, VisibleString
        0x0C | 0x12 | 0x13 | 0x16 | 0x1A => Some(String::from_utf8_lossy(body).into_owned()),
        // TeletexString: in practice latin-1
        0x14 => Some(body.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UTF-16 big-endian
        0x1E => {
            let units: Vec<u16> = body
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        // UniversalString: UTF-32 big-endian
        0x1C => Some(
            body.chunks_exact(4)
                .map(|p| {
                    char::from_u32(u32::from_be_bytes([p[0], p[1], p[2], p[3]]))
                        .unwrap_or(char::REPLACEMENT_CHARACTER)
                })
                .collect(),
        ),
        _ => None,
    }
}

/// Escape an attribute value as RFC 4514 section 2.4 asks.
fn escape_into(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// An OID in dotted-decimal form.
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &b in oid {
        value = (value << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    let parts: Vec<String> = arcs.iter().map(u64::to_string).collect();
    parts.join(".")
}

/// A DER certificate as PEM: base64 in lines of 64, with a final newline (as OpenSSL writes it).
pub(crate) fn to_pem(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = Vec::with_capacity(der.len().div_ceil(3) * 4);
    for group in der.chunks(3) {
        let n = group.len();
        let word = (u32::from(group[0]) << 16)
            | (u32::from(*group.get(1).unwrap_or(&0)) << 8)
            | u32::from(*group.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                b64.push(ALPHABET[(word >> (18 - 6 * i)) as usize & 63]);
            } else {
                b64.push(b'=');
            }
        }
    }
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in b64.chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_print_as_openssl_does() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-800_000, -1, 0, 59, 11_016, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        assert_eq!(format_time(0), "Jan  1 00:00:00 1970 GMT");
        assert_eq!(format_time(1_767_323_045), "Jan  2 03:04:05 2026 GMT");
        assert_eq!(format_time(951_782_400), "Feb 29 00:00:00 2000 GMT");
    }

    #[test]
    fn times_in_both_encodings() {
        let utc = [
            UTC_TIME, 13, b'2', b'6', b'0', b'1', b'0', b'2', b'0', b'3', b'0', b'4', b'0', b'5',
            b'Z',
        ];
        assert_eq!(time(&mut Der::new(&utc)), Some(1_767_323_045));
        let gen = b"\x18\x0f20500101000000Z";
        assert_eq!(time(&mut Der::new(gen)), Some(2_524_608_000));
        let old = b"\x17\x0d491231235959Z";
        assert_eq!(
            format_time(time(&mut Der::new(old)).unwrap_or(0)),
            "Dec 31 23:59:59 2049 GMT"
        );
    }

    #[test]
    fn serials_drop_the_sign_byte() {
        assert_eq!(hex_serial(&[0x00, 0xA1, 0x02]), "A102");
        assert_eq!(hex_serial(&[0x01]), "01");
        assert_eq!(hex_serial(&[0x00]), "00");
    }

    #[test]
    fn names_are_rfc4514_most_specific_first() {
        // SEQUENCE { SET { C=US }, SET { O="A, B" }, SET { CN=x + UID=y } }
        let mut der = Vec::new();
        let atv = |oid: &[u8], tag: u8, v: &[u8]| {
            let mut a = vec![OID, oid.len() as u8];
            a.extend_from_slice(oid);
            a.push(tag);
            a.push(v.len() as u8);
            a.extend_from_slice(v);
            let mut s = vec![SEQUENCE, a.len() as u8];
            s.extend(a);
            s
        };
        let set = |parts: Vec<Vec<u8>>| {
            let body: Vec<u8> = parts.concat();
            let mut s = vec![SET, body.len() as u8];
            s.extend(body);
            s
        };
        der.extend(set(vec![atv(&[0x55, 4, 6], 0x13, b"US")]));
        der.extend(set(vec![atv(&[0x55, 4, 10], 0x0C, b"A, B")]));
        der.extend(set(vec![
            atv(&[0x55, 4, 3], 0x0C, b" x"),
            atv(&[0x2B, 6, 1, 4, 1, 0x82, 0x37], 0x0C, b"y#"),
        ]));
        let (text, cn) = name(&der).unwrap_or_default();
        assert_eq!(text, "CN=\\ x+1.3.6.1.4.1.311=y#,O=A\\, B,C=US");
        assert_eq!(cn.as_deref(), Some(" x"));
    }

    #[test]
    fn pem_wraps_base64_at_64_columns() {
        let pem = to_pem(&[0u8; 49]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2], "AA==");
        assert_eq!(lines[3], "-----END CERTIFICATE-----");
        assert!(to_pem(b"ab").contains("\nYWI=\n"));
        assert!(to_pem(b"a").contains("\nYQ==\n"));
    }
}
