// The measurements: start each peer, check that it serves what the scenario expects, then measure
// it with wrk (throughput and latency) or by reading its memory (idle connections, 1 GiB).
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import readline from 'node:readline'

import { groupCpuSeconds, threadsCpuSeconds, waitQuiet } from './machine.mjs'
import { readMemory, sampleRss, steadyRss } from './memory.mjs'
import { request } from './probe.mjs'
import shared from '../apps/shared.cjs'
import { delay, runToEnd, spawnGroup, startServer, stopGroup } from './procs.mjs'
import { OTHER_WORK, PEERS, peerLabel } from './scenarios.mjs'
import { runWrk, shellLine, wrkArgs } from './wrk.mjs'

const HELLO = 'Hello, World!'
const MIB = 1024 * 1024

/** The command that starts a peer (port 0: the peer prints the port it got). */
export function peerCommand(id, scenario, ctx, { idleTimeout } = {}) {
  const peer = PEERS[id]
  const appArgs = [peer.file, '--port', '0', '--scenario', scenario.app, ...(peer.args ?? [])]
  if (scenario.tls) appArgs.push('--tls', `${ctx.tls.cert}:${ctx.tls.key}`)
  if (idleTimeout !== undefined) appArgs.push('--idle-timeout', String(idleTimeout))
  const env = { ...process.env, BENCH_CPU_ITERATIONS: String(ctx.cpuIterations), BENCH_GIB_BYTES: String(ctx.gibBytes), ...peer.env }
  const shownEnv = Object.entries(peer.env ?? {}).map(([k, v]) => `${k}=${v} `).join('')
  if (peer.runtime === 'node') return { cmd: process.execPath, args: appArgs, env, shown: shownEnv + shellLine('node', appArgs) }
  if (peer.runtime === 'bun') return { cmd: ctx.bins.bun, args: appArgs, env, shown: shownEnv + shellLine('bun', appArgs) }
  const denoArgs = ['run', '-A', '--no-lock', '--no-config', ...appArgs]
  Object.assign(env, { DENO_NO_PACKAGE_JSON: '1', DENO_NO_UPDATE_CHECK: '1' })
  return { cmd: ctx.bins.deno, args: denoArgs, env, shown: shownEnv + 'DENO_NO_PACKAGE_JSON=1 ' + shellLine('deno', denoArgs) }
}

function describe(e) {
  return (e && e.message ? e.message : String(e)).split('\n')[0]
}

/** Check one answer of a freshly started peer; resolves with undefined or what is wrong. */
async function probe(id, scenario, port) {
  const peer = PEERS[id]
  const tls = Boolean(scenario.tls)
  if (peer.check === 'workers') {
    const answers = await Promise.all(Array.from({ length: 8 }, () => request({ port, tls, path: '/__whoami' })))
    const ids = answers.map((a) => a.body.toString())
    if (ids.some((t) => !/^\d+$/.test(t))) return `/__whoami answered ${JSON.stringify(ids[0])}, not a thread id`
    if (ids.includes('0')) return 'the option is accepted but ignored: /__whoami was answered on the main thread (threadId 0)'
  }
  if (scenario.app === 'gib') return undefined // the 1 GiB clients check their byte counts
  const body = scenario.app === 'echo' ? randomBytes(64 * 1024) : undefined
  // The JSON API: the first of wrk's URLs must give exactly the bytes of shared.apiResponse (the
  // same work in every peer), and an unknown path a 404.
  const apiPath = shared.API_PATHS[0]
  if (scenario.app === 'json') {
    const missing = await request({ port, tls, path: '/api/nothing' })
    if (missing.status !== 404) return `answered ${missing.status} to /api/nothing, not 404`
  }
  const res = await request({ port, tls, method: body ? 'POST' : 'GET', body, path: scenario.app === 'json' ? apiPath : '/' })
  if (tls && res.protocol !== 'TLSv1.3') return `negotiated ${res.protocol}, not TLSv1.3`
  if (res.status !== 200) return `answered ${res.status}`
  if (scenario.app === 'json' && !/^application\/json\b/.test(res.headers['content-type'] ?? '')) return `answered with Content-Type ${res.headers['content-type']}, not application/json`
  const got = res.body
  if (peer.check === 'rust' && got.toString() !== HELLO) return `the staticResponse option is ignored: the JS app answered (${JSON.stringify(got.toString().slice(0, 40))})`
  const expected = {
    hello: () => got.toString() === HELLO,
    mib: () => got.length === MIB,
    echo: () => got.equals(body),
    stream100: () => got.length === 100 * 1024,
    cpu: () => /^[0-9a-f]{64}$/.test(got.toString()),
    'hello-json': () => got.toString() === JSON.stringify({ message: HELLO }),
    json: () => got.toString() === shared.apiResponse(...apiPath.split('?')),
    async1s: () => got.toString() === HELLO,
  }[scenario.app]
  if (!expected()) return `unexpected body for ${scenario.app} (${got.length} bytes: ${JSON.stringify(got.subarray(0, 40).toString())})`
  return undefined
}

