// The crossing between the core and the JavaScript thread: streamed bytes in write order
// whatever the application awaits, a batch that cannot fail as a whole, options that cannot
// panic, a worker that dies, and defaults that do not serialise async applications.
import net from 'node:net'
import path from 'node:path'

import test from 'ava'

import { Server, GatehouseError, makeServer, raw, parseResponses, eventually, gate, spawnLines } from './helpers.mjs'

const unixOnly = process.platform === 'win32' ? test.skip : test

let unhandled = 0
process.on('unhandledRejection', () => unhandled++)

const LINES = 2000
/** Line i of the numbered body: 1 KiB. */
const line = (i) => `${String(i).padStart(6, '0')} ${'x'.repeat(1016)}\n`
const WHOLE = Array.from({ length: LINES }, (_, i) => line(i)).join('')

/** An app that writes the numbered lines without awaiting write(), then returns an empty body. */
function unawaitedApp(closed) {
  return (_e, sr) => {
    const write = sr('200 OK', [['Content-Type', 'text/plain']])
    for (let i = 0; i < LINES; i++) write(line(i))
    return Object.assign([], { close: () => closed?.push(1) })
  }
}

/** GET, then leave (destroy the socket) as soon as the first bytes of the answer arrive. */
function leaveAfterFirstBytes(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n')
    s.once('data', () => {
      s.destroy()
      resolve()
    })
  })
}

/** GET over a raw socket, reading slowly when `slow`: resolves with the parsed response. */
function get(port, { slow = false } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    const chunks = []
    s.write('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
    s.on('data', (d) => {
      chunks.push(d)
      if (slow) {
        s.pause()
        setTimeout(() => s.resume(), 2)
      }
    })
    s.on('end', () => resolve(parseResponses(Buffer.concat(chunks))[0]))
    s.on('error', reject)
  })
}

test('2,000 unawaited writes arrive whole and in order, 200 responses over 20 connections at once', async (t) => {
  const { port } = await makeServer(t, unawaitedApp())
  const before = unhandled
  for (let round = 0; round < 10; round++) {
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(port)))
    for (const res of answers) {
      t.is(res.status, 200)
      t.is(res.framing, 'chunked')
      if (res.text !== WHOLE) {
        t.fail(`a body of ${res.body.length} bytes is not the ${WHOLE.length} written, in order`)
        return
      }
    }
  }
  t.is(unhandled, before, 'no unhandled rejection')
})

test('unawaited writes past the window keep their order for a client that reads slowly', async (t) => {
  const { port } = await makeServer(t, unawaitedApp())
  const answers = await Promise.all(Array.from({ length: 4 }, () => get(port, { slow: true })))
  for (const res of answers) t.true(res.text === WHOLE, `body of ${res.body.length} bytes, in order`)
})

test('write() returns a Promise once 256 KiB wait for a client that does not read, and it resolves when the client reads', async (t) => {
  const result = gate()
  const { port } = await makeServer(t, async (_e, sr) => {
    const write = sr('200 OK', [])
    let written = 0
    let w
    while (!(w instanceof Promise)) {
      w = write(Buffer.alloc(16 * 1024, 97))
      written += 16 * 1024
      if (written > 64 * 1024 * 1024) break
    }
    result.release(written)
    await w
    return []
  })
  const s = net.connect(port, '127.0.0.1')
  s.write('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  s.pause()
  const written = await result.wait
  t.true(written >= 256 * 1024, `the first Promise came after ${written} bytes`)
  t.true(written < 32 * 1024 * 1024, `the window is bounded: ${written} bytes`)
  let received = 0
  await new Promise((resolve) => {
    s.on('data', (d) => (received += d.length))
    s.on('end', resolve)
    s.resume()
  })
  t.true(received > written, `the whole response arrived (${received} bytes)`)
})

test('a client that leaves during unawaited writes: no unhandled rejection, close() once, the server goes on', async (t) => {
  const closed = []
  const { port } = await makeServer(t, (_e, sr) => {
    const write = sr('200 OK', [])
    for (let i = 0; i < 20000; i++) write(line(i))
    return Object.assign([], { close: () => closed.push(1) })
  })
  const before = unhandled
  for (let i = 0; i < 5; i++) {
    await leaveAfterFirstBytes(port)
  }
  t.true(await eventually(() => closed.length === 5), `close() calls: ${closed.length}`)
  await new Promise((r) => setTimeout(r, 200))
  t.is(closed.length, 5, 'close() exactly once per response')
  t.is(unhandled, before, 'no unhandled rejection')
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(20000) })
  t.is(res.status, 200)
  t.is((await res.text()).length, 20000 * 1024)
})

