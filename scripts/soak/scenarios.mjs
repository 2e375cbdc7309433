// The soak's client scenarios. Each one does one thing a real client does (well or badly),
// checks the answer, and books on the ledger what the server must have counted for it, so the
// server's counters can be checked exactly at the end. A scenario throws a SoakFailure for a
// wrong answer or a client error it did not cause itself.
import http from 'node:http'
import net from 'node:net'

import { prng } from '../fuzz-lib.mjs'
import { numberedBody, patternMismatch } from './content.mjs'

export class SoakFailure extends Error {}

/** What the server must have counted, booked by the scenarios as they run. */
export class Ledger {
  requests = 0 // request heads the server read (a head cut short before its end is none)
  statuses = {} // responses by code the server wrote whole
  abandoned = 0 // requests whose client left before the answer
  rejected = 0 // requests the core answered without the application
  bodyTimeouts = 0 // trickled bodies: each is one GH_ERR_BODY_TIMEOUT line on wsgi.errors
  slowLeft = 0 // /slow requests the client left: each aborts gatehouse.signal once
  ran = {} // scenario name -> times run
  bytesSent = 0 // bytes the client wrote, every socket (booked when it closes)
  bytesReceived = 0 // bytes it read

  answered(code) {
    this.requests++
    this.statuses[code] = (this.statuses[code] ?? 0) + 1
  }
}

/** Seeded bytes the uploads are cut from, so that a run can be repeated. */
function sourceBytes(seed, size) {
  const rng = prng(seed ^ 0x5eed)
  const buf = Buffer.alloc(size)
  for (let k = 0; k < size; k += 4) buf.writeUInt32LE((rng.next() * 2 ** 32) >>> 0, k)
  return buf
}

const SOURCE_SIZE = 2 << 20
const KiB = 1024
const MiB = 1024 * KiB

/** A size between lo and hi, uniform in its logarithm: as many small bodies as large ones. */
function logSize(rng, lo, hi) {
  return Math.round(Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo))))
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * One request through the keep-alive agent. Resolves { status, body } once the response ended;
 * any error (reset, hang-up, malformed framing that node's parser refuses) is a SoakFailure,
 * since these scenarios cause none.
 */
function request(ctx, { method = 'GET', path, body, chunks, onData }) {
  return new Promise((resolve, reject) => {
    const headers = { Host: 'soak' }
    if (body) headers['Content-Length'] = String(body.length)
    const req = http.request({ host: '127.0.0.1', port: ctx.port, method, path, agent: ctx.agent, headers })
    const fail = (why) => reject(new SoakFailure(`${method} ${path}: ${why}`))
    // No answer in this long is wrong behaviour, not slowness: the longest answer here is 8 MiB.
    req.setTimeout(ctx.answerTimeoutMs, () => req.destroy(new Error(`no answer within ${ctx.answerTimeoutMs} ms`)))
    req.on('error', (e) => fail(`${e.code ?? ''} ${e.message}`))
    req.on('socket', (s) => ctx.track(s))
    req.on('response', (res) => {
      const parts = []
      res.on('data', (d) => (onData ? onData(d) : parts.push(d)))
      res.on('error', (e) => fail(`response: ${e.code ?? ''} ${e.message}`))
      res.on('aborted', () => fail('response aborted'))
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }))
    })
    if (chunks) {
      // No Content-Length and several writes: node sends Transfer-Encoding: chunked.
      ;(async () => {
        for (const c of chunks) {
          if (!req.write(c)) await new Promise((r) => req.once('drain', r))
        }
        req.end()
      })()
    } else req.end(body)
  })
}

function expectStatus(got, want, what) {
  if (got.status !== want) throw new SoakFailure(`${what}: status ${got.status}, expected ${want}`)
}