/**
 * Start a peer for a scenario and probe it. Resolves with { server } or { status, reason }.
 * A gatehouse feature that is missing (BENCH_SKIP, or a probe of that feature failing) is a skip;
 * anything else that goes wrong is a failure.
 */
export async function startPeer(id, scenario, ctx, extra = {}) {
  const peer = PEERS[id]
  const features = peer.family === 'gatehouse' ? [peer.check === 'workers' && 'appThreads', peer.check === 'rust' && 'the Rust-only responder', scenario.tls && 'TLS (the ssl option)'].filter(Boolean) : []
  // A feature found missing once stays missing for the rest of the run.
  for (const key of [`${id}|tcp`, `${id}|${scenario.tls ? 'tls' : 'tcp'}`]) {
    if (ctx.skipCache.has(key)) return { status: 'skipped', reason: ctx.skipCache.get(key) }
  }
  const cacheKey = `${id}|${scenario.tls ? 'tls' : 'tcp'}`
  if (peer.runtime !== 'node' && !ctx.bins[peer.runtime]) return { status: 'skipped', reason: `${peer.runtime} is not installed (bench/node_modules)` }
  if (scenario.tls && !ctx.tls) return { status: 'skipped', reason: 'no openssl to make a certificate' }
  const command = peerCommand(id, scenario, ctx, extra)
  const started = await startServer({ cmd: command.cmd, args: command.args, cwd: ctx.benchDir, env: command.env })
  if (started.skipped) {
    ctx.skipCache.set(cacheKey, started.skipped)
    return { status: 'skipped', reason: started.skipped, command: command.shown }
  }
  if (started.failed) return { status: 'failed', reason: started.failed, command: command.shown }
  let wrong
  try {
    wrong = await probe(id, scenario, started.port)
  } catch (e) {
    const text = describe(e)
    wrong = /wrong version number/.test(text) ? 'the TLS handshake failed: the port answers in plain HTTP' : `the probe request failed: ${text.slice(0, 160)}`
  }
  if (wrong === undefined) return { server: started, command: command.shown }
  await stopGroup(started.child)
  if (features.length) {
    const reason = `${features.join(' + ')} not available: ${wrong}`
    ctx.skipCache.set(cacheKey, reason)
    return { status: 'skipped', reason, command: command.shown }
  }
  return { status: 'failed', reason: wrong, command: command.shown }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

function alive(server) {
  return server.child.exitCode === null && server.child.signalCode === null
}

/** Why a server is gone: its exit status and the end of what it printed. */
function died(server) {
  const { exitCode, signalCode } = server.child
  return `the server exited during the run (${signalCode ? `signal ${signalCode}` : `code ${exitCode}`}): ${server.child.output().slice(-300).replace(/\s+/g, ' ')}`
}

/**
 * CPU seconds of a started server so far: `all`, every thread of every process in its group; `js`,
 * its JS threads (those it announced, or else its main thread, whose tid is its pid).
 */
function serverCpu(server) {
  const js = server.jsThreads.size ? [...new Set([server.pid, ...server.jsThreads])] : [server.pid]
  return { all: groupCpuSeconds(server.child.pid), js: threadsCpuSeconds(server.pid, js) }
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-'
}

/** wrk -t1 against each peer in turn: warm-up, then the measured run (median of the rounds). */
export async function runWrkScenario(scenario, ctx) {
  const scheme = scenario.tls ? 'https' : 'http'
  const entries = scenario.peers.map((id) => ({ id, label: peerLabel(id, scenario), rounds: [] }))
  const wrkEnv = { ...process.env, ...(scenario.env ?? {}) }
  // wrk wants the script's absolute path (a relative one is looked up elsewhere, and missed).
  const script = scenario.script && path.join(ctx.benchDir, scenario.script)
  const argsFor = (port, seconds) => wrkArgs({ url: `${scheme}://127.0.0.1:${port}/`, connections: scenario.connections, seconds, script, headers: scenario.headers })
  const record = { commands: { servers: {}, wrk: undefined } }
  try {
    for (const e of entries) {
      const r = await startPeer(e.id, scenario, ctx)
      if (r.command) record.commands.servers[e.id] = r.command
      if (r.server) e.server = r.server
      else {
        Object.assign(e, { status: r.status, reason: r.reason })
        console.log(`  ${e.label.padEnd(24)} ${r.status}: ${r.reason}`)
      }
    }
    const active = entries.filter((e) => e.server)
    record.commands.wrk = shellLine('wrk', argsFor('PORT', ctx.duration)).replace(ctx.benchDir, '"$PWD"') + (scenario.env ? `   (env ${Object.entries(scenario.env).map(([k, v]) => `${k}=${v}`).join(' ')})` : '')
    // Alternate: each round starts one peer later, and each scenario starts at another peer.
    for (let round = 0; round < ctx.rounds; round++) {
      const shift = (scenario.n + round) % Math.max(active.length, 1)
      const order = [...active.slice(shift), ...active.slice(0, shift)]
      for (const e of order) {
        if (e.status === 'failed') continue
        try {
          if (round === 0 && ctx.warmup > 0) await runWrk(ctx.wrk, argsFor(e.server.port, ctx.warmup), ctx.warmup, wrkEnv)
          // A run that other work on the machine disturbed is measured again (ctx.retries times at
          // most); the least disturbed one counts.
          let m
          for (let attempt = 0; attempt <= ctx.retries; attempt++) {
            const busyBefore = await waitQuiet()
            const cpuBefore = serverCpu(e.server)
            const run = await runWrk(ctx.wrk, argsFor(e.server.port, ctx.duration), ctx.duration, wrkEnv)
            if (!alive(e.server)) throw new Error(died(e.server))
            // Answers that are not what the app serves (a 400, a 404) would measure something else.
            if (run.requests === 0 || run.non2xx > run.requests / 100) throw new Error(`${run.non2xx} of ${run.requests} answers were not 2xx`)
            const cpuAfter = serverCpu(e.server)
            delete run.raw
            run.serverCores = (cpuAfter.all - cpuBefore.all) / run.seconds
            run.cpuUsPerReq = ((cpuAfter.all - cpuBefore.all) / run.requests) * 1e6
            run.jsUsPerReq = ((cpuAfter.js - cpuBefore.js) / run.requests) * 1e6
            run.busyBefore = busyBefore
            // CPU that neither the server nor wrk used during the run: other work on the machine.
            run.otherCores = run.machineCores === undefined ? 0 : Math.max(0, run.machineCores - run.wrkCores - run.serverCores)
            if (m === undefined || run.otherCores < m.otherCores) m = run
            if (m.otherCores < OTHER_WORK) break
            if (attempt < ctx.retries) console.log(`  ${e.label.padEnd(24)} (other work on the machine took ${run.otherCores.toFixed(2)} cores during the run: measuring again)`)
          }
          e.rounds.push(m)
          const errs = m.errors.connect + m.errors.read + m.errors.write + m.errors.timeout + m.non2xx
          const busy = m.otherCores >= OTHER_WORK ? `   (disturbed: other work took ${m.otherCores.toFixed(2)} cores)` : ''
          console.log(`  ${e.label.padEnd(24)} ${fmt(m.rps).padStart(9)} req/s   p50 ${fmt(m.latency.p50, 3)} ms   p99 ${fmt(m.latency.p99, 3)} ms   server CPU ${fmt(m.serverCores, 2)} cores   ${fmt(m.cpuUsPerReq, 2)} µs/req (JS ${fmt(m.jsUsPerReq, 2)})${errs ? `   errors ${errs}` : ''}${ctx.rounds > 1 ? `   (round ${round + 1})` : ''}${busy}`)
        } catch (err) {
          Object.assign(e, { status: 'failed', reason: alive(e.server) ? describe(err) : died(e.server) })
          console.log(`  ${e.label.padEnd(24)} failed: ${e.reason}`)
        }
      }
    }
  } finally {
    await Promise.all(entries.filter((e) => e.server).map((e) => stopGroup(e.server.child)))
  }
  const peers = entries.map((e) => {
    if (e.status) return { id: e.id, label: e.label, status: e.status, reason: e.reason }
    const rps = median(e.rounds.map((m) => m.rps))
    const m = e.rounds.find((x) => x.rps === rps)
    const errors = m.errors.connect + m.errors.read + m.errors.write + m.errors.timeout + m.non2xx
    return {
      id: e.id,
      label: e.label,
      status: 'ok',
      values: { rps: m.rps, p50: m.latency.p50, p75: m.latency.p75, p90: m.latency.p90, p99: m.latency.p99, max: m.latency.max, errors, requests: m.requests, seconds: m.seconds, serverCores: m.serverCores, cpuUsPerReq: m.cpuUsPerReq, jsUsPerReq: m.jsUsPerReq, wrkCores: m.wrkCores, otherCores: m.otherCores, busyBefore: m.busyBefore },
      errorDetail: errors ? { ...m.errors, non2xx: m.non2xx } : undefined,
      roundsRps: e.rounds.map((x) => x.rps),
    }
  })
  return { peers, commands: record.commands }
}

/** Resolves with the next line `child` prints (JSON), or rejects after `timeoutMs`. */
function nextJsonLine(lines, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs / 1000} s`)), timeoutMs)
    lines.once('line', (line) => {
      clearTimeout(timer)
      try {
        resolve(JSON.parse(line))
      } catch {
        reject(new Error(`${what}: unexpected output ${JSON.stringify(line.slice(0, 200))}`))
      }
    })
  })
}

/** Start a hold client: `count` connections to `port`, each with `requests` answered requests. */
function holdConnections(ctx, port, count, tls, requests = 1) {
  const client = spawnGroup(process.execPath, [path.join(ctx.benchDir, 'lib', 'hold-client.mjs'), String(port), String(count), ...holdOptions(tls, requests)], { stdin: 'pipe' })
  client.stderr.resume()
  const lines = readline.createInterface({ input: client.stdout })
  return { client, lines }
}

function holdOptions(tls, requests) {
  return [...(tls ? ['tls'] : []), ...(requests > 1 ? [`requests=${requests}`] : [])]
}

/** The command line of the hold client, as the report shows it. */
export function holdCommand(count, tls, requests = 1) {
  return shellLine('node', ['lib/hold-client.mjs', 'PORT', String(count), ...holdOptions(tls, requests)])
}

/**
 * The warm-up before RSS is first read: this many connections make IDLE_WARMUP_REQUESTS requests
 * each, then close. Enough requests for the JS heap's young generation to reach its working size
 * (with fewer, the garbage of the measured run's requests counts as connection memory), and few
 * connections, so that the memory of connections freed by the warm-up cannot hide that of the
 * measured ones.
 */
export const IDLE_WARMUP_CONNECTIONS = 8
export const IDLE_WARMUP_REQUESTS = 2500

/**
 * RSS per idle keep-alive connection of one started peer: a warm-up (IDLE_WARMUP_CONNECTIONS
 * connections that each make IDLE_WARMUP_REQUESTS requests, then close), VmRSS (the median of 5 readings 200 ms
 * apart), then `count` connections held open by a separate client process, each after one
 * answered request; 2 s later VmRSS again. (after - before) / connections still open.
 */
export async function measureIdle(server, ctx, count, tls) {
  const warm = holdConnections(ctx, server.port, IDLE_WARMUP_CONNECTIONS, tls, IDLE_WARMUP_REQUESTS)
  try {
    await nextJsonLine(warm.lines, 60000, 'hold-client (warm-up)')
  } finally {
    await stopGroup(warm.client)
  }
  await delay(1000)
  const before = await steadyRss(server.pid)
  const { client, lines } = holdConnections(ctx, server.port, count, tls)
  try {
    const held = await nextJsonLine(lines, 180000, 'hold-client')
    await delay(2000)
    const after = await steadyRss(server.pid)
    client.stdin.write('status\n')
    const { open } = await nextJsonLine(lines, 10000, 'hold-client status')
    if (!alive(server)) throw new Error(died(server))
    if (open < count * 0.9) throw new Error(`only ${open} of ${count} connections stayed open (${held.failed} failed to connect or get an answer)`)
    return { kibPerConn: (after - before) / open, rssBeforeMiB: before / 1024, rssAfterMiB: after / 1024, held: open, failed: held.failed, openMs: held.ms }
  } finally {
    await stopGroup(client)
  }
}

/** RSS per idle keep-alive connection (plain or TLS, as the scenario says), peer by peer. */
export async function runIdleScenario(scenario, ctx) {
  const count = ctx.holdConnections
  const tls = Boolean(scenario.tls)
  const peers = []
  const commands = { servers: {}, client: holdCommand(count, tls), warmup: holdCommand(IDLE_WARMUP_CONNECTIONS, tls, IDLE_WARMUP_REQUESTS) + ' (then closed)' }
  for (const id of scenario.peers) {
    const label = peerLabel(id, scenario)
    const r = await startPeer(id, scenario, ctx, { idleTimeout: 120 })
    if (r.command) commands.servers[id] = r.command
    if (!r.server) {
      console.log(`  ${label.padEnd(24)} ${r.status}: ${r.reason}`)
      peers.push({ id, label, status: r.status, reason: r.reason })
      continue
    }
    const { server } = r
    try {
      const values = await measureIdle(server, ctx, count, tls)
      console.log(`  ${label.padEnd(24)} ${fmt(values.kibPerConn, 1).padStart(7)} KiB/conn   RSS ${fmt(values.rssBeforeMiB, 1)} -> ${fmt(values.rssAfterMiB, 1)} MiB with ${values.held} held`)
      peers.push({ id, label, status: 'ok', values })
    } catch (err) {
      console.log(`  ${label.padEnd(24)} failed: ${describe(err)}`)
      peers.push({ id, label, status: 'failed', reason: describe(err) })
    } finally {
      await stopGroup(server.child)
    }
  }
  return { peers, commands }
}

/** One direction of the 1 GiB scenario on a fresh server: RSS growth while the client runs. */
async function gibOnce(id, scenario, ctx, direction) {
  const r = await startPeer(id, scenario, ctx)
  if (!r.server) return r
  const { server } = r
  try {
    await delay(500)
    const before = await steadyRss(server.pid, 3, 100)
    const sampler = sampleRss(server.pid, 50)
    const client = await runToEnd(process.execPath, [path.join(ctx.benchDir, 'lib', 'stream-client.mjs'), direction, String(server.port), String(ctx.gibBytes)], { timeoutMs: 300000 })
    const { maxRssKiB } = sampler.stop()
    if (!alive(server)) throw new Error(died(server))
    const { hwmKiB } = readMemory(server.pid)
    if (client.timedOut) throw new Error(`${direction}: the client did not finish within 300 s`)
    if (client.code !== 0) throw new Error(`${direction}: the client failed: ${client.stderr.trim().split('\n').slice(-1)[0]}`)
    const { bytes, seconds } = JSON.parse(client.stdout.trim().split('\n').pop())
    if (bytes !== ctx.gibBytes) throw new Error(`${direction}: ${bytes} bytes went through, not ${ctx.gibBytes}`)
    return { measured: { growthMiB: (maxRssKiB - before) / 1024, hwmGrowthMiB: (hwmKiB - before) / 1024, beforeMiB: before / 1024, MiBps: bytes / MIB / seconds }, command: r.command }
  } catch (err) {
    return { status: 'failed', reason: describe(err), command: r.command }
  } finally {
    await stopGroup(server.child)
  }
}

/** RSS growth while 1 GiB is streamed out, and while a 1 GiB upload is read (a fresh server each). */
export async function runGibScenario(scenario, ctx) {
  const peers = []
  const commands = {
    servers: {},
    clients: [shellLine('node', ['lib/stream-client.mjs', 'download', 'PORT', String(ctx.gibBytes)]), shellLine('node', ['lib/stream-client.mjs', 'upload', 'PORT', String(ctx.gibBytes)])],
  }
  for (const id of scenario.peers) {
    const label = peerLabel(id, scenario)
    const out = await gibOnce(id, scenario, ctx, 'download')
    if (out.command) commands.servers[id] = out.command
    const inn = out.measured ? await gibOnce(id, scenario, ctx, 'upload') : out
    if (!out.measured || !inn.measured) {
      const bad = out.measured ? inn : out
      console.log(`  ${label.padEnd(24)} ${bad.status}: ${bad.reason}`)
      peers.push({ id, label, status: bad.status, reason: bad.reason })
      continue
    }
    const values = {
      outGrowthMiB: out.measured.growthMiB,
      outHwmGrowthMiB: out.measured.hwmGrowthMiB,
      outMiBps: out.measured.MiBps,
      inGrowthMiB: inn.measured.growthMiB,
      inHwmGrowthMiB: inn.measured.hwmGrowthMiB,
      inMiBps: inn.measured.MiBps,
      rssBeforeMiB: out.measured.beforeMiB,
    }
    console.log(`  ${label.padEnd(24)} out: +${fmt(values.outGrowthMiB, 1)} MiB (${fmt(values.outMiBps)} MiB/s)   in: +${fmt(values.inGrowthMiB, 1)} MiB (${fmt(values.inMiBps)} MiB/s)`)
    peers.push({ id, label, status: 'ok', values })
  }
  return { peers, commands }
}

/**
 * `scenario.connections` requests at once (each on its own connection) from a client process,
 * against an app that awaits before it answers: the time until all are answered. A run in which
 * any request fails is a failure: the requests did not all finish. With --rounds, the median.
 */
export async function runBurstScenario(scenario, ctx) {
  const count = scenario.connections
  const clientArgs = (port) => [path.join(ctx.benchDir, 'lib', 'burst-client.mjs'), String(port), String(count)]
  const commands = { servers: {}, client: shellLine('node', ['lib/burst-client.mjs', 'PORT', String(count)]) }
  const peers = []
  for (const id of scenario.peers) {
    const label = peerLabel(id, scenario)
    const r = await startPeer(id, scenario, ctx)
    if (r.command) commands.servers[id] = r.command
    if (!r.server) {
      console.log(`  ${label.padEnd(24)} ${r.status}: ${r.reason}`)
      peers.push({ id, label, status: r.status, reason: r.reason })
      continue
    }
    try {
      const runs = []
      for (let round = 0; round < ctx.rounds; round++) {
        await waitQuiet()
        const out = await runToEnd(process.execPath, clientArgs(r.server.port), { timeoutMs: 120000 })
        if (!alive(r.server)) throw new Error(died(r.server))
        if (out.timedOut || out.code !== 0) throw new Error(`the client failed: ${(out.stderr || out.stdout).trim().split('\n').slice(-1)[0]}`)
        const m = JSON.parse(out.stdout.trim().split('\n').pop())
        if (m.failed) throw new Error(`${m.failed} of ${count} requests failed (${m.error}); the others took ${fmt(m.seconds, 2)} s`)
        runs.push(m)
      }
      const seconds = median(runs.map((m) => m.seconds))
      const m = runs.find((x) => x.seconds === seconds)
      console.log(`  ${label.padEnd(24)} all ${count} answered in ${fmt(m.seconds, 3)} s   p50 ${fmt(m.p50, 3)} s${ctx.rounds > 1 ? `   (median of ${ctx.rounds})` : ''}`)
      peers.push({ id, label, status: 'ok', values: { seconds: m.seconds, p50: m.p50, ok: m.ok, failed: m.failed }, roundsSeconds: runs.map((x) => x.seconds) })
    } catch (err) {
      console.log(`  ${label.padEnd(24)} failed: ${describe(err)}`)
      peers.push({ id, label, status: 'failed', reason: describe(err) })
    } finally {
      await stopGroup(r.server.child)
    }
  }
  return { peers, commands }
}
