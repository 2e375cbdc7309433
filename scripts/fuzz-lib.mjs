// The request fuzzer shared by `__test__/fuzz.spec.mjs` (a few seconds in `npm test`) and
// `scripts/fuzz.mjs` (`npm run fuzz`, minutes): a seeded PRNG, valid requests to start from,
// mutations (byte flips, splices, huge numbers, CR/LF games, truncation), one exchange with the
// server, and the checks an answer must pass. Traffic goes to 127.0.0.1 only.
import net from 'node:net'

/** mulberry32: a small, fast, seeded PRNG; the same seed gives the same inputs. */
export function prng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(next() * n)
  return { next, int, pick: (list) => list[int(list.length)], chance: (p) => next() < p }
}

/** Valid requests the mutations start from. */
export const SEEDS = [
  'GET / HTTP/1.1\r\nHost: h\r\n\r\n',
  'GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n',
  'POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world',
  'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
  'HEAD / HTTP/1.1\r\nHost: h\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n',
  'GET http://example.com/abs?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n',
  'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  'POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody',
  'GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
  'GET /stream HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nCookie: b=2\r\nX-A: 1\r\nX-A: 2\r\n\r\n',
  'PUT /p HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n',
]

const INTERESTING_BYTES = [0x0d, 0x0a, 0x00, 0x20, 0x09, 0x0b, 0x0c, 0x3a, 0x3b, 0x2c, 0x3d, 0x22, 0x5c, 0x30, 0x66, 0x2d, 0x2b, 0x7f, 0x80, 0xff, 0x25, 0x3f, 0x23, 0x2f]
const HUGE = ['99999999999999999999', '18446744073709551616', '18446744073709551615', '9223372036854775808', '4294967296', '-1', '+1', '0x10', 'ffffffffffffffff', '10000000000000000', '1e3', '00000000000000000000001', '']
const LINE_ENDS = ['\n', '\r', '\r\r\n', '\n\r', '\r\n\r\n', '', ' \r\n', '\r\n ', '\r\n\t']
const HEADER_LINES = [
  'Content-Length: 5',
  'Content-Length: 0',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding: chunked, identity',
  'Host: other',
  'Expect: 100-continue',
  'Connection: close',
  'Connection: keep-alive',
  'Trailer: X',
  'Upgrade: h2c',
  'X: ' + 'a'.repeat(300),
]

/** Apply 1 to 4 random mutations to a latin-1 string; returns a Buffer. */
export function mutate(rng, input) {
  let s = Buffer.from(input, 'latin1')
  const rounds = 1 + rng.int(4)
  for (let r = 0; r < rounds; r++) s = mutateOnce(rng, s)
  return s.length > 256 * 1024 ? s.subarray(0, 256 * 1024) : s
}

function splice(buf, at, remove, insert) {
  return Buffer.concat([buf.subarray(0, at), Buffer.from(insert, 'latin1'), buf.subarray(at + remove)])
}