/** A raw connection to the server; resolves once connected. */
function connect(ctx) {
  return new Promise((resolve, reject) => {
    const s = net.connect(ctx.port, '127.0.0.1')
    ctx.track(s)
    s.once('connect', () => resolve(s))
    // Always listened to, so that an error no scenario waits for (a reset after it gave up on
    // the socket) cannot crash the client; those that matter are seen by send() and readUntil().
    s.on('error', (e) => reject(new SoakFailure(`connect: ${e.code ?? ''} ${e.message}`)))
  })
}

/**
 * Read from a raw socket until `enough(received)` or until the server closes; resolves
 * { data, closed, error, timedOut }. An error (a reset) is returned, not thrown: whether the
 * scenario caused it is the caller's to judge.
 */
function readUntil(socket, enough, timeoutMs) {
  return new Promise((resolve) => {
    const parts = []
    let size = 0
    let done = false
    const finish = (closed, error, timedOut = false) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.off('data', onData)
      resolve({ data: Buffer.concat(parts), closed, error, timedOut })
    }
    const onData = (d) => {
      parts.push(d)
      size += d.length
      if (enough && enough(size, parts)) finish(false)
    }
    const timer = setTimeout(() => finish(false, new Error(`nothing more within ${timeoutMs} ms`), true), timeoutMs)
    socket.on('data', onData)
    socket.once('end', () => finish(true))
    socket.once('close', () => finish(true))
    socket.once('error', (e) => finish(true, e))
  })
}

/** Write `bytes` on a raw socket, waiting for the kernel to take them. */
function send(socket, bytes) {
  return new Promise((resolve, reject) => socket.write(bytes, (e) => (e ? reject(e) : resolve())))
}

// ---- well-behaved clients: every answer is checked, any error is a failure --------------------

async function hello(ctx, rng) {
  for (let n = 1 + rng.int(5); n > 0; n--) {
    const r = await request(ctx, { path: '/hello' })
    expectStatus(r, 200, 'GET /hello')
    if (r.body.toString() !== 'hello\n') throw new SoakFailure(`GET /hello: body ${JSON.stringify(r.body.toString().slice(0, 80))}`)
    ctx.ledger.answered(200)
  }
}

function uploadBody(ctx, rng) {
  const size = logSize(rng, KiB, MiB)
  const at = rng.int(SOURCE_SIZE - size)
  return ctx.source.subarray(at, at + size)
}

async function checkEcho(ctx, got, body, what) {
  expectStatus(got, 200, what)
  if (!got.body.equals(body)) {
    let k = 0
    while (k < body.length && got.body[k] === body[k]) k++
    throw new SoakFailure(`${what}: ${got.body.length} bytes back for ${body.length} sent, first difference at byte ${k}`)
  }
  ctx.ledger.answered(200)
}

async function echo(ctx, rng) {
  const body = uploadBody(ctx, rng)
  const path = rng.chance(0.5) ? '/echo' : '/echo?stream=1'
  await checkEcho(ctx, await request(ctx, { method: 'POST', path, body }), body, `POST ${path} (${body.length} B)`)
}

/** A POST without Content-Length, sent in chunks of random sizes (Transfer-Encoding: chunked). */
async function chunked(ctx, rng, path) {
  const body = uploadBody(ctx, rng)
  const chunks = []
  for (let at = 0; at < body.length; ) {
    const n = Math.min(body.length - at, 1 + rng.int(64 * KiB))
    chunks.push(body.subarray(at, at + n))
    at += n
  }
  await checkEcho(ctx, await request(ctx, { method: 'POST', path, chunks }), body, `chunked POST ${path} (${body.length} B in ${chunks.length})`)
}

/** A chunked upload the application reads whole, then answers. */
async function chunkedUpload(ctx, rng) {
  await chunked(ctx, rng, '/echo')
}

/** A chunked upload the application echoes as it reads it: reads and writes interleave. */
async function chunkedUploadStreamed(ctx, rng) {
  await chunked(ctx, rng, '/echo?stream=1')
}

