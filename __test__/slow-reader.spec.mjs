// `timeout` bounds a stalled write, not a whole one: a client that reads a large response slowly
// but steadily gets all of it, however long that takes; one that stops reading is cut off after
// about `timeout`.
import net from 'node:net'

import test from 'ava'

import { makeServer, eventually } from './helpers.mjs'

// Larger than what the kernel buffers of a loopback connection hold with a slow reader (the
// sender's buffer grows to 4 MiB by default), so the server's write has to wait on the reader.
const SIZE = 16 * 1024 * 1024
const TIMEOUT = 1

function bigApp(t) {
  const body = Buffer.alloc(SIZE, 'x')
  return (_e, sr) => {
    sr('200 OK', [['Content-Type', 'application/octet-stream']])
    return [body]
  }
}

/** Connect, send one GET, and read at most `bytesPerTick` every `tickMs` (0: stop after the first `bytesPerTick`). */
function paced(port, { bytesPerTick, tickMs }) {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  let got = 0
  let budget = bytesPerTick
  const state = {
    get got() { return got },
    socket,
    lastProgress: Date.now(),
    /** Read everything from now on. */
    drain() {
      budget = Infinity
      socket.resume()
    },
  }
  socket.on('data', (d) => {
    got += d.length
    state.lastProgress = Date.now()
    budget -= d.length
    if (budget <= 0) socket.pause()
  })
  const timer = tickMs > 0
    ? setInterval(() => {
        budget += bytesPerTick
        socket.resume()
      }, tickMs)
    : undefined
  state.ended = new Promise((resolve) => socket.on('close', () => {
    clearInterval(timer)
    resolve()
  }))
  socket.write('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  return state
}

test('a slow but steady reader gets a whole response that takes several timeouts to send', async (t) => {
  const { port } = await makeServer(t, bigApp(t), { timeout: TIMEOUT })
  const started = Date.now()
  // 256 KiB every 50 ms: 5 MiB/s, about 3 s for 16 MiB, three times the timeout.
  const c = paced(port, { bytesPerTick: 256 * 1024, tickMs: 50 })
  await c.ended
  const took = (Date.now() - started) / 1000
  t.true(took > 2 * TIMEOUT, `the read took ${took}s, longer than the timeout`)
  t.true(c.got > SIZE, `received ${c.got} bytes: the whole body and its head`)
})

test('a reader that stops is cut off after about the timeout', async (t) => {
  const { server, port } = await makeServer(t, bigApp(t), { timeout: TIMEOUT })
  const c = paced(port, { bytesPerTick: 64 * 1024, tickMs: 0 })
  // The response starts, the client stops reading at once: the server's write stalls as soon
  // as the kernel buffers are full, a few milliseconds later.
  t.true(await eventually(() => c.got > 0, 3000))
  const stalled = c.lastProgress
  t.true(await eventually(() => server.nativeStats().openConnections === 0, 5000), 'the server closed the connection')
  const after = (Date.now() - stalled) / 1000
  t.true(after >= TIMEOUT * 0.8 && after < TIMEOUT * 3, `closed ${after}s after the reader stopped`)
  // Reading again, the client finds the response cut: less than the body, then the end.
  c.drain()
  await c.ended
  t.true(c.got < SIZE, `received ${c.got} of ${SIZE} bytes`)
})

// minResponseDataRate: a reader slower than the rate is cut off even when it never stalls for a
// whole `timeout`. The rate is set high and the grace period short so that a loopback
// connection's kernel buffers (a few MiB, which count as sent) earn little waiting time.
const RATE = 8_000_000
const GRACE = 0.5
const LONG_TIMEOUT = 30

/** Connect, send one GET, and read `bytes` at a time, one read every `everyMs`. */
function trickling(port, { bytes, everyMs }) {
  let got = 0
  let timer
  const socket = net.connect({
    port,
    host: '127.0.0.1',
    onread: {
      buffer: Buffer.alloc(bytes),
      callback(n) {
        got += n
        timer = setTimeout(() => socket.resume(), everyMs)
        return false // pause until the timer
      },
    },
  })
  socket.on('error', () => {})
  socket.on('close', () => clearTimeout(timer))
  socket.write('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  return {
    socket,
    get got() { return got },
  }
}

/** An endless stream of 64 KiB chunks (bounded: 256 MiB), until the request is abandoned. */
function endlessApp() {
  const chunk = Buffer.alloc(64 * 1024, 'x')
  return (environ, sr) => {
    const signal = environ['gatehouse.signal']
    sr('200 OK', [['Content-Type', 'application/octet-stream']])
    return (async function* () {
      for (let i = 0; i < 4096 && !signal.aborted; i++) yield chunk
    })()
  }
}

for (const [kind, app] of [['a streamed', endlessApp], ['a whole', bigApp]]) {
  test(`a client reading ${kind} answer 16 bytes at a time is cut off by minResponseDataRate long before the timeout`, async (t) => {
    const { server, port } = await makeServer(t, app(t), {
      timeout: LONG_TIMEOUT,
      minResponseDataRate: RATE,
      rateGracePeriod: GRACE,
    })
    const started = Date.now()
    const c = trickling(port, { bytes: 16, everyMs: 10 })
    t.teardown(() => c.socket.destroy())
    t.true(await eventually(() => c.got > 0), 'the answer started')
    t.true(await eventually(() => server.nativeStats().openConnections === 0, 15_000), 'the server closed the connection')
    const took = (Date.now() - started) / 1000
    t.true(took >= GRACE && took < LONG_TIMEOUT / 2, `cut after ${took}s`)
    t.true(await eventually(() => server.stats().Abandoned === 1), 'the request is counted abandoned')
    t.true(c.got < 64 * 1024, `the client had read ${c.got} bytes`)
    t.notRegex(server.metrics(), /gatehouse_responses_total\{code="200"\}/, 'an abandoned request is not in the status counts')
  })
}

test('a slow reader above minResponseDataRate gets the whole answer', async (t) => {
  const { server, port } = await makeServer(t, bigApp(t), {
    timeout: LONG_TIMEOUT,
    minResponseDataRate: 1_000_000,
    rateGracePeriod: GRACE,
  })
  // 256 KiB every 50 ms: 5 MiB/s, five times the rate; about 3 s for 16 MiB.
  const c = paced(port, { bytesPerTick: 256 * 1024, tickMs: 50 })
  await c.ended
  t.true(c.got > SIZE, `received ${c.got} bytes: the whole body and its head`)
  t.is(server.stats().Abandoned, 0)
})

test('an application that produces its answer slower than minResponseDataRate is not cut off', async (t) => {
  const { server, url } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [['Content-Type', 'text/plain']])
    return (async function* () {
      // 1.2 s for 1,200 bytes: far below the rate, but the client reads every byte at once.
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 100))
        yield 'x'.repeat(100)
      }
    })()
  }, { timeout: LONG_TIMEOUT, minResponseDataRate: RATE, rateGracePeriod: 0.2 })
  const body = await (await fetch(url)).text()
  t.is(body.length, 1200)
  t.is(server.stats().Abandoned, 0)
})
