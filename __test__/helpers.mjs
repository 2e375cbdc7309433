// Shared test helpers: servers on port 0 that stop themselves, raw sockets, and a small HTTP/1.1
// response reader for asserting on exact bytes.
import { spawn } from 'node:child_process'
import net from 'node:net'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
/** The package under test, as CommonJS users load it. */
export const gatehouse = require('../dist/cjs/index.js')
export const { Server, PathInfoDispatcher, GatehouseError } = gatehouse

/** A `wsgi.errors` that remembers what was written. */
export function errorLog() {
  const lines = []
  return { lines, write: (s) => lines.push(String(s)), flush: () => undefined, get text() { return lines.join('') } }
}

/** Start `app` on 127.0.0.1:0; stopped when the test ends. */
export async function makeServer(t, app, options = {}, bind = ['127.0.0.1', 0]) {
  const errors = options.errors ?? errorLog()
  const server = new Server(bind, app, { timeout: 5, shutdownTimeout: 2, ...options, errors })
  await server.start()
  t.teardown(() => server.stop())
  const addr = server.bindAddr
  const port = Array.isArray(addr) ? addr[1] : undefined
  const host = Array.isArray(addr) ? (addr[0].includes(':') ? `[${addr[0]}]` : addr[0]) : undefined
  return { server, port, url: port ? `http://${host}:${port}` : undefined, errors }
}

/** A promise the test resolves by hand: `const { wait, release } = gate()`. */
export function gate() {
  let release
  const wait = new Promise((r) => (release = r))
  return { wait, release }
}

/** An app that waits for `wait`, then answers 'x' (requests held inside the app). */
export function heldApp(wait) {
  return async (_e, sr) => {
    await wait
    sr('200 OK', [])
    return ['x']
  }
}

/** An app answering with a fixed text. */
export function textApp(text, status = '200 OK', headers = [['Content-Type', 'text/plain']]) {
  return (_environ, startResponse) => {
    startResponse(status, headers)
    return [text]
  }
}

/**
 * Send raw bytes (a string is latin-1) and collect everything until the server closes, or until
 * `idleMs` pass with nothing new. Resolves `{ data, closed }`.
 */
export function raw(target, bytes, { idleMs = 1500, timeoutMs = 8000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = typeof target === 'string' ? net.connect(target) : net.connect(target, '127.0.0.1')
    const chunks = []
    let idle
    const done = (closed) => {
      clearTimeout(idle)
      clearTimeout(hard)
      socket.destroy()
      resolve({ data: Buffer.concat(chunks), closed })
    }
    const arm = () => {
      clearTimeout(idle)
      idle = setTimeout(() => done(false), idleMs)
    }
    const hard = setTimeout(() => done(false), timeoutMs)
    socket.on('connect', () => {
      for (const part of Array.isArray(bytes) ? bytes : [bytes]) socket.write(typeof part === 'string' ? Buffer.from(part, 'latin1') : part)
      arm()
    })
    socket.on('data', (d) => {
      chunks.push(d)
      arm()
    })
    socket.on('end', () => done(true))
    socket.on('close', () => done(true))
    socket.on('error', (e) => (e.code === 'ECONNRESET' ? done(true) : reject(e)))
  })
}

/**
 * Read the HTTP/1.x responses in `data` (Content-Length, chunked or close-delimited bodies).
 * `heads` lists request methods so HEAD responses are read without a body.
 */
export function parseResponses(data, heads = []) {
  const out = []
  let off = 0
  let i = 0
  while (off < data.length) {
    const end = data.indexOf('\r\n\r\n', off)
    if (end === -1) break
    const head = data.subarray(off, end).toString('latin1').split('\r\n')
    const statusLine = head.shift()
    const m = /^HTTP\/(1\.[01]) (\d{3}) ?(.*)$/.exec(statusLine)
    if (!m) throw new Error(`bad status line ${JSON.stringify(statusLine)}`)
    const headers = {}
    const rawHeaders = []
    for (const line of head) {
      const c = line.indexOf(':')
      const name = line.slice(0, c).toLowerCase()
      const value = line.slice(c + 1).trim()
      rawHeaders.push([line.slice(0, c), value])
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    off = end + 4
    const status = Number(m[2])
    const isHead = heads[i] === 'HEAD'
    let body = Buffer.alloc(0)
    let framing = 'none'
    if (isHead || status === 204 || status === 304 || status < 200) {
      framing = 'none'
    } else if (headers['transfer-encoding'] === 'chunked') {
      framing = 'chunked'
      const parts = []
      for (;;) {
        const le = data.indexOf('\r\n', off)
        if (le === -1) throw new Error('truncated chunked body')
        const size = parseInt(data.subarray(off, le).toString('latin1'), 16)
        off = le + 2
        if (size === 0) {
          const tEnd = data.indexOf('\r\n\r\n', off - 2)
          off = tEnd + 4
          break
        }
        parts.push(data.subarray(off, off + size))
        off += size + 2
      }
      body = Buffer.concat(parts)
    } else if (headers['content-length'] !== undefined) {
      framing = 'length'
      const n = Number(headers['content-length'])
      body = data.subarray(off, off + n)
      off += n
    } else {
      framing = 'close'
      body = data.subarray(off)
      off = data.length
    }
    out.push({ version: m[1], status, reason: m[3], headers, rawHeaders, body, text: body.toString('utf8'), framing })
    i++
  }
  return out
}

/** Wait until `predicate()` is true (polling), or fail after `ms`. */
export async function eventually(predicate, ms = 3000) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await predicate()) return true
    await new Promise((r) => setTimeout(r, 10))
  }
  return false
}

/** Spawn a process killed when the test ends; `nthLine(n)` resolves with its n-th stdout line. */
export function spawnLines(t, cmd, args, env = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  // 'close', not 'exit': it comes after the child's output has all been read.
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })))
  const lines = []
  const waiters = []
  child.stdout.on('data', (d) => {
    out += d
    const parts = out.split('\n')
    while (lines.length < parts.length - 1) {
      lines.push(parts[lines.length])
      waiters.splice(0).forEach((w) => w())
    }
  })
  const nthLine = (n) =>
    new Promise((resolve, reject) => {
      const check = () => (lines.length > n ? resolve(lines[n]) : waiters.push(check))
      check()
      child.on('exit', () => setTimeout(() => reject(new Error(`exited before line ${n}: ${err}`)), 50))
    })
  return { child, nthLine, exited }
}