async function stream(ctx, rng) {
  const n = 1 + rng.int(400)
  const size = 16 + rng.int(4096)
  const path = `/stream?n=${n}&size=${size}`
  const r = await request(ctx, { path })
  expectStatus(r, 200, path)
  const want = numberedBody(n, size)
  const got = r.body.toString('latin1')
  if (got !== want) {
    // Name the first chunk out of place: order and completeness are what this checks.
    const i = [...Array(n).keys()].find((k) => got.slice(k * size, (k + 1) * size) !== want.slice(k * size, (k + 1) * size))
    throw new SoakFailure(`${path}: ${got.length} bytes for ${want.length}; chunk ${i} is ${JSON.stringify(got.slice(i * size, i * size + 12))}`)
  }
  ctx.ledger.answered(200)
}

async function large(ctx, rng) {
  const bytes = logSize(rng, MiB, 8 * MiB)
  const path = `/large?bytes=${bytes}`
  // Checked as it arrives: 8 MiB responses are not kept.
  let at = 0
  let bad = -1
  const r = await request(ctx, {
    path,
    onData: (d) => {
      if (bad < 0) bad = patternMismatch(d, at)
      at += d.length
    },
  })
  expectStatus(r, 200, path)
  if (bad >= 0) throw new SoakFailure(`${path}: byte ${bad} is not the pattern`)
  if (at !== bytes) throw new SoakFailure(`${path}: ${at} bytes for ${bytes}`)
  ctx.ledger.answered(200)
}

// ---- clients that leave: the server must count them as abandoned, and log nothing ------------

/**
 * Leave: close our side (FIN, as a client that closes or exits sends), then wait for the server
 * to close its side. A real client would not wait; the lanes do so that they cannot outrun the
 * server and pile up connections beyond its pool. A server that keeps the connection of a client
 * that left is a failure. What it sends meanwhile, or a reset, is the scenario's doing.
 */
async function leave(ctx, s, what) {
  const closed = readUntil(s, undefined, ctx.timeoutS * 4000 + 10000)
  s.end()
  const r = await closed
  s.destroy()
  if (r.timedOut) throw new SoakFailure(`${what}: the server kept the connection open after the client left`)
}

const HEAD = (method, path, extra = '') => `${method} ${path} HTTP/1.1\r\nHost: soak\r\n${extra}\r\n`

/** A POST whose body stops part way: the client closes its connection. */
async function cutRequest(ctx, rng) {
  const length = logSize(rng, 64 * KiB, MiB)
  const sent = rng.int(length) // 0 .. length-1 bytes of the body: never all of it
  const s = await connect(ctx)
  await send(s, HEAD('POST', rng.chance(0.5) ? '/echo' : '/echo?stream=1', `Content-Length: ${length}\r\n`))
  if (sent > 0) await send(s, ctx.source.subarray(0, sent))
  await leave(ctx, s, `POST cut after ${sent} of ${length} body bytes`)
  ctx.ledger.requests++
  ctx.ledger.abandoned++
}

/** A GET of a body far larger than the socket buffers, read in part, then the client closes. */
async function cutResponse(ctx, rng) {
  const s = await connect(ctx)
  const path = rng.chance(0.5) ? `/large?bytes=${256 * MiB}` : `/stream?n=1000000&size=1024`
  await send(s, HEAD('GET', path))
  const want = 1 + rng.int(MiB)
  const r = await readUntil(s, (size) => size >= want, ctx.answerTimeoutMs)
  if (r.error || r.closed) throw new SoakFailure(`GET ${path} (cut after ${want} B): ${r.error?.message ?? 'closed by the server'} after ${r.data.length} bytes`)
  if (!r.data.subarray(0, 13).equals(Buffer.from('HTTP/1.1 200 '))) throw new SoakFailure(`GET ${path}: ${JSON.stringify(r.data.subarray(0, 40).toString('latin1'))}`)
  s.destroy()
  ctx.ledger.requests++
  ctx.ledger.abandoned++
}

