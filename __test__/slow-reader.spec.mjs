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
