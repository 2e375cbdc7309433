import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import dns from 'node:dns/promises'
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
  for (const flag of ['--bind', '--threads', '--max-request-header-size', '--max-request-body-size', '--timeout', '--debug']) t.true(help.out.includes(flag), flag)
  const version = await run(['--version'])
  t.regex(version.out, /^gatehouse\/\d+\.\d+\.\d+\n$/)
  const bad = await run(['examples/hello.js', '--nope'])
  t.is(bad.code, 2)
  t.is(bad.err, "gatehouse: unknown option --nope; see gatehouse --help\n")
})

/** Run the CLI to its exit (killed after 20 s): { code, out, err }. */
function runCli(t, args, { env = {}, node = process.execPath, cli = CLI, ...options } = {}) {
  return new Promise((resolve) => {
    const c = spawn(node, [cli, ...args], { env: { ...process.env, NODE_OPTIONS: '', DEBUG: '', ...env }, ...options })
    t.teardown(() => c.kill('SIGKILL'))
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000)
    let out = ''
    let err = ''
    c.stdout.on('data', (d) => (out += d))
    c.stderr.on('data', (d) => (err += d))
    c.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out, err })
    })
  })
}

/**
 * The CLI failed as a user should see it: the exit code, one line on stderr (`gatehouse: ` and
 * `line`, or matching `line` when it is a RegExp), nothing on stdout.
 */
function failsWith(t, r, code, line) {
  t.is(r.signal, null, 'it exits by itself')
  t.is(r.code, code)
  t.regex(r.err, /^gatehouse: [^\n]+\n$/, 'exactly one line')
  if (typeof line === 'string') t.is(r.err, `gatehouse: ${line}\n`)
  else t.regex(r.err, line)
  t.notRegex(r.err, /\bat .*:\d+:\d+/, 'no stack trace')
  t.is(r.out, '', 'no Listening line')
}

/** A TCP port that was free a moment ago. */
async function freePort() {
  const s = net.createServer().listen(0, '127.0.0.1')
  await new Promise((r) => s.once('listening', r))
  const { port } = s.address()
  await new Promise((r) => s.close(r))
  return port
}

/** Whether a connection to 127.0.0.1:port is refused (nothing listens there). */
function refused(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1')
    c.once('connect', () => {
      c.destroy()
      resolve(false)
    })
    c.once('error', (e) => resolve(e.code === 'ECONNREFUSED'))
  })
}

/** A folder with these files in it, removed after the test. */
function folder(t, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-cli-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text)
  return dir
}

test('a port in use is one line that names it and says what to do, exit 1', async (t) => {
  const taken = net.createServer().listen(0, '127.0.0.1')
  await new Promise((r) => taken.once('listening', r))
  t.teardown(() => taken.close())
  const { port } = taken.address()
  const r = await runCli(t, ['examples/hello.js', '--bind', `127.0.0.1:${port}`])
  failsWith(t, r, 1, `cannot listen on 127.0.0.1:${port}: another process listens there; stop it or pick another --bind`)
})

test('--threads 0 is one line naming the flag and the value, exit 2', async (t) => {
  const r = await runCli(t, ['examples/hello.js', '--threads', '0'])
  failsWith(t, r, 2, '--threads: expected an integer from 1 to 2147483647, got 0')
})

test('a port above 65535 is one line, exit 2', async (t) => {
  const r = await runCli(t, ['examples/hello.js', '--bind', '127.0.0.1:99999'])
  failsWith(t, r, 2, '--bind: port 99999 is out of range (0 to 65535, 0 picks a free one); see gatehouse --help')
})

unixOnly('--bind localhost:0 listens on the address dns.lookup gives for localhost, as node\'s listen does', async (t) => {
  const { address } = await dns.lookup('localhost')
  const { child, line, exited } = startCli(t, ['examples/hello.js', '--bind', 'localhost:0'])
  const first = await line
  const shown = address.includes(':') ? `[${address}]` : address
  t.true(first.startsWith(`Listening on http://${shown}:`), first)
  const port = /:(\d+)$/.exec(first)[1]
  t.is(await (await fetch(`http://${shown}:${port}/`)).text(), 'Hello, World!\n')
  child.kill('SIGTERM')
  t.is((await exited).code, 0)
})