function mutateOnce(rng, s) {
  const at = s.length === 0 ? 0 : rng.int(s.length)
  switch (rng.int(12)) {
    case 0: {
      // A byte flipped to any value.
      const b = Buffer.from(s)
      if (b.length) b[at] = rng.int(256)
      return b
    }
    case 1: {
      // One bit flipped.
      const b = Buffer.from(s)
      if (b.length) b[at] ^= 1 << rng.int(8)
      return b
    }
    case 2:
      // An interesting byte inserted.
      return splice(s, at, 0, String.fromCharCode(rng.pick(INTERESTING_BYTES)))
    case 3: {
      // A range deleted.
      const n = 1 + rng.int(Math.min(16, Math.max(1, s.length - at)))
      return splice(s, at, n, '')
    }
    case 4: {
      // A range of the input repeated in place.
      const n = 1 + rng.int(32)
      const piece = s.subarray(at, at + n).toString('latin1')
      return splice(s, at, 0, piece.repeat(1 + rng.int(4)))
    }
    case 5: {
      // Spliced with another seed: the head of this one, the tail of that one.
      const other = Buffer.from(rng.pick(SEEDS), 'latin1')
      const cut = rng.int(other.length + 1)
      return Buffer.concat([s.subarray(0, at), other.subarray(cut)])
    }
    case 6: {
      // A run of digits (or hex digits) replaced by a huge or odd number.
      const text = s.toString('latin1')
      const runs = [...text.matchAll(/[0-9a-fA-F]+/g)]
      if (runs.length === 0) return splice(s, at, 0, rng.pick(HUGE))
      const m = rng.pick(runs)
      return splice(s, m.index, m[0].length, rng.pick(HUGE))
    }
    case 7: {
      // A CRLF replaced by another line ending, or one inserted at random.
      const text = s.toString('latin1')
      const crlfs = [...text.matchAll(/\r\n/g)]
      if (crlfs.length === 0 || rng.chance(0.3)) return splice(s, at, 0, rng.pick(LINE_ENDS))
      const m = rng.pick(crlfs)
      return splice(s, m.index, 2, rng.pick(LINE_ENDS))
    }
    case 8:
      // Cut short.
      return s.subarray(0, at)
    case 9: {
      // A framing-related header line inserted after the request line.
      const text = s.toString('latin1')
      const eol = text.indexOf('\r\n')
      const pos = eol === -1 ? at : eol + 2
      return splice(s, pos, 0, `${rng.pick(HEADER_LINES)}\r\n`)
    }
    case 10: {
      // Whitespace around a colon or a space.
      const text = s.toString('latin1')
      const marks = [...text.matchAll(/[: ]/g)]
      if (marks.length === 0) return s
      const m = rng.pick(marks)
      return splice(s, m.index + (rng.chance(0.5) ? 0 : 1), 0, rng.pick([' ', '\t', '  ', '\x0b', '\x0c']))
    }
    default: {
      // Case flipped over a range (methods, names, codings).
      const b = Buffer.from(s)
      const n = 1 + rng.int(12)
      for (let i = at; i < Math.min(b.length, at + n); i++) {
        const c = b[i]
        if (c >= 0x41 && c <= 0x5a) b[i] = c + 32
        else if (c >= 0x61 && c <= 0x7a) b[i] = c - 32
      }
      return b
    }
  }
}

/** The app under fuzzing: reads the whole body, answers briefly; /__stats reports core counters. */
export function fuzzApp(getServer) {
  return async (environ, startResponse) => {
    if (environ.PATH_INFO === '/__stats') {
      const s = getServer()?.nativeStats?.()
      startResponse('200 OK', [['Content-Type', 'application/json']])
      return [JSON.stringify({ ok: true, panics: s?.panics ?? null })]
    }
    const body = await environ['wsgi.input'].read()
    startResponse('200 OK', [['Content-Type', 'text/plain']])
    if (environ.PATH_INFO.includes('stream')) {
      return (async function* () {
        yield 'ok '
        yield String(body.length)
      })()
    }
    return [`ok ${body.length}`]
  }
}

/** The server options fuzzing runs with: short timeouts, a body limit so huge lengths end fast. */
export const FUZZ_OPTIONS = { timeout: 2, shutdownTimeout: 1, maxRequestBodySize: 1024 * 1024 }

/** Statuses the server (or the fuzz app) may answer with. */
const ALLOWED = new Set([100, 200, 400, 405, 408, 413, 414, 417, 431, 500, 501, 503, 505])

/**
 * Check that `bytes` is a sequence of complete, well-formed HTTP/1.x responses with allowed
 * statuses (or nothing). `mayBeHead`: the input has HEAD requests in it, so a response may stop
 * after its head whatever its Content-Length (a mutated input's pipelined methods are not known;
 * the app's bodies never start with "HTTP/1."). Returns a reason or null.
 */
