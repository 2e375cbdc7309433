import test from 'ava'

import { makeServer, raw, parseResponses, eventually } from './helpers.mjs'

const GET = 'GET /boom HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'

test('an app that throws before the headers gets a 500 and a line on wsgi.errors', async (t) => {
  const { port, errors } = await makeServer(t, () => {
    throw new Error('kaboom')
  })
  const { data } = await raw(port, GET)
  const [res] = parseResponses(data)
  t.is(res.status, 500)
  t.is(res.headers['content-type'], 'text/plain; charset=utf-8')
  t.regex(errors.text, /error in the application for GET \/boom: Error: kaboom\n\s+at /)
})

test('an app whose promise rejects gets a 500', async (t) => {
  const { port, errors } = await makeServer(t, async () => {
    throw new TypeError('async kaboom')
  })
  t.is(parseResponses((await raw(port, GET)).data)[0].status, 500)
  t.regex(errors.text, /TypeError: async kaboom/)
})

test('an error after the headers were sent closes the connection', async (t) => {
  const { port, errors } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return (function* () {
      // Past the 64 KiB a sync iterable's chunks are gathered to, so the headers are out.
      yield 'partial'
      yield Buffer.alloc(70_000, 120)
      yield 'more'
      throw new Error('mid-stream')
    })()
  })
  const { data, closed } = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
  t.true(closed)
  const text = data.toString('latin1')
  t.true(text.startsWith('HTTP/1.1 200 OK'))
  t.false(text.endsWith('0\r\n\r\n'), 'no terminating chunk: the client sees a cut response')
  t.regex(errors.text, /mid-stream/)
})

test('an error in a sync iterable before anything went out still gets a clean 500', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return (function* () {
      yield 'small'
      yield 'chunks'
      throw new Error('early')
    })()
  })
  const { data } = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  const [res] = parseResponses(data)
  t.is(res.status, 500, 'the gathered chunks were not sent yet, so the answer can still be a 500')
})

test('the server keeps serving after app errors', async (t) => {
  let n = 0
  const { url } = await makeServer(t, (_e, sr) => {
    if (n++ % 2 === 0) throw new Error('every other')
    sr('200 OK', [])
    return ['fine']
  })
  const statuses = []
  for (let i = 0; i < 6; i++) statuses.push((await fetch(url)).status)
  t.deepEqual(statuses, [500, 200, 500, 200, 500, 200])
})

test('close() of the body is called exactly once', async (t) => {
  let closes = 0
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    const body = ['a', 'b']
    body.close = () => closes++
    return body
  })
  await raw(port, GET)
  t.is(closes, 1)
})

test('close() is called once for a streamed body that throws', async (t) => {
  let closes = 0
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return {
      *[Symbol.iterator]() {
        yield 'x'
        yield 'y'
        throw new Error('stop')
      },
      close() {
        closes++
      },
    }
  })
  await raw(port, GET)
  t.true(await eventually(() => closes === 1))
  await new Promise((r) => setTimeout(r, 50))
  t.is(closes, 1)
})

test('close() is called when the client went away mid-stream', async (t) => {
  let closes = 0
  let yielded = 0
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          yielded++
          yield Buffer.alloc(64 * 1024, 120)
          await new Promise((r) => setTimeout(r, 1))
        }
      },
      close() {
        closes++
      },
    }
  })
  await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { idleMs: 10, timeoutMs: 200 })
  t.true(await eventually(() => closes === 1, 5000), `close() was called ${closes} times`)
  const stoppedAt = yielded
  await new Promise((r) => setTimeout(r, 100))
  t.true(yielded <= stoppedAt + 1, 'iteration stops once the client is gone')
})

test('startResponse twice without excInfo throws; with excInfo it replaces the status', async (t) => {
  const { port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    let threw = false
    try {
      sr('201 Created', [])
    } catch {
      threw = true
    }
    sr('202 Accepted', [['X-Threw', String(threw)]], new Error('replace'))
    return ['x']
  })
  const [res] = parseResponses((await raw(port, GET)).data)
  t.is(res.status, 202)
  t.is(res.headers['x-threw'], 'true')
})

test('startResponse with excInfo after the headers went out rethrows it', async (t) => {
  let caught
  const { port } = await makeServer(t, async (_e, sr) => {
    const write = sr('200 OK', [])
    await write('sent')
    const exc = new Error('original')
    try {
      sr('500 Oops', [], exc)
    } catch (e) {
      caught = e
    }
    return []
  })
  await raw(port, GET)
  t.is(caught?.message, 'original')
})
