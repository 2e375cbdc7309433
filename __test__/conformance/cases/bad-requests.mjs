// How bad requests are answered: a short text/plain response with Connection: close and Date,
// then the connection is closed, and nothing — neither the bad request nor anything pipelined
// after it — reaches the app (RFC 9112 §9.6, RFC 9110 §6.6.1). The judge checks text/plain,
// Connection: close and the length for every reject; these cases add the rest.

const answered = (status) => (t, o) => {
  const r = o.finals[0]
  t.is(o.finals.length, 1, 'exactly one response')
  t.is(r?.status, status)
  t.is(r?.version, '1.1')
  t.truthy(r?.headers.date, 'Date on a reject')
  t.is(Number(r?.headers['content-length']), r?.body.length, 'Content-Length matches the body')
  t.is(r?.headers['transfer-encoding'], undefined)
}

export default [
  { id: 'BR-01', title: '400: one short text/plain answer, Date, closed', rfc: 'RFC 9112 §9.6', request: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', expect: 400, conn: 'closed', check: answered(400) },
  { id: 'BR-02', title: '505: one short text/plain answer, closed', rfc: 'RFC 9110 §15.6.6', request: 'GET / HTTP/2.0\r\nHost: h\r\n\r\n', expect: 505, conn: 'closed', check: answered(505) },
  { id: 'BR-03', title: '414: one short text/plain answer, closed', rfc: 'RFC 9110 §15.5.15', request: `GET /${'a'.repeat(17000)} HTTP/1.1\r\nHost: h\r\n\r\n`, expect: 414, conn: 'closed', check: answered(414) },
  { id: 'BR-04', title: '431: one short text/plain answer, closed', rfc: 'RFC 6585 §5', request: `GET / HTTP/1.1\r\nHost: h\r\nX: ${'a'.repeat(70000)}\r\n\r\n`, expect: 431, conn: 'closed', check: answered(431) },
  { id: 'BR-05', title: '417 for an expectation other than 100-continue', rfc: 'RFC 9110 §10.1.1, §15.5.18', request: 'POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx', expect: 417, conn: 'closed', check: answered(417) },
  { id: 'BR-06', title: '501 for a transfer coding that is not implemented', rfc: 'RFC 9112 §6.1', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br, chunked\r\n\r\n0\r\n\r\n', expect: 501, conn: 'closed', check: answered(501) },
  { id: 'BR-07', title: '405 for CONNECT', rfc: 'RFC 9110 §9.3.6', request: 'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n', expect: 405, conn: 'closed', check: answered(405) },
  {
    id: 'BR-08',
    title: 'a valid request pipelined after a bad one never reaches the app',
    rfc: 'RFC 9112 §9.6',
    request: 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 400,
    conn: 'closed',
    check: answered(400),
  },
  {
    id: 'BR-09',
    title: 'a bad request after a good one on a kept-alive connection: 200, then 400 and close',
    rfc: 'RFC 9112 §9.3, §9.6',
    request: 'GET /first HTTP/1.1\r\nHost: h\r\n\r\nGET /second HTTP/1.1\r\nHost: h\r\nX A: 1\r\n\r\nGET /third HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'closed',
    responses: 2,
    appCalls: 1,
    check: (t, o) => {
      t.deepEqual(
        o.finals.map((r) => r.status),
        [200, 400],
      )
      t.is(o.finals[1]?.headers.connection, 'close')
    },
  },
  {
    id: 'BR-10',
    title: 'a reject sent while the client keeps sending still closes the connection',
    rfc: 'RFC 9112 §9.6',
    request: ['GET / HTTP/2.0\r\nHost: h\r\n\r\n', { data: 'more bytes the server must not parse\r\n\r\n', delayMs: 100 }],
    expect: 505,
    conn: 'closed',
  },
  {
    id: 'BR-11',
    title: 'a reject on an HTTP/1.0 request is still a well-formed answer',
    rfc: 'RFC 9112 §9.6',
    request: 'GET / HTTP/1.0\r\nContent-Length: x\r\n\r\n',
    expect: 400,
    conn: 'closed',
  },
  {
    id: 'BR-12',
    title: 'the 413 for a declared body is short text/plain with Connection: close',
    rfc: 'RFC 9110 §15.5.14',
    options: { maxRequestBodySize: 4 },
    compare: false,
    request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello',
    expect: 413,
    conn: 'closed',
    check: answered(413),
  },
  {
    id: 'BR-13',
    title: 'a 400 for a request with a body: the body is not parsed as a request',
    rfc: 'RFC 9112 §9.6',
    request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 400,
    conn: 'closed',
    check: answered(400),
  },
  {
    id: 'BR-14',
    title: 'a refused HEAD request gets a reject without a body',
    rfc: 'RFC 9110 §9.3.2',
    request: 'HEAD / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    expect: 400,
    conn: 'closed',
    check: (t, o) => t.is(o.bytes.length, o.bytes.indexOf('\r\n\r\n') + 4, 'no bytes after the head'),
  },
  ...[
    ['BR-15', 'Content-Length then Transfer-Encoding', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['BR-16', 'Transfer-Encoding then Content-Length, a body behind', 'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['BR-17', 'both, and a tab around chunked', 'Content-Length: 5\r\nTransfer-Encoding:\tchunked\t\r\n\r\nhello'],
  ].map(([id, what, rest]) => ({
    id,
    title: `a HEAD request with both Content-Length and Transfer-Encoding (${what}) gets its 400, without a body, then the close`,
    rfc: 'RFC 9112 §6.1, §6.3; RFC 9110 §9.3.2',
    request: `HEAD / HTTP/1.1\r\nHost: h\r\n${rest}`,
    expect: 400,
    conn: 'closed',
    check: (t, o) => {
      t.is(o.finals.length, 1, 'exactly one response')
      t.is(o.finals[0]?.reason, 'Both Content-Length and Transfer-Encoding')
      t.is(o.bytes.length, o.bytes.indexOf('\r\n\r\n') + 4, 'no bytes after the head')
    },
  })),
]
