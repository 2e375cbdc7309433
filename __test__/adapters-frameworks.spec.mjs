// Real frameworks on the adapters: Hono through fromFetch and Express 5 through fromNodeHandler,
// each whole flow over HTTP, over HTTPS and with the app in two worker threads; and the examples
// run by the CLI with --interface.
import { createRequire } from 'node:module'
import path from 'node:path'

import test from 'ava'

import { expressFlow, honoFlow, request } from './adapter-helpers.mjs'
import { gatehouse, makeServer, spawnLines } from './helpers.mjs'
import { makePki, removePki } from './tls-helpers.mjs'

const require = createRequire(import.meta.url)
const { fromFetch, fromNodeHandler } = gatehouse
const HONO_APP = path.resolve('__test__/fixtures/hono-app.mjs')
const EXPRESS_APP = path.resolve('__test__/fixtures/express-app.cjs')
const CLI = path.resolve('dist/cjs/cli.js')

let pki
test.before(() => {
  pki = makePki()
})
test.after.always(() => removePki(pki))

const tls = () => ({ ssl: { certificate: pki.rsaCert, privateKey: pki.rsaKey } })

test('Hono routes, c.json, c.req.json(), a c.stream response, 404 and app.onError work through fromFetch', async (t) => {
  const { default: app } = await import(HONO_APP)
  const { url } = await makeServer(t, fromFetch(app))
  await honoFlow(t, url)
})

test('the Hono flow works over HTTPS, where the Request URL says https', async (t) => {
  const { default: app } = await import(HONO_APP)
  const { port } = await makeServer(t, fromFetch(app), tls())
  await honoFlow(t, `https://localhost:${port}`, { ca: require('node:fs').readFileSync(pki.caCert), https: true })
})

test('the Hono flow works with appThreads: 2, the module loaded by name with interface auto', async (t) => {
  const { port } = await makeServer(t, HONO_APP, { appThreads: 2 })
  await honoFlow(t, `http://127.0.0.1:${port}`)
})

test('Express 5 params, express.json(), res.json, res.status(201), res.sendFile, a router, error middleware, 100 writes and res.redirect work through fromNodeHandler', async (t) => {
  const { app } = require(EXPRESS_APP)
  const { url } = await makeServer(t, fromNodeHandler(app))
  await expressFlow(t, url)
})

test('the Express flow works over HTTPS, where req.secure is true', async (t) => {
  const { app } = require(EXPRESS_APP)
  const { port } = await makeServer(t, fromNodeHandler(app), tls())
  await expressFlow(t, `https://localhost:${port}`, { ca: require('node:fs').readFileSync(pki.caCert), https: true })
})

test('the Express flow works with appThreads: 2 and interface node', async (t) => {
  const { port } = await makeServer(t, `${EXPRESS_APP}:app`, { appThreads: 2, interface: 'node' })
  await expressFlow(t, `http://127.0.0.1:${port}`)
})

test('a module without the export asked for is refused with a message saying what an app may be', async (t) => {
  const server = new gatehouse.Server(['127.0.0.1', 0], `${HONO_APP}:nothing`, {})
  await t.throwsAsync(() => server.start(), { message: /has no export "nothing" that is a function \(a WSGI-style app\) or an object with a fetch method/ })
})

test('the CLI serves examples/hono.mjs as a fetch app (interface auto) and examples/express.js with --interface node', async (t) => {
  const hono = spawnLines(t, process.execPath, [CLI, 'examples/hono.mjs', '--bind', '127.0.0.1:0'])
  const honoUrl = /^Listening on (http:\/\/\S+)$/.exec(await hono.nthLine(0))[1]
  t.is((await request(`${honoUrl}/`)).body, 'Hello from Hono on gatehouse!\n')
  t.deepEqual(JSON.parse((await request(`${honoUrl}/greet/ada`)).body), { hello: 'ada' })
  const echoed = await request(`${honoUrl}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
  t.is(echoed.status, 201)
  t.deepEqual(JSON.parse(echoed.body), { a: 1 })
  const count = await request(`${honoUrl}/count`)
  t.is(count.body, '1\n2\n3\n')
  t.is(count.headers['transfer-encoding'], 'chunked')
  hono.child.kill('SIGTERM')
  t.is((await hono.exited).code, 0)

  const express = spawnLines(t, process.execPath, [CLI, 'examples/express.js', '--interface', 'node', '--bind', '127.0.0.1:0'])
  const expressUrl = /^Listening on (http:\/\/\S+)$/.exec(await express.nthLine(0))[1]
  t.is((await request(`${expressUrl}/`)).body, 'Hello from Express on gatehouse!\n')
  t.deepEqual(JSON.parse((await request(`${expressUrl}/users/7`)).body), { id: '7', from: '127.0.0.1' })
  const item = await request(`${expressUrl}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"pen"}' })
  t.is(item.status, 201)
  t.is(item.headers.location, '/items/1')
  t.deepEqual(JSON.parse((await request(`${expressUrl}/items`)).body), [{ id: 1, name: 'pen' }])
  const bad = await request(`${expressUrl}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.is(bad.status, 422)
  express.child.kill('SIGTERM')
  t.is((await express.exited).code, 0)
})

test('the CLI refuses an --interface it does not know', async (t) => {
  const child = spawnLines(t, process.execPath, [CLI, 'examples/hono.mjs', '--interface', 'asgi'])
  const r = await child.exited
  t.is(r.code, 2)
  t.regex(r.err, /--interface: expected auto, wsgi, fetch or node, got "asgi"/)
})

test("a Koa app works through fromNodeHandler(app.callback()) and by name with interface node (its callback() is taken)", async (t) => {
  const koa = require('./fixtures/koa-app.cjs')
  const check = async (base) => {
    const json = await request(`${base}/json`)
    t.is(json.status, 200)
    t.deepEqual(JSON.parse(json.body), { path: '/json', ip: '127.0.0.1', secure: false })
    const streamed = await request(`${base}/stream`)
    t.is(streamed.body, Array.from({ length: 30 }, (_, i) => `${i}\n`).join(''))
    const created = await request(`${base}/created`)
    t.is(created.status, 201)
    t.is(created.headers['x-koa'], 'yes')
    t.is(created.body, 'made')
    t.is((await request(`${base}/nowhere`)).status, 404)
  }
  const direct = await makeServer(t, fromNodeHandler(koa.callback()))
  await check(direct.url)
  const byName = await makeServer(t, path.resolve('__test__/fixtures/koa-app.cjs'), { appThreads: 1, interface: 'node' })
  await check(`http://127.0.0.1:${byName.port}`)
})