test('an awaited write() rejects with GH_ERR_CLOSED once the client is gone, and iteration stops', async (t) => {
  const outcome = gate()
  const { port } = await makeServer(t, async (_e, sr) => {
    const write = sr('200 OK', [])
    try {
      for (let i = 0; i < 1e6; i++) await write(Buffer.alloc(64 * 1024))
      outcome.release('finished')
    } catch (e) {
      outcome.release(e)
    }
    return []
  })
  const s = net.connect(port, '127.0.0.1')
  s.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n')
  s.once('data', () => s.destroy())
  const e = await outcome.wait
  t.true(e instanceof GatehouseError, String(e))
  t.is(e.code, 'GH_ERR_CLOSED')
})

unixOnly('through the CLI, unawaited writes and clients that leave do not end the process', async (t) => {
  const p = spawnLines(t, process.execPath, [path.resolve('dist/cjs/cli.js'), path.resolve('__test__/fixtures/unawaited.cjs'), '--bind', '127.0.0.1:0'])
  const port = Number(/:(\d+)$/.exec(await p.nthLine(0))[1])
  for (let i = 0; i < 3; i++) {
    await leaveAfterFirstBytes(port)
  }
  const answers = await Promise.all(Array.from({ length: 5 }, () => get(port)))
  for (const res of answers) t.true(res.text === WHOLE)
  p.child.kill('SIGTERM')
  const { code, err } = await p.exited
  t.is(code, 0, err)
  t.notRegex(err, /unhandled|GatehouseError/i)
})

test('a header name of 66,000 bytes (maxRequestHeaderSize 0) crosses whole and the server goes on', async (t) => {
  const name = 'X-' + 'a'.repeat(66000)
  const { port } = await makeServer(t, (environ, sr) => {
    sr('200 OK', [])
    return [String(environ['HTTP_X_' + 'A'.repeat(66000)])]
  }, { maxRequestHeaderSize: 0 })
  const { data } = await raw(port, `GET / HTTP/1.1\r\nHost: h\r\n${name}: v1\r\nConnection: close\r\n\r\n`)
  const [res] = parseResponses(data)
  t.is(res.status, 200)
  t.is(res.text, 'v1')
  t.is((await fetch(`http://127.0.0.1:${port}/`)).status, 200)
})

test('an application that throws for one request of a batch: the others of the batch are answered', async (t) => {
  const { port, errors } = await makeServer(t, (environ, sr) => {
    if (environ.PATH_INFO === '/bad') throw new Error('only this one')
    sr('200 OK', [])
    return [environ.PATH_INFO]
  })
  // Pipelined: the requests cross in one batch.
  const paths = ['/a', '/bad', '/b', '/bad', '/c']
  const { data } = await raw(port, paths.map((p, i) => `GET ${p} HTTP/1.1\r\nHost: h\r\n${i === paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`).join(''))
  const res = parseResponses(data)
  t.deepEqual(res.map((r) => r.status), [200, 500, 200, 500, 200])
  t.deepEqual(res.filter((r) => r.status === 200).map((r) => r.text), ['/a', '/b', '/c'])
  t.is(errors.text.match(/only this one/g).length, 2)
})