test('a host name that does not resolve is one line naming it, exit 1', async (t) => {
  // .invalid never resolves (RFC 2606).
  const r = await runCli(t, ['examples/hello.js', '--bind', 'nosuch.invalid:8080'])
  failsWith(t, r, 1, /^gatehouse: --bind nosuch\.invalid:8080: bind host "nosuch\.invalid" does not resolve to an address \(\w+\)\n$/)
})

test('an address this machine does not have is one line, exit 1', async (t) => {
  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address.
  const r = await runCli(t, ['examples/hello.js', '--bind', '192.0.2.1:8080'])
  failsWith(t, r, 1, /^gatehouse: cannot listen on 192\.0\.2\.1:8080: 192\.0\.2\.1 is not an address of this machine; use 127\.0\.0\.1, .*\n$/)
})

unixOnly('a UNIX socket in a missing directory is one line naming the directory, exit 1', async (t) => {
  const dir = path.join(os.tmpdir(), `gh-missing-${process.pid}`)
  const r = await runCli(t, ['examples/hello.js', '--bind', `unix:${dir}/app.sock`])
  failsWith(t, r, 1, `cannot listen on unix:${dir}/app.sock: the directory ${dir} does not exist; create it or pick another path`)
})

// Root may bind any port: run the CLI as nobody, where this machine lets that happen.
const lowPortRefused =
  process.platform === 'linux' && Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')) > 80
const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}

/**
 * What the CLI needs to run (its compiled code, the loader, the addon, package.json, an app), and
 * this Node.js when nobody cannot run it where it lies, copied into a folder anyone may read:
 * nobody may not be able to reach the checkout (a clone under a mode-700 directory).
 */
function worldReadableCopy(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-cli-nobody-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const files = ['package.json', 'index.js', 'examples/hello.js', ...fs.readdirSync('.').filter((f) => f.endsWith('.node'))]
  for (const f of files) fs.cpSync(f, path.join(dir, f), { recursive: true })
  fs.cpSync('dist/cjs', path.join(dir, 'dist/cjs'), { recursive: true, filter: (f) => !f.endsWith('.map') })
  let node = process.execPath
  if (spawnSync(node, ['-e', ''], asNobody).status !== 0) {
    node = path.join(dir, 'node')
    fs.copyFileSync(process.execPath, node)
  }
  // mkdtemp makes the folder 0700; nobody needs to read and enter every folder in it.
  const open = (p) => {
    fs.chmodSync(p, fs.statSync(p).isDirectory() || p === node ? 0o755 : 0o644)
    if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p)) open(path.join(p, e))
  }
  open(dir)
  return { node, cli: path.join(dir, 'dist/cjs/cli.js'), app: path.join(dir, 'examples/hello.js') }
}

;(lowPortRefused ? test : test.skip)('a port below 1024 without the privilege is one line with what to do, exit 1', async (t) => {
  const { node, cli, app } = worldReadableCopy(t)
  const r = await runCli(t, [app, '--bind', '127.0.0.1:80'], { ...asNobody, cwd: os.tmpdir(), node, cli })
  failsWith(t, r, 1, 'cannot listen on 127.0.0.1:80: ports below 1024 need root or CAP_NET_BIND_SERVICE; pick a port from 1024 up')
})

test('a missing module file, or a package that is not installed, is one line, exit 2', async (t) => {
  const file = await runCli(t, ['no/such/module.js'])
  failsWith(t, file, 2, `cannot load no/such/module.js: there is no file ${path.resolve('no/such/module.js')}`)
  const pkg = await runCli(t, ['no-such-package-here'])
  failsWith(t, pkg, 2, 'cannot load no-such-package-here: no package named no-such-package-here is installed here; install it, or give a path (./no-such-package-here.js)')
})

// Node.js 22.18+ (and 23.6+) strips TypeScript types by itself: process.features.typescript is
// 'strip' (or 'transform'), false when stripping is turned off, and absent on Node.js 20.
const stripsTypes = Boolean(process.features.typescript)
const canTurnStrippingOff = 'typescript' in process.features
const noStripping = `Node.js ${process.version} does not strip TypeScript types`
const tsxAdvice = (target) => `run it through a loader: npm install --save-dev tsx, then NODE_OPTIONS="--import tsx" gatehouse ${target}\n`

