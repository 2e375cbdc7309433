// Responses without content: HEAD (RFC 9110 §9.3.2), 204 (§15.3.5), 205 (§15.3.6), 304
// (§15.4.5) and 1xx (§15.2) never carry a body or Transfer-Encoding, whatever the app yields, so
// the next response on the connection is read from the right byte (the probe checks that).
// The app takes ?status=NNN and ?mode=stream from the query string.

const nothingAfterHead = (t, o) => {
  const r = o.finals[0]
  t.truthy(r, 'a response')
  t.is(r?.headers['transfer-encoding'], undefined, 'no Transfer-Encoding')
  const end = o.bytes.indexOf('\r\n\r\n')
  t.is(o.bytes.length, end + 4, 'no bytes after the head')
}

const noLength = (t, o) => t.is(o.finals[0]?.headers['content-length'], undefined, 'no Content-Length')
const hasDate = (t, o) => t.truthy(o.finals[0]?.headers.date, 'Date on every response')

export default [
  {
    id: 'NB-01',
    title: 'HEAD: the headers GET would get (Content-Length) and no body',
    rfc: 'RFC 9110 §9.3.2',
    request: 'HEAD / HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'open',
    check: (t, o) => {
      nothingAfterHead(t, o)
      t.is(o.finals[0]?.headers['content-length'], '4', 'the length of "ok 0"')
      hasDate(t, o)
    },
  },
  { id: 'NB-02', title: 'HEAD answered with a streamed body: headers only, no chunked', rfc: 'RFC 9110 §9.3.2', request: 'HEAD /?mode=stream HTTP/1.1\r\nHost: h\r\n\r\n', expect: 200, conn: 'open', check: nothingAfterHead },
  {
    id: 'NB-03',
    title: '204 with a body from the app: no body, no Content-Length, no Transfer-Encoding',
    rfc: 'RFC 9110 §15.3.5, §8.6',
    request: 'GET /?status=204 HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 204,
    appCalls: 1,
    conn: 'open',
    check: (t, o) => {
      nothingAfterHead(t, o)
      noLength(t, o)
      hasDate(t, o)
    },
  },
  {
    id: 'NB-04',
    title: '204 with a streamed body: no chunked framing',
    rfc: 'RFC 9110 §15.3.5, RFC 9112 §6.1',
    request: 'GET /?status=204&mode=stream HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 204,
    appCalls: 1,
    conn: 'open',
    check: (t, o) => {
      nothingAfterHead(t, o)
      noLength(t, o)
    },
  },
  { id: 'NB-05', title: '304 with a body from the app: no body', rfc: 'RFC 9110 §15.4.5', request: 'GET /?status=304 HTTP/1.1\r\nHost: h\r\n\r\n', expect: 304, appCalls: 1, conn: 'open', check: nothingAfterHead },
  { id: 'NB-06', title: '304 with a streamed body: no chunked framing', rfc: 'RFC 9110 §15.4.5, RFC 9112 §6.1', request: 'GET /?status=304&mode=stream HTTP/1.1\r\nHost: h\r\n\r\n', expect: 304, appCalls: 1, conn: 'open', check: nothingAfterHead },
  { id: 'NB-07', title: 'HEAD answered 204', rfc: 'RFC 9110 §9.3.2, §15.3.5', request: 'HEAD /?status=204 HTTP/1.1\r\nHost: h\r\n\r\n', expect: 204, appCalls: 1, conn: 'open', check: nothingAfterHead },
  {
    id: 'NB-08',
    title: 'HEAD on HTTP/1.0 with a streamed body: headers only',
    rfc: 'RFC 9110 §9.3.2, RFC 9112 §6.3',
    request: 'HEAD /?mode=stream HTTP/1.0\r\n\r\n',
    expect: 200,
    conn: 'closed',
    check: nothingAfterHead,
  },
  {
    id: 'NB-09',
    title: '205 Reset Content carries no content',
    rfc: 'RFC 9110 §15.3.6',
    request: 'GET /?status=205 HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 205,
    appCalls: 1,
    conn: 'open',
    check: (t, o) => {
      const r = o.finals[0]
      t.is(r?.body.length ?? 0, 0, 'no content in a 205')
      t.true(r?.headers['content-length'] === undefined || r?.headers['content-length'] === '0', 'Content-Length absent or 0')
    },
  },
  {
    id: 'NB-10',
    title: 'a 1xx status from the app: no body, no Transfer-Encoding, and a final answer (500: a 1xx cannot end a request)',
    rfc: 'RFC 9110 §15.2',
    request: 'GET /?status=103 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    expect: 500,
    appCalls: 1,
    conn: 'closed',
    compare: false,
    check: (t, o) => {
      const text = o.bytes.toString('latin1')
      t.false(/Transfer-Encoding/i.test(text.split('\r\n\r\n')[0] ?? ''), 'no Transfer-Encoding with a 1xx')
      t.false(text.includes('ok 0'), 'no body bytes after a 1xx head')
    },
  },
  {
    id: 'NB-11',
    title: 'HEAD with a keep-alive: the next request on the connection is read correctly',
    rfc: 'RFC 9110 §9.3.2, RFC 9112 §9.3',
    request: 'HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\n',
    expect: 200,
    conn: 'open',
    responses: 2,
    appCalls: 2,
    check: (t, o) => {
      t.is(o.finals.length, 2)
      t.is(o.finals[1]?.text, 'ok 0')
    },
  },
]
