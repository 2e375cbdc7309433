// fromNodeHandler: a Node-style (req, res) handler as a WSGI-style app, through real sockets.
import http from 'node:http'
import net from 'node:net'
import { createRequire } from 'node:module'

import test from 'ava'

import { eventually, gatehouse, makeServer, parseResponses, raw, spawnLines } from './helpers.mjs'

const { fromNodeHandler } = gatehouse
const require = createRequire(import.meta.url)

test('req and res are real IncomingMessage and ServerResponse instances with the request on them', async (t) => {
  let seen
  const { port } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      seen = {
        req: req instanceof http.IncomingMessage,
        res: res instanceof http.ServerResponse,
        method: req.method,
        url: req.url,
        httpVersion: req.httpVersion,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        remoteAddress: req.socket.remoteAddress,
        remotePort: typeof req.socket.remotePort,
        encrypted: req.socket.encrypted,
        connection: req.connection === req.socket,
      }
      res.end('ok')
    }),
  )
  const { data } = await raw(port, 'GET /a%20b?x=1 HTTP/1.1\r\nHost: h.test\r\nX-Many: 1\r\nX-Many: 2\r\nConnection: close\r\n\r\n')
  t.regex(data.toString(), /^HTTP\/1\.1 200 OK\r\n/)
  t.deepEqual(seen, {
    req: true,
    res: true,
    method: 'GET',
    url: '/a%20b?x=1',
    httpVersion: '1.1',
    headers: { host: 'h.test', 'x-many': '1, 2', connection: 'close' },
    rawHeaders: ['Host', 'h.test', 'X-Many', '1', 'X-Many', '2', 'Connection', 'close'],
    remoteAddress: '127.0.0.1',
    remotePort: 'number',
    encrypted: undefined,
    connection: true,
  })
})

test('res.end(body) is one whole answer with Content-Length; statusCode, setHeader and repeated Set-Cookie go out', async (t) => {
  const { port } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      res.statusCode = 418
      res.setHeader('X-A', 'a')
      res.setHeader('Set-Cookie', ['a=1', 'b=2'])
      res.setHeader('Content-Type', 'text/plain')
      t.is(res.getHeader('x-a'), 'a')
      t.false(res.headersSent)
      res.end('teapot')
      t.true(res.headersSent)
      t.true(res.writableEnded)
    }),
  )
  const { data } = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const [res] = parseResponses(data)
  t.is(res.status, 418)
  const text = data.toString()
  t.regex(text, /^HTTP\/1\.1 418 I'm a Teapot\r\n/i)
  t.regex(text, /\r\nContent-Length: 6\r\n/i)
  t.regex(text, /\r\nSet-Cookie: a=1\r\n/i)
  t.regex(text, /\r\nSet-Cookie: b=2\r\n/i)
  t.is(res.body.toString(), 'teapot')
})

test('writeHead takes a reason and headers; Connection and Transfer-Encoding set by the app are dropped', async (t) => {
  const { port } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      res.writeHead(202, 'Taken', { 'X-B': 'b', Connection: 'keep-alive', 'Transfer-Encoding': 'chunked' })
      t.throws(() => res.setHeader('X-Late', '1'), { code: 'ERR_HTTP_HEADERS_SENT' })
      res.write('one,')
      res.end('two')
    }),
  )
  const { data } = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const text = data.toString()
  t.regex(text, /^HTTP\/1\.1 202 Taken\r\n/)
  t.regex(text, /\r\nX-B: b\r\n/i)
  t.is((text.match(/transfer-encoding/gi) ?? []).length, 1, 'the core frames the body itself, once')
  t.false(/keep-alive/i.test(text))
  t.is(parseResponses(data)[0].body.toString(), 'one,two')
})

test('write() returns false when the client is slow and "drain" follows; the bytes arrive whole and in order', async (t) => {
  let falses = 0
  let drains = 0
  const COUNT = 256
  const chunk = (i) => Buffer.alloc(64 * 1024, 97 + (i % 26))
  const { port } = await makeServer(
    t,
    fromNodeHandler(async (req, res) => {
      res.on('drain', () => drains++)
      for (let i = 0; i < COUNT; i++) {
        if (!res.write(chunk(i))) {
          falses++
          await new Promise((resolve) => res.once('drain', resolve))
        }
      }
      res.end()
    }),
  )
  // A client that reads nothing for half a second, then everything.
  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.pause()
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await new Promise((r) => setTimeout(r, 500))
  const parts = []
  socket.on('data', (d) => parts.push(d))
  socket.resume()
  await new Promise((r) => socket.on('end', r))
  const [res] = parseResponses(Buffer.concat(parts))
  t.true(res.body.equals(Buffer.concat(Array.from({ length: COUNT }, (_, i) => chunk(i)))))
  t.true(falses > 0, 'write() said to wait at least once')
  t.is(drains, falses)
})

