#!/usr/bin/env node
// `npm run soak -- --minutes N`: run a gatehouse server (a child process, so that its RSS is its
// own) under a bounded, seeded mix of clients (scripts/soak/scenarios.mjs) for N minutes, then
// hold it to what it must have done:
//   - every answer right, byte for byte; no client error the scenario did not cause itself;
//   - its counters add up: the request heads it counted are the heads the clients sent, each
//     one either answered (by status, as the clients saw; the core's own refusals, such as the
//     slowloris heads' 408, are answers too, and counted as rejected besides) or abandoned
//     (clients that left), and the requests counter is their sum;
//   - nothing on wsgi.errors but the trickled bodies' timeouts; every streamed body closed;
//   - once the traffic stops: no connection open, the pool all idle, nothing in the app;
//   - RSS, sampled every 10 s, no more than 10% over its level after the first minute;
//   - with --connections N (default 10000; 0 skips): N idle keep-alive connections held open
//     (RSS per connection), a new client answered within 100 ms meanwhile, open connections and
//     pool back to their level once they close, and the memory reused: RSS no higher after than
//     while held, and a second round holds no more than the first (the C allocator keeps freed
//     memory for reuse rather than giving it back, so RSS does not return to its first level).
// Prints one line per check and a final `SOAK-RESULT {json}` line; exits 1 on any failure.
//
//   node scripts/soak.mjs [--minutes 5 | --seconds S] [--seed S] [--lanes 12] [--connections 10000]
//                         [--new-client-ms 100] [--skip scenario,...]   (leave scenarios out, e.g. while a known bug is open)
import { pathToFileURL } from 'node:url'

import { manyConnections, mib, settle } from './soak/connections.mjs'
import { startServer } from './soak/child.mjs'
import { FAST, SLOW, drive } from './soak/scenarios.mjs'

// Short enough that slowloris heads get their 408 within seconds; free keep-alive sockets of
// the client are dropped well before it (see scenarios.mjs), so it causes no race.
const TIMEOUT_S = 4
const RSS_EVERY_MS = 10_000
const RSS_GROWTH = 0.1

function parseArgs(argv) {
  const out = { seconds: 300, seed: undefined, lanes: 12, connections: 10_000, newClientMs: 100, skip: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return Number(v)
    }
    if (a === '--minutes') out.seconds = value() * 60
    else if (a === '--seconds') out.seconds = value()
    else if (a === '--seed') out.seed = value()
    else if (a === '--lanes') out.lanes = value()
    else if (a === '--connections') out.connections = value()
    else if (a === '--new-client-ms') out.newClientMs = value()
    else if (a === '--skip') out.skip = String(argv[++i] ?? '').split(',').filter(Boolean)
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/soak.mjs [--minutes N | --seconds S] [--seed S] [--lanes N] [--connections N] [--new-client-ms 100] [--skip scenario,...]')
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  if (!(out.seconds > 0 && out.seconds <= 24 * 3600)) throw new Error('--minutes must be more than 0 and at most 1440')
  if (!(Number.isInteger(out.lanes) && out.lanes > 0 && out.lanes <= 256)) throw new Error('--lanes must be 1..256')
  if (!(Number.isInteger(out.connections) && out.connections >= 0 && out.connections <= 100_000)) throw new Error('--connections must be 0..100000')
  if (!(out.newClientMs > 0)) throw new Error('--new-client-ms must be more than 0')
  if (out.seed !== undefined && !Number.isInteger(out.seed)) throw new Error('--seed must be an integer')
  const names = [...FAST.map(([f]) => f.name), ...SLOW.map((f) => f.name)]
  for (const n of out.skip) if (!names.includes(n)) throw new Error(`--skip: no scenario ${n} (there are ${names.join(', ')})`)
  return out
}

/**
 * Hold the server's counters (a snapshot from server.mjs, taken once traffic stopped) against
 * the ledger the clients kept. Returns the list of what does not add up.
 */
