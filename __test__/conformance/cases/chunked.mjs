// The chunked transfer coding (RFC 9112 §7.1): hex sizes, extensions, CRLF after every line and
// every chunk, trailers that are read, limited, and never merged into the request headers.
//
// A chunked body is decoded while the app reads it, so a framing error surfaces in the app: its
// wsgi.input read rejects with GH_ERR_BODY_INVALID, the app lets it propagate, and the gateway
// answers 400 (the client sent a malformed message, RFC 9112 §7.1 / §6.3) with Connection:
// close; nothing after the bad body is read as a request.
import { environOf } from '../harness.mjs'

const HEAD = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'

const readError = (code) => (t, o) => {
  t.deepEqual(o.readErrors, [code], `the app's read rejects with ${code}`)
  const r = o.finals[0]
  if (r) t.is((r.headers.connection ?? '').toLowerCase(), 'close', 'the answer says Connection: close')
}

/** A chunked body the decoder must refuse. */
const bad = (id, title, rfc, chunks) => ({
  id,
  title,
  rfc,
  request: HEAD + chunks,
  expect: 400,
  conn: 'closed',
  appCalls: 1,
  check: readError('GH_ERR_BODY_INVALID'),
})

/** A chunked body that decodes to `text`. */
const good = (id, title, rfc, chunks, text, extra) => ({
  id,
  title,
  rfc,
  request: HEAD + chunks,
  expect: 200,
  conn: 'open',
  check: (t, o) => {
    t.is(o.calls[0]?.body, text)
    extra?.(t, o)
  },
})