test('"finish" and "close" are emitted after end(), and the end callback is called', async (t) => {
  const events = []
  let done
  const finished = new Promise((r) => (done = r))
  const { url } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      res.on('finish', () => events.push('finish'))
      res.on('close', () => {
        events.push('close')
        done()
      })
      res.end('x', () => events.push('callback'))
    }),
  )
  t.is(await (await fetch(url)).text(), 'x')
  await finished
  t.deepEqual(events, ['finish', 'callback', 'close'])
})

test('the request body is the readable stream; the first read sends 100 Continue', async (t) => {
  const { port } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      setTimeout(() => {
        let total = 0
        req.on('data', (d) => (total += d.length))
        req.on('end', () => res.end(`${total} ${req.complete}`))
      }, 100)
    }),
  )
  const { data } = await raw(port, ['POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 200000\r\nConnection: close\r\n\r\n', Buffer.alloc(200000, 98)], { idleMs: 2000 })
  const text = data.toString()
  t.true(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), text.slice(0, 60))
  t.true(text.endsWith('\r\n\r\n200000 true'))
})

test('an HTTP/1.0 request has httpVersion 1.0', async (t) => {
  const { port } = await makeServer(t, fromNodeHandler((req, res) => res.end(req.httpVersion)))
  const { data } = await raw(port, 'GET / HTTP/1.0\r\n\r\n')
  t.is(parseResponses(data)[0].body.toString(), '1.0')
})

test('a throw, a rejected promise, res.socket.write() and res.addTrailers() fail with a 500 and a clear error', async (t) => {
  const { url, errors } = await makeServer(
    t,
    fromNodeHandler(async (req, res) => {
      if (req.url === '/throw') throw new Error('node boom')
      if (req.url === '/socket') res.socket.write('raw bytes')
      if (req.url === '/trailers') res.addTrailers({ a: '1' })
      res.end('fine')
    }),
  )
  for (const path of ['/throw', '/socket', '/trailers']) t.is((await fetch(url + path)).status, 500, path)
  t.is(await (await fetch(url + '/ok')).text(), 'fine')
  t.regex(errors.text, /node boom/)
  t.regex(errors.text, /writing to req\.socket \/ res\.socket is not supported \(the Rust core owns the connection\)/)
  t.regex(errors.text, /res\.addTrailers\(\) is not supported/)
})

test('a synchronous throw before anything was sent is a 500', async (t) => {
  const { url } = await makeServer(
    t,
    fromNodeHandler(() => {
      throw new Error('sync boom')
    }),
  )
  t.is((await fetch(url)).status, 500)
})

test('flushHeaders() marks the headers sent; a HEAD request gets the headers and no body', async (t) => {
  const { port } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      res.setHeader('X-F', '1')
      res.flushHeaders()
      t.true(res.headersSent)
      res.end('body')
    }),
  )
  const { data } = await raw(port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const text = data.toString()
  t.regex(text, /^HTTP\/1\.1 200 OK\r\n/)
  t.regex(text, /\r\nX-F: 1\r\n/i)
  t.true(text.endsWith('\r\n\r\n'))
})

test('fromNodeHandler refuses what is not a function', (t) => {
  t.throws(() => fromNodeHandler({}), { instanceOf: TypeError, message: /expected a function \(req, res\) => void/ })
})

test('a request without a body is complete, and reading it ends at once', async (t) => {
  const { url } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      const parts = []
      req.on('data', (d) => parts.push(d))
      req.on('end', () => res.end(`${req.complete} ${Buffer.concat(parts).length}`))
    }),
  )
  t.is(await (await fetch(url)).text(), 'true 0')
})

test('a client that leaves mid-stream gets "close" on res; later writes fail quietly and the server goes on', async (t) => {
  let closed = false
  let lateWrite
  const { url } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      if (req.url === '/next') return res.end('next')
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      const timer = setInterval(() => res.write('x'.repeat(16 * 1024)), 2)
      res.on('close', () => {
        clearInterval(timer)
        closed = true
        lateWrite = res.write('after close')
      })
    }),
  )
  const controller = new AbortController()
  const res = await fetch(url, { signal: controller.signal })
  await res.body.getReader().read()
  controller.abort()
  t.true(await eventually(() => closed, 5000), "'close' was emitted")
  t.false(lateWrite)
  t.is(await (await fetch(url + '/next')).text(), 'next')
})