/** A GET the application is still working on when the client leaves. */
async function leaveSlow(ctx, rng) {
  const s = await connect(ctx)
  await send(s, HEAD('GET', '/slow?ms=5000'))
  await sleep(100 + rng.int(400))
  if (rng.chance(0.5)) {
    // A reset: nobody reads an answer; the request is abandoned and its signal aborts.
    const closed = readUntil(s, undefined, ctx.timeoutS * 4000 + 10000)
    s.resetAndDestroy()
    await closed
    ctx.ledger.requests++
    ctx.ledger.abandoned++
    ctx.ledger.slowLeft++
    return
  }
  // A half-close: the client still listens. Its signal aborts, the app answers at once, and the
  // answer arrives before the server closes.
  const closed = readUntil(s, undefined, ctx.timeoutS * 4000 + 10000)
  s.end()
  const r = await closed
  s.destroy()
  if (r.timedOut) throw new SoakFailure('GET /slow half-closed: the server kept the connection open')
  const text = r.data.toString('latin1')
  if (!text.startsWith('HTTP/1.1 200 ') || !text.endsWith('\r\n\r\nslow\n')) {
    throw new SoakFailure(`GET /slow half-closed: got ${JSON.stringify(text.slice(0, 80))}`)
  }
  ctx.ledger.answered(200)
  ctx.ledger.slowLeft++
}

/** A request head cut short: no request at all, nothing to count. */
async function cutHead(ctx, rng) {
  const s = await connect(ctx)
  const head = HEAD('GET', '/hello', 'User-Agent: soak\r\n')
  await send(s, head.slice(0, 1 + rng.int(head.length - 2)))
  await leave(ctx, s, 'a head cut short')
}

// ---- slow clients: the server must answer 408 and close, whatever they do --------------------

/** Slowloris: a head that never ends, one byte at a time: 408 and a close, not before `timeout`. */
async function slowloris(ctx) {
  const s = await connect(ctx)
  const t0 = Date.now()
  await send(s, 'GET /hello HTTP/1.1\r\nHost: soak\r\n')
  // Until the server closes: a 408 on a connection left open would be wrong too.
  const answer = readUntil(s, undefined, ctx.timeoutS * 4000 + 10000)
  let stop = false
  answer.then(() => (stop = true))
  ;(async () => {
    for (let i = 0; !stop; i++) {
      await sleep(700)
      if (stop || s.destroyed) break
      s.write(i % 2 ? 'a' : 'X', () => {}) // a write after the server closed fails: expected
    }
  })()
  const r = await answer
  const ms = Date.now() - t0
  s.destroy()
  if (!r.data.toString('latin1').startsWith('HTTP/1.1 408 ') || r.timedOut) {
    throw new SoakFailure(`slowloris: ${r.error ? r.error.message + ', ' : ''}got ${JSON.stringify(r.data.subarray(0, 40).toString('latin1'))} instead of 408 and a close`)
  }
  // Timers may fire late on a loaded machine, never early: a margin for clock granularity only.
  if (ms < ctx.timeoutS * 1000 - 250) throw new SoakFailure(`slowloris: 408 after ${ms} ms, before the ${ctx.timeoutS} s timeout`)
  // Refused by the core before the application: a response (408) and a rejection both.
  ctx.ledger.answered(408)
  ctx.ledger.rejected++
}

/** A body trickled far below minRequestBodyRate: 408 once the grace period has passed. */
async function trickle(ctx) {
  const s = await connect(ctx)
  const t0 = Date.now()
  await send(s, HEAD('POST', '/echo', 'Content-Length: 100000\r\n'))
  const answer = readUntil(s, (size, parts) => Buffer.concat(parts).includes('\r\n\r\n'), 60000)
  let stop = false
  answer.then(() => (stop = true))
  ;(async () => {
    while (!stop && !s.destroyed) {
      s.write(ctx.source.subarray(0, 20), () => {}) // 40 B/s; a write after the 408 may fail
      await sleep(500)
    }
  })()
  const r = await answer
  const ms = Date.now() - t0
  s.destroy()
  if (!r.data.toString('latin1').startsWith('HTTP/1.1 408 ')) {
    throw new SoakFailure(`trickled body: ${r.error ? r.error.message + ', ' : ''}got ${JSON.stringify(r.data.subarray(0, 40).toString('latin1'))} instead of 408`)
  }
  // The rate is judged once 5 s have passed since the application's first read (which follows
  // the head at once): an earlier 408 would refuse a client still within its grace.
  if (ms < GRACE_MS - 250) throw new SoakFailure(`trickled body: 408 after ${ms} ms, within the ${GRACE_MS} ms grace period`)
  ctx.ledger.answered(408)
  ctx.ledger.bodyTimeouts++
}

