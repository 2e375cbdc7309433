// Timeouts (RFC 9110 §15.5.9, RFC 9112 §9.5) with `timeout: 1`: slowloris, idle keep-alive,
// stalled bodies, and a client that stops reading a large response.
import net from 'node:net'

import test from 'ava'

import cases from './cases/timeouts.mjs'
import { registerCases, startGatehouse } from './harness.mjs'

registerCases(test, cases)

test('TO-11 a client that stops reading a 50 MiB response is cut off after about the timeout, without the server buffering it [RFC 9112 §9.5]', async (t) => {
  const total = 50 * 1024 * 1024
  const { port, ctx } = await startGatehouse(t, { options: { timeout: 1 } })
  const socket = net.connect(port, '127.0.0.1')
  // A small receive window on our side; we read nothing after the first bytes.
  socket.setNoDelay(true)
  await new Promise((resolve) => socket.on('connect', resolve))
  const started = Date.now()
  socket.write(`GET /?big=${total} HTTP/1.1\r\nHost: h\r\n\r\n`)
  let got = 0
  await new Promise((resolve) => {
    socket.once('data', (d) => {
      got += d.length
      socket.pause()
      resolve()
    })
  })
  // Wait until the server gives up: the app's body is closed once the connection is gone.
  const deadline = Date.now() + 8000
  while (ctx.bodyClosedAt === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  t.truthy(ctx.bodyClosedAt, "the server gave up on the stalled client and closed the app's body")
  const after = (ctx.bodyClosedAt ?? Date.now()) - started
  t.true(after >= 900 && after <= 5000, `cut after ${after} ms; expected about the 1 s timeout`)
  t.true(ctx.produced < 16 * 1024 * 1024, `the app was asked for ${ctx.produced} bytes of 50 MiB: backpressure, not buffering`)
  // Drain what is left: the stream ends early (closed), not with the whole body.
  socket.on('data', (d) => (got += d.length))
  const closed = new Promise((resolve) => socket.on('close', resolve))
  socket.resume()
  await closed
  t.true(got < total, `the client received ${got} bytes, not the whole body`)
})
