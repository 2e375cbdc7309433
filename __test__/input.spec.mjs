import crypto from 'node:crypto'
import net from 'node:net'

import test from 'ava'

import { makeServer, raw, parseResponses } from './helpers.mjs'

/** Reads the whole body with read(size) in pieces and answers its length and sha256. */
function digestApp(pieceSize) {
  return async (environ, startResponse) => {
    const hash = crypto.createHash('sha256')
    let total = 0
    let reads = 0
    for (;;) {
      const piece = await environ['wsgi.input'].read(pieceSize)
      if (piece.length === 0) break
      if (piece.length > pieceSize) throw new Error(`read(${pieceSize}) returned ${piece.length} bytes`)
      hash.update(piece)
      total += piece.length
      reads++
    }
    startResponse('200 OK', [['Content-Type', 'application/json']])
    return [JSON.stringify({ total, reads, sha256: hash.digest('hex') })]
  }
}

test('a 10 MiB upload is read with read(size) in pieces', async (t) => {
  const { url } = await makeServer(t, digestApp(65536))
  const body = crypto.randomBytes(10 * 1024 * 1024)
  const res = await fetch(url, { method: 'POST', body })
  const got = await res.json()
  t.is(got.total, body.length)
  t.true(got.reads >= 160)
  t.is(got.sha256, crypto.createHash('sha256').update(body).digest('hex'))
})

test('a chunked request body is decoded', async (t) => {
  const { port } = await makeServer(t, digestApp(3))
  const { data } = await raw(
    port,
    'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
  )
  const got = JSON.parse(parseResponses(data)[0].text)
  t.is(got.total, 11)
  t.is(got.sha256, crypto.createHash('sha256').update('hello world').digest('hex'))
})

test('read() without a size returns the whole body; a streamed request arrives over time', async (t) => {
  const { port } = await makeServer(t, async (environ, sr) => {
    const all = await environ['wsgi.input'].read()
    const again = await environ['wsgi.input'].read()
    sr('200 OK', [])
    return [`${all.toString()}|${again.length}`]
  })
  const parts = ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nConnection: close\r\n\r\n', '01234', '56789']
  const socket = net.connect(port, '127.0.0.1')
  const chunks = []
  socket.on('data', (d) => chunks.push(d))
  const closed = new Promise((r) => socket.on('close', r))
  await new Promise((r) => socket.on('connect', r))
  for (const p of parts) {
    socket.write(p)
    await new Promise((r) => setTimeout(r, 50))
  }
  await closed
  t.is(parseResponses(Buffer.concat(chunks))[0].text, '0123456789|0')
})

test('readline, readlines and async iteration give lines', async (t) => {
  const { url } = await makeServer(t, async (environ, sr) => {
    const input = environ['wsgi.input']
    const first = await input.readline()
    const limited = await input.readline(2)
    const rest = await input.readlines()
    sr('200 OK', [])
    return [JSON.stringify([first.toString(), limited.toString(), rest.map(String)])]
  })
  const res = await fetch(url, { method: 'POST', body: 'one\ntwo\nthree\nfour' })
  t.deepEqual(await res.json(), ['one\n', 'tw', ['o\n', 'three\n', 'four']])

  const { url: url2 } = await makeServer(t, async (environ, sr) => {
    const lines = []
    for await (const line of environ['wsgi.input']) lines.push(line.toString())
    sr('200 OK', [])
    return [JSON.stringify(lines)]
  })
  const res2 = await fetch(url2, { method: 'POST', body: 'a\nb\nc' })
  t.deepEqual(await res2.json(), ['a\n', 'b\n', 'c'])
})

test('100 Continue is sent on the first read, and only then', async (t) => {
  const { port } = await makeServer(t, async (environ, sr) => {
    await new Promise((r) => setTimeout(r, 100))
    const body = await environ['wsgi.input'].read()
    sr('200 OK', [])
    return [`got ${body}`]
  })
  const socket = net.connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', (d) => {
    received += d.toString('latin1')
    if (received.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !socket.sentBody) {
      socket.sentBody = true
      socket.write('hello')
    }
  })
  const closed = new Promise((r) => socket.on('close', r))
  socket.write('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n')
  await closed
  t.true(received.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), received)
  t.true(received.endsWith('got hello'))
})

