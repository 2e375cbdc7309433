// fromFetch: a fetch-style handler (Request -> Response) as a WSGI-style app, through real sockets.
import net from 'node:net'

import test from 'ava'

import { eventually, gatehouse, makeServer, parseResponses, raw, spawnLines } from './helpers.mjs'

const { fromFetch } = gatehouse

test('the Request has the method, a URL with the scheme and host of the request and the path and query as sent, and the headers', async (t) => {
  let seen
  const { port } = await makeServer(
    t,
    fromFetch(async (request, info) => {
      seen = {
        instance: request instanceof Request,
        method: request.method,
        url: request.url,
        pathname: new URL(request.url).pathname,
        accept: request.headers.get('accept'),
        repeated: request.headers.get('x-many'),
        type: request.headers.get('content-type'),
        remoteAddr: info.remoteAddr,
        aborted: request.signal.aborted,
        body: await request.text(),
      }
      return new Response('ok')
    }),
  )
  const { data } = await raw(
    port,
    'PUT /a%2Fb/c%20d?q=%41&x HTTP/1.1\r\nHost: example.test:8080\r\nAccept: text/plain\r\nX-Many: 1\r\nX-Many: 2\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
  )
  t.regex(data.toString(), /^HTTP\/1\.1 200 OK\r\n/)
  t.deepEqual(seen, {
    instance: true,
    method: 'PUT',
    url: 'http://example.test:8080/a%2Fb/c%20d?q=%41&x',
    pathname: '/a%2Fb/c%20d',
    accept: 'text/plain',
    repeated: '1, 2',
    type: 'text/plain',
    remoteAddr: '127.0.0.1',
    aborted: false,
    body: 'hello',
  })
})

test('a string, a Uint8Array, an ArrayBuffer and a null body each go out whole with a Content-Length', async (t) => {
  const bodies = { '/string': () => 'héllo', '/bytes': () => new TextEncoder().encode('bytes'), '/buffer': () => new TextEncoder().encode('buf').buffer, '/null': () => null }
  const { url } = await makeServer(t, fromFetch((request) => new Response(bodies[new URL(request.url).pathname](), { status: 200 })))
  for (const [path, expected, length] of [
    ['/string', 'héllo', '6'],
    ['/bytes', 'bytes', '5'],
    ['/buffer', 'buf', '3'],
    ['/null', '', '0'],
  ]) {
    const res = await fetch(url + path)
    t.is(await res.text(), expected, path)
    t.is(res.headers.get('content-length'), length, path)
    t.is(res.headers.get('transfer-encoding'), null, path)
  }
  const res = await fetch(url + '/string')
  t.is(res.headers.get('content-type'), 'text/plain;charset=UTF-8', 'a string body gets the type a real Response gives it')
})

test('the status, its reason and every Set-Cookie header go out; hop-by-hop headers are dropped', async (t) => {
  const { port } = await makeServer(
    t,
    fromFetch(() => {
      const headers = new Headers({ 'X-One': 'a', Connection: 'close', 'Keep-Alive': 'timeout=5' })
      headers.append('Set-Cookie', 'a=1; Path=/')
      headers.append('Set-Cookie', 'b=2, c=3')
      return new Response('made', { status: 201, statusText: 'Made It', headers })
    }),
  )
  const { data } = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { idleMs: 300 })
  const [res] = parseResponses(data)
  t.is(res.status, 201)
  t.regex(data.toString(), /^HTTP\/1\.1 201 Made It\r\n/)
  const text = data.toString().toLowerCase()
  t.true(text.includes('set-cookie: a=1; path=/\r\n'))
  t.true(text.includes('set-cookie: b=2, c=3\r\n'))
  t.true(text.includes('x-one: a\r\n'))
  t.false(text.includes('keep-alive:'))
  t.false(text.includes('connection: close'))
  t.is(res.body.toString(), 'made')
})

test('a real Response (Response.json, a Blob body) is answered whole too', async (t) => {
  const { url } = await makeServer(t, fromFetch((request) => (request.url.endsWith('/blob') ? new Response(new Blob(['blob body'])) : Response.json({ a: 1 }, { status: 202 }))))
  const json = await fetch(url + '/json')
  t.is(json.status, 202)
  t.deepEqual(await json.json(), { a: 1 })
  t.is(json.headers.get('content-length'), '7')
  const blob = await fetch(url + '/blob')
  t.is(await blob.text(), 'blob body')
  t.is(blob.headers.get('content-length'), '9')
})