test('100 writes without waiting keep their order on 8 connections at once', async (t) => {
  // Handing each write straight to the WSGI write callable and ending at once mixed chunks up
  // on concurrent connections (about 2 bodies in 3); the adapter queues them itself.
  const { port } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      for (let i = 0; i < 100; i++) res.write(`${i};`)
      res.end()
    }),
  )
  const expected = Array.from({ length: 100 }, (_, i) => `${i};`).join('')
  const get = () =>
    new Promise((resolve, reject) => {
      http
        .get({ port, host: '127.0.0.1', agent: false }, (res) => {
          let body = ''
          res.on('data', (d) => (body += d))
          res.on('end', () => resolve(body))
        })
        .on('error', reject)
    })
  for (let round = 0; round < 5; round++) {
    const bodies = await Promise.all(Array.from({ length: 8 }, get))
    for (const body of bodies) t.is(body, expected)
  }
})

test('a client that resets while the handler has not answered yet gets "close" on res, once', async (t) => {
  const closed = []
  const { port, server } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      res.on('close', () => closed.push(1))
    }),
  )
  const s = net.connect(port, '127.0.0.1')
  s.write('GET /never HTTP/1.1\r\nHost: h\r\n\r\n')
  await eventually(() => server.pool.idle < server.pool.size)
  s.resetAndDestroy()
  t.true(await eventually(() => closed.length === 1), '"close" was emitted')
  await new Promise((r) => setTimeout(r, 100))
  t.is(closed.length, 1)
})

/** Run `handler` on node:http (port 0); resolves its port, closed when the test ends. */
async function onNodeHttp(t, handler) {
  const server = http.createServer(handler)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return server.address().port
}

test('after the response finished, res.socket and res.connection are null and writableFinished is true, as on node:http', async (t) => {
  const observe = (seen) => (req, res) => {
    seen.before = { socket: res.socket !== null, connection: res.connection !== null, writableFinished: res.writableFinished }
    res.on('finish', () => {
      seen.onFinish = { socket: res.socket, writableFinished: res.writableFinished }
    })
    res.on('close', () => {
      seen.onClose = { socket: res.socket, connection: res.connection, writableFinished: res.writableFinished, writableEnded: res.writableEnded }
      seen.done()
    })
    res.end('ok')
  }
  const run = async (port, seen) => {
    const closed = new Promise((resolve) => (seen.done = resolve))
    await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await closed
    delete seen.done
    return seen
  }
  const onGatehouse = {}
  const { port } = await makeServer(t, fromNodeHandler(observe(onGatehouse)))
  const onNode = {}
  const nodePort = await onNodeHttp(t, observe(onNode))
  t.deepEqual(await run(port, onGatehouse), await run(nodePort, onNode))
  t.deepEqual(onGatehouse.onClose, { socket: null, connection: null, writableFinished: true, writableEnded: true })
})

test('a 3 MiB body read with for await, with pipe() and with "readable" events arrives whole each way', async (t) => {
  const body = Buffer.alloc(3 * 1024 * 1024)
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff
  const sha = (b) => require('node:crypto').createHash('sha256').update(b).digest('hex')
  const { port } = await makeServer(
    t,
    fromNodeHandler(async (req, res) => {
      const parts = []
      if (req.url === '/iterate') {
        for await (const piece of req) parts.push(piece)
      } else if (req.url === '/pipe') {
        const { PassThrough } = require('node:stream')
        const through = new PassThrough()
        through.on('data', (d) => parts.push(d))
        await new Promise((resolve) => req.pipe(through).on('end', resolve))
      } else {
        await new Promise((resolve) => {
          req.on('readable', () => {
            for (let piece = req.read(); piece !== null; piece = req.read()) parts.push(piece)
          })
          req.on('end', resolve)
        })
      }
      res.end(sha(Buffer.concat(parts)))
    }),
  )
  for (const way of ['/iterate', '/pipe', '/readable']) {
    const r = await fetch(`http://127.0.0.1:${port}${way}`, { method: 'POST', body })
    t.is(await r.text(), sha(body), way)
  }
})

/** The head of the first answer to `request` on `port`, without its Date line. */
async function headWithoutDate(port, request) {
  const { data } = await raw(port, request, { idleMs: 300 })
  const text = data.toString('latin1')
  return text.slice(0, text.indexOf('\r\n\r\n') + 4).replace(/\r\nDate: [^\r]*/, '')
}