test('a request the app never reads gets no 100 Continue', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return ['not reading']
  })
  const { data } = await raw(port, 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n')
  const text = data.toString('latin1')
  t.false(text.includes('100 Continue'))
  t.true(text.startsWith('HTTP/1.1 200 OK'))
})

test('a request body sent without waiting for 100 Continue is read normally', async (t) => {
  const { port } = await makeServer(t, async (environ, sr) => {
    const body = await environ['wsgi.input'].read()
    sr('200 OK', [])
    return [`got ${body}`]
  })
  const { data } = await raw(port, 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello')
  t.true(data.toString('latin1').endsWith('got hello'))
})

test('an unread body that is already buffered does not break keep-alive', async (t) => {
  const { port } = await makeServer(t, (environ, sr) => {
    sr('200 OK', [])
    return [environ.PATH_INFO]
  })
  const { data } = await raw(port, 'POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyzGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  t.deepEqual(parseResponses(data).map((r) => r.text), ['/a', '/b'])
})

/** Send `head`, then `body` after `delayMs`; resolve with what came back within 500 ms of quiet. */
function sendLater(port, head, body, delayMs) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks = []
    let idle
    const done = () => {
      socket.destroy()
      resolve(Buffer.concat(chunks))
    }
    socket.on('connect', () => {
      socket.write(head, 'latin1')
      setTimeout(() => {
        socket.write(body)
        idle = setTimeout(done, 500)
      }, delayMs)
    })
    socket.on('data', (d) => {
      chunks.push(d)
      clearTimeout(idle)
      idle = setTimeout(done, 500)
    })
    socket.on('error', reject)
  })
}

// A small body that arrives with its head crosses with it (no reads from the core); one that
// comes later, or a larger one, is read from the core. The app sees the same bytes either way.
for (const size of [0, 1, 5000, 65536, 65537, 200000]) {
  test(`a ${size}-byte body reads the same sent with its head and sent 100 ms later`, async (t) => {
    const app = async (environ, startResponse) => {
      const input = environ['wsgi.input']
      const line = await input.readline()
      const piece = await input.read(1000)
      const rest = await input.read()
      const after = await input.read()
      startResponse('200 OK', [['Content-Type', 'application/json']])
      const sha256 = crypto.createHash('sha256').update(Buffer.concat([line, piece, rest])).digest('hex')
      return [JSON.stringify({ line: line.length, piece: piece.length, rest: rest.length, after: after.length, sha256 })]
    }
    const { port } = await makeServer(t, app)
    const body = Buffer.alloc(size, 'b')
    if (size > 100) body.write('first line\n', 0, 'latin1')
    const head = `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`
    const want = {
      line: size > 100 ? 11 : size,
      piece: size > 100 ? 1000 : 0,
      rest: size > 100 ? size - 1011 : 0,
      after: 0,
      sha256: crypto.createHash('sha256').update(body).digest('hex'),
    }
    const together = await raw(port, Buffer.concat([Buffer.from(head, 'latin1'), body]), { idleMs: 500 })
    t.deepEqual(JSON.parse(parseResponses(together.data)[0].text), want)
    const later = await sendLater(port, head, body, 100)
    t.deepEqual(JSON.parse(parseResponses(later)[0].text), want)
  })
}

test('a chunked upload echoed as it is read (the response starts before the body is read) comes back whole', async (t) => {
  const { port } = await makeServer(t, (environ, sr) => {
    sr('200 OK', [['Content-Type', 'application/octet-stream']])
    const input = environ['wsgi.input']
    return (async function* () {
      for (;;) {
        const piece = await input.read(65536)
        if (piece.length === 0) return
        yield piece
      }
    })()
  })
  const body = Buffer.alloc(100_000)
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff
  const parts = ['POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n']
  for (let at = 0; at < body.length; at += 4096) {
    const piece = body.subarray(at, at + 4096)
    parts.push(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]))
  }
  parts.push('0\r\n\r\n')
  const { data } = await raw(port, parts)
  const [res] = parseResponses(data)
  t.is(res.status, 200)
  t.true(res.body.equals(body), `${res.body.length} of ${body.length} bytes, in order`)
})
