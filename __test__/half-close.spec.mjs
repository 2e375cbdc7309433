// A client that half-closes (sends its request, then FIN: `nc -N`, `shutdown(SHUT_WR)`,
// node's `socket.end(bytes)`) has finished sending, not listening: it gets every answer, in
// order, and then the connection closes. Its requests' signals abort (GH_ERR_HALF_CLOSED) so an
// application may stop early; one that stops because of it is counted as abandoned, not as a
// 500. Only a reset (or a write that fails) abandons a request.
import net from 'node:net'

import test from 'ava'

import { gatehouse, makeServer, parseResponses, eventually, gate } from './helpers.mjs'

const { fromFetch, fromNodeHandler } = gatehouse

/** Send `bytes`, half-close, and collect everything until the server closes. */
function sendAndHalfClose(port, bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    const chunks = []
    s.on('data', (d) => chunks.push(d))
    s.on('error', reject)
    s.on('close', () => resolve(Buffer.concat(chunks)))
    s.end(Buffer.from(bytes, 'latin1'))
    s.setTimeout(8000, () => s.destroy(new Error('the server did not close')))
  })
}

/** An app that answers with its path after `ms` (0: at once). */
const pathApp = (ms = 0) => async (environ, sr) => {
  if (ms > 0) await new Promise((r) => setTimeout(r, ms))
  sr('200 OK', [['Content-Type', 'text/plain']])
  return [`path ${environ.PATH_INFO}`]
}

const cases = [
  ['HTTP/1.0', 'GET /a HTTP/1.0\r\n\r\n', ['/a']],
  ['HTTP/1.1 with Connection: close', 'GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', ['/a']],
  ['HTTP/1.1 keep-alive', 'GET /a HTTP/1.1\r\nHost: h\r\n\r\n', ['/a']],
  ['three pipelined requests', 'GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n', ['/a', '/b', '/c']],
  ['a POST', 'POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello', ['/a']],
  ['twenty pipelined requests (past the 16 dispatched ahead)', 'GET /p HTTP/1.1\r\nHost: h\r\n\r\n'.repeat(20), Array(20).fill('/p')],
]

for (const [what, bytes, paths] of cases) {
  for (const ms of [0, 150]) {
    test(`a half-closed client gets its answers: ${what}, from an app that answers ${ms === 0 ? 'at once' : `after ${ms} ms`}`, async (t) => {
      const { port, server, errors } = await makeServer(t, pathApp(ms))
      const data = await sendAndHalfClose(port, bytes)
      const res = parseResponses(data)
      t.deepEqual(res.map((r) => r.status), paths.map(() => 200))
      t.deepEqual(res.map((r) => r.body.toString()), paths.map((p) => `path ${p}`))
      t.is(server.stats().Abandoned, 0)
      t.is(errors.text, '')
    })
  }
}

test('a half-close aborts the signal with GH_ERR_HALF_CLOSED, and an answer given 300 ms after it is still written', async (t) => {
  const reasons = []
  const { port, server } = await makeServer(t, async (environ, sr) => {
    const signal = environ['gatehouse.signal']
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    reasons.push(signal.reason)
    await new Promise((r) => setTimeout(r, 300))
    sr('200 OK', [])
    return ['late but whole']
  })
  const started = Date.now()
  const [res] = parseResponses(await sendAndHalfClose(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n'))
  t.true(Date.now() - started >= 250)
  t.is(res.status, 200)
  t.is(res.body.toString(), 'late but whole')
  t.is(reasons.length, 1)
  t.is(reasons[0].code, 'GH_ERR_HALF_CLOSED')
  t.is(server.stats().Abandoned, 0)
})

test('a streamed answer to a half-closed client arrives whole, chunk by chunk', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return (async function* () {
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 10))
        yield `${i};`
      }
    })()
  })
  const [res] = parseResponses(await sendAndHalfClose(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n'))
  t.is(res.framing, 'chunked')
  t.is(res.body.toString(), Array.from({ length: 20 }, (_, i) => `${i};`).join(''))
})

test('an app that stops because its client half-closed is counted as abandoned, not as a 500', async (t) => {
  const { port, server, errors } = await makeServer(t, async (environ) => {
    const signal = environ['gatehouse.signal']
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    signal.throwIfAborted()
  })
  const data = await sendAndHalfClose(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
  t.is(data.length, 0, 'no 500 on the wire')
  t.true(await eventually(() => server.stats().Abandoned === 1), `abandoned: ${server.stats().Abandoned}`)
  t.notRegex(server.metrics(), /gatehouse_responses_total\{code="500"\}/)
  t.is(errors.text, '', 'no application error line')
  t.true(await eventually(() => server.pool.idle === server.pool.size && server.pool.size > 0))
})

test('an app that throws something else after a half-close still gets its 500 and its wsgi.errors line', async (t) => {
  const { port, errors } = await makeServer(t, async (environ) => {
    const signal = environ['gatehouse.signal']
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    throw new Error('a bug of its own')
  })
  const [res] = parseResponses(await sendAndHalfClose(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n'))
  t.is(res.status, 500)
  t.regex(errors.text, /a bug of its own/)
})

test('a client that resets is still abandoned and frees its slot at once', async (t) => {
  const { wait, release } = gate()
  t.teardown(release)
  const reasons = []
  const { port, server } = await makeServer(t, async (environ, sr) => {
    const signal = environ['gatehouse.signal']
    signal.addEventListener('abort', () => reasons.push(signal.reason.code), { once: true })
    await wait
    sr('200 OK', [])
    return ['x']
  }, { numthreads: 1 })
  const s = net.connect(port, '127.0.0.1')
  s.on('error', () => {})
  await new Promise((r) => s.on('connect', r))
  s.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n')
  await eventually(() => server.pool.idle === 0)
  s.resetAndDestroy()
  t.true(await eventually(() => server.pool.idle === 1), 'the slot is free before the app answers')
  t.true(await eventually(() => reasons.length === 1))
  t.deepEqual(reasons, ['GH_ERR_CLOSED'])
  t.is(server.stats().Abandoned, 1)
})

test('the Node adapter answers a half-closed client from a slow handler, as node:http apps expect', async (t) => {
  const { port } = await makeServer(t, fromNodeHandler((req, res) => {
    setTimeout(() => res.end(`node ${req.url}`), 150)
  }))
  const res = parseResponses(await sendAndHalfClose(port, 'GET /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n'))
  t.deepEqual(res.map((r) => r.body.toString()), ['node /x', 'node /y'])
})

test('the fetch adapter streams a whole ReadableStream to a half-closed client', async (t) => {
  const { port } = await makeServer(t, fromFetch(() => {
    let i = 0
    return new Response(new ReadableStream({
      async pull(c) {
        await new Promise((r) => setTimeout(r, 20))
        if (i === 10) c.close()
        else c.enqueue(new TextEncoder().encode(`${i++},`))
      },
    }))
  }))
  const [res] = parseResponses(await sendAndHalfClose(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n'))
  t.is(res.status, 200)
  t.is(res.body.toString(), '0,1,2,3,4,5,6,7,8,9,')
})
