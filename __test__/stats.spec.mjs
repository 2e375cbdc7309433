import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { makeServer, raw, parseResponses, textApp, eventually } from './helpers.mjs'

const KEYS = ['Enabled', 'Bind Address', 'Run time', 'Accepts', 'Accepts/sec', 'Queue', 'Threads', 'Threads Idle', 'Socket Errors', 'Abandoned', 'Requests', 'Bytes Read', 'Bytes Written', 'Work Time', 'Read Throughput', 'Write Throughput', 'Worker Threads']

test('stats() has the original server keys and counts requests and bytes', async (t) => {
  const { server, url } = await makeServer(t, textApp('hello'), { numthreads: 3 })
  for (let i = 0; i < 5; i++) await (await fetch(url)).text()
  const s = server.stats()
  t.deepEqual(Object.keys(s).sort(), [...KEYS].sort())
  t.true(s.Enabled)
  t.is(s.Requests, 5)
  t.true(s.Accepts >= 1)
  t.is(s.Threads, 3)
  t.true(s['Bytes Read'] > 0)
  t.true(s['Bytes Written'] > 5 * 'hello'.length)
  t.true(s['Run time'] > 0)
  // One record per pool slot that has run a request: requests one after the other use one.
  const workers = Object.values(s['Worker Threads'])
  t.true(workers.length >= 1 && workers.length <= 3, `${workers.length} worker records`)
  t.is(workers.reduce((n, w) => n + w.Requests, 0), 5)
  t.deepEqual(Object.keys(workers[0]).sort(), ['Bytes Read', 'Bytes Written', 'Read Throughput', 'Requests', 'Work Time', 'Write Throughput'])
  server.clearStats()
  t.is(server.stats().Requests, 0)
  t.true(server.runtime() < 1)
})

test('metrics() is Prometheus text with status counts and a duration histogram', async (t) => {
  let n = 0
  const { server, url } = await makeServer(t, (_e, sr) => {
    sr(n++ === 0 ? '404 Not Found' : '200 OK', [])
    return ['x']
  })
  await (await fetch(url)).text()
  await (await fetch(url)).text()
  const text = server.metrics()
  t.regex(text, /^# TYPE gatehouse_requests_total counter\ngatehouse_requests_total 2$/m)
  t.regex(text, /^gatehouse_responses_total\{code="200"\} 1$/m)
  t.regex(text, /^gatehouse_responses_total\{code="404"\} 1$/m)
  t.regex(text, /^gatehouse_request_duration_seconds_bucket\{le="\+Inf"\} 2$/m)
  t.regex(text, /^gatehouse_request_duration_seconds_count 2$/m)
  for (const l of text.trim().split('\n')) t.regex(l, /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [0-9.e+-]+)$/, l)
})

test('the access log writes one combined line per request with the request time', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-log-'))
  const file = path.join(dir, 'access.log')
  const { port } = await makeServer(t, textApp('hello'), { accessLog: file })
  await raw(port, 'GET /a?b=1 HTTP/1.1\r\nHost: h\r\nReferer: http://r/\r\nUser-Agent: tester/1\r\nConnection: close\r\n\r\n')
  t.true(await eventually(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('\n')))
  const line = fs.readFileSync(file, 'utf8').trim()
  t.regex(line, /^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/a\?b=1 HTTP\/1\.1" 200 5 "http:\/\/r\/" "tester\/1" \d+$/)
  fs.rmSync(dir, { recursive: true, force: true })
})

