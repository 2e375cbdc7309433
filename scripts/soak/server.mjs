#!/usr/bin/env node
// The server under soak, run as a child process of scripts/soak.mjs so that its RSS is its own.
// It serves the soak routes on 127.0.0.1:0, prints `PORT n` on stdout, and answers the parent
// over IPC: { type: 'stats' } gets its counters (see snapshot()), { type: 'stop' } stops it.
//
//   GET  /hello                 a small whole answer
//   POST /echo[?stream=1]       the request body back, whole or chunk by chunk as read
//   GET  /stream?n=&size=       n numbered chunks of `size` bytes (see numberedChunk)
//   GET  /large?bytes=          `bytes` of the position pattern (see patternAt), streamed
//   GET  /slow?ms=              answers after `ms`, unless the client leaves first
//
// Options come as JSON in argv[2] and go to the Server as they are.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { numberedChunk, patternAt } from './content.mjs'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(import.meta.url)
const { Server } = require(path.join(root, 'dist/cjs/index.js'))

const options = JSON.parse(process.argv[2] ?? '{}')

// What the application itself saw, to hold against the server's counters.
const app = {
  inFlight: 0, // requests inside the app now: must come back to 0
  closes: 0, // body close() calls: one per streamed body that started
  streamsStarted: 0,
  slowAborted: 0, // /slow requests whose gatehouse.signal fired
  errorLines: [], // everything written to wsgi.errors
}

const errors = {
  write(s) {
    app.errorLines.push(String(s))
    if (app.errorLines.length > 1000) app.errorLines.shift()
  },
  flush() {},
}

function query(environ) {
  return new URLSearchParams(environ.QUERY_STRING ?? '')
}

/** A body that counts its close(), so a close that never comes is seen. */
function counted(gen) {
  app.streamsStarted++
  return {
    [Symbol.asyncIterator]: () => gen[Symbol.asyncIterator](),
    close() {
      app.closes++
      gen.return?.()
    },
  }
}

async function echo(environ, startResponse) {
  const input = environ['wsgi.input']
  if (query(environ).get('stream') === '1') {
    startResponse('200 OK', [['Content-Type', 'application/octet-stream']])
    return counted(
      (async function* () {
        for (;;) {
          const chunk = await input.read(65536)
          if (chunk.length === 0) return
          yield chunk
        }
      })(),
    )
  }
  // Whole: read everything first (a read error, such as a client gone, propagates as it would
  // in any application), then answer in one piece with a Content-Length.
  const parts = []
  for (;;) {
    const chunk = await input.read()
    if (chunk.length === 0) break
    parts.push(chunk)
  }
  startResponse('200 OK', [['Content-Type', 'application/octet-stream']])
  return [Buffer.concat(parts)]
}

function stream(environ, startResponse) {
  const q = query(environ)
  const n = Number(q.get('n') ?? 10)
  const size = Number(q.get('size') ?? 64)
  const write = startResponse('200 OK', [['Content-Type', 'application/octet-stream']])
  // Half the chunks go through write() (awaited, as its contract asks past the window), the
  // rest through the iterable, so both paths are held to the same order.
  const viaWrite = Math.floor(n / 2)
  return counted(
    (async function* () {
      for (let i = 0; i < viaWrite; i++) await write(numberedChunk(i, size))
      for (let i = viaWrite; i < n; i++) {
        if (i % 8 === 0) await new Promise((r) => setImmediate(r))
        yield numberedChunk(i, size)
      }
    })(),
  )
}

function large(environ, startResponse) {
  const bytes = Number(query(environ).get('bytes') ?? 1 << 20)
  startResponse('200 OK', [['Content-Type', 'application/octet-stream']])
  return counted(
    (async function* () {
      for (let at = 0; at < bytes; at += 65536) yield patternAt(at, Math.min(65536, bytes - at))
    })(),
  )
}

async function slow(environ, startResponse) {
  const ms = Number(query(environ).get('ms') ?? 100)
  const signal = environ['gatehouse.signal']
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        app.slowAborted++
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return ['slow\n']
}

const routes = { '/hello': (_e, sr) => (sr('200 OK', [['Content-Type', 'text/plain']]), ['hello\n']), '/echo': echo, '/stream': stream, '/large': large, '/slow': slow }

async function soakApp(environ, startResponse) {
  const route = routes[environ.PATH_INFO]
  if (!route) {
    startResponse('404 Not Found', [['Content-Type', 'text/plain']])
    return ['not found\n']
  }
  app.inFlight++
  try {
    return await route(environ, startResponse)
  } finally {
    app.inFlight--
  }
}

const server = new Server(['127.0.0.1', 0], soakApp, { ...options, errors })
await server.start()

/** Everything the parent checks: the core's counters, the status counts and the app's own. */
function snapshot() {
  const native = server.nativeStats()
  const stats = server.stats()
  const metrics = server.metrics()
  const statuses = {}
  for (const m of metrics.matchAll(/^gatehouse_responses_total\{code="(\d+)"\} (\d+)$/gm)) statuses[m[1]] = Number(m[2])
  const pool = server.pool
  return {
    native,
    stats: { Requests: stats.Requests, Abandoned: stats.Abandoned, 'Bytes Read': stats['Bytes Read'], 'Bytes Written': stats['Bytes Written'] },
    statuses,
    pool: { size: pool.size, idle: pool.idle, qsize: pool.qsize },
    app: { ...app, errorLines: app.errorLines.slice() },
    memory: process.memoryUsage(), // rss, heapTotal, heapUsed, external, arrayBuffers
  }
}

process.on('message', (m) => {
  if (m.type === 'stats') process.send({ type: 'stats', id: m.id, snapshot: snapshot() })
  else if (m.type === 'stop') server.stop().then(() => process.exit(0))
})
// The parent gone (it crashed or was killed): do not outlive it.
process.on('disconnect', () => server.stop().then(() => process.exit(0)))
process.stdout.write(`PORT ${server.bindAddr[1]}\n`)
