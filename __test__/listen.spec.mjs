import { spawn } from 'node:child_process'
import dns from 'node:dns/promises'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import util from 'node:util'

import test from 'ava'

import { makeServer, raw, parseResponses, textApp, Server, GatehouseError } from './helpers.mjs'

// UNIX sockets and graceful signals (SIGTERM/SIGINT exit code 0) do not exist on Windows.
const unixOnly = process.platform === 'win32' ? test.skip : test


test('port 0 picks a free port and bindAddr shows it', async (t) => {
  const { server, port } = await makeServer(t, textApp('x'))
  t.true(port > 0)
  t.deepEqual(server.bindAddr, ['127.0.0.1', port])
})

test('IPv6 loopback binds and serves', async (t) => {
  const { server, port } = await makeServer(t, (environ, sr) => {
    sr('200 OK', [])
    return [environ.REMOTE_ADDR]
  }, {}, ['::1', 0])
  t.is(server.bindAddr[0], '::1')
  const res = await fetch(`http://[::1]:${port}/`)
  t.is(await res.text(), '::1')
})

unixOnly('a UNIX socket binds, serves, and its file is removed on stop', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-'))
  const sock = path.join(dir, 's.sock')
  const server = new Server(sock, textApp('over unix'), { errors: { write() {}, flush() {} } })
  await server.start()
  t.is(server.bindAddr, sock)
  const body = await new Promise((resolve, reject) => {
    http.get({ socketPath: sock, path: '/' }, (res) => {
      let b = ''
      res.on('data', (d) => (b += d))
      res.on('end', () => resolve(b))
    }).on('error', reject)
  })
  t.is(body, 'over unix')
  await server.stop()
  t.false(fs.existsSync(sock))
  fs.rmSync(dir, { recursive: true, force: true })
})

unixOnly('a stale UNIX socket file is replaced', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-'))
  const sock = path.join(dir, 's.sock')
  const first = new Server(sock, textApp('a'))
  await first.start()
  // Simulate a crash: the socket file stays, nobody listens.
  const copy = path.join(dir, 'keep')
  fs.linkSync(sock, copy)
  await first.stop()
  fs.renameSync(copy, sock)
  const second = new Server(sock, textApp('b'))
  await t.notThrowsAsync(second.start())
  await second.stop()
  fs.rmSync(dir, { recursive: true, force: true })
})

test('binding a port in use fails start() with GH_ERR_BIND carrying node\'s errno and the OS code', async (t) => {
  const { port } = await makeServer(t, textApp('x'))
  const other = new Server(['127.0.0.1', port], textApp('y'))
  const err = await t.throwsAsync(other.start())
  t.true(err instanceof GatehouseError)
  t.is(err.code, 'GH_ERR_BIND')
  t.regex(err.message, /Address already in use|in use/i)
  t.is(err.osCode, 'EADDRINUSE')
  // Node's convention: negative, the number node's own system errors carry.
  t.is(util.getSystemErrorName(err.errno), 'EADDRINUSE')
  if (process.platform !== 'win32') t.is(err.errno, -os.constants.errno.EADDRINUSE)
  const busy = await new Promise((resolve) => {
    const s = net.createServer().once('error', resolve).listen(port, '127.0.0.1')
  })
  t.is(err.errno, busy.errno, 'the same errno node:net gives')
  const invalid = t.throws(() => new Server(['127.0.0.1', 0], textApp('y'), { timeout: -1 }))
  t.is(invalid.code, 'GH_ERR_INVALID_OPTION')
  t.false('errno' in invalid || 'osCode' in invalid, 'an error no OS error caused has neither')
})

unixOnly('an inherited descriptor that is not a listening socket fails start() with GH_ERR_BIND and stays open', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-fd-'))
  const file = path.join(dir, 'not-a-socket')
  const fileFd = fs.openSync(file, 'w+')
  const { port } = await makeServer(t, textApp('x'))
  const conn = await new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c))
    c.on('error', reject)
  })
  // A regular file, a connected socket, and a number that names nothing.
  for (const fd of [fileFd, conn._handle.fd, 999999]) {
    const err = await t.throwsAsync(new Server({ fd }, textApp('y')).start())
    t.is(err.code, 'GH_ERR_BIND', `fd ${fd}`)
    t.regex(err.message, /inherited descriptor/)
  }
  fs.writeSync(fileFd, 'still open')
  t.is(fs.readFileSync(file, 'utf8'), 'still open')
  conn.write('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  const chunks = []
  for await (const c of conn) chunks.push(c)
  t.regex(Buffer.concat(chunks).toString('latin1'), /^HTTP\/1\.1 200 /, 'the connection still works')
  fs.closeSync(fileFd)
  fs.rmSync(dir, { recursive: true, force: true })
})

