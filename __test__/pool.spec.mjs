import net from 'node:net'

import test from 'ava'

import { makeServer, raw, parseResponses, textApp, eventually, gate, heldApp } from './helpers.mjs'

test('the pool shows min, max, size, idle and qsize, and grows and shrinks live', async (t) => {
  const { wait, release } = gate()
  const { server, port } = await makeServer(t, heldApp(wait), { numthreads: 2, maxThreads: 4 })
  const pool = server.pool
  t.like({ min: pool.min, max: pool.max, size: pool.size, idle: pool.idle, qsize: pool.qsize }, { min: 2, max: 4, size: 2, idle: 2, qsize: 0 })
  const pending = [1, 2, 3].map(() => raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', { idleMs: 4000 }))
  t.true(await eventually(() => pool.idle === 0 && pool.qsize === 1), `idle ${pool.idle} qsize ${pool.qsize}`)
  t.is(pool.grow(5), 2, 'never above max')
  t.is(pool.size, 4)
  t.true(await eventually(() => pool.qsize === 0), 'the waiting request got one of the new slots')
  release()
  await Promise.all(pending)
  t.true(await eventually(() => pool.idle === 4))
  t.is(pool.shrink(10), 2, 'never below min')
  t.is(pool.size, 2)
})

test('1,000 idle keep-alive connections do not hold the pool: a new client is served at once', async (t) => {
  const { port } = await makeServer(t, textApp('ok'), { numthreads: 2, requestQueueSize: 1024 })
  const sockets = []
  t.teardown(() => sockets.forEach((s) => s.destroy()))
  const open = () =>
    new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1')
      sockets.push(s)
      s.once('data', () => resolve())
      s.on('error', reject)
      s.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n')
    })
  for (let batch = 0; batch < 10; batch++) await Promise.all(Array.from({ length: 100 }, open))
  // Every connection got its answer and now sits idle, kept alive.
  const started = Date.now()
  const { data } = await raw(port, 'GET /new HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  t.is(parseResponses(data)[0].status, 200)
  t.true(Date.now() - started < 2000, `took ${Date.now() - started} ms`)
})

test('past maxQueue the server answers 503 with Retry-After instead of queueing', async (t) => {
  const { wait, release } = gate()
  const { server, port } = await makeServer(t, heldApp(wait), { numthreads: 1, maxQueue: 1 })
  const first = raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', { idleMs: 4000 })
  t.true(await eventually(() => server.pool.idle === 0))
  const second = raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', { idleMs: 4000 })
  t.true(await eventually(() => server.pool.qsize === 1))
  const { data } = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
  const [res] = parseResponses(data)
  t.is(res.status, 503)
  t.is(res.headers['retry-after'], '1')
  release()
  t.is(parseResponses((await first).data)[0].status, 200)
  t.is(parseResponses((await second).data)[0].status, 200)
})

test('at maxConnections the server stops accepting until a connection closes', async (t) => {
  const { port } = await makeServer(t, textApp('ok'), { maxConnections: 2 })
  const a = net.connect(port, '127.0.0.1')
  const b = net.connect(port, '127.0.0.1')
  t.teardown(() => [a, b].forEach((s) => s.destroy()))
  await Promise.all([a, b].map((s) => new Promise((r) => s.on('connect', r))))
  await new Promise((r) => setTimeout(r, 100))
  const third = raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', { idleMs: 5000 })
  const early = await Promise.race([third.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 300))])
  t.is(early, 'waiting', 'the third connection waits in the backlog')
  a.destroy()
  const { data } = await third
  t.is(parseResponses(data)[0].status, 200)
})
