// The conformance harness: one app with the same behaviour on gatehouse and on node:http, a raw
// client that sends a case's exact bytes and records what came back (responses, whether the
// server closed, how long it took), and the judge that compares the outcome with the case.
//
// A case (see cases/*.mjs) is a plain object:
//   id        unique, e.g. 'RL-07'
//   title     a sentence
//   rfc       the section it enforces, e.g. 'RFC 9112 §3'
//   request   the exact bytes: a latin-1 string, a Buffer, or an array of parts, each a string,
//             a Buffer or { data, delayMs, waitFor } (wait delayMs, or until the bytes received
//             so far contain waitFor, then write data)
//   expect    the status of the first final response; 200 means accepted by the app; 'close'
//             means a silent close (no bytes); an array lists the acceptable outcomes
//   conn      'closed' (the server closes after answering) or 'open' (a probe request on the
//             same connection is answered)
//   appCalls  how many times the app runs (default: 1 when accepted, else 0); never more
//   responses how many final responses to wait for (default 1, 0 for 'close')
//   options   gatehouse server options; nodeOptions: node:http server options
//   check     (t, outcome) => void, extra assertions (gatehouse only)
//   compare   false to leave the case out of the node:http comparison
//   bug       { note, aspects: ['status', ...] }: a known bug in code this suite does not own;
//             the whole case runs as test.failing, and a companion test asserts every other
//             aspect so the rest of the behaviour stays covered
//   waitMs    how long to wait for the server to close (default 2500)
import http from 'node:http'
import net from 'node:net'

import { makeServer } from '../helpers.mjs'

/** The request sent after a case on a connection expected to stay open. */
export const PROBE = 'GET /__probe HTTP/1.1\r\nHost: probe\r\n\r\n'

const REASONS = {
  103: 'Early Hints',
  200: 'OK',
  204: 'No Content',
  205: 'Reset Content',
  304: 'Not Modified',
  404: 'Not Found',
}

/** The directives an app takes from the query string: ?status=204&mode=stream&noread=1&big=N */
function directives(query) {
  const q = new URLSearchParams(query)
  const status = Number(q.get('status') ?? 200)
  return {
    status,
    statusLine: `${status} ${REASONS[status] ?? 'Status'}`,
    stream: q.get('mode') === 'stream',
    noread: q.get('noread') === '1',
    big: Number(q.get('big') ?? 0),
  }
}

function latin1(buf, max = 512) {
  return buf.subarray(0, max).toString('latin1')
}

/**
 * The gatehouse app: records every call (environ snapshot, body, read error), reads the body
 * unless told not to, and answers 200 with a short text (or what the directives say).
 */
export function gatehouseApp(ctx) {
  return async (environ, startResponse) => {
    if (environ.PATH_INFO === '/__probe') {
      startResponse('200 OK', [['Content-Type', 'text/plain']])
      return ['probe']
    }
    const d = directives(environ.QUERY_STRING)
    const call = { environ: snapshot(environ), body: '', bodyLength: 0, at: Date.now() }
    ctx.calls.push(call)
    if (!d.noread) {
      try {
        const body = await environ['wsgi.input'].read()
        call.body = latin1(body)
        call.bodyLength = body.length
      } catch (e) {
        call.readError = e.code ?? String(e)
        ctx.readErrors.push(call.readError)
        throw e
      }
    }
    if (d.big > 0) {
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']])
      return bigBody(ctx, d.big)
    }
    startResponse(d.statusLine, [['Content-Type', 'text/plain']])
    const text = `ok ${call.bodyLength}`
    if (!d.stream) return [text]
    return (async function* () {
      yield 'ok '
      yield String(call.bodyLength)
    })()
  }
}

/** A streamed body of `total` bytes in 64 KiB chunks; ctx.produced counts what was handed over. */
function bigBody(ctx, total) {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  ctx.produced = 0
  let sent = 0
  return {
    [Symbol.asyncIterator]() {
      return {
        next: async () => {
          if (sent >= total) return { done: true, value: undefined }
          const n = Math.min(chunk.length, total - sent)
          sent += n
          ctx.produced = sent
          return { done: false, value: n === chunk.length ? chunk : chunk.subarray(0, n) }
        },
      }
    },
    close() {
      ctx.bodyClosedAt = Date.now()
    },
  }
}

function snapshot(environ) {
  const out = {}
  for (const [k, v] of Object.entries(environ)) {
    if (typeof v === 'string') out[k] = v
  }
  return out
}