test('stop() lets a request in flight finish and refuses new connections', async (t) => {
  let release
  const gate = new Promise((r) => (release = r))
  const { server, port } = await makeServer(t, async (_e, sr) => {
    await gate
    sr('200 OK', [])
    return ['finished']
  }, { shutdownTimeout: 5 })
  const inflight = raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { idleMs: 3000 })
  await new Promise((r) => setTimeout(r, 100))
  const stopping = server.stop()
  await new Promise((r) => setTimeout(r, 100))
  const refused = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { idleMs: 300 }).catch((e) => e)
  t.true(refused instanceof Error || refused.data.length === 0, 'no new connection is served')
  release()
  const { data, closed } = await inflight
  const [res] = parseResponses(data)
  t.is(res.text, 'finished')
  t.is(res.headers.connection, 'close', 'a response going out during stop closes its connection')
  t.true(closed)
  await stopping
})

test('stop() cuts requests still running after shutdownTimeout', async (t) => {
  const { server, port } = await makeServer(t, () => new Promise(() => {}), { shutdownTimeout: 0.3 })
  const inflight = raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { idleMs: 5000 })
  await new Promise((r) => setTimeout(r, 100))
  const started = Date.now()
  await server.stop()
  const elapsed = Date.now() - started
  t.true(elapsed >= 250 && elapsed < 3000, `stop took ${elapsed} ms`)
  t.true((await inflight).closed)
})

test('stop() is idempotent and start() works again after it', async (t) => {
  const server = new Server(['127.0.0.1', 0], textApp('again'))
  await server.start()
  await Promise.all([server.stop(), server.stop()])
  await server.stop()
  await server.start()
  const [, port] = server.bindAddr
  t.is(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'again')
  await server.stop()
})

test('serve() resolves when the server stops, and rejects with an interrupt error', async (t) => {
  const server = new Server(['127.0.0.1', 0], textApp('x'))
  const served = server.serve()
  await server.start()
  await server.stop()
  await t.notThrowsAsync(served)
  const again = server.serve()
  await server.start()
  const boom = new Error('interrupted')
  await server.interrupt(boom)
  t.is(await again.catch((e) => e), boom)
})

test('after stop() the process exits by itself', async (t) => {
  const script = `
    const { Server } = require(${JSON.stringify(path.resolve('dist/cjs/index.js'))})
    const s = new Server(['127.0.0.1', 0], (e, sr) => { sr('200 OK', []); return ['x'] })
    s.start().then(async () => {
      const [, port] = s.bindAddr
      await (await fetch('http://127.0.0.1:' + port + '/')).text()
      await s.stop()
      console.log('stopped')
    })
  `
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const code = await new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve('hung')
    }, 15000)
    child.on('exit', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  t.is(code, 0)
  t.is(out.trim(), 'stopped')
})

test('invalid options are refused with a message naming the option', (t) => {
  const e1 = t.throws(() => new Server(['127.0.0.1', 0], textApp('x'), { numthreads: 0 }))
  t.is(e1.code, 'GH_ERR_INVALID_OPTION')
  t.regex(e1.message, /numthreads/)
  t.regex(t.throws(() => new Server(['127.0.0.1', 70000], textApp('x'))).message, /port/)
  t.regex(t.throws(() => new Server(['127.0.0.1', 0], textApp('x'), { protocol: 'HTTP/2' })).message, /protocol/)
  t.regex(t.throws(() => new Server(['127.0.0.1', 0], 42)).message, /app must be a function/)
  t.regex(t.throws(() => new Server(['127.0.0.1', 0], textApp('x'), { appThreads: 2 })).message, /appThreads.*module name/)
})

test('staticResponse answers from Rust without calling the app, and keeps the process alive', async (t) => {
  let calls = 0
  const server = new Server(['127.0.0.1', 0], () => {
    calls++
    return []
  }, { staticResponse: 'from rust' })
  await server.start()
  t.teardown(() => server.stop())
  const res = await fetch(`http://127.0.0.1:${server.bindAddr[1]}/`)
  t.is(await res.text(), 'from rust')
  t.is(calls, 0)
  // With no JavaScript lane, the server itself must keep the process running.
  const script = `const { Server } = require(${JSON.stringify(path.resolve('dist/cjs/index.js'))})
    const s = new Server(['127.0.0.1', 0], () => [], { staticResponse: 'still here' })
    s.start().then(() => console.log(s.bindAddr[1]))`
  const child = spawn(process.execPath, ['-e', script])
  t.teardown(() => child.kill('SIGKILL'))
  const port = await new Promise((r) => child.stdout.once('data', (d) => r(String(d).trim())))
  await new Promise((r) => setTimeout(r, 500))
  t.is(child.exitCode, null, 'the process is still running')
  t.is(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'still here')
})

test("a host name such as 'localhost' is bound at the first address dns.lookup gives, as node's listen does", async (t) => {
  const { address } = await dns.lookup('localhost')
  const { server, port } = await makeServer(t, textApp('named'), {}, ['localhost', 0])
  t.deepEqual(server.bindAddr, [address, port])
  const host = address.includes(':') ? `[${address}]` : address
  t.is(await (await fetch(`http://${host}:${port}/`)).text(), 'named')
})

test('a host name that does not resolve makes start() reject with GH_ERR_BIND naming it', async (t) => {
  const server = new Server(['nosuch.invalid', 0], textApp('x'))
  const e = await t.throwsAsync(server.start(), { code: 'GH_ERR_BIND' })
  t.regex(e.message, /bind host "nosuch\.invalid" does not resolve to an address/)
})
