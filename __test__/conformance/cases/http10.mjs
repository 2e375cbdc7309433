// HTTP/1.0: requests in 1.0 (RFC 9112 §9.3, Appendix C.2.2), and the `protocol: 'HTTP/1.0'`
// option that limits the server to 1.0 features as the original server did: responses say
// HTTP/1.0, never use chunked (RFC 9112 §6.1: not for 1.0 recipients), keep-alive only when asked.

const HTTP10 = { protocol: 'HTTP/1.0' }

const version = (v) => (t, o) => {
  for (const r of o.responses) t.is(r.version, v, `every response says HTTP/${v}`)
}
const closeDelimited = (text) => (t, o) => {
  const r = o.finals[0]
  t.is(r?.headers['transfer-encoding'], undefined, 'no chunked')
  t.is(r?.headers['content-length'], undefined)
  t.is(r?.framing, 'close', 'the body ends with the connection')
  t.is(r?.text, text)
}

export default [
  {
    id: 'PV-01',
    title: "protocol 'HTTP/1.0': a 1.1 request gets an HTTP/1.0 answer and the connection closes",
    rfc: 'RFC 9110 §6.2, RFC 9112 §9.3',
    options: HTTP10,
    compare: false,
    request: 'GET / HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'closed',
    check: version('1.0'),
  },
  {
    id: 'PV-02',
    title: "protocol 'HTTP/1.0': a streamed body is close-delimited, never chunked",
    rfc: 'RFC 9112 §6.1, §6.3',
    options: HTTP10,
    compare: false,
    request: 'GET /?mode=stream HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'closed',
    check: (t, o) => {
      version('1.0')(t, o)
      closeDelimited('ok 0')(t, o)
    },
  },
  {
    id: 'PV-03',
    title: "protocol 'HTTP/1.0': keep-alive when asked, with a Content-Length",
    rfc: 'RFC 9112 Appendix C.2.2',
    options: HTTP10,
    compare: false,
    request: 'GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      version('1.0')(t, o)
      t.is(o.finals[0]?.headers.connection?.toLowerCase(), 'keep-alive')
      t.is(o.finals[0]?.headers['content-length'], '4')
    },
  },
  {
    id: 'PV-04',
    title: "protocol 'HTTP/1.0': keep-alive asked but the body is streamed: close-delimited",
    rfc: 'RFC 9112 §6.3, Appendix C.2.2',
    options: HTTP10,
    compare: false,
    request: 'GET /?mode=stream HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n',
    expect: 200,
    conn: 'closed',
    check: closeDelimited('ok 0'),
  },
  {
    id: 'PV-05',
    title: "protocol 'HTTP/1.0': no 100 Continue (a 1.0 server has no interim responses)",
    rfc: 'RFC 9110 §10.1.1, §15.2',
    options: HTTP10,
    compare: false,
    request: 'POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello',
    expect: 200,
    conn: 'closed',
    check: (t, o) => {
      t.false(o.bytes.toString('latin1').includes(' 100 '), 'no interim response')
      t.is(o.calls[0]?.body, 'hello')
    },
  },
  {
    id: 'PV-06',
    title: "protocol 'HTTP/1.0': the server's own rejects say HTTP/1.0 too",
    rfc: 'RFC 9110 §6.2',
    options: HTTP10,
    compare: false,
    request: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    expect: 400,
    conn: 'closed',
    check: version('1.0'),
  },
  {
    id: 'PV-07',
    title: "protocol 'HTTP/1.0': HTTP/2.0 still gets 505",
    rfc: 'RFC 9110 §15.6.6',
    options: HTTP10,
    compare: false,
    request: 'GET / HTTP/2.0\r\nHost: h\r\n\r\n',
    expect: 505,
    conn: 'closed',
  },
  {
    id: 'PV-08',
    title: "protocol 'HTTP/1.0': a 204 has no body either",
    rfc: 'RFC 9110 §15.3.5',
    options: HTTP10,
    compare: false,
    request: 'GET /?status=204&mode=stream HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 204,
    appCalls: 1,
    conn: 'closed',
    check: (t, o) => {
      t.is(o.finals[0]?.headers['transfer-encoding'], undefined)
      t.is(o.bytes.length, o.bytes.indexOf('\r\n\r\n') + 4, 'no bytes after the head')
    },
  },
  {
    id: 'PV-09',
    title: 'a 1.0 request to a 1.1 server: a streamed body is close-delimited',
    rfc: 'RFC 9112 §6.1, §6.3',
    request: 'GET /?mode=stream HTTP/1.0\r\n\r\n',
    expect: 200,
    conn: 'closed',
    check: closeDelimited('ok 0'),
  },
  {
    id: 'PV-10',
    title: 'a 1.0 request with keep-alive and a known length stays open',
    rfc: 'RFC 9112 Appendix C.2.2',
    request: 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => t.is(o.finals[0]?.headers.connection?.toLowerCase(), 'keep-alive'),
  },
  {
    id: 'PV-11',
    title: 'a 1.0 request closes by default',
    rfc: 'RFC 9112 §9.3',
    request: 'GET / HTTP/1.0\r\n\r\n',
    expect: 200,
    conn: 'closed',
  },
  {
    id: 'PV-12',
    title: 'a 1.1 request with Connection: close is answered and closed',
    rfc: 'RFC 9112 §9.6',
    request: 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    expect: 200,
    conn: 'closed',
    check: (t, o) => t.is(o.finals[0]?.headers.connection?.toLowerCase(), 'close'),
  },
  {
    id: 'PV-13',
    title: 'Connection: close among other tokens still closes',
    rfc: 'RFC 9112 §9.6, RFC 9110 §7.6.1',
    request: 'GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, Close\r\n\r\n',
    expect: 200,
    conn: 'closed',
  },
]
