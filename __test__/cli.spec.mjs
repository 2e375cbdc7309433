import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

// UNIX sockets and graceful signals (SIGTERM/SIGINT exit code 0) do not exist on Windows.
const unixOnly = process.platform === 'win32' ? test.skip : test


const CLI = path.resolve('dist/cjs/cli.js')

/** Spawn the CLI; resolves with the child and its first stdout line. */
function startCli(t, args, env = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })))
  const line = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve(out.split('\n')[0])
    })
    child.on('exit', () => reject(new Error(`exited early: ${err}`)))
    setTimeout(() => reject(new Error('no Listening line in 15 s')), 15000)
  })
  return { child, line, exited }
}

unixOnly('the CLI serves MODULE:EXPORT, prints one Listening line with the real port, and stops on SIGTERM', async (t) => {
  const { child, line, exited } = startCli(t, ['__test__/fixtures/apps.mjs:greet', '--bind', '127.0.0.1:0'])
  const first = await line
  const m = /^Listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(first)
  t.truthy(m, first)
  t.not(m[1], '0')
  t.is(await (await fetch(`http://127.0.0.1:${m[1]}/x`)).text(), 'greet /x')
  child.kill('SIGTERM')
  const { code, out } = await exited
  t.is(code, 0)
  t.is(out, first + '\n', 'exactly one line on stdout')
})

unixOnly('the CLI falls back to the default export, and serves the CommonJS `app` export', async (t) => {
  const a = startCli(t, ['__test__/fixtures/apps.mjs', '--bind', '127.0.0.1:0'])
  const portA = /:(\d+)$/.exec(await a.line)[1]
  t.is(await (await fetch(`http://127.0.0.1:${portA}/`)).text(), 'default export')
  a.child.kill('SIGINT')
  t.is((await a.exited).code, 0)

  const b = startCli(t, ['examples/hello.js', '--bind=127.0.0.1:0', '--threads', '4', '--timeout', '3'])
  const portB = /:(\d+)$/.exec(await b.line)[1]
  t.is(await (await fetch(`http://127.0.0.1:${portB}/`)).text(), 'Hello, World!\n')
  b.child.kill('SIGTERM')
  t.is((await b.exited).code, 0)
})

unixOnly('the CLI binds a UNIX socket', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-cli-'))
  const sock = path.join(dir, 'app.sock')
  const { child, line, exited } = startCli(t, ['examples/hello.js', '--bind', `unix:${sock}`])
  t.is(await line, `Listening on unix:${sock}`)
  child.kill('SIGTERM')
  t.is((await exited).code, 0)
  fs.rmSync(dir, { recursive: true, force: true })
})

unixOnly('the CLI applies the size limits given as flags', async (t) => {
  const { child, line, exited } = startCli(t, ['examples/hello.js', '--bind', '127.0.0.1:0', '--max-request-header-size', '1024', '--max-request-body-size', '10'])
  const port = /:(\d+)$/.exec(await line)[1]
  const big = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'X-Big': 'a'.repeat(2000) } })
  t.is(big.status, 431)
  const body = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'more than ten bytes' })
  t.is(body.status, 413)
  child.kill('SIGTERM')
  await exited
})

test('--help and --version print and exit 0; a bad flag exits 2', async (t) => {
  const run = (args) =>
    new Promise((resolve) => {
      const c = spawn(process.execPath, [CLI, ...args])
      let out = ''
      let err = ''
      c.stdout.on('data', (d) => (out += d))
      c.stderr.on('data', (d) => (err += d))
      c.on('close', (code) => resolve({ code, out, err }))
    })
  const help = await run(['--help'])
  t.is(help.code, 0)
  for (const flag of ['--bind', '--threads', '--max-request-header-size', '--max-request-body-size', '--timeout']) t.true(help.out.includes(flag), flag)
  const version = await run(['--version'])
  t.regex(version.out, /^gatehouse\/\d+\.\d+\.\d+\n$/)
  const bad = await run(['examples/hello.js', '--nope'])
  t.is(bad.code, 2)
  t.regex(bad.err, /unknown option --nope/)
  const missing = await run(['no/such/module.js'])
  t.is(missing.code, 2)
  t.regex(missing.err, /cannot load/)
})