/** The node:http equivalent of gatehouseApp, for the informational comparison. */
function nodeApp(ctx) {
  return (req, res) => {
    if (req.url === '/__probe') {
      res.setHeader('Content-Type', 'text/plain')
      res.end('probe')
      return
    }
    const q = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : ''
    const d = directives(q)
    const call = { body: '', bodyLength: 0, at: Date.now() }
    ctx.calls.push(call)
    const answer = () => {
      res.statusCode = d.status
      res.setHeader('Content-Type', 'text/plain')
      if (d.stream) {
        res.write('ok ')
        res.end(String(call.bodyLength))
      } else {
        res.end(`ok ${call.bodyLength}`)
      }
    }
    if (d.noread) {
      answer()
      return
    }
    const parts = []
    req.on('data', (c) => parts.push(c))
    req.on('end', () => {
      const body = Buffer.concat(parts)
      call.body = latin1(body)
      call.bodyLength = body.length
      answer()
    })
    req.on('error', (e) => {
      call.readError = e.code ?? String(e)
      ctx.readErrors.push(call.readError)
      if (!res.headersSent) {
        res.statusCode = 500
        res.end('read error')
      }
    })
  }
}

function newContext() {
  return { calls: [], readErrors: [], produced: 0, bodyClosedAt: undefined }
}

/** Start gatehouse for a case. */
export async function startGatehouse(t, c) {
  const ctx = newContext()
  const { port, server } = await makeServer(t, gatehouseApp(ctx), { ...(c.options ?? {}) })
  return { port, ctx, server }
}

/** Start node:http for a case (options mapped where node has an equivalent). */
export async function startNode(t, c) {
  const ctx = newContext()
  const opts = { ...(c.nodeOptions ?? {}) }
  if (c.options?.maxRequestHeaderSize) opts.maxHeaderSize = c.options.maxRequestHeaderSize
  const server = http.createServer(opts, nodeApp(ctx))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections?.()
        server.close(() => resolve())
      }),
  )
  return { port: server.address().port, ctx, server }
}

// ===== reading responses =====

/**
 * Read the complete HTTP/1.x responses at the start of `buf`. `headFirst`: the first request was
 * HEAD. Interim (1xx) responses are returned with `interim: true`. Returns { responses, garbage,
 * partial }: garbage when the bytes are not a status line, partial when a response is cut.
 */