;(stripsTypes ? unixOnly : test.skip)(`on a Node.js that strips types, the CLI serves a .ts module, also from --app-threads workers${stripsTypes ? '' : ` (skipped: ${noStripping})`}`, async (t) => {
  for (const threads of [[], ['--app-threads', '2']]) {
    const { child, line, exited } = startCli(t, ['__test__/fixtures/typed-app.ts', '--bind', '127.0.0.1:0', ...threads], { NODE_OPTIONS: '' })
    const port = /:(\d+)$/.exec(await line)[1]
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'User-Agent': 'ava' } })
    t.is(res.status, 200)
    t.regex(await res.text(), threads.length ? /^thread [1-9]\d*: ava$/ : /^thread 0: ava$/)
    child.kill('SIGTERM')
    const { code, err } = await exited
    t.is(code, 0)
    t.notRegex(err, /tsx|cannot load/, 'no advice where none is needed')
  }
})

test('a .ts module on a Node.js that cannot strip types is one line that says how to run it (tsx), exit 2', async (t) => {
  // Where this Node.js strips types, the same case is stripping turned off.
  const options = canTurnStrippingOff ? { env: { NODE_OPTIONS: '--no-experimental-strip-types' } } : {}
  const r = await runCli(t, ['__test__/fixtures/typed-app.ts'], options)
  const target = '__test__/fixtures/typed-app.ts'
  const why = canTurnStrippingOff
    ? `type stripping is off in this Node.js (${process.version}); turn it on with NODE_OPTIONS="--experimental-strip-types", or `
    : `Node.js ${process.version} does not run .ts files by itself; `
  failsWith(t, r, 2, `cannot load ${target}: ${why}${tsxAdvice(target).trimEnd()}`)
})

;(stripsTypes ? test : test.skip)(`a .ts module with syntax that stripping cannot remove (an enum) is one line naming the transform and tsx, exit 2${stripsTypes ? '' : ` (skipped: ${noStripping}; the case above covers it)`}`, async (t) => {
  const target = '__test__/fixtures/enum-app.ts'
  const r = await runCli(t, [target])
  // Node.js 26 dropped --experimental-transform-types; the advice names it only where it exists.
  const transform = process.allowedNodeEnvironmentFlags.has('--experimental-transform-types') ? `run it with NODE_OPTIONS="--experimental-transform-types" gatehouse ${target}, or ` : ''
  failsWith(t, r, 2, `cannot load ${target}: TypeScript enum is not supported in strip-only mode (Node.js ${process.version} strips types, it does not transform this syntax); ${transform}${tsxAdvice(target).trimEnd()}`)
  if (transform) t.regex(r.err, /--experimental-transform-types/)
})

unixOnly('with NODE_OPTIONS="--import tsx", the CLI serves a .ts module with an enum', async (t) => {
  const { child, line, exited } = startCli(t, ['__test__/fixtures/enum-app.ts', '--bind', '127.0.0.1:0'], { NODE_OPTIONS: '--import tsx' })
  const port = /:(\d+)$/.exec(await line)[1]
  t.is(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'hello from an enum')
  child.kill('SIGTERM')
  t.is((await exited).code, 0)
})

test('a module with a syntax error, or one that throws while loading, is one line naming the file and the error, exit 2', async (t) => {
  const dir = folder(t, {
    'broken.mjs': 'export const app = () => {\n  let x = ;\n}\n',
    'broken.cjs': 'exports.app = () => {\n  let x = ;\n}\n',
    'throws.mjs': "throw new Error('DATABASE_URL is not set')\n",
    'missing-dep.mjs': "import 'no-such-dependency'\nexport const app = () => []\n",
  })
  const [esm, cjs, thrown, dep] = await Promise.all(['broken.mjs', 'broken.cjs', 'throws.mjs', 'missing-dep.mjs'].map((f) => runCli(t, [path.join(dir, f)])))
  const at = (f) => path.join(dir, f)
  // Node.js 20 gives no line for an ES module's syntax error; the CLI then says how to find it.
  const esmWhere = [`node --check ${at('broken.mjs')} shows where`, `${at('broken.mjs')}:2`].map((w) => `gatehouse: cannot load ${at('broken.mjs')}: SyntaxError: Unexpected token ';' (${w})\n`)
  t.true(esmWhere.includes(esm.err), esm.err)
  failsWith(t, esm, 2, /^gatehouse: [^\n]+\n$/)
  failsWith(t, cjs, 2, `cannot load ${at('broken.cjs')}: SyntaxError: Unexpected token ';' (${at('broken.cjs')}:2)`)
  failsWith(t, thrown, 2, `cannot load ${at('throws.mjs')}: DATABASE_URL is not set`)
  failsWith(t, dep, 2, `cannot load ${at('missing-dep.mjs')}: Cannot find package 'no-such-dependency' imported from ${at('missing-dep.mjs')}`)
})