test('a head the core refuses is that answer\'s 500 alone, also when the next answers repeat it', async (t) => {
  const { port, errors } = await makeServer(t, (environ, sr) => {
    sr('200 OK', environ.PATH_INFO.startsWith('/bad') ? [['Connection', 'close']] : [['X-Ok', 'yes']])
    return [environ.PATH_INFO]
  })
  const paths = ['/bad1', '/bad2', '/good', '/bad3', '/good2']
  const { data } = await raw(port, paths.map((p, i) => `GET ${p} HTTP/1.1\r\nHost: h\r\n${i === paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`).join(''))
  const res = parseResponses(data)
  t.deepEqual(res.map((r) => r.status), [500, 500, 200, 500, 200])
  t.is(res[2].headers['x-ok'], 'yes')
  t.is(errors.text.match(/GH_ERR_HOP_BY_HOP_HEADER|hop-by-hop/g)?.length >= 3, true, errors.text)
})

test('options out of range are GH_ERR_INVALID_OPTION naming the option, never a crash', async (t) => {
  const cases = {
    timeout: [1e20, -1, NaN, Infinity, 0],
    shutdownTimeout: [1e20, -5, NaN],
    numthreads: [0, 2 ** 40, 1.5],
    maxThreads: [-2, 2 ** 40],
    requestQueueSize: [0, 1e6],
    maxRequestHeaderSize: [2 ** 40, -1],
    maxRequestBodySize: [2 ** 60, -1],
    maxQueue: [2 ** 40],
    maxConnections: [2 ** 40],
    socketMode: [0o77777],
    appThreads: [1e6],
    minRequestBodyRate: [-1, 1.5, 2 ** 60],
    minResponseDataRate: [-1, 1.5, 2 ** 60],
    rateGracePeriod: [-1, NaN, 1e20],
  }
  for (const [name, values] of Object.entries(cases)) {
    for (const value of values) {
      const e = t.throws(() => new Server(['127.0.0.1', 0], () => [], { [name]: value }), undefined, `${name}: ${value}`)
      t.is(e.code, 'GH_ERR_INVALID_OPTION', `${name}: ${value}`)
      t.true(e.message.includes(name), e.message)
    }
  }
  t.throws(() => new Server(['127.0.0.1', 70000], () => []), { code: 'GH_ERR_INVALID_OPTION' })
})

test('with the defaults, 200 requests that each await are all inside the application at once', async (t) => {
  const { wait, release } = gate()
  let inside = 0
  let peak = 0
  const { port } = await makeServer(t, async (_e, sr) => {
    inside++
    peak = Math.max(peak, inside)
    await wait
    inside--
    sr('200 OK', [])
    return ['done']
  })
  const all = Promise.all(Array.from({ length: 200 }, () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.text())))
  t.true(await eventually(() => inside === 200, 10000), `${inside} of 200 inside the application`)
  release()
  t.deepEqual(new Set(await all), new Set(['done']))
  t.is(peak, 200)
})

unixOnly('an appThreads worker that exits inside the application: its requests get 500, a replacement serves', async (t) => {
  const errors = { text: '', write(s) { this.text += s }, flush() {} }
  const server = new Server(['127.0.0.1', 0], `${path.resolve('__test__/fixtures/dying.cjs')}:app`, { appThreads: 1, errors, timeout: 5 })
  await server.start()
  t.teardown(() => server.stop())
  const url = `http://127.0.0.1:${server.bindAddr[1]}`
  const first = await (await fetch(url)).text()
  const slow = fetch(`${url}/slow`).then((r) => r.status, () => 'closed')
  await new Promise((r) => setTimeout(r, 100))
  const dying = fetch(`${url}/die`).then((r) => r.status, () => 'closed')
  t.deepEqual(await Promise.all([slow, dying]), [500, 500])
  t.true(await eventually(async () => {
    const r = await fetch(url).catch(() => undefined)
    return r !== undefined && r.status === 200 && (await r.text()) !== first
  }, 10000), 'a replacement worker serves')
  t.regex(errors.text, /appThreads worker exited \(code 3\)/)
})