test('PROXY protocol v1 and v2 set REMOTE_ADDR to the real client', async (t) => {
  const { port } = await makeServer(t, (environ, sr) => {
    sr('200 OK', [])
    return [`${environ.REMOTE_ADDR}:${environ.REMOTE_PORT}`]
  }, { proxyProtocol: true })
  const v1 = await raw(port, 'PROXY TCP4 203.0.113.9 127.0.0.1 4321 80\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  t.is(parseResponses(v1.data)[0].text, '203.0.113.9:4321')
  const sig = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')
  const v2 = Buffer.concat([sig, Buffer.from([0x21, 0x21, 0, 36]), Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.alloc(16), Buffer.from([0x1f, 0x90, 0, 80])])
  const r2 = await raw(port, [v2, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'])
  t.is(parseResponses(r2.data)[0].text, '2001:db8::1:8080')
  const none = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
  t.is(parseResponses(none.data)[0].status, 400, 'without the header the connection is refused')
})

test('X-Forwarded-For and -Proto are believed only from trusted peers', async (t) => {
  const app = (environ, sr) => {
    sr('200 OK', [])
    return [`${environ.REMOTE_ADDR} ${environ['wsgi.url_scheme']}`]
  }
  const req = 'GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6, 198.51.100.4\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n'
  const trusted = await makeServer(t, app, { forwardedAllowIps: ['127.0.0.1'] })
  t.is(parseResponses((await raw(trusted.port, req)).data)[0].text, '198.51.100.4 https', 'the rightmost untrusted entry is the client')
  const untrusted = await makeServer(t, app)
  t.is(parseResponses((await raw(untrusted.port, req)).data)[0].text, '127.0.0.1 http')
})

/** Send `parts` on one connection (a `{ waitFor }` part waits until the bytes received contain it), read until the server closes. */
function converse(port, parts) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const got = []
    let sent = 0
    let waiting
    const received = () => Buffer.concat(got).toString('latin1')
    const next = () => {
      while (parts.length) {
        const p = parts[0]
        if (typeof p === 'object') {
          if (!received().includes(p.waitFor)) return (waiting = p.waitFor)
          parts.shift()
          continue
        }
        parts.shift()
        sent += Buffer.byteLength(p, 'latin1')
        socket.write(Buffer.from(p, 'latin1'))
      }
    }
    socket.on('connect', next)
    socket.on('data', (d) => {
      got.push(d)
      if (waiting && received().includes(waiting)) next()
    })
    socket.on('error', reject)
    socket.on('close', () => resolve({ sent, received: Buffer.concat(got).length, text: received() }))
  })
}

const metric = (text, name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1])

test('stats(), metrics() and the clients agree on the bytes read and written, the core\'s own answers included', async (t) => {
  const { server, port } = await makeServer(t, async (environ, sr) => {
    if (environ.PATH_INFO === '/cut') {
      sr('200 OK', [])
      return (async function* () {
        yield 'x'.repeat(1000)
        throw new Error('the app fails part way')
      })()
    }
    const body = await environ['wsgi.input'].read()
    sr('200 OK', [['Content-Type', 'text/plain']])
    return [`ok ${body.length}`]
  }, { maxRequestBodySize: 10 })
  const runs = [
    // Two requests kept alive, the second closes.
    ['GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'],
    // The core's own answers: 400 and 413.
    ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n'],
    // 100 Continue, then the body.
    ['POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n', { waitFor: '100 Continue\r\n\r\n' }, 'hello'],
    // A stream the app cuts: the connection closes after what was sent.
    ['GET /cut HTTP/1.1\r\nHost: h\r\n\r\n'],
  ]
  let sent = 0
  let received = 0
  for (const parts of runs) {
    const r = await converse(port, [...parts])
    sent += r.sent
    received += r.received
  }
  t.true(await eventually(() => server.nativeStats().openConnections === 0))
  const s = server.stats()
  const m = server.metrics()
  t.is(s['Bytes Written'], received, 'stats() counts what the clients received')
  t.is(metric(m, 'gatehouse_bytes_written_total'), received, 'metrics() too')
  t.is(s['Bytes Read'], sent, 'stats() counts what the clients sent')
  t.is(metric(m, 'gatehouse_bytes_read_total'), sent, 'metrics() too')
  const workers = Object.values(s['Worker Threads'])
  const byWorkers = workers.reduce((n, w) => n + w['Bytes Written'], 0)
  t.true(byWorkers > 0 && byWorkers < received, 'the workers count only the requests they held')
})

test('bytes of a stream the client walks away from are counted once, the same in stats() and metrics()', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 'y')
  const { server, port } = await makeServer(t, (_e, sr) => {
    sr('200 OK', [])
    return (async function* () {
      for (let i = 0; i < 4096; i++) yield chunk
    })()
  })
  let received = 0
  await new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n'))
    socket.on('data', (d) => {
      received += d.length
      if (received > 1024 * 1024) socket.destroy()
    })
    socket.on('error', () => {})
    socket.on('close', resolve)
  })
  t.true(await eventually(() => server.nativeStats().openConnections === 0, 15000))
  const s = server.stats()
  const written = metric(server.metrics(), 'gatehouse_bytes_written_total')
  t.is(s['Bytes Written'], written)
  t.true(written >= received, `${written} written, ${received} received before the client left`)
})