test('a ReadableStream body is streamed chunked and in order', async (t) => {
  let pulled = 0
  const { url } = await makeServer(
    t,
    fromFetch(
      () =>
        new Response(
          new ReadableStream({
            async pull(controller) {
              await new Promise((r) => setTimeout(r, 1))
              controller.enqueue(new TextEncoder().encode(`${pulled};`))
              if (++pulled === 50) controller.close()
            },
          }),
        ),
    ),
  )
  const res = await fetch(url)
  t.is(res.headers.get('transfer-encoding'), 'chunked')
  t.is(await res.text(), Array.from({ length: 50 }, (_, i) => `${i};`).join(''))
})

test('a ReadableStream body is pulled only as fast as a client that does not read takes it', async (t) => {
  let pulled = 0
  const chunk = new Uint8Array(64 * 1024).fill(120)
  const { port } = await makeServer(
    t,
    fromFetch(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              pulled++
              controller.enqueue(chunk)
            },
          }),
        ),
    ),
  )
  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.pause()
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await new Promise((r) => setTimeout(r, 1500))
  // Without backpressure a pull per turn makes tens of thousands of chunks (GiBs) in 1.5 s; with
  // it, the window and the socket buffers hold a few MiB.
  t.true(pulled > 0)
  t.true(pulled < 400, `${pulled} chunks of 64 KiB were pulled`)
})

test('a streamed body is cancelled when the client goes away', async (t) => {
  let cancelled = false
  const chunk = new Uint8Array(64 * 1024).fill(120)
  const { url } = await makeServer(
    t,
    fromFetch(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(chunk)
            },
            cancel() {
              cancelled = true
            },
          }),
        ),
    ),
  )
  const controller = new AbortController()
  const res = await fetch(url, { signal: controller.signal })
  const reader = res.body.getReader()
  await reader.read()
  controller.abort()
  t.true(await eventually(() => cancelled, 5000), 'the stream was cancelled')
})

test('the request body is a stream read on demand; the first read sends 100 Continue', async (t) => {
  let readers = 0
  const { port } = await makeServer(
    t,
    fromFetch(async (request) => {
      await new Promise((r) => setTimeout(r, 100))
      let total = 0
      for await (const piece of request.body) {
        readers++
        total += piece.byteLength
      }
      return new Response(String(total))
    }),
  )
  const { data } = await raw(port, ['POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 300000\r\nConnection: close\r\n\r\n', Buffer.alloc(300000, 97)], { idleMs: 2000 })
  const text = data.toString()
  t.true(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), text.slice(0, 60))
  t.true(text.endsWith('\r\n\r\n300000'))
  t.true(readers >= 1)
})

test('request.json(), arrayBuffer(), formData() and clone() read the body', async (t) => {
  const { url } = await makeServer(
    t,
    fromFetch(async (request) => {
      const path = new URL(request.url).pathname
      if (path === '/json') return Response.json(await request.json())
      if (path === '/bytes') return new Response(String((await request.arrayBuffer()).byteLength))
      if (path === '/form') return new Response((await request.formData()).get('name'))
      const copy = request.clone()
      return new Response(`${await request.text()}|${await copy.text()}`)
    }),
  )
  t.deepEqual(await (await fetch(url + '/json', { method: 'POST', body: '{"a":[1,2]}' })).json(), { a: [1, 2] })
  t.is(await (await fetch(url + '/bytes', { method: 'POST', body: new Uint8Array(1234) })).text(), '1234')
  const form = new FormData()
  form.set('name', 'ada')
  t.is(await (await fetch(url + '/form', { method: 'POST', body: form })).text(), 'ada')
  t.is(await (await fetch(url + '/clone', { method: 'POST', body: 'twice' })).text(), 'twice|twice')
})

test('an exception or a rejected promise in the handler is a 500, and the server goes on', async (t) => {
  const { url, errors } = await makeServer(
    t,
    fromFetch(async (request) => {
      if (request.url.endsWith('/throw')) throw new Error('sync-ish boom')
      if (request.url.endsWith('/reject')) return Promise.reject(new Error('rejected boom'))
      if (request.url.endsWith('/not')) return 'not a response'
      return new Response('fine')
    }),
  )
  t.is((await fetch(url + '/throw')).status, 500)
  t.is((await fetch(url + '/reject')).status, 500)
  t.is((await fetch(url + '/not')).status, 500)
  t.is(await (await fetch(url + '/ok')).text(), 'fine')
  t.regex(errors.text, /sync-ish boom/)
  t.regex(errors.text, /rejected boom/)
  t.regex(errors.text, /the fetch handler must return a Response/)
})

