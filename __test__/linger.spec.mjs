// Every close the server makes lets its answer arrive: where it answers and closes while the
// client is still sending, it stops writing and keeps reading (and discarding) for a while, as
// nginx's lingering_close does, so the close does not turn into a reset that destroys the
// answer in the client's receive buffer. Each case sends a request and then 256 KiB more, spread
// over about a second, without reading; only then does it read what it was sent.
import net from 'node:net'

import test from 'ava'

import { makeServer } from './helpers.mjs'

/**
 * Send `head`, then (after `quietMs`) 256 KiB in 8 pieces 150 ms apart, with reading paused; then
 * read it all.
 */
function sendMoreThenRead(port, head, quietMs = 0) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    const chunks = []
    let reset = false
    s.pause()
    s.on('data', (d) => chunks.push(d))
    s.on('error', (e) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') reset = true
      else reject(e)
    })
    s.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), reset }))
    s.on('connect', async () => {
      s.write(Buffer.from(head, 'latin1'))
      await new Promise((r) => setTimeout(r, quietMs))
      for (let i = 0; i < 8 && !s.destroyed; i++) {
        await new Promise((r) => setTimeout(r, 150))
        if (!s.destroyed) s.write(Buffer.alloc(32 * 1024, 120))
      }
      await new Promise((r) => setTimeout(r, 100))
      s.resume()
    })
    s.setTimeout(15000, () => s.destroy(new Error('no close within 15 s')))
  })
}

const app = async (environ, sr) => {
  sr('200 OK', [['Content-Type', 'text/plain']])
  return ['ok']
}

const cases = [
  ['400 (a malformed request line)', 'GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n', 400],
  ['413 (a declared body over the limit)', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000\r\n\r\n', 413],
  ['414 (a target over the limit)', `GET /${'a'.repeat(70000)} HTTP/1.1\r\nHost: h\r\n\r\n`, 414],
  ['431 (a head over the limit)', `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${'b'.repeat(70000)}\r\n\r\n`, 431],
  ['505 (an HTTP version the server does not speak)', 'GET / HTTP/2.0\r\nHost: h\r\n\r\n', 505],
  ['200 that ends a connection with a body left unread', 'POST / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 900000\r\n\r\n', 200],
]

for (const [what, head, status] of cases) {
  test(`the answer arrives although the client goes on sending: ${what}`, async (t) => {
    const { port } = await makeServer(t, app, { maxRequestBodySize: 1000000, maxRequestHeaderSize: 65536 })
    const { text } = await sendMoreThenRead(port, head)
    t.regex(text, new RegExp(`^HTTP/1\\.1 ${status} `), JSON.stringify(text.slice(0, 60)))
  })
}

test('the answer arrives although the client goes on sending: 408 (a head not finished within `timeout`)', async (t) => {
  const { port } = await makeServer(t, app, { timeout: 1 })
  // The head stops half-way; the 408 goes out after 1 s, and the rest comes after it.
  const { text } = await sendMoreThenRead(port, 'GET / HTTP/1.1\r\nHost: h\r\nX-Half: ', 1500)
  t.regex(text, /^HTTP\/1\.1 408 /, JSON.stringify(text.slice(0, 60)))
})

test('the answer arrives although the client goes on sending: 400 (a PROXY header expected, a request sent)', async (t) => {
  const { port, server } = await makeServer(t, app, { proxyProtocol: true })
  const { text } = await sendMoreThenRead(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
  t.regex(text, /^HTTP\/1\.1 400 [^]*a PROXY protocol header was expected/, JSON.stringify(text.slice(0, 60)))
  t.regex(server.metrics(), /gatehouse_responses_total\{code="400"\} 1\n/, 'the refusal is counted by its status')
})
