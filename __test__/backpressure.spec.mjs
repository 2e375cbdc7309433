import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'

import test from 'ava'

import { makeServer, raw, parseResponses } from './helpers.mjs'

/** Resident memory of this process in bytes (the server runs in it). */
function rss() {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss
}

const linux = process.platform === 'linux' ? test : test.skip

linux('a client that reads slowly while the app streams 200 MiB keeps the server memory bounded', async (t) => {
  const CHUNK = Buffer.alloc(256 * 1024, 97)
  const TOTAL = 200 * 1024 * 1024
  let produced = 0
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [['Content-Type', 'application/octet-stream']])
    return (async function* () {
      while (produced < TOTAL) {
        produced += CHUNK.length
        yield CHUNK
      }
    })()
  }, { timeout: 30 })
  global.gc?.()
  const before = rss()
  let peak = before
  let received = 0
  const socket = net.connect(port, '127.0.0.1')
  socket.write('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  // Read in bursts with pauses, so the server is held back by the socket most of the time.
  await new Promise((resolve, reject) => {
    socket.on('data', (d) => {
      received += d.length
      if (received % (8 * 1024 * 1024) < d.length) {
        socket.pause()
        peak = Math.max(peak, rss())
        t.true(produced - received < 32 * 1024 * 1024, `the app ran ${produced - received} bytes ahead of the client`)
        setTimeout(() => socket.resume(), 20)
      }
    })
    socket.on('end', resolve)
    socket.on('error', reject)
  })
  t.true(received > TOTAL, `received ${received}`)
  const growth = peak - before
  t.log(`RSS growth while streaming 200 MiB to a slow reader: ${(growth / 1048576).toFixed(1)} MiB`)
  t.true(growth < 96 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`)
})

test('the fast path and the streaming path send identical bytes', async (t) => {
  const parts = [crypto.randomBytes(1000), 'text é ☺ ', crypto.randomBytes(70_000), '', 'end']
  const whole = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)))
  const apps = {
    array: () => parts,
    generator: () => (function* () { yield* parts })(),
    async: () => (async function* () { yield* parts })(),
    write: (sr) => {
      const w = sr('200 OK', [['Content-Type', 'application/octet-stream']])
      for (const p of parts) w(p)
      return []
    },
  }
  for (const [name, make] of Object.entries(apps)) {
    const { port } = await makeServer(t, (_e, sr) => {
      if (name !== 'write') sr('200 OK', [['Content-Type', 'application/octet-stream']])
      return make(sr)
    })
    const [res] = parseResponses((await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')).data)
    t.true(res.body.equals(whole), `${name}: ${res.framing} body of ${res.body.length} bytes`)
  }
})
