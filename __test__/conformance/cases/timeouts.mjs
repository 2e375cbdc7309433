// Timeouts (README: `timeout` bounds the head, keep-alive idling, and a stalled body read or
// write). Every case runs with `timeout: 1` so the group stays fast; the checks allow generous
// margins for a loaded machine. Not compared with node:http (its timeouts are other knobs).
// RFC 9110 §15.5.9 (408), RFC 9112 §9.5 (closing idle connections).

const T = { timeout: 1 }
const GET = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n'

/** One byte every `ms` milliseconds. */
const drip = (text, ms) => [...text].map((ch) => ({ data: ch, delayMs: ms }))

const closedWithin = (lo, hi) => (t, o) => {
  t.true(o.closed, 'closed')
  t.true(o.closedAtMs >= lo && o.closedAtMs <= hi, `closed after ${o.closedAtMs} ms, expected ${lo}..${hi}`)
}

export default [
  {
    id: 'TO-01',
    title: 'slowloris: one byte every 200 ms gets 408 and a close after about the timeout',
    rfc: 'RFC 9110 §15.5.9',
    options: T,
    request: drip('GET / HTTP/1.1\r\nHost: h\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n', 200),
    expect: 408,
    conn: 'closed',
    check: closedWithin(800, 3000),
  },
  {
    id: 'TO-02',
    title: 'a head that stops half-way gets 408 after the timeout',
    rfc: 'RFC 9110 §15.5.9',
    options: T,
    request: 'GET / HTTP/1.1\r\nHost: h\r\n',
    expect: 408,
    conn: 'closed',
    check: closedWithin(800, 3000),
  },
  {
    id: 'TO-03',
    title: 'a connection that sends nothing is closed silently after the timeout',
    rfc: 'RFC 9112 §9.5',
    options: T,
    request: '',
    expect: 'close',
    conn: 'closed',
    waitMs: 4000,
    check: closedWithin(800, 3000),
  },
  {
    id: 'TO-04',
    title: 'an idle keep-alive connection is closed silently after the timeout',
    rfc: 'RFC 9112 §9.5',
    options: T,
    request: GET,
    expect: 200,
    conn: 'closed',
    waitMs: 4000,
    check: (t, o) => {
      closedWithin(800, 3000)(t, o)
      t.is(o.finals.length, 1, 'nothing but the one response: no 408 on an idle connection')
    },
  },
  {
    id: 'TO-05',
    title: 'header lines that keep coming never finish the head: 408 after the timeout in all',
    rfc: 'RFC 9110 §15.5.9',
    options: T,
    request: ['GET / HTTP/1.1\r\nHost: h\r\n', ...Array.from({ length: 20 }, (_, i) => ({ data: `X-${i}: v\r\n`, delayMs: 200 }))],
    expect: 408,
    conn: 'closed',
    check: closedWithin(800, 3000),
  },
  {
    id: 'TO-06',
    title: 'a Content-Length body that stalls half-way: the read rejects with GH_ERR_BODY_TIMEOUT, the client gets 408',
    rfc: 'RFC 9110 §15.5.9',
    options: T,
    request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello',
    expect: 408,
    appCalls: 1,
    conn: 'closed',
    check: (t, o) => {
      t.deepEqual(o.readErrors, ['GH_ERR_BODY_TIMEOUT'])
      closedWithin(800, 3000)(t, o)
    },
  },
  {
    id: 'TO-07',
    title: 'a chunked body that stalls inside a chunk: the read rejects with GH_ERR_BODY_TIMEOUT',
    rfc: 'RFC 9110 §15.5.9',
    options: T,
    request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\na\r\nhello',
    expect: 408,
    appCalls: 1,
    conn: 'closed',
    check: (t, o) => t.deepEqual(o.readErrors, ['GH_ERR_BODY_TIMEOUT']),
  },
  {
    id: 'TO-08',
    title: 'a slow but steady body (a byte every 300 ms, 3 s in all) is not cut: the timeout is per stall',
    rfc: 'RFC 9110 §15.5.9',
    options: T,
    request: ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n', ...drip('0123456789', 300)],
    expect: 200,
    conn: 'open',
    check: (t, o) => t.is(o.calls[0]?.body, '0123456789'),
  },
  {
    id: 'TO-09',
    title: 'two requests 600 ms apart on one connection: the idle timer restarts after each response',
    rfc: 'RFC 9112 §9.3',
    options: T,
    request: [GET, { data: GET, delayMs: 600 }, { data: GET, delayMs: 600 }],
    expect: 200,
    responses: 3,
    appCalls: 3,
    conn: 'open',
  },
  {
    id: 'TO-10',
    title: 'a head sent in pieces but within the timeout is accepted',
    rfc: 'RFC 9112 §2.2',
    options: T,
    request: ['GET / HT', { data: 'TP/1.1\r\nHo', delayMs: 200 }, { data: 'st: h\r\n\r', delayMs: 200 }, { data: '\n', delayMs: 200 }],
    expect: 200,
    conn: 'open',
  },
  {
    id: 'TO-12',
    title: 'a stray CRLF after a response (as old clients send after a body) does not turn the idle close into a 408',
    rfc: 'RFC 9112 §2.2, §9.5',
    options: T,
    request: [GET, { data: '\r\n', delayMs: 100 }],
    expect: 200,
    conn: 'closed',
    waitMs: 4000,
    check: (t, o) => t.is(o.finals.length, 1, 'one response: an empty line is not a request, so no 408 for it'),
  },
]
