import test from 'ava'

import { gatehouse, makeServer, raw, parseResponses, Server } from './helpers.mjs'

const GET = 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
const GET10 = 'GET / HTTP/1.0\r\n\r\n'

test('an array body gets a Content-Length (the fast path)', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [['Content-Type', 'text/plain']])
    return ['a', Buffer.from('bc'), new Uint8Array([100])]
  })
  const [res] = parseResponses((await raw(port, GET)).data)
  t.is(res.framing, 'length')
  t.is(res.text, 'abcd')
})

test('a sync iterable of one chunk gets a Content-Length', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return new Set(['only'])
  })
  const [res] = parseResponses((await raw(port, GET)).data)
  t.is(res.framing, 'length')
  t.is(res.headers['content-length'], '4')
})

test('a streamed response of many chunks is chunked on HTTP/1.1', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [['Content-Type', 'text/plain']])
    return (function* () {
      for (let i = 0; i < 1000; i++) yield `${i},`
    })()
  })
  const [res] = parseResponses((await raw(port, GET)).data)
  t.is(res.framing, 'chunked')
  t.is(res.text, Array.from({ length: 1000 }, (_, i) => `${i},`).join(''))
})

test('a streamed response on HTTP/1.0 is delimited by closing the connection', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return (function* () {
      yield 'one '
      yield 'two'
    })()
  })
  const { data, closed } = await raw(port, GET10)
  const [res] = parseResponses(data)
  t.is(res.framing, 'close')
  t.is(res.text, 'one two')
  t.true(closed)
})

test('an async iterable body streams', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return (async function* () {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 5))
        yield Buffer.from(`part${i};`)
      }
    })()
  })
  const [res] = parseResponses((await raw(port, GET)).data)
  t.is(res.text, 'part0;part1;part2;part3;part4;')
})

test('the write callable sends data before the returned body', async (t) => {
  const { port } = await makeServer(t, async (_e, sr) => {
    const write = sr('200 OK', [['Content-Type', 'text/plain']])
    await write('first ')
    write('second ')
    return ['third']
  })
  const [res] = parseResponses((await raw(port, GET)).data)
  t.is(res.framing, 'chunked')
  t.is(res.text, 'first second third')
})

test('headers go out with the first non-empty chunk, or at the end of an empty body', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [['X-A', '1']])
    return (function* () {
      yield ''
      yield ''
    })()
  })
  const [res] = parseResponses((await raw(port, GET)).data)
  t.is(res.headers['x-a'], '1')
  t.is(res.headers['content-length'], '0')
})

test('a declared Content-Length that the body does not reach closes the connection', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [['Content-Length', '100']])
    return (async function* () {
      yield 'short'
    })()
  })
  const { data, closed } = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
  t.true(closed, 'the client cannot mistake the cut body for a whole one')
  t.true(data.toString('latin1').endsWith('\r\n\r\nshort'))
})

test('the status line keeps the reason phrase the app gave', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('299 Quite Fine', [])
    return []
  })
  const [res] = parseResponses((await raw(port, GET)).data)
  t.is(res.status, 299)
  t.is(res.reason, 'Quite Fine')
})

const badHeaders = [
  ['a CR/LF in a value', [['X-A', 'x\r\nInjected: yes']]],
  ['a NUL in a value', [['X-A', 'x\0y']]],
  ['a space in a name', [['X A', 'x']]],
  ['a hop-by-hop header', [['Connection', 'close']]],
  ['Transfer-Encoding from the app', [['Transfer-Encoding', 'chunked']]],
  ['a character above U+00FF', [['X-A', '\u263a']]],
  ['a signed Content-Length', [['Content-Length', '+4']]],
  ['a Content-Length with a space in it', [['Content-Length', ' 4']]],
  ['a second Content-Length, even with the same value', [['Content-Length', '4'], ['Content-Length', '4']]],
]
for (const [what, headers] of badHeaders) {
  test(`${what} is the app's error: 500, never bytes on the wire`, async (t) => {
    const { port, errors } = await makeServer(t, (_e, sr) => {
      sr('200 OK', headers)
      return ['body']
    })
    const { data } = await raw(port, GET)
    const [res] = parseResponses(data)
    t.is(res.status, 500)
    t.false(data.toString('latin1').includes('Injected'))
    t.regex(errors.text, /GET \/: GatehouseError/)
  })
}

test('a status that is not "NNN reason" is a 500', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('OK', [])
    return ['x']
  })
  t.is(parseResponses((await raw(port, GET)).data)[0].status, 500)
})

test("serverHeader names the Server header the server adds, '' sends none, and an app's own Server header wins", async (t) => {
  const own = (e, sr) => {
    sr('200 OK', e.PATH_INFO === '/own' ? [['Server', 'mine']] : [])
    return ['x']
  }
  const head = async (port, path = '/') => (await raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).data.toString('latin1').split('\r\n\r\n')[0]
  const named = await makeServer(t, own, { serverHeader: 'front/2' })
  t.regex(await head(named.port), /\r\nServer: front\/2\r\n/)
  t.regex(await head(named.port, '/own'), /\r\nServer: mine\r\n/)
  t.notRegex(await head(named.port, '/own'), /front/)
  const none = await makeServer(t, own, { serverHeader: '' })
  t.notRegex(await head(none.port), /\r\nServer:/i)
  // The server's own answers too (here a 400 for a request without Host).
  const bad = (await raw(none.port, 'GET / HTTP/1.1\r\n\r\n')).data.toString('latin1')
  t.regex(bad, /^HTTP\/1\.1 400 /)
  t.notRegex(bad, /\r\nServer:/i)
  const byDefault = await makeServer(t, own)
  t.regex(await head(byDefault.port), new RegExp(`\\r\\nServer: ${gatehouse.SERVER_SOFTWARE.replace(/[.]/g, '\\.')}\\r\\n`))
  t.throws(() => new Server(['127.0.0.1', 0], own, { serverHeader: 'a\r\nX-Evil: 1' }), { code: 'GH_ERR_INVALID_OPTION', message: /serverHeader/ })
})
