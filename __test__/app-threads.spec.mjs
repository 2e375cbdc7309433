import crypto from 'node:crypto'
import path from 'node:path'

import test from 'ava'

import { Server, spawnLines } from './helpers.mjs'

// UNIX sockets and graceful signals (SIGTERM/SIGINT exit code 0) do not exist on Windows.
const unixOnly = process.platform === 'win32' ? test.skip : test


const APP = `${path.resolve('__test__/fixtures/threads.cjs')}:app`

async function start(t, options) {
  const server = new Server(['127.0.0.1', 0], APP, { appThreads: 2, ...options })
  await server.start()
  t.teardown(() => server.stop())
  return { server, url: `http://127.0.0.1:${server.bindAddr[1]}` }
}

test('appThreads: 2 serves the contract from worker threads and spreads requests over both', async (t) => {
  const { server, url } = await start(t)
  const threads = new Set()
  await Promise.all(
    Array.from({ length: 40 }, async () => {
      const text = await (await fetch(`${url}/cpu`)).text()
      const [, id, port] = text.split(' ')
      t.is(port, String(server.bindAddr[1]), 'SERVER_PORT is the real port')
      threads.add(id)
    }),
  )
  t.is(threads.size, 2, `requests ran on threads ${[...threads]}`)
  t.false(threads.has('0'), 'not on the main thread')
  const body = crypto.randomBytes(300_000)
  const echoed = Buffer.from(await (await fetch(`${url}/echo`, { method: 'POST', body })).arrayBuffer())
  t.true(echoed.equals(body), 'request bodies are read in the worker')
  t.is(await (await fetch(`${url}/stream`)).text(), Array.from({ length: 50 }, (_, i) => `${i};`).join(''))
})

test('clearStats() sets every worker record to zero, with appThreads too', async (t) => {
  const { server, url } = await start(t)
  await Promise.all(Array.from({ length: 20 }, async () => (await fetch(`${url}/cpu`)).text()))
  const before = Object.values(server.stats()['Worker Threads'])
  t.true(before.length >= 2, `${before.length} worker records`)
  t.is(before.reduce((n, w) => n + w.Requests, 0), 20)
  t.true(before.every((w) => w.Requests === 0 || (w['Bytes Written'] > 0 && w['Work Time'] > 0)))
  server.clearStats()
  const s = server.stats()
  const after = s['Worker Threads']
  t.is(Object.keys(after).length, before.length, 'the records stay')
  for (const [name, w] of Object.entries(after)) {
    t.deepEqual(w, { Requests: 0, 'Bytes Read': 0, 'Bytes Written': 0, 'Work Time': 0, 'Read Throughput': 0, 'Write Throughput': 0 }, name)
  }
  t.is(s['Work Time'], 0)
  t.is(s.Requests, 0)
  await (await fetch(`${url}/`)).text()
  t.is(Object.values(server.stats()['Worker Threads']).reduce((n, w) => n + w.Requests, 0), 1, 'counting goes on from zero')
})

test('a module that fails to load in the worker fails start()', async (t) => {
  const server = new Server(['127.0.0.1', 0], `${path.resolve('__test__/fixtures/threads.cjs')}:missing`, { appThreads: 1 })
  const err = await t.throwsAsync(server.start())
  t.regex(err.message, /could not load/)
})

unixOnly('the CLI runs the app in worker threads with --app-threads', async (t) => {
  const p = spawnLines(t, process.execPath, [path.resolve('dist/cjs/cli.js'), APP, '--bind', '127.0.0.1:0', '--app-threads', '2'])
  const port = /:(\d+)$/.exec(await p.nthLine(0))[1]
  const text = await (await fetch(`http://127.0.0.1:${port}/`)).text()
  t.regex(text, /^thread [1-9]\d* /)
  p.child.kill('SIGTERM')
  t.is((await p.exited).code, 0)
})
