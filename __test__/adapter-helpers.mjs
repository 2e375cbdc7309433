// Helpers of the adapter tests: a small client over node:http / node:https (so that HTTPS with the
// test CA needs no global setting), and the whole Hono and Express flows, run over plain HTTP,
// HTTPS and appThreads alike.
import http from 'node:http'
import https from 'node:https'

/** One request; resolves `{ status, headers, rawHeaders, body }` (body a string). */
export function request(url, { method = 'GET', headers = {}, body, ca } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const lib = u.protocol === 'https:' ? https : http
    const req = lib.request(u, { method, headers, ca, agent: false }, (res) => {
      const parts = []
      res.on('data', (d) => parts.push(d))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(parts).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** The Hono app of fixtures/hono-app.mjs, route by route. */
export async function honoFlow(t, base, { ca, https: secure = false } = {}) {
  const get = (p, o = {}) => request(base + p, { ca, ...o })
  const root = await get('/')
  t.is(root.status, 200)
  t.is(root.body, 'hono root')
  t.is(root.headers['content-length'], '9')
  t.is(root.headers['content-type'], 'text/plain;charset=UTF-8')

  const user = await get('/users/42?q=x%20y')
  t.is(user.status, 200)
  t.regex(user.headers['content-type'], /^application\/json/)
  t.deepEqual(JSON.parse(user.body), { id: '42', q: 'x y', https: secure })

  const created = await get('/users', { ca, ...json({ name: 'ada' }) })
  t.is(created.status, 201)
  t.deepEqual(JSON.parse(created.body), { created: { name: 'ada' } })

  const streamed = await get('/stream')
  t.is(streamed.status, 200)
  t.is(streamed.headers['transfer-encoding'], 'chunked')
  t.is(streamed.body, Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join(''))

  const missing = await get('/nowhere')
  t.is(missing.status, 404)
  t.is(missing.body, '404 Not Found')

  const boom = await get('/boom')
  t.is(boom.status, 500)
  t.deepEqual(JSON.parse(boom.body), { caught: 'hono boom' })
}

/** The Express app of fixtures/express-app.cjs, route by route. */
export async function expressFlow(t, base, { ca, https: secure = false } = {}) {
  const get = (p, o = {}) => request(base + p, { ca, ...o })
  const root = await get('/')
  t.is(root.status, 200)
  t.is(root.body, 'express root')
  t.is(root.headers['content-length'], '12')
  t.is(root.headers['x-powered-by'], 'Express')

  const user = await get('/users/7?q=z')
  t.is(user.status, 200)
  t.deepEqual(JSON.parse(user.body), { id: '7', q: 'z', secure, ip: '127.0.0.1' })

  const created = await get('/users', { ca, ...json({ name: 'ada' }) })
  t.is(created.status, 201)
  t.deepEqual(JSON.parse(created.body), { created: { name: 'ada' } })

  const file = await get('/file')
  t.is(file.status, 200)
  t.is(file.body, 'a file served by res.sendFile\n')
  t.is(file.headers['content-type'], 'text/plain; charset=utf-8')
  t.truthy(file.headers['last-modified'])

  const hundred = await get('/hundred')
  t.is(hundred.status, 200)
  t.is(hundred.body, Array.from({ length: 100 }, (_, i) => `${i};`).join(''))

  const old = await get('/old')
  t.is(old.status, 301)
  t.is(old.headers.location, '/users/1')

  const boom = await get('/boom')
  t.is(boom.status, 500)
  t.deepEqual(JSON.parse(boom.body), { caught: 'express boom' })

  const missing = await get('/nowhere')
  t.is(missing.status, 404)
}