test('an object with a fetch method is called with itself as this; info.remoteAddr is the client', async (t) => {
  const handler = {
    greeting: 'hi',
    fetch(request, info) {
      return new Response(`${this.greeting} ${info.remoteAddr} ${info.signal instanceof AbortSignal}`)
    },
  }
  const { url } = await makeServer(t, fromFetch(handler))
  t.is(await (await fetch(url)).text(), 'hi 127.0.0.1 true')
})

test('with the light global Response, instanceof Response holds for it and for the Responses fetch() returns', async (t) => {
  const { url } = await makeServer(t, fromFetch(() => new Response('x')))
  const fetched = await fetch(url)
  t.true(fetched instanceof Response)
  t.true(new Response('y') instanceof Response)
  t.is(await new Response('z', { headers: { 'x-a': '1' } }).text(), 'z')
  t.is(new Response('z', { headers: { 'x-a': '1' } }).headers.get('x-a'), '1')
  t.is(new Response(null, { status: 204 }).status, 204)
  t.throws(() => new Response('x', { status: 99 }), { instanceOf: RangeError })
})

test('fromFetch refuses what is neither a function nor an object with fetch', (t) => {
  t.throws(() => fromFetch({}), { instanceOf: TypeError, message: /expected a function \(request, info\) => Response, or an object with a fetch method/ })
})

test('with overrideGlobalResponse: false the global Response is left alone and real Responses are answered whole', async (t) => {
  const { nthLine, exited } = spawnLines(t, process.execPath, ['__test__/fixtures/fetch-no-override.mjs'])
  const result = JSON.parse(await nthLine(0))
  t.deepEqual(result, { same: true, plain: ['plain', '5', 'text/plain;charset=UTF-8'], blob: ['blob', '4'] })
  t.is((await exited).code, 0)
})

test('request.signal and info.signal abort when the client resets while the handler waits', async (t) => {
  const reasons = []
  const { port, server } = await makeServer(
    t,
    fromFetch(async (request, info) => {
      await new Promise((resolve) => request.signal.addEventListener('abort', resolve))
      reasons.push([request.signal.reason?.code, info.signal.aborted])
      return new Response('too late')
    }),
  )
  const s = net.connect(port, '127.0.0.1')
  s.write('GET /wait HTTP/1.1\r\nHost: h\r\n\r\n')
  await eventually(() => server.pool.idle < server.pool.size)
  s.resetAndDestroy()
  t.true(await eventually(() => reasons.length === 1), 'the handler saw the abort')
  t.deepEqual(reasons[0], ['GH_ERR_CLOSED', true])
  t.true(await eventually(() => server.stats().Abandoned === 1))
})

test('real Responses of a string, JSON, bytes, a Blob or one enqueued chunk are whole answers on this Node.js, the same bytes with and without the internals', async (t) => {
  const run = async (env) => {
    const { nthLine, exited } = spawnLines(t, process.execPath, ['__test__/fixtures/fetch-whole-answers.mjs'], env)
    const answers = JSON.parse(await nthLine(0))
    t.is((await exited).code, 0)
    return answers
  }
  const withInternals = await run({ GATEHOUSE_PUBLIC_API_ONLY: '0' })
  const publicOnly = await run({ GATEHOUSE_PUBLIC_API_ONLY: '1' })
  t.deepEqual(publicOnly, withInternals, 'both paths give the same bytes')
  const head = (path) => withInternals[path].split('\r\n\r\n')[0]
  const whole = { '/text': 'text', '/json': '{"a":1}', '/bytes': 'hi', '/arraybuffer': 'ab', '/blob': 'blob body', '/empty': '', '/enqueued': 'ab' }
  for (const [path, body] of Object.entries(whole)) {
    t.true(head(path).includes(`\r\nContent-Length: ${body.length}\r\n`), `${path}: ${head(path)}`)
    t.false(/transfer-encoding/i.test(head(path)), `${path} is not chunked`)
    t.true(withInternals[path].endsWith(`\r\n\r\n${body}`), path)
  }
  // A Blob of several chunks goes whichever way its stream gives them; both paths alike (above).
  const [big] = parseResponses(Buffer.from(withInternals['/big-blob'], 'latin1'))
  t.is(big.body.toString('latin1'), 'b'.repeat(512 * 1024))
  t.true(head('/slow').includes('\r\nTransfer-Encoding: chunked\r\n'), 'a stream still producing is streamed')
  t.true(withInternals['/slow'].endsWith('\r\n\r\n5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n'))
})
