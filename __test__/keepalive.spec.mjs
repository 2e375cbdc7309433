import test from 'ava'

import { makeServer, raw, parseResponses, textApp } from './helpers.mjs'

const pathApp = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return [`${environ.REQUEST_METHOD} ${environ.PATH_INFO}`]
}

test('pipelined requests sent in one write are answered in order', async (t) => {
  const { port } = await makeServer(t, pathApp)
  const reqs = Array.from({ length: 10 }, (_, i) => `GET /r${i} HTTP/1.1\r\nHost: h\r\n\r\n`).join('')
  const { data, closed } = await raw(port, reqs + 'GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  const res = parseResponses(data)
  t.deepEqual(
    res.map((r) => r.text),
    [...Array.from({ length: 10 }, (_, i) => `GET /r${i}`), 'GET /last'],
  )
  t.true(closed)
  t.is(res.at(-1).headers.connection, 'close')
})

test('HTTP/1.1 keeps the connection open; Connection: close closes it', async (t) => {
  const { port } = await makeServer(t, textApp('ok'))
  const open = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { idleMs: 400 })
  t.false(open.closed, 'a 1.1 connection stays open')
  t.is(parseResponses(open.data)[0].headers.connection, undefined)
  const closing = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  t.true(closing.closed)
})

test('HTTP/1.0 closes by default and keeps alive when asked', async (t) => {
  const { port } = await makeServer(t, textApp('ok'))
  const plain = await raw(port, 'GET / HTTP/1.0\r\n\r\n')
  t.true(plain.closed)
  const ka = await raw(port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n')
  const res = parseResponses(ka.data)
  t.is(res.length, 2)
  t.is(res[0].headers.connection, 'keep-alive')
  t.is(res[1].headers.connection, 'close')
  t.true(ka.closed)
})

test('HEAD gets the same headers as GET and no body', async (t) => {
  const { port } = await makeServer(t, textApp('hello body'))
  const { data } = await raw(port, 'HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  const [head, get] = parseResponses(data, ['HEAD', 'GET'])
  t.is(head.status, 200)
  t.is(head.headers['content-length'], '10')
  t.is(head.body.length, 0)
  t.is(get.text, 'hello body', 'the next response follows right after the HEAD headers')
})

test('a streamed body answered to HEAD sends only the headers', async (t) => {
  const app = (_e, sr) => {
    sr('200 OK', [['Content-Type', 'text/plain']])
    return (async function* () {
      yield 'a'
      yield 'b'
    })()
  }
  const { port } = await makeServer(t, app)
  const { data } = await raw(port, 'HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  const [head, get] = parseResponses(data, ['HEAD', 'GET'])
  t.is(head.body.length, 0)
  t.is(head.headers['transfer-encoding'], undefined)
  t.is(get.text, 'ab')
})

for (const status of ['204 No Content', '304 Not Modified']) {
  test(`${status} carries no body even when the app yields one`, async (t) => {
    const { port } = await makeServer(t, textApp('ignored', status))
    const { data } = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
    const res = parseResponses(data)
    t.is(res.length, 2)
    t.is(res[0].status, Number(status.slice(0, 3)))
    t.is(res[0].headers['content-length'], undefined)
    t.is(res[0].headers['transfer-encoding'], undefined)
    t.false(data.toString('latin1').includes('ignored'))
  })
}

test('every response carries Date and Server', async (t) => {
  const { port } = await makeServer(t, textApp('x'))
  const { data } = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  const [res] = parseResponses(data)
  t.regex(res.headers.date, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/)
  t.regex(res.headers.server, /^gatehouse\//)
})

test('a malformed request gets 400 from the core without reaching the app', async (t) => {
  let called = 0
  const { port } = await makeServer(t, (e, sr) => {
    called++
    return textApp('x')(e, sr)
  })
  const { data, closed } = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n')
  const [res] = parseResponses(data)
  t.is(res.status, 400)
  t.is(res.headers.connection, 'close')
  t.true(closed)
  t.is(called, 0)
})

test('an unsupported HTTP version gets 505', async (t) => {
  const { port } = await makeServer(t, textApp('x'))
  const { data, closed } = await raw(port, 'GET / HTTP/1.2\r\nHost: h\r\n\r\n')
  t.is(parseResponses(data)[0].status, 505)
  t.true(closed)
})