/** minRequestBodyRate's grace period (the server's default). */
const GRACE_MS = 5000

/** The fast mix: [scenario, weight]. */
export const FAST = [
  [hello, 30],
  [echo, 15],
  [chunkedUpload, 5],
  [chunkedUploadStreamed, 5],
  [stream, 12],
  [large, 5],
  [cutRequest, 6],
  [cutResponse, 6],
  [leaveSlow, 4],
  [cutHead, 4],
]
/** The slow lanes alternate these: each takes seconds by design. */
export const SLOW = [slowloris, trickle]

function pickWeighted(rng, list) {
  const total = list.reduce((a, [, w]) => a + w, 0)
  let x = rng.next() * total
  for (const [f, w] of list) if ((x -= w) < 0) return f
  return list[list.length - 1][0]
}

/**
 * The client side of a soak: `lanes` fast lanes and `slowLanes` slow ones, each with its own
 * seeded stream of scenarios, run until `until` (ms since the epoch) or `maxFailures`.
 * Resolves { ledger, failures } once every lane has finished its scenario in progress; the
 * sockets are then destroyed, and book their bytes as their close events come.
 */
export async function drive({ port, seed, until, lanes = 12, slowLanes = 2, timeoutS, maxFailures = 10, skip = [] }) {
  const names = [...FAST.map(([f]) => f.name), ...SLOW.map((f) => f.name)]
  for (const n of skip) if (!names.includes(n)) throw new Error(`--skip: no scenario ${n} (there are ${names.join(', ')})`)
  const fast = FAST.filter(([f]) => !skip.includes(f.name))
  const slow = SLOW.filter((f) => !skip.includes(f.name))
  const sockets = new Set()
  const ctx = {
    port,
    timeoutS,
    ledger: new Ledger(),
    source: sourceBytes(seed, SOURCE_SIZE),
    answerTimeoutMs: 120_000,
    // Free keep-alive sockets are dropped well before the server's idle timeout closes them, so
    // a request never races the server's close of an idle connection.
    agent: new http.Agent({ keepAlive: true, maxSockets: 64, timeout: Math.max(500, (timeoutS * 1000) / 3) }),
    track(s) {
      if (sockets.has(s)) return
      sockets.add(s)
      s.once('close', () => {
        ctx.ledger.bytesSent += s.bytesWritten
        ctx.ledger.bytesReceived += s.bytesRead
        sockets.delete(s)
      })
    },
  }
  const failures = []
  const lane = async (i, pick) => {
    const rng = prng((seed + i * 0x9e3779b9) >>> 0)
    while (Date.now() < until && failures.length < maxFailures) {
      const scenario = pick(rng, i)
      ctx.ledger.ran[scenario.name] = (ctx.ledger.ran[scenario.name] ?? 0) + 1
      try {
        await scenario(ctx, rng)
      } catch (e) {
        failures.push({ scenario: scenario.name, lane: i, message: e instanceof SoakFailure ? e.message : String(e?.stack ?? e) })
      }
    }
  }
  let slowTurn = 0
  await Promise.all([
    ...(fast.length ? Array.from({ length: lanes }, (_, i) => lane(i, (rng) => pickWeighted(rng, fast))) : []),
    ...(slow.length ? Array.from({ length: slowLanes }, (_, i) => lane(lanes + i, () => slow[slowTurn++ % slow.length])) : []),
  ])
  ctx.agent.destroy()
  for (const s of sockets) s.destroy()
  return { ledger: ctx.ledger, failures }
}
