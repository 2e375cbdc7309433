// Expect: 100-continue (RFC 9110 §10.1.1): the interim 100 goes out only when the app reads the
// body; a request refused for its declared size gets the final answer with no 100 first; a
// client that sends the body without waiting is read normally.

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n'
const interims = (o) => o.responses.filter((r) => r.interim).map((r) => r.status)

export default [
  {
    id: 'EC-01',
    title: 'the app reads: 100 Continue, then the client sends the body, then 200',
    rfc: 'RFC 9110 §10.1.1',
    request: ['POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n', { waitFor: CONTINUE, data: 'hello' }],
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      t.deepEqual(interims(o), [100])
      t.is(o.calls[0]?.body, 'hello')
    },
  },
  {
    id: 'EC-02',
    title: 'the app does not read: no 100, the answer, then the connection closes (the body never came)',
    rfc: 'RFC 9110 §10.1.1',
    request: 'POST /?noread=1 HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
    expect: 200,
    conn: 'closed',
    check: (t, o) => t.deepEqual(interims(o), []),
  },
  {
    id: 'EC-03',
    title: 'the client sends the body at once without waiting: it is read normally',
    rfc: 'RFC 9110 §10.1.1',
    request: 'POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello',
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      t.is(o.calls[0]?.body, 'hello')
      t.true(interims(o).every((s) => s === 100), 'at most a 100 before the 200')
    },
  },
  {
    id: 'EC-04',
    title: 'Expect: 100-continue on HTTP/1.0 is ignored: no 100',
    rfc: 'RFC 9110 §10.1.1',
    request: 'POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello',
    expect: 200,
    conn: 'closed',
    check: (t, o) => {
      t.deepEqual(interims(o), [])
      t.is(o.calls[0]?.body, 'hello')
    },
  },
  {
    id: 'EC-05',
    title: 'an unknown expectation gets 417 and the app never runs',
    rfc: 'RFC 9110 §10.1.1',
    request: 'POST / HTTP/1.1\r\nHost: h\r\nExpect: the-unexpected\r\nContent-Length: 5\r\n\r\nhello',
    expect: 417,
    conn: 'closed',
  },
  {
    id: 'EC-06',
    title: 'Expect: 100-continue without a body: no 100',
    rfc: 'RFC 9110 §10.1.1',
    request: 'GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => t.deepEqual(interims(o), []),
  },
  {
    id: 'EC-07',
    title: 'the expectation token is case-insensitive',
    rfc: 'RFC 9110 §10.1.1',
    request: ['POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n', { waitFor: CONTINUE, data: 'hello' }],
    expect: 200,
    conn: 'open',
    check: (t, o) => t.deepEqual(interims(o), [100]),
  },
  {
    id: 'EC-08',
    title: 'a chunked body with Expect: 100-continue',
    rfc: 'RFC 9110 §10.1.1, RFC 9112 §7.1',
    request: ['POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n', { waitFor: CONTINUE, data: '5\r\nhello\r\n0\r\n\r\n' }],
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      t.deepEqual(interims(o), [100])
      t.is(o.calls[0]?.body, 'hello')
    },
  },
  {
    id: 'EC-09',
    title: 'Expect: 100-continue with Content-Length: 0: no 100',
    rfc: 'RFC 9110 §10.1.1',
    request: 'POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => t.deepEqual(interims(o), []),
  },
  {
    id: 'EC-10',
    title: 'a declared body over the limit with Expect: 100-continue: 413, no 100',
    rfc: 'RFC 9110 §10.1.1, §15.5.14',
    options: { maxRequestBodySize: 4 },
    compare: false,
    request: 'POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
    expect: 413,
    conn: 'closed',
    check: (t, o) => t.deepEqual(interims(o), []),
  },
  {
    id: 'EC-11',
    title: 'the 100 Continue is a bare interim response: no body, no Content-Length, no Transfer-Encoding',
    rfc: 'RFC 9110 §15.2',
    request: ['POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n', { waitFor: CONTINUE, data: 'hello' }],
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      const c = o.responses.find((r) => r.interim)
      t.truthy(c)
      t.is(c?.headers['content-length'], undefined)
      t.is(c?.headers['transfer-encoding'], undefined)
      t.true(o.bytes.toString('latin1').startsWith(CONTINUE + 'HTTP/1.1 200'), 'the final response follows the 100 directly')
    },
  },
]
