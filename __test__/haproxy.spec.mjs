// Two gatehouse processes behind a real HAProxy, restarted one after the other (SIGTERM the old
// process after a new one bound beside it with --reuse-port), while a client keeps sending
// requests through the load balancer: no request may fail, and both backends must serve.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { spawnLines } from './helpers.mjs'

const CLI = path.resolve('dist/cjs/cli.js')
const WHOAMI = path.resolve('__test__/fixtures/whoami.cjs')

function haproxyPath() {
  for (const p of ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy']) if (fs.existsSync(p)) return p
  try {
    return execFileSync('sh', ['-c', 'command -v haproxy']).toString().trim() || undefined
  } catch {
    return undefined
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

const haproxy = haproxyPath()

;(haproxy && process.platform !== 'win32' ? test : test.skip)('a rolling restart behind HAProxy loses no request and uses both backends', async (t) => {
  const [front, p1, p2] = [await freePort(), await freePort(), await freePort()]
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-haproxy-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const cfg = path.join(dir, 'haproxy.cfg')
  fs.writeFileSync(
    cfg,
    `global
  maxconn 512
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout
frontend fe
  bind 127.0.0.1:${front}
  default_backend be
backend be
  balance roundrobin
  option httpchk GET /
  default-server inter 200ms fall 1 rise 1
  server a 127.0.0.1:${p1} check
  server b 127.0.0.1:${p2} check
`,
  )
  const start = async (name, port) => {
    const p = spawnLines(t, process.execPath, [CLI, WHOAMI, '--bind', `127.0.0.1:${port}`, '--reuse-port', '--shutdown-timeout', '5'], { BACKEND: name })
    await p.nthLine(0)
    return p
  }
  let a = await start('a', p1)
  let b = await start('b', p2)
  const lb = spawnLines(t, haproxy, ['-db', '-f', cfg])
  // Wait until HAProxy answers through both backends.
  const seen = new Map()
  let failures = 0
  let sent = 0
  const deadline = Date.now() + 10000
  while (Date.now() < deadline && seen.size < 2) {
    try {
      const r = await fetch(`http://127.0.0.1:${front}/`)
      if (r.ok) seen.set((await r.text()).split(' ')[0], 1)
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  t.is(seen.size, 2, 'both backends are up behind HAProxy')

  let running = true
  const client = async () => {
    while (running && sent < 20000) {
      sent++
      try {
        const r = await fetch(`http://127.0.0.1:${front}/`)
        const body = await r.text()
        if (r.status !== 200) failures++
        else {
          const name = body.split(' ')[0]
          seen.set(name, (seen.get(name) ?? 0) + 1)
        }
      } catch {
        failures++
      }
    }
  }
  const clients = Array.from({ length: 4 }, client)
  await new Promise((r) => setTimeout(r, 500))
  for (const [name, port] of [['a', p1], ['b', p2]]) {
    const next = await start(name, port)
    const old = name === 'a' ? a : b
    old.child.kill('SIGTERM')
    t.is((await old.exited).code, 0, `the old ${name} exits cleanly`)
    if (name === 'a') a = next
    else b = next
    await new Promise((r) => setTimeout(r, 500))
  }
  await new Promise((r) => setTimeout(r, 500))
  running = false
  await Promise.all(clients)
  t.log(`${sent} requests through HAProxy, per backend: ${JSON.stringify(Object.fromEntries(seen))}`)
  t.is(failures, 0, `${failures} of ${sent} requests failed`)
  t.true(sent > 200)
  t.true((seen.get('a') ?? 0) > 10 && (seen.get('b') ?? 0) > 10)
  lb.child.kill('SIGTERM')
  a.child.kill('SIGTERM')
  b.child.kill('SIGTERM')
  await Promise.all([a.exited, b.exited])
})