export function checkAnswer(bytes, mayBeHead = false) {
  let off = 0
  while (off < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', off)
    if (end === -1) return `a response head is cut: ${JSON.stringify(bytes.subarray(off, off + 60).toString('latin1'))}`
    const lines = bytes.subarray(off, end).toString('latin1').split('\r\n')
    const m = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/.exec(lines[0])
    if (!m) return `not a status line: ${JSON.stringify(lines[0].slice(0, 60))}`
    const status = Number(m[1])
    if (!ALLOWED.has(status)) return `unexpected status ${status}`
    const headers = {}
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':')
      if (c <= 0) return `bad response header line ${JSON.stringify(line.slice(0, 60))}`
      headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim()
    }
    if (!headers.date && status >= 200) return `status ${status} without Date`
    off = end + 4
    const rest = bytes.subarray(off, off + 7).toString('latin1')
    const bodiless = mayBeHead && (rest.length === 0 || rest === 'HTTP/1.')
    // Otherwise (a body that is not another response) read it per its framing.
    if (status < 200 || status === 204 || status === 304 || bodiless) continue
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const le = bytes.indexOf('\r\n', off)
        if (le === -1) return 'a chunked response is cut'
        const size = parseInt(bytes.subarray(off, le).toString('latin1'), 16)
        if (!Number.isFinite(size)) return 'a bad chunk in a response'
        off = le + 2
        if (size === 0) {
          if (bytes.subarray(off, off + 2).toString('latin1') !== '\r\n') return 'a chunked response without its final CRLF'
          off += 2
          break
        }
        off += size + 2
        if (off > bytes.length) return 'a chunked response is cut'
      }
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length'])
      if (!Number.isInteger(n) || off + n > bytes.length) return 'a response body shorter than its Content-Length'
      off += n
    } else if (headers['transfer-encoding'] !== undefined) {
      return `an unexpected Transfer-Encoding ${headers['transfer-encoding']}`
    } else {
      // Close-delimited (HTTP/1.0): the rest is the body.
      off = bytes.length
    }
  }
  return null
}

/**
 * Send `input` on a new connection and collect the answer: wait until the server closes, or
 * until nothing comes for `idleMs`, then half-close and wait up to `closeMs` for the server to
 * close. Resolves { bytes, closed, hung }: hung when the server never closed after our FIN.
 */
export function exchange(port, input, { idleMs = 30, closeMs = 3000 } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks = []
    let idle
    let afterFin
    let done = false
    const finish = (closed, hung = false) => {
      if (done) return
      done = true
      clearTimeout(idle)
      clearTimeout(afterFin)
      socket.destroy()
      resolve({ bytes: Buffer.concat(chunks), closed, hung })
    }
    const arm = () => {
      clearTimeout(idle)
      idle = setTimeout(() => {
        if (afterFin) return
        socket.end()
        afterFin = setTimeout(() => finish(false, true), closeMs)
      }, idleMs)
    }
    socket.on('connect', () => {
      socket.write(input)
      arm()
    })
    socket.on('data', (d) => {
      chunks.push(d)
      if (!afterFin) arm()
    })
    socket.on('end', () => finish(true))
    socket.on('close', () => finish(true))
    socket.on('error', () => finish(true))
  })
}

/** A normal request on a new connection; resolves { ok, panics } or { ok: false, reason }. */
export async function health(port) {
  const r = await exchange(port, Buffer.from('GET /__stats HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', 'latin1'), { idleMs: 2000, closeMs: 2000 })
  const text = r.bytes.toString('latin1')
  if (!text.startsWith('HTTP/1.1 200 ')) return { ok: false, reason: `health check answered ${JSON.stringify(text.slice(0, 40))}` }
  try {
    const json = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))
    return { ok: true, panics: json.panics }
  } catch {
    return { ok: false, reason: 'health check body is not JSON' }
  }
}

/**
 * One fuzz iteration: a mutated seed at the server, its answer checked, then a health check.
 * `onInput` sees the input before it is sent. Resolves { input, failure, panics, answer } where
 * failure is null or a reason.
 */
export async function iterate(rng, port, lastPanics, onInput) {
  const seed = rng.pick(SEEDS)
  const input = mutate(rng, seed)
  onInput?.(input)
  const r = await exchange(port, input)
  let failure = null
  if (r.hung) failure = 'the server did not close after the client finished sending'
  else failure = checkAnswer(r.bytes, input.includes('HEAD'))
  const h = await health(port)
  if (!failure && !h.ok) failure = h.reason
  if (!failure && h.panics !== null && lastPanics !== null && h.panics > lastPanics) failure = `a panic in the core (${h.panics} in all)`
  return { input, failure, panics: h.ok ? h.panics : lastPanics, answer: r.bytes }
}