export function checkCounters(snap, ledger) {
  const bad = []
  const { native, statuses, app, pool } = snap
  const eq = (what, got, want) => {
    if (got !== want) bad.push(`${what}: the server says ${got}, the clients ${want}`)
  }
  eq('request heads', native.requests, ledger.requests)
  eq('abandoned', native.abandoned, ledger.abandoned)
  eq('rejected by the core', native.rejected, ledger.rejected)
  for (const code of new Set([...Object.keys(statuses), ...Object.keys(ledger.statuses)])) {
    eq(`responses ${code}`, statuses[code] ?? 0, ledger.statuses[code] ?? 0)
  }
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0)
  if (native.requests !== answered + native.abandoned) {
    bad.push(`requests ${native.requests} != responses ${answered} + abandoned ${native.abandoned}`)
  }
  eq('stats() Requests', snap.stats.Requests, native.requests)
  eq('stats() Abandoned', snap.stats.Abandoned, native.abandoned)
  eq('/slow requests whose gatehouse.signal aborted', app.slowAborted, ledger.slowLeft)
  // The server cannot have read more than the clients wrote, nor the clients read more than it wrote.
  if (native.bytesRead > ledger.bytesSent) bad.push(`bytes read ${native.bytesRead} > the ${ledger.bytesSent} the clients wrote`)
  if (native.bytesWritten < ledger.bytesReceived) bad.push(`bytes written ${native.bytesWritten} < the ${ledger.bytesReceived} the clients read`)
  // wsgi.errors: one line per trickled body (its read timed out: the client's doing, but an
  // error the application did not catch), nothing else, in particular nothing for clients that left.
  // The line names the option (or, should the message change, the error's code).
  const timeouts = app.errorLines.filter((l) => /error in the application for POST \/echo: .*(minRequestBodyRate|GH_ERR_BODY_TIMEOUT)/.test(l))
  const others = app.errorLines.filter((l) => !timeouts.includes(l))
  eq('wsgi.errors lines for trickled bodies', timeouts.length, ledger.bodyTimeouts)
  if (others.length) bad.push(`${others.length} other lines on wsgi.errors, the first: ${others[0].slice(0, 400)}`)
  eq('streamed bodies closed', app.closes, app.streamsStarted)
  eq('requests inside the application', app.inFlight, 0)
  eq('open connections', native.openConnections, 0)
  eq('idle pool slots', pool.idle, pool.size)
  eq('requests waiting for a slot', pool.qsize, 0)
  return bad
}