export function readResponses(buf, { headFirst = false, closed = false } = {}) {
  const responses = []
  let off = 0
  let finals = 0
  while (off < buf.length) {
    const end = buf.indexOf('\r\n\r\n', off)
    if (end === -1) {
      const line = buf.subarray(off, Math.min(buf.length, off + 16)).toString('latin1')
      return { responses, garbage: !/^H(T(T(P(\/(1(\.([01]( \d{0,3})?)?)?)?)?)?)?)?/.test(line), partial: true }
    }
    const lines = buf.subarray(off, end).toString('latin1').split('\r\n')
    const statusLine = lines.shift()
    const m = /^HTTP\/(1\.[01]) (\d{3}) ([^\r\n]*)$/.exec(statusLine)
    if (!m) return { responses, garbage: true, partial: false }
    const headers = {}
    for (const line of lines) {
      const c = line.indexOf(':')
      if (c <= 0) return { responses, garbage: true, partial: false }
      const name = line.slice(0, c).toLowerCase()
      const value = line.slice(c + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const status = Number(m[2])
    const interim = status >= 100 && status < 200 && status !== 101
    let bodyStart = end + 4
    let body = Buffer.alloc(0)
    let framing = 'none'
    const isHead = headFirst && finals === 0 && !interim
    if (interim || isHead || status === 204 || status === 304) {
      framing = 'none'
    } else if (headers['transfer-encoding'] !== undefined) {
      framing = 'chunked'
      const parts = []
      let p = bodyStart
      for (;;) {
        const le = buf.indexOf('\r\n', p)
        if (le === -1) return { responses, garbage: false, partial: true }
        const size = parseInt(buf.subarray(p, le).toString('latin1'), 16)
        if (!Number.isFinite(size)) return { responses, garbage: true, partial: false }
        p = le + 2
        if (size === 0) {
          const tEnd = buf.indexOf('\r\n', p)
          if (tEnd === -1) return { responses, garbage: false, partial: true }
          p = tEnd + 2
          break
        }
        if (buf.length < p + size + 2) return { responses, garbage: false, partial: true }
        parts.push(buf.subarray(p, p + size))
        p += size + 2
      }
      body = Buffer.concat(parts)
      bodyStart = p
    } else if (headers['content-length'] !== undefined) {
      framing = 'length'
      const n = Number(headers['content-length'])
      if (buf.length < bodyStart + n) return { responses, garbage: false, partial: true }
      body = buf.subarray(bodyStart, bodyStart + n)
      bodyStart += n
    } else {
      framing = 'close'
      if (!closed) return { responses, garbage: false, partial: true }
      body = buf.subarray(bodyStart)
      bodyStart = buf.length
    }
    responses.push({ version: m[1], status, reason: m[3], headers, body, text: body.toString('latin1'), framing, interim, head: buf.subarray(off, end + 4).toString('latin1') })
    if (!interim) finals++
    off = bodyStart
  }
  return { responses, garbage: false, partial: false }
}

// ===== the raw client =====

function normaliseParts(request) {
  const list = Array.isArray(request) ? request : [request]
  return list.map((p) => (typeof p === 'string' || Buffer.isBuffer(p) ? { data: p } : p)).map((p) => ({ ...p, data: typeof p.data === 'string' ? Buffer.from(p.data, 'latin1') : p.data }))
}

/** The exact bytes of a case, as one Buffer (for reports). */
export function requestBytes(c) {
  return Buffer.concat(normaliseParts(c.request).map((p) => p.data ?? Buffer.alloc(0)))
}

/**
 * Send a case's parts and watch: resolves { bytes, closed, elapsedMs, closedAtMs, firstByteMs }
 * once the server closed, or (when `untilOpen`) `finals` final responses arrived and nothing more
 * came for `settleMs`, or after `hardMs`.
 */
export function converse(port, request, { finals = 1, expectClosed = true, headFirst = false, settleMs = 120, waitMs = 2500, hardMs = 12000, keepSocket = false } = {}) {
  const parts = normaliseParts(request)
  return new Promise((resolve) => {
    const started = Date.now()
    const socket = net.connect(port, '127.0.0.1')
    socket.setNoDelay(true)
    const chunks = []
    let received = Buffer.alloc(0)
    let closed = false
    let writing = true
    let finished = false
    let settle
    let closeWait
    let firstByteMs
    let closedAtMs
    const timers = []
    const finish = () => {
      if (finished) return
      finished = true
      clearTimeout(settle)
      clearTimeout(closeWait)
      clearTimeout(hard)
      for (const tm of timers) clearTimeout(tm)
      if (!keepSocket || closed) socket.destroy()
      resolve({ bytes: received, closed, elapsedMs: Date.now() - started, closedAtMs, firstByteMs, socket: keepSocket && !closed ? socket : undefined })
    }
    const hard = setTimeout(finish, hardMs)
    const evaluate = () => {
      if (finished) return
      if (closed) return finish()
      if (writing) return
      const { responses } = readResponses(received, { headFirst })
      const got = responses.filter((r) => !r.interim).length
      if (got >= finals) {
        if (expectClosed) {
          if (!closeWait) closeWait = setTimeout(finish, waitMs)
        } else {
          clearTimeout(settle)
          settle = setTimeout(finish, settleMs)
        }
      } else if (finals === 0 && !closeWait) {
        closeWait = setTimeout(finish, waitMs)
      }
    }
    const markClosed = () => {
      if (closed) return
      closed = true
      closedAtMs = Date.now() - started
      evaluate()
    }
    socket.on('data', (d) => {
      if (firstByteMs === undefined) firstByteMs = Date.now() - started
      chunks.push(d)
      received = Buffer.concat(chunks)
      evaluate()
    })
    socket.on('end', markClosed)
    socket.on('close', markClosed)
    socket.on('error', markClosed)
    socket.on('connect', async () => {
      for (const p of parts) {
        if (closed || finished) break
        if (p.delayMs) await new Promise((r) => timers.push(setTimeout(r, p.delayMs)))
        if (p.waitFor !== undefined) {
          const until = Date.now() + (p.waitForMs ?? 3000)
          while (!closed && !received.includes(p.waitFor) && Date.now() < until) await new Promise((r) => timers.push(setTimeout(r, 10)))
        }
        if (closed || finished) break
        if (p.data && p.data.length) await new Promise((r) => socket.write(p.data, () => r()))
        if (p.end) socket.end()
      }
      writing = false
      evaluate()
    })
  })
}

/** Send the probe on an open socket; resolves the probe's response or undefined. */
function probe(socket) {
  return new Promise((resolve) => {
    const chunks = []
    const done = (r) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => done(undefined), 3000)
    socket.removeAllListeners('data')
    socket.on('data', (d) => {
      chunks.push(d)
      const { responses } = readResponses(Buffer.concat(chunks))
      if (responses.length > 0) done(responses[0])
    })
    socket.on('close', () => done(undefined))
    socket.on('error', () => done(undefined))
    socket.write(PROBE)
  })
}

// ===== running and judging a case =====

function expectations(c) {
  const list = Array.isArray(c.expect) ? c.expect : [c.expect]
  const accepts = list.some((e) => typeof e === 'number' && e >= 200 && e < 300)
  return { list, accepts }
}

/** Run one case against a started server; resolves the outcome. */
export async function runCase(target, c) {
  const { list } = expectations(c)
  const silent = list.length === 1 && list[0] === 'close'
  const expectClosed = c.conn !== 'open'
  const headFirst = /^HEAD /.test(requestBytes(c).toString('latin1'))
  const talk = await converse(target.port, c.request, {
    finals: c.responses ?? (silent ? 0 : 1),
    expectClosed,
    headFirst,
    waitMs: c.waitMs ?? 2500,
    hardMs: c.hardMs ?? 12000,
    keepSocket: !expectClosed,
  })
  const parsed = readResponses(talk.bytes, { headFirst, closed: talk.closed })
  const finals = parsed.responses.filter((r) => !r.interim)
  let status
  if (finals.length > 0) status = finals[0].status
  else if (parsed.garbage) status = 'garbage'
  else if (talk.bytes.length === 0 && talk.closed) status = 'close'
  else if (talk.bytes.length > 0) status = talk.closed ? 'cut' : 'partial'
  else status = 'none'
  let probed
  if (talk.socket) probed = await probe(talk.socket)
  // Let an app call that a smuggled request would cause land before counting.
  await new Promise((r) => setTimeout(r, 30))
  return {
    ...talk,
    socket: undefined,
    responses: parsed.responses,
    finals,
    garbage: parsed.garbage,
    status,
    probe: probed,
    calls: target.ctx.calls,
    appCalls: target.ctx.calls.length,
    readErrors: target.ctx.readErrors,
    ctx: target.ctx,
  }
}

/** How an outcome reads in one word: the status, or close/none/garbage. */
export function describe(o) {
  const st = o.status === 200 && o.appCalls > 0 ? '200' : String(o.status)
  return `${st}${o.closed ? ' closed' : ' open'}${o.appCalls > 0 && o.status !== 200 ? ` (app ran ${o.appCalls}x)` : ''}`
}

/** Assert an outcome against its case; `skip` lists aspects left out (known bugs). */
export function judge(t, c, o, skip = []) {
  const { list, accepts } = expectations(c)
  const want = (a) => !skip.includes(a)
  const seen = `${c.id} got ${describe(o)}${o.readErrors.length ? `, read errors: ${o.readErrors.join(',')}` : ''}`
  if (want('status')) {
    t.true(list.includes(o.status), `status: expected ${list.join(' or ')}; ${seen}`)
  }
  if (want('wire')) {
    t.false(o.garbage, 'the server sent bytes that are not an HTTP/1.x response')
  }
  const expectedCalls = c.appCalls ?? (accepts && typeof o.status === 'number' && o.status < 300 ? 1 : 0)
  if (want('appCalls')) {
    t.is(o.appCalls, expectedCalls, `the app ran ${o.appCalls} times, expected ${expectedCalls}; ${seen}`)
  }
  // Whatever else happens, a case never makes the app run more often than it says (smuggling).
  t.true(o.appCalls <= Math.max(expectedCalls, c.appCalls ?? 1), 'a second request reached the app')
  if (want('conn')) {
    if (c.conn === 'open') {
      t.false(o.closed, `the connection was closed, expected it kept open; ${seen}`)
      t.is(o.probe?.status, 200, 'a request after the case on the same connection is answered')
      t.is(o.probe?.text, 'probe')
    } else {
      t.true(o.closed, `the connection was kept open, expected it closed; ${seen}`)
    }
  }
  if (typeof o.status === 'number' && o.status >= 400 && o.appCalls === 0 && want('reject')) {
    // The server's own answers are short text/plain with Connection: close (README, issue 3).
    const r = o.finals[0]
    t.regex(r.headers['content-type'] ?? '', /^text\/plain/, 'a reject is text/plain')
    t.is((r.headers.connection ?? '').toLowerCase(), 'close', 'a reject says Connection: close')
    t.true(r.body.length < 200, 'a reject is short')
  }
  if (c.check && want('check')) c.check(t, o)
}

/** Register the cases of a table as ava tests against gatehouse. */
export function registerCases(test, cases, { serial = false } = {}) {
  const seen = new Set()
  for (const c of cases) {
    if (seen.has(c.id)) throw new Error(`duplicate case id ${c.id}`)
    seen.add(c.id)
    const title = `${c.id} ${c.title} [${c.rfc}]`
    const run = async (t, skip) => {
      const target = await startGatehouse(t, c)
      const o = await runCase(target, c)
      judge(t, c, o, skip)
    }
    const base = serial ? test.serial : test
    if (c.bug) {
      base.failing(`${title} — known bug: ${c.bug.note}`, (t) => run(t, []))
      base(`${title} — everything but the known bug (${c.bug.aspects.join(', ')})`, (t) => run(t, c.bug.aspects))
    } else {
      base(title, (t) => run(t, []))
    }
  }
}

/** Count a table's cases for reports. */
export function countCases(tables) {
  return Object.fromEntries(Object.entries(tables).map(([k, v]) => [k, v.length]))
}

/** The environ the app saw on its `i`th call (gatehouse only). */
export function environOf(o, i = 0) {
  return o.calls[i]?.environ ?? {}
}
