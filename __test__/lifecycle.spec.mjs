import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { spawnLines } from './helpers.mjs'

// UNIX sockets and graceful signals (SIGTERM/SIGINT exit code 0) do not exist on Windows.
const unixOnly = process.platform === 'win32' ? test.skip : test


const CLI = path.resolve('dist/cjs/cli.js')
const WHOAMI = path.resolve('__test__/fixtures/whoami.cjs')

const portOf = (line) => Number(/:(\d+)$/.exec(line)?.[1])

unixOnly('two processes share a port with --reuse-port, and the old one stops gracefully', async (t) => {
  const a = spawnLines(t, process.execPath, [CLI, WHOAMI, '--bind', '127.0.0.1:0', '--reuse-port'], { BACKEND: 'a' })
  const port = portOf(await a.nthLine(0))
  const b = spawnLines(t, process.execPath, [CLI, WHOAMI, '--bind', `127.0.0.1:${port}`, '--reuse-port'], { BACKEND: 'b' })
  t.is(portOf(await b.nthLine(0)), port, 'the second process binds the same port')
  a.child.kill('SIGTERM')
  t.is((await a.exited).code, 0)
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })
  t.regex(await res.text(), /^b /)
  b.child.kill('SIGTERM')
  t.is((await b.exited).code, 0)
})

unixOnly('--pid writes the pid file and removes it on exit; --umask sets the socket mode', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-life-'))
  const pidFile = path.join(dir, 'gh.pid')
  const sock = path.join(dir, 'gh.sock')
  const p = spawnLines(t, process.execPath, [CLI, WHOAMI, '--bind', `unix:${sock}`, '--pid', pidFile, '--umask', '007'])
  await p.nthLine(0)
  t.is(fs.readFileSync(pidFile, 'utf8').trim(), String(p.child.pid))
  t.is(fs.statSync(sock).mode & 0o777, 0o660)
  p.child.kill('SIGTERM')
  t.is((await p.exited).code, 0)
  t.false(fs.existsSync(pidFile))
  fs.rmSync(dir, { recursive: true, force: true })
})

unixOnly('systemd socket activation: the inherited socket on fd 3 is served', async (t) => {
  const p = spawnLines(t, 'python3', [path.resolve('__test__/fixtures/systemd-activate.py'), process.execPath, CLI, WHOAMI, '--bind', '127.0.0.1:1'], { BACKEND: 'socket-activated' })
  const port = Number(await p.nthLine(0))
  t.is(await p.nthLine(1), `Listening on http://127.0.0.1:${port}`, 'the real address of the inherited socket')
  const res = await fetch(`http://127.0.0.1:${port}/`)
  t.regex(await res.text(), /^socket-activated /)
  p.child.kill('SIGTERM')
  t.is((await p.exited).code, 0)
})

unixOnly('--metrics serves Prometheus text on its own listener', async (t) => {
  const probe = spawnLines(t, process.execPath, ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"])
  const metricsPort = Number(await probe.nthLine(0))
  const p = spawnLines(t, process.execPath, [CLI, WHOAMI, '--bind', '127.0.0.1:0', '--metrics', `127.0.0.1:${metricsPort}`])
  const port = portOf(await p.nthLine(0))
  await (await fetch(`http://127.0.0.1:${port}/`)).text()
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  t.regex(text, /^gatehouse_responses_total\{code="200"\} 1$/m)
  p.child.kill('SIGTERM')
  t.is((await p.exited).code, 0)
})

unixOnly('a second signal forces the exit while a request is still running', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-slow-'))
  const app = path.join(dir, 'slow.cjs')
  fs.writeFileSync(app, "exports.app = () => new Promise(() => {})\n")
  const p = spawnLines(t, process.execPath, [CLI, app, '--bind', '127.0.0.1:0', '--shutdown-timeout', '30'])
  const port = portOf(await p.nthLine(0))
  fetch(`http://127.0.0.1:${port}/`).catch(() => {})
  await new Promise((r) => setTimeout(r, 200))
  p.child.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 200))
  const started = Date.now()
  p.child.kill('SIGTERM')
  const { code } = await p.exited
  t.is(code, 1)
  t.true(Date.now() - started < 3000)
  fs.rmSync(dir, { recursive: true, force: true })
})
