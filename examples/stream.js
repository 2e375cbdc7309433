// A streamed response from an async generator: each chunk goes out as soon as it is produced
// (chunked transfer coding on HTTP/1.1), and the server pulls the next one only when the client
// has taken the last, so a slow client slows the generator instead of growing a buffer.
//   npx gatehouse examples/stream.js
//   curl -N 'http://127.0.0.1:8080/?count=5&interval=500'
const { setTimeout: sleep } = require('node:timers/promises')

/** @type {import('@gatehouse/server').App} */
function app(environ, startResponse) {
  const query = new URLSearchParams(environ.QUERY_STRING)
  const count = Math.min(Math.max(Number(query.get('count')) || 10, 1), 10_000)
  const interval = Math.min(Math.max(Number(query.get('interval')) || 200, 0), 10_000)
  let stopped = false

  async function* ticks() {
    for (let i = 1; i <= count && !stopped; i++) {
      yield `tick ${i} of ${count} at ${new Date().toISOString()}\n`
      if (i < count) await sleep(interval)
    }
  }

  startResponse('200 OK', [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Cache-Control', 'no-store'],
  ])
  // close() is called exactly once: when the body is done, or when the client went away.
  return Object.assign(ticks(), {
    close() {
      stopped = true
    },
  })
}

module.exports = { app }