test('answers carry the head node:http sends, byte for byte apart from Date: Connection and Keep-Alive, no Server', async (t) => {
  const handler = (req, res) => {
    res.setHeader('Content-Type', 'text/plain')
    if (req.url === '/stream') {
      res.write('a')
      setTimeout(() => res.end('b'), 10)
    } else {
      res.end('hi')
    }
  }
  // node:http's keepAliveTimeout is 5 s by default; gatehouse's is its timeout option.
  const { port } = await makeServer(t, fromNodeHandler(handler), { timeout: 5 })
  const nodePort = await onNodeHttp(t, handler)
  const requests = {
    'HTTP/1.1 keep-alive': 'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'HTTP/1.1 streamed': 'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n',
    'HTTP/1.1 Connection: close': 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'HTTP/1.1 streamed, Connection: close': 'GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  }
  for (const [what, request] of Object.entries(requests)) {
    const ours = await headWithoutDate(port, request)
    const theirs = await headWithoutDate(nodePort, request)
    t.is(ours, theirs, what)
  }
  t.is(await headWithoutDate(port, requests['HTTP/1.1 keep-alive']), 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n')
  // HTTP/1.0 differs on purpose: node:http answers it with HTTP/1.1 on the status line, and frames
  // a 1.0 answer by the close unless the handler set Content-Length itself (so it closes a 1.0
  // keep-alive connection); the core knows the length of a whole answer, sends it, and keeps a
  // 1.0 keep-alive connection, saying so as node says it.
  t.is(await headWithoutDate(port, 'GET / HTTP/1.0\r\n\r\n'), 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 2\r\n\r\n')
  t.is(
    await headWithoutDate(port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'),
    'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n',
  )
})

test('a Node-style answer sends the Server header its handler sets, and WSGI answers on the same server keep theirs', async (t) => {
  const node = fromNodeHandler((req, res) => {
    if (req.url === '/named') res.setHeader('Server', 'mine')
    res.end('n')
  })
  const wsgi = (_e, sr) => {
    sr('200 OK', [])
    return ['w']
  }
  const { port } = await makeServer(t, (e, sr) => (e.PATH_INFO.startsWith('/wsgi') ? wsgi(e, sr) : node(e, sr)))
  const close = (path) => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`
  t.notRegex(await headWithoutDate(port, close('/')), /\r\nServer:/i)
  t.regex(await headWithoutDate(port, close('/named')), /\r\nServer: mine\r\n/)
  const w = await headWithoutDate(port, close('/wsgi'))
  t.regex(w, /\r\nServer: gatehouse\//)
  t.regex(w, /\r\nContent-Length: 1\r\nConnection: close\r\n\r\n$/)
  // Answers alternating between the two framings on one connection (the same-head reuse must tell them apart).
  const { data } = await raw(port, ['/', '/wsgi', '/', '/wsgi'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''), { idleMs: 300 })
  const heads = data.toString('latin1').split(/\r\n\r\n[nw]/).slice(0, 4)
  t.deepEqual(heads.map((h) => /\r\nServer:/.test(h)), [false, true, false, true])
  t.deepEqual(heads.map((h) => /\r\nKeep-Alive: timeout=5\r\n/.test(h)), [true, false, true, false])
})

test('repeated request headers reach the handler as on node:http: headers, rawHeaders, headersDistinct and trailers', async (t) => {
  const observe = (seen) => (req, res) => {
    seen.push({ headers: { ...req.headers }, rawHeaders: req.rawHeaders, headersDistinct: { ...req.headersDistinct }, trailers: req.trailers, trailersDistinct: req.trailersDistinct })
    res.end('ok')
  }
  const request =
    'GET / HTTP/1.1\r\nHost: h.test\r\nContent-Type: text/plain\r\ncontent-type: application/json\r\nSet-Cookie: a=1\r\nX-Many: 1\r\n' +
    'Cookie: a=1\r\nset-cookie: b=2\r\nCookie: b=2\r\nUser-Agent: one\r\nUser-Agent: two\r\nX-many: 2\r\nAuthorization: A\r\nauthorization: B\r\n' +
    'Referer: r1\r\nReferer: r2\r\nAccept: x\r\nAccept: y\r\nX_Under: u\r\nConnection: close\r\n\r\n'
  const ours = []
  const { port } = await makeServer(t, fromNodeHandler(observe(ours)))
  await raw(port, request)
  const theirs = []
  await raw(await onNodeHttp(t, observe(theirs)), request)
  t.is(ours.length, 1)
  t.deepEqual(ours, theirs)
  t.deepEqual(ours[0].headers['set-cookie'], ['a=1', 'b=2'])
  t.is(ours[0].headers['content-type'], 'text/plain')
  t.is(ours[0].headers.cookie, 'a=1; b=2')
})

test('a single Set-Cookie request header is an array on node:http and here', async (t) => {
  const ours = []
  const { port } = await makeServer(
    t,
    fromNodeHandler((req, res) => {
      ours.push(req.headers['set-cookie'])
      res.end()
    }),
  )
  await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nSet-Cookie: only=1\r\nConnection: close\r\n\r\n')
  t.deepEqual(ours, [['only=1']])
})

test('the WSGI environ keeps its CGI joining beside gatehouse.rawHeaders, the lines as sent', async (t) => {
  let seen
  const { port } = await makeServer(t, (environ, sr) => {
    seen = { cookie: environ.HTTP_COOKIE, many: environ.HTTP_X_MANY, type: environ.CONTENT_TYPE, under: environ.HTTP_X_UNDER, raw: environ['gatehouse.rawHeaders'] }
    sr('200 OK', [])
    return []
  })
  await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nX-Many: 1\r\nContent-Type: a\r\ncookie: b=2\r\nx-many: 2\r\nContent-type: b\r\nX_Under: u\r\nConnection: close\r\n\r\n')
  t.deepEqual(seen, {
    cookie: 'a=1; b=2',
    many: '1, 2',
    type: 'a, b',
    under: undefined,
    raw: ['Host', 'x', 'Cookie', 'a=1', 'X-Many', '1', 'Content-Type', 'a', 'cookie', 'b=2', 'x-many', '2', 'Content-type', 'b', 'X_Under', 'u', 'Connection', 'close'],
  })
})

test('with and without the node:http internals the adapter detects, the same bytes, and headersSent, writableFinished and res.socket as node:http has them', async (t) => {
  const run = async (env) => {
    const { nthLine, exited } = spawnLines(t, process.execPath, ['__test__/fixtures/node-handler-answers.mjs'], env)
    const out = JSON.parse(await nthLine(0))
    t.is((await exited).code, 0)
    return out
  }
  // Chunk boundaries carry no meaning (the core may join chunks queued behind a busy socket):
  // a chunked body is compared as the bytes it carries.
  const dechunk = (answer) => {
    const split = answer.indexOf('\r\n\r\n') + 4
    if (!/\r\nTransfer-Encoding: chunked\r\n/i.test(answer.slice(0, split))) return answer
    let body = ''
    let at = split
    for (;;) {
      const eol = answer.indexOf('\r\n', at)
      const size = Number.parseInt(answer.slice(at, eol), 16)
      if (!(size > 0)) return `${answer.slice(0, split)}${body}<end: ${JSON.stringify(answer.slice(at))}>`
      body += answer.slice(eol + 2, eol + 2 + size)
      at = eol + 2 + size + 2
    }
  }
  const decoded = ({ answers, seen }) => ({ answers: Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, dechunk(v)])), seen })
  const withInternals = await run({ GATEHOUSE_PUBLIC_API_ONLY: '0' })
  const publicOnly = await run({ GATEHOUSE_PUBLIC_API_ONLY: '1' })
  t.deepEqual(decoded(publicOnly), decoded(withInternals), 'both paths give the same head, body bytes and observations')
  const { answers, seen } = withInternals
  t.regex(answers['/end'], /^HTTP\/1\.1 200 OK\r\n(?:[^\r]*\r\n)*Content-Length: 5\r\n(?:[^\r]*\r\n)*\r\nwhole$/)
  t.regex(answers['/write-head'], /^HTTP\/1\.1 201 Created\r\n[^]*X-A: b\r\n[^]*\r\n\r\nmade$/i)
  t.regex(answers['/stream'], /Transfer-Encoding: chunked\r\n(?:[^\r]*\r\n)*\r\n4\r\none \r\n3\r\ntwo\r\n0\r\n\r\n$/)
  t.true(dechunk(answers['/too-late']).endsWith('\r\n\r\nbegun;ERR_HTTP_HEADERS_SENT,ERR_HTTP_HEADERS_SENT,ERR_HTTP_HEADERS_SENT,ERR_HTTP_HEADERS_SENT<end: "0\\r\\n\\r\\n">'), answers['/too-late'])
  t.false(/X-Late/i.test(answers['/too-late']))
  // [headersSent before, headersSent, writableEnded, writableFinished, socket null] at 'finish'.
  for (const path of Object.keys(answers)) t.deepEqual(seen[path], [false, true, true, true, true], path)
})
