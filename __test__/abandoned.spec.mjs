// Slow, vanishing and unlucky clients: a trickled body cannot hold a slot, a client that leaves
// frees its slot and aborts environ['gatehouse.signal'], requestTimeout answers 503, and a client
// that gives up is counted as abandoned, not as an error of the server or the application.
import net from 'node:net'
import util from 'node:util'

import test from 'ava'

import { GatehouseError, makeServer, raw, parseResponses, eventually, gate } from './helpers.mjs'

/** Open a connection, send `bytes`, and resolve once it is connected (the socket stays open). */
function openWith(port, bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(bytes)
      resolve(s)
    })
    s.on('error', reject)
  })
}

/** Everything a socket receives until it closes. */
function received(s) {
  const chunks = []
  s.on('data', (d) => chunks.push(d))
  return new Promise((resolve) => s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1'))))
}

test('a body trickled below minRequestBodyRate gets 408 after the grace period and frees its slot', async (t) => {
  const { port, server } = await makeServer(t, async (environ, sr) => {
    if (environ.REQUEST_METHOD === 'POST') await environ['wsgi.input'].read()
    sr('200 OK', [])
    return ['ok']
  }, { numthreads: 2, timeout: 3, minRequestBodyRate: 100 })
  const trickles = []
  for (let i = 0; i < 2; i++) {
    const s = await openWith(port, 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n')
    const timer = setInterval(() => s.writable && s.write('x'), 500)
    t.teardown(() => clearInterval(timer))
    trickles.push(received(s).finally(() => clearInterval(timer)))
  }
  const [a, b] = await Promise.all(trickles)
  t.regex(a, /^HTTP\/1\.1 408 /)
  t.regex(b, /^HTTP\/1\.1 408 /)
  t.true(await eventually(() => server.pool.idle === 2), 'both slots are back')
  t.is(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'ok')
})

test('a client that resets while its request is in the application: signal aborted, slot freed, late answer dropped', async (t) => {
  const reasons = []
  const late = gate()
  const { port, server, errors } = await makeServer(t, async (environ, sr) => {
    const signal = environ['gatehouse.signal']
    await new Promise((resolve) => signal.addEventListener('abort', resolve))
    reasons.push(signal.reason)
    await late.wait
    sr('200 OK', [])
    return ['too late']
  }, { numthreads: 2 })
  for (let i = 0; i < 2; i++) {
    const s = await openWith(port, 'GET /held HTTP/1.1\r\nHost: h\r\n\r\n')
    await eventually(() => server.pool.idle < 2 - i)
    // A reset: a client that only half-closes (FIN) still gets its answer (half-close.spec.mjs).
    s.resetAndDestroy()
  }
  t.true(await eventually(() => reasons.length === 2), `${reasons.length} signals aborted`)
  for (const r of reasons) {
    t.true(r instanceof GatehouseError)
    t.is(r.code, 'GH_ERR_CLOSED')
  }
  t.true(await eventually(() => server.pool.idle === 2), 'both slots are back while the application still holds the requests')
  t.true(await eventually(() => server.nativeStats().openConnections === 0))
  late.release()
  await new Promise((r) => setTimeout(r, 100))
  const s = server.stats()
  t.is(s.Abandoned, 2)
  t.notRegex(server.metrics(), /gatehouse_responses_total\{code="(200|500)"\}/, 'abandoned requests are not in the status counts')
  t.regex(server.metrics(), /gatehouse_requests_abandoned_total 2\n/)
  t.is(errors.text, '', 'no application error')
})

test('requestTimeout answers 503, aborts the signal with GH_ERR_REQUEST_TIMEOUT and frees the slot', async (t) => {
  const reasons = []
  const { port, server } = await makeServer(t, async (environ) => {
    const signal = environ['gatehouse.signal']
    await new Promise((resolve) => signal.addEventListener('abort', resolve))
    reasons.push(signal.reason)
    return new Promise(() => {})
  }, { numthreads: 1, requestTimeout: 0.5 })
  const { data } = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
  const [res] = parseResponses(data)
  t.is(res.status, 503)
  t.true(await eventually(() => reasons.length === 1))
  t.is(reasons[0].code, 'GH_ERR_REQUEST_TIMEOUT')
  t.true(await eventually(() => server.pool.idle === 1))
})

test('a client that resets mid-upload is abandoned, not a 500 or an application error', async (t) => {
  const { port, server, errors } = await makeServer(t, async (environ, sr) => {
    const body = await environ['wsgi.input'].read()
    sr('200 OK', [])
    return [String(body.length)]
  })
  for (const cut of ['reset', 'half-close']) {
    const s = await openWith(port, 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000))
    await new Promise((r) => setTimeout(r, 100))
    s.resume()
    if (cut === 'reset') s.resetAndDestroy()
    else s.end()
    await new Promise((r) => s.on('close', r))
  }
  t.true(await eventually(() => server.stats().Abandoned === 2), `abandoned: ${server.stats().Abandoned}`)
  t.notRegex(server.metrics(), /gatehouse_responses_total\{code="(400|500)"\}/)
  t.is(errors.text, '', 'no application error line')
  t.is(await (await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'abc' })).text(), '3')
})

test('a body read cut by a reset rejects with GH_ERR_CLOSED carrying ECONNRESET as errno and osCode; one cut by a FIN carries none', async (t) => {
  const failures = []
  const { port } = await makeServer(t, async (environ, sr) => {
    try {
      await environ['wsgi.input'].read()
    } catch (e) {
      failures.push(e)
    }
    sr('200 OK', [])
    return []
  })
  for (const cut of ['reset', 'half-close']) {
    const s = await openWith(port, 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000))
    s.on('error', () => {})
    await new Promise((r) => setTimeout(r, 100))
    s.resume()
    if (cut === 'reset') s.resetAndDestroy()
    else s.end()
    await new Promise((r) => s.on('close', r))
    t.true(await eventually(() => failures.length === (cut === 'reset' ? 1 : 2)), cut)
  }
  const [reset, fin] = failures
  t.true(reset instanceof GatehouseError)
  t.is(reset.code, 'GH_ERR_CLOSED')
  t.is(reset.osCode, 'ECONNRESET')
  t.is(util.getSystemErrorName(reset.errno), 'ECONNRESET')
  t.is(fin.code, 'GH_ERR_CLOSED')
  t.false('errno' in fin || 'osCode' in fin, 'an end of stream is no OS error')
})

test('a client that leaves while its response is written is abandoned, not a 200', async (t) => {
  const { port, server } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return (async function* () {
      for (let i = 0; i < 4096; i++) yield Buffer.alloc(64 * 1024, 120)
    })()
  })
  for (let i = 0; i < 5; i++) {
    const s = await openWith(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
    await new Promise((resolve) => {
      let got = 0
      s.on('data', (d) => {
        got += d.length
        if (got > 1024 * 1024) s.destroy()
      })
      s.on('close', resolve)
    })
  }
  t.true(await eventually(() => server.stats().Abandoned === 5, 5000), `abandoned: ${server.stats().Abandoned}`)
  t.notRegex(server.metrics(), /gatehouse_responses_total\{code="200"\}/)
})
