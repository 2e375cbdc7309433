// The soak in `npm test`: 30 seconds of the mixed client load of `npm run soak` (keep-alive GETs,
// echoed uploads checked byte for byte, chunked uploads, numbered streams, large responses,
// clients that cut requests and responses, slowloris heads, trickled bodies) against a server in
// a child process, then its counters, pool and connections checked, and a few hundred held
// connections. Judged on behaviour only: the new-client latency bound is loose here (other test
// files run at the same time); `npm run soak` holds it to 100 ms with 10,000 connections.
// Reproduce a run with GATEHOUSE_SOAK_SEED=<the printed seed>; GATEHOUSE_SOAK_SKIP=a,b leaves
// scenarios out (while a bug they find is open), GATEHOUSE_SOAK_SECONDS changes the length.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { checkCounters, checkRss } from '../scripts/soak.mjs'
import { FAST, Ledger, SLOW } from '../scripts/soak/scenarios.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const SECONDS = Number(process.env.GATEHOUSE_SOAK_SECONDS ?? 30)

function runSoak(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, '..', 'scripts', 'soak.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, out, err }))
  })
}

test('soak: 30 s of mixed, cut and slow clients leave every answer right, the counters adding up and nothing held', async (t) => {
  t.timeout(240_000)
  const seed = Number(process.env.GATEHOUSE_SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31))
  t.log(`seed ${seed}`)
  // Four lanes, not the soak's twelve: other test files run beside this one on the same cores.
  const skip = process.env.GATEHOUSE_SOAK_SKIP ? ['--skip', process.env.GATEHOUSE_SOAK_SKIP] : []
  const args = ['--seconds', String(SECONDS), '--seed', String(seed), '--lanes', '4', '--connections', '300', '--new-client-ms', '2000', ...skip]
  const { code, out, err } = await runSoak(args)
  const line = out.split('\n').find((l) => l.startsWith('SOAK-RESULT '))
  if (!line) t.fail(`no result (exit ${code}):\n${out}\n${err}`)
  const result = JSON.parse(line.slice('SOAK-RESULT '.length))
  t.deepEqual(result.failures, [], out)
  t.is(code, 0)
  // It did what it says: every scenario ran, and the server saw traffic.
  for (const name of [...FAST.map(([f]) => f.name), ...SLOW.map((f) => f.name)]) {
    if (!skip.length || !skip[1].split(',').includes(name)) t.true((result.ran[name] ?? 0) > 0, `${name} never ran`)
  }
  t.true(result.counters.requests > 100)
  t.is(result.connections.connections, 300)
  t.is(result.connections.openAfter, 0)
})

/** A snapshot as server.mjs takes it, for a ledger of one request of each kind, all accounted for. */
function consistent() {
  const ledger = new Ledger()
  ledger.answered(200)
  ledger.answered(408) // a trickled body: the application's read timed out
  ledger.bodyTimeouts = 1
  ledger.answered(408) // a slowloris head: refused by the core, an answer and a rejection
  ledger.rejected = 1
  ledger.requests += 1 // a client that left
  ledger.abandoned = 1
  ledger.bytesSent = 1000
  ledger.bytesReceived = 500
  const snap = {
    native: { requests: 4, abandoned: 1, rejected: 1, openConnections: 0, bytesRead: 900, bytesWritten: 600 },
    statuses: { 200: 1, 408: 2 },
    stats: { Requests: 4, Abandoned: 1 },
    pool: { size: 8, idle: 8, qsize: 0 },
    app: { inFlight: 0, closes: 2, streamsStarted: 2, slowAborted: 0, errorLines: ['[..] gatehouse: error in the application for POST /echo: GatehouseError: request body too slow (GH_ERR_BODY_TIMEOUT)\n'] },
  }
  return { ledger, snap }
}

test('soak checks: consistent counters pass, and each kind of discrepancy is reported', (t) => {
  const { ledger, snap } = consistent()
  t.deepEqual(checkCounters(snap, ledger), [])
  const broken = [
    (s) => (s.statuses[200] = 2), // a cut response counted as answered
    (s) => (s.native.abandoned = 0),
    (s) => (s.native.requests = 5),
    (s) => (s.native.openConnections = 1),
    (s) => (s.pool.idle = 7), // a slot not returned
    (s) => (s.app.closes = 1),
    (s) => s.app.errorLines.push('gatehouse: error in the application for GET /slow: GatehouseError: the client went away\n'),
    (s) => (s.native.bytesWritten = 10),
  ]
  for (const spoil of broken) {
    const c = consistent()
    spoil(c.snap)
    t.true(checkCounters(c.snap, c.ledger).length > 0, spoil.toString())
  }
})

test('soak checks: RSS growth after the first minute fails past 10%, and short runs are not judged', (t) => {
  const flat = Array.from({ length: 13 }, (_, i) => ({ t: i * 10_000, rss: 100e6 }))
  t.is(checkRss(flat).failure, undefined)
  const leak = flat.map((s) => ({ ...s, rss: s.t > 90_000 ? 115e6 : 100e6 }))
  t.regex(checkRss(leak).failure, /grew 1[0-9]\.\d%/)
  t.truthy(checkRss(flat.slice(0, 4)).skipped)
})