/** RSS samples [{ t, rss }] -> { baseline, end, max, failure? }: growth after the first minute. */
export function checkRss(samples) {
  const after = samples.filter((s) => s.t >= 60_000)
  const mean = (xs) => xs.reduce((a, s) => a + s.rss, 0) / xs.length
  const max = Math.max(...samples.map((s) => s.rss))
  // Means of three samples, so that one sample taken while 8 MiB bodies were in flight is not
  // read as growth; the two windows must not overlap.
  if (after.length < 6) return { max, skipped: `${after.length} samples after the first minute, 6 needed (runs of 2 minutes or more)` }
  const baseline = mean(after.slice(0, 3))
  const end = mean(after.slice(-3))
  const growth = end / baseline - 1
  return { baseline, end, max, growth, failure: growth > RSS_GROWTH ? `RSS grew ${(growth * 100).toFixed(1)}% after the first minute (${mib(baseline)} -> ${mib(end)}), over ${RSS_GROWTH * 100}%` : undefined }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31)
  const say = (s) => console.log(`soak: ${s}`)
  say(`seed ${seed} (--seed ${seed} repeats the mix), ${opts.seconds} s, ${opts.lanes} lanes, ${opts.connections} connections${opts.skip.length ? `, without ${opts.skip.join(', ')}` : ''}`)
  const failures = []
  const result = { seed, seconds: opts.seconds }

  const server = await startServer({ timeout: TIMEOUT_S, shutdownTimeout: 2 })
  const started = Date.now()
  const samples = [{ t: 0, rss: await server.rss() }]
  const sampler = setInterval(async () => {
    try {
      samples.push({ t: Date.now() - started, rss: await server.rss() })
      const s = samples[samples.length - 1]
      say(`${Math.round(s.t / 1000)} s: RSS ${mib(s.rss)}`)
    } catch {
      // the server is gone: seen below
    }
  }, RSS_EVERY_MS)

  const { ledger, failures: clientFailures } = await drive({ port: server.port, seed, until: started + opts.seconds * 1000, lanes: opts.lanes, timeoutS: TIMEOUT_S, skip: opts.skip })
  clearInterval(sampler)
  const ranFor = Date.now() - started
  for (const f of clientFailures) failures.push(`${f.scenario} (lane ${f.lane}): ${f.message}`)
  say(`mix done in ${(ranFor / 1000).toFixed(1)} s: ${JSON.stringify(ledger.ran)}`)

  if (!server.alive) {
    failures.push(`the server process died: ${server.stderr()}`)
  } else {
    // Quiet now: wait for the connections the clients closed to be gone and the counters to stop
    // moving (the slowest, a lingering close, takes about a second; a slowloris 408, TIMEOUT_S).
    let last = -1
    const snap = await settle(
      () => server.stats(),
      (s) => {
        const still = s.native.requests === last
        last = s.native.requests
        return still && s.native.openConnections === 0 && s.pool.idle === s.pool.size && s.app.inFlight === 0 && s.app.closes === s.app.streamsStarted
      },
      TIMEOUT_S * 3000 + 10_000,
      500,
    )
    const bad = checkCounters(snap, ledger)
    if (bad.length && clientFailures.length) bad.push(`(${clientFailures.length} scenarios failed above: what they sent is not in the clients' counts)`)
    failures.push(...bad.map((b) => `counters: ${b}`))
    result.counters = {
      requests: snap.native.requests,
      statuses: snap.statuses,
      abandoned: snap.native.abandoned,
      rejected: snap.native.rejected,
      bytesRead: snap.native.bytesRead,
      bytesWritten: snap.native.bytesWritten,
      clientBytesSent: ledger.bytesSent,
      clientBytesReceived: ledger.bytesReceived,
      errorLines: snap.app.errorLines.length,
    }
    result.ran = ledger.ran
    say(`counters: ${JSON.stringify(result.counters)}`)
    say(bad.length ? `counters: ${bad.length} do not add up` : 'counters add up')
    samples.push({ t: Date.now() - started, rss: await server.rss() })
    const rss = checkRss(samples.filter((s) => s.t <= ranFor))
    result.rss = { ...rss, samples: samples.map((s) => [Math.round(s.t / 1000), s.rss]) }
    if (rss.failure) failures.push(rss.failure)
    say(rss.skipped ? `RSS growth not judged: ${rss.skipped}; max ${mib(rss.max)}` : `RSS after the first minute ${mib(rss.baseline)} -> ${mib(rss.end)} (${(rss.growth * 100).toFixed(1)}%), max ${mib(rss.max)}`)
  }
  await server.stop()

  if (opts.connections > 0) {
    // A server of its own whose idle timeout outlasts the check, so that the connections stay.
    const big = await startServer({ timeout: 300, shutdownTimeout: 2 })
    try {
      const r = await manyConnections(big, { count: opts.connections, latencyLimitMs: opts.newClientMs, log: say })
      result.connections = r.figures
      failures.push(...r.failures.map((f) => `connections: ${f}`))
      const f = r.figures
      say(`${f.connections} connections: RSS ${mib(f.rssBefore)} -> ${mib(f.rssHeld)} (${(f.rssPerConnection / 1024).toFixed(2)} KiB each) -> ${mib(f.rssAfter)} after they closed, ${mib(f.rssHeldAgain)} held and ${mib(f.rssAfterAgain)} after a second round; a new client answered in ${f.newClientMs.median.toFixed(1)} ms (median, max ${f.newClientMs.max.toFixed(1)})`)
    } catch (e) {
      failures.push(`connections: ${e.message}`)
    } finally {
      await big.stop()
    }
  }

  result.failures = failures
  for (const f of failures) console.log(`soak: FAIL ${f}`)
  say(failures.length ? `${failures.length} failures (seed ${seed})` : 'passed')
  console.log(`SOAK-RESULT ${JSON.stringify(result)}`)
  process.exitCode = failures.length ? 1 : 0
}

// Run only as a script: the test imports the checks above.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e)
    process.exit(2)
  })
}