export default [
  good('CH-01', 'two chunks and the last chunk', 'RFC 9112 §7.1', '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', 'hello world'),
  good('CH-02', 'upper-case hex digits', 'RFC 9112 §7.1', 'A\r\n0123456789\r\n0\r\n\r\n', '0123456789'),
  good('CH-03', 'a chunk size with leading zeros', 'RFC 9112 §7.1', '0005\r\nhello\r\n0\r\n\r\n', 'hello'),
  good('CH-04', 'a chunk extension with a token value', 'RFC 9112 §7.1.1', '5;name=value\r\nhello\r\n0\r\n\r\n', 'hello'),
  good('CH-05', 'a chunk extension with a quoted value', 'RFC 9112 §7.1.1', '5;name="a b;c"\r\nhello\r\n0\r\n\r\n', 'hello'),
  good('CH-06', 'a chunk extension without a value', 'RFC 9112 §7.1.1', '5;flag\r\nhello\r\n0\r\n\r\n', 'hello'),
  good('CH-07', 'bad whitespace (BWS) around ";" and "="', 'RFC 9112 §7.1.1', '5 ; a = b\r\nhello\r\n0\r\n\r\n', 'hello'),
  good('CH-08', 'the chunk data may contain CRLF and "0\\r\\n\\r\\n"', 'RFC 9112 §7.1', '7\r\n0\r\n\r\nxx\r\n0\r\n\r\n', '0\r\n\r\nxx'),
  good(
    'CH-09',
    'a trailer field is read and not shown as a request header',
    'RFC 9112 §7.1.2',
    '5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n',
    'hello',
    (t, o) => t.is(environOf(o).HTTP_X_TRAILER, undefined),
  ),
  good(
    'CH-10',
    'a trailer does not overwrite a request header (X-A, Host)',
    'RFC 9110 §6.5.1',
    '5\r\nhello\r\n0\r\nX-A: trailer\r\nHost: evil.example\r\n\r\n',
    'hello',
    (t, o) => {
      t.is(environOf(o).HTTP_X_A, undefined)
      t.is(environOf(o).HTTP_HOST, 'h')
    },
  ),
  bad('CH-11', 'a Content-Length in the trailer section', 'RFC 9110 §6.5.1', '5\r\nhello\r\n0\r\nContent-Length: 100\r\n\r\n'),
  bad('CH-12', 'a Transfer-Encoding in the trailer section', 'RFC 9110 §6.5.1', '5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n'),
  good('CH-13', 'a hundred one-byte chunks', 'RFC 9112 §7.1', `${'1\r\nx\r\n'.repeat(100)}0\r\n\r\n`, 'x'.repeat(100)),
  good('CH-14', 'an extension on the last chunk', 'RFC 9112 §7.1.1', '5\r\nhello\r\n0;end=1\r\n\r\n', 'hello'),
  bad('CH-15', 'an extension with no name', 'RFC 9112 §7.1.1', '5;\r\nhello\r\n0\r\n\r\n'),
  bad('CH-16', 'an extension value with a space in a token', 'RFC 9112 §7.1.1', '5;a=b c\r\nhello\r\n0\r\n\r\n'),
  bad('CH-17', 'an extension with "=" but no value', 'RFC 9112 §7.1.1', '5;a=\r\nhello\r\n0\r\n\r\n'),
  bad('CH-18', 'an unterminated quoted extension value', 'RFC 9112 §7.1.1', '5;a="b\r\nhello\r\n0\r\n\r\n'),
  bad('CH-19', 'a control character inside a quoted extension value', 'RFC 9112 §7.1.1, RFC 9110 §5.6.4', '5;a="\x01"\r\nhello\r\n0\r\n\r\n'),
  bad('CH-20', 'a quoted-pair escaping a control character', 'RFC 9110 §5.6.4', '5;a="\\\x01"\r\nhello\r\n0\r\n\r\n'),
  bad('CH-21', 'a bare LF inside an extension', 'RFC 9112 §7.1.1, §2.2', '5;a\nb\r\nhello\r\n0\r\n\r\n'),
  bad('CH-22', 'a bare CR inside an extension', 'RFC 9112 §7.1.1, §2.2', '5;a\rb\r\nhello\r\n0\r\n\r\n'),
  bad('CH-23', 'a chunk size with a 0x prefix', 'RFC 9112 §7.1', '0x5\r\nhello\r\n0\r\n\r\n'),
  bad('CH-24', 'a negative chunk size', 'RFC 9112 §7.1', '-5\r\nhello\r\n0\r\n\r\n'),
  bad('CH-25', 'a chunk size with a plus sign', 'RFC 9112 §7.1', '+5\r\nhello\r\n0\r\n\r\n'),
  bad('CH-26', 'an empty chunk-size line', 'RFC 9112 §7.1', '\r\nhello\r\n0\r\n\r\n'),
  bad('CH-27', 'a chunk size that is not hex', 'RFC 9112 §7.1', 'g\r\nhello\r\n0\r\n\r\n'),
  bad('CH-28', 'a chunk size of 18 hex digits (overflows 64 bits)', 'RFC 9112 §7.1', 'ffffffffffffffffff\r\nhello\r\n0\r\n\r\n'),
  bad('CH-29', 'a chunk size 2^64 + 5 that wraps to 5 in 64-bit arithmetic', 'RFC 9112 §7.1', '10000000000000005\r\nhello\r\n0\r\n\r\n'),
  bad('CH-30', 'a chunk size of 2^63 (negative as a signed 64-bit number)', 'RFC 9112 §7.1', '8000000000000000\r\nhello\r\n0\r\n\r\n'),
  bad('CH-31', 'whitespace after the chunk size and no extension', 'RFC 9112 §7.1', '5 \r\nhello\r\n0\r\n\r\n'),
  bad('CH-32', 'whitespace before the chunk size', 'RFC 9112 §7.1', ' 5\r\nhello\r\n0\r\n\r\n'),
  bad('CH-33', 'two bytes other than CRLF after the chunk data', 'RFC 9112 §7.1', '5\r\nhelloXX0\r\n\r\n'),
  bad('CH-34', 'a bare LF after the chunk data', 'RFC 9112 §7.1, §2.2', '5\r\nhello\n0\r\n\r\n'),
  bad('CH-35', 'a chunk-size line ended by a bare LF', 'RFC 9112 §7.1, §2.2', '5\nhello\r\n0\r\n\r\n'),
  bad('CH-36', 'the last chunk ended by a bare LF', 'RFC 9112 §7.1, §2.2', '5\r\nhello\r\n0\n\r\n'),
  bad('CH-37', 'the body ended by a bare LF', 'RFC 9112 §7.1, §2.2', '5\r\nhello\r\n0\r\n\n'),
  bad('CH-38', 'chunk data longer than its size', 'RFC 9112 §7.1', '3\r\nhello\r\n0\r\n\r\n'),
  bad('CH-39', 'a trailer field with a space in its name', 'RFC 9112 §7.1.2, RFC 9110 §5.1', '5\r\nhello\r\n0\r\nX A: 1\r\n\r\n'),
  bad('CH-40', 'obs-fold in the trailer section', 'RFC 9112 §7.1.2, §5.2', '5\r\nhello\r\n0\r\nX-A: 1\r\n 2\r\n\r\n'),
  bad('CH-41', 'a trailer line ended by a bare LF', 'RFC 9112 §7.1.2, §2.2', '5\r\nhello\r\n0\r\nX-A: 1\n\r\n'),
  bad('CH-42', 'a NUL in a trailer value', 'RFC 9112 §7.1.2, RFC 9110 §5.5', '5\r\nhello\r\n0\r\nX-A: a\x00b\r\n\r\n'),
  bad('CH-43', 'a trailer line without a colon', 'RFC 9112 §7.1.2', '5\r\nhello\r\n0\r\nX-A\r\n\r\n'),
  bad('CH-44', 'a chunk-size line over 4 KiB', 'RFC 9112 §7.1.1 (limit chunk extensions)', `5;a=${'b'.repeat(5000)}\r\nhello\r\n0\r\n\r\n`),
  bad(
    'CH-45',
    'more than 16 KiB of chunk extensions in one body (CVE-2024-22019, CVE-2023-39326)',
    'RFC 9112 §7.1.1 (limit chunk extensions)',
    `${`1;e=${'x'.repeat(1000)}\r\na\r\n`.repeat(20)}0\r\n\r\n`,
  ),
  {
    id: 'CH-46',
    title: 'a trailer section over 16 KiB',
    rfc: 'RFC 9112 §7.1.2 (limit trailers)',
    request: `${HEAD}5\r\nhello\r\n0\r\nX-Big: ${'t'.repeat(17 * 1024)}\r\n\r\n`,
    expect: [413, 431],
    conn: 'closed',
    appCalls: 1,
    check: readError('GH_ERR_BODY_TOO_LARGE'),
  },
  {
    id: 'CH-47',
    title: 'many small trailer fields adding up to over 16 KiB',
    rfc: 'RFC 9112 §7.1.2 (limit trailers)',
    request: `${HEAD}5\r\nhello\r\n0\r\n${'X-T: 0123456789abcdef\r\n'.repeat(800)}\r\n`,
    expect: [413, 431],
    conn: 'closed',
    appCalls: 1,
    check: readError('GH_ERR_BODY_TOO_LARGE'),
  },
  {
    id: 'CH-48',
    title: 'a valid chunked body the app does not read is drained; the connection stays usable',
    rfc: 'RFC 9112 §9.3, §7.1',
    request: 'POST /?noread=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    expect: 200,
    conn: 'open',
  },
  {
    id: 'CH-49',
    title: 'an invalid chunked body the app does not read: the answer goes out, then the connection closes',
    rfc: 'RFC 9112 §7.1, §9.6',
    request: 'POST /?noread=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX',
    expect: 200,
    conn: 'closed',
  },
]