test('--metrics on a port in use is one line, exit 1, and the main port is closed again', async (t) => {
  const taken = net.createServer().listen(0, '127.0.0.1')
  await new Promise((r) => taken.once('listening', r))
  t.teardown(() => taken.close())
  const port = await freePort()
  const metrics = taken.address().port
  const r = await runCli(t, ['examples/hello.js', '--bind', `127.0.0.1:${port}`, '--metrics', `127.0.0.1:${metrics}`])
  failsWith(t, r, 1, `cannot listen on 127.0.0.1:${metrics}: another process listens there; stop it or pick another --metrics`)
  t.true(await refused(port), `nothing listens on ${port}`)
})

test('--pid in a missing directory is one line, exit 1, and nothing is left listening', async (t) => {
  const port = await freePort()
  const dir = path.join(os.tmpdir(), `gh-missing-${process.pid}`)
  const r = await runCli(t, ['examples/hello.js', '--bind', `127.0.0.1:${port}`, '--pid', path.join(dir, 'app.pid')])
  failsWith(t, r, 1, `--pid: cannot write ${path.join(dir, 'app.pid')}: the directory ${dir} does not exist; create it or pick another file`)
  t.true(await refused(port), `nothing listens on ${port}`)
})

test('--access-log in a missing directory is one line, exit 2', async (t) => {
  const dir = path.join(os.tmpdir(), `gh-missing-${process.pid}`)
  const r = await runCli(t, ['examples/hello.js', '--bind', '127.0.0.1:0', '--access-log', path.join(dir, 'access.log')])
  failsWith(t, r, 2, `--access-log: cannot open ${path.join(dir, 'access.log')}: the directory ${dir} does not exist; create it or pick another file`)
})

test('--debug, or DEBUG=gatehouse, adds the stack trace after the line', async (t) => {
  const [flag, env] = await Promise.all([
    runCli(t, ['examples/hello.js', '--threads', '0', '--debug']),
    runCli(t, ['examples/hello.js', '--threads', '0'], { env: { DEBUG: 'express,gatehouse' } }),
  ])
  for (const r of [flag, env]) {
    t.is(r.code, 2)
    t.true(r.err.startsWith('gatehouse: --threads: expected an integer from 1 to 2147483647, got 0\n'), r.err)
    t.regex(r.err, /GatehouseError: invalid numthreads[^\n]*\n\s+at /)
    t.regex(r.err, /code: 'GH_ERR_INVALID_OPTION'/)
  }
})

unixOnly('with NODE_OPTIONS="--import tsx", --app-threads 2 serves a .ts module from the worker threads', async (t) => {
  const { child, line, exited } = startCli(t, ['__test__/fixtures/typed-app.ts', '--bind', '127.0.0.1:0', '--app-threads', '2'], { NODE_OPTIONS: '--import tsx' })
  const port = /:(\d+)$/.exec(await line)[1]
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'User-Agent': 'ava' } })
  t.is(res.status, 200)
  t.regex(await res.text(), /^thread [1-9]\d*: ava$/, 'answered by a worker thread (the main thread is 0)')
  child.kill('SIGTERM')
  t.is((await exited).code, 0)
})

test("the README's CLI synopsis and --help list the same flags", async (t) => {
  const help = await runCli(t, ['--help'])
  const fromHelp = new Set([...help.out.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]))
  const readme = fs.readFileSync(path.resolve('README.md'), 'utf8')
  const synopsis = /## CLI\n\n```\n([\s\S]*?)```/.exec(readme)[1]
  const fromReadme = new Set(synopsis.match(/--[a-z-]+/g))
  t.true(fromHelp.has('--debug'))
  t.deepEqual([...fromReadme].sort(), [...fromHelp].sort())
})
