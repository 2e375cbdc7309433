// Request smuggling (desync) payloads: CL.TE, TE.CL, TE.TE obfuscations, and the line-ending,
// chunk-size and chunk-extension tricks behind published CVEs of llhttp (node:http), waitress,
// gunicorn, hyper and others. Every payload carries a second request, GET /smuggled; whatever the
// server answers, that request must never reach the app. Each case must be refused (4xx/5xx and
// a closed connection) or closed silently; where the head is valid and only the body is
// malformed, the app runs once and its read fails (see cases/chunked.mjs).
//
// The payloads are written from the advisories' descriptions, not copied from exploits.

export const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n'
const S = SMUGGLED

/** A refused head: 400 (or another 4xx/5xx listed), closed, the app never runs. */
const head = (id, title, rfc, request, expect = 400) => ({ id, title, rfc, request, expect, conn: 'closed' })

/** A valid head with a body the decoder must refuse: the app runs once, its read fails, 400. */
const body = (id, title, rfc, request) => ({ id, title, rfc, request, expect: 400, conn: 'closed', appCalls: 1 })

export default [
  head(
    'SM-01',
    'CL.TE: Content-Length covers a smuggled request that chunked framing would leave over',
    'RFC 9112 §6.1, §6.3; PortSwigger CL.TE',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-02',
    'TE.CL: a short Content-Length leaves chunk data to be read as a request',
    'RFC 9112 §6.1, §6.3; PortSwigger TE.CL',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${S.length.toString(16)}\r\n${S}\r\n0\r\n\r\n`,
  ),
  head(
    'SM-03',
    'TE.TE: Transfer-Encoding: xchunked with a Content-Length',
    'RFC 9112 §6.1; PortSwigger TE.TE',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-04',
    'TE.TE: a space before the colon of Transfer-Encoding (llhttp CVE-2021-22959, netty CVE-2020-7238)',
    'RFC 9112 §5.1',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-05',
    'TE.TE: Transfer-Encoding: chunked then Transfer-Encoding: x',
    'RFC 9112 §6.1; PortSwigger TE.TE',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-06',
    'TE.TE: a tab before chunked, with a Content-Length',
    'RFC 9112 §6.1; PortSwigger TE.TE',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-08',
    'TE.TE: a vertical tab before chunked (waitress CVE-2019-16789)',
    'RFC 9110 §5.5, RFC 9112 §6.1',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-09',
    'TE.TE: a form feed after chunked (waitress CVE-2019-16789)',
    'RFC 9110 §5.5, RFC 9112 §6.1',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\x0c\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-10',
    'TE.TE: Transfer-Encoding folded onto a second line (llhttp CVE-2022-32215)',
    'RFC 9112 §5.2',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-11',
    'TE.TE: a space before the Transfer-Encoding line (obs-fold onto the previous field)',
    'RFC 9112 §5.2; PortSwigger TE.TE',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-12',
    'a bare LF hides a Transfer-Encoding line inside another field (waitress CVE-2019-16785, llhttp CVE-2022-32214)',
    'RFC 9112 §2.2',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nX: x\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-13',
    'a bare LF hides a second Content-Length (waitress GHSA-pg36-wpm5-g57p)',
    'RFC 9112 §2.2',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${S.length}\r\nX-Header: x\nContent-Length: 0\r\n\r\n${S}`,
  ),
  head(
    'SM-14',
    'a bare CR ends a field line and hides Transfer-Encoding (llhttp CVE-2023-30589)',
    'RFC 9112 §2.2',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nX: x\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-15',
    'a head ended by CRLF CR and another byte instead of CRLF CRLF (llhttp CVE-2025-23167)',
    'RFC 9112 §2.2',
    `GET / HTTP/1.1\r\nHost: h\r\n\rX${S}`,
  ),
  head(
    'SM-16',
    'a space before the first field line hides Content-Length (node CVE-2024-27982)',
    'RFC 9112 §2.2, §5.2',
    `POST / HTTP/1.1\r\n Content-Length: ${S.length}\r\nHost: h\r\n\r\n${S}`,
  ),
  head(
    'SM-17',
    'Transfer-Encoding: chunked, gzip — chunked not last (gunicorn CVE-2024-1135)',
    'RFC 9112 §6.1',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-18',
    'an unknown coding with a Content-Length must not fall back to the Content-Length (gunicorn CVE-2024-6827)',
    'RFC 9112 §6.1, §6.3',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nTransfer-Encoding: chunked-false\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-19',
    'two Transfer-Encoding fields, chunked then gzip (hyper CVE-2021-21299)',
    'RFC 9112 §6.1',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-20',
    'a Content-Length with a plus sign (hyper CVE-2021-32715, waitress CVE-2022-24761)',
    'RFC 9110 §8.6',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +${S.length}\r\n\r\n${S}`,
  ),
  head(
    'SM-21',
    'CL.CL: two different Content-Length fields',
    'RFC 9112 §6.3 (5)',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: ${S.length}\r\n\r\n${S}`,
  ),
  head(
    'SM-22',
    'CL.CL: a Content-Length list of different values',
    'RFC 9110 §8.6, RFC 9112 §6.3 (5)',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0, ${S.length}\r\n\r\n${S}`,
  ),
  head(
    'SM-23',
    'Transfer-Encoding with a Content-Length on an HTTP/1.0 request',
    'RFC 9112 §6.1',
    `POST / HTTP/1.0\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-24',
    'a NUL after chunked',
    'RFC 9110 §5.5',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${`0\r\n\r\n${S}`.length}\r\nTransfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-25',
    'a quoted "chunked"',
    'RFC 9112 §6.1, §7',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-26',
    'CL.TE in upper case with Expect: 100-continue',
    'RFC 9112 §6.1',
    `POST / HTTP/1.1\r\nHost: h\r\nEXPECT: 100-continue\r\nCONTENT-LENGTH: ${`0\r\n\r\n${S}`.length}\r\nTRANSFER-ENCODING: CHUNKED\r\n\r\n0\r\n\r\n${S}`,
  ),
  head(
    'SM-27',
    'a request line ended by a bare LF followed by a full request (waitress CVE-2019-16785)',
    'RFC 9112 §2.2',
    `GET /a HTTP/1.1\nHost: h\r\n\r\n${S}`,
  ),
  body(
    'SM-28',
    'a chunk size that overflows 64 bits to a small number (hyper CVE-2021-32714)',
    'RFC 9112 §7.1',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nf0000000000000003\r\nabc\r\n0\r\n\r\n${S}`,
  ),
  body(
    'SM-29',
    'a chunk size with a 0x prefix (waitress CVE-2022-24761, protocol-http1 CVE-2023-38697)',
    'RFC 9112 §7.1',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x${S.length.toString(16)}\r\n${S}\r\n0\r\n\r\n`,
  ),
  body(
    'SM-30',
    'a chunk size with a plus sign (waitress CVE-2022-24761)',
    'RFC 9112 §7.1',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n+${S.length.toString(16)}\r\n${S}\r\n0\r\n\r\n`,
  ),
  body(
    'SM-31',
    'a chunk extension carrying a control character (waitress CVE-2022-24761)',
    'RFC 9112 §7.1.1',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext\x01=1\r\nabc\r\n0\r\n\r\n${S}`,
  ),
  body(
    'SM-32',
    'a bare LF inside a chunk extension ends the line for a lenient parser (llhttp CVE-2021-22960, protocol-http1 CVE-2023-38697)',
    'RFC 9112 §7.1.1, §2.2',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;a\nxyz\r\nabc\r\n0\r\n\r\n${S}`,
  ),
  body(
    'SM-33',
    'two bytes other than CRLF after chunk data are taken as the delimiter by a lenient parser (h11 CVE-2025-43859)',
    'RFC 9112 §7.1',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n${S}`,
  ),
  body(
    'SM-34',
    'a chunk-size line ended by a bare LF (llhttp CVE-2022-32214 family)',
    'RFC 9112 §7.1, §2.2',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n${S}`,
  ),
  body(
    'SM-35',
    'a request line in the trailer section',
    'RFC 9112 §7.1.2',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n`,
  ),
  body(
    'SM-36',
    'whitespace after the chunk size (a parser that stops at the space reads a different size)',
    'RFC 9112 §7.1',
    `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3 0\r\nabc\r\n0\r\n\r\n${S}`,
  ),
  {
    id: 'SM-37',
    title: 'an invalid chunked body the app never reads: the answer goes out, the connection closes, /smuggled never runs',
    rfc: 'RFC 9112 §7.1, §9.6',
    request: `POST /?noread=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX${S}`,
    expect: 200,
    conn: 'closed',
  },
  head(
    'SM-38',
    'a Content-Length with a trailing letter (lenient integer parsers read the digits only)',
    'RFC 9110 §8.6',
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x\r\n\r\n${S}`,
  ),
]
