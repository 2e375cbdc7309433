#!/usr/bin/env node
// The benchmark harness: `npm run bench` at the repository root (or `node bench/run.mjs`).
// Installs what it needs, measures every scenario against every peer in one run, and writes
// bench/results/latest.{json,md} and one SVG chart per scenario. See bench/README.md.
import { pbkdf2Sync } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { machineInfo, versions } from './lib/machine.mjs'
import { runBurstScenario, runGibScenario, runIdleScenario, runWrkScenario } from './lib/measure.mjs'
import { addRatios, evaluateTargets, loadPrevious, terminalTable, terminalTargets, writeResults } from './lib/report.mjs'
import { BASELINE, PEERS, SCENARIOS } from './lib/scenarios.mjs'
import { ensureBenchPackages, ensureGatehouse, ensureWrk, findRuntimes, makeCertificate } from './lib/setup.mjs'

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const root = path.dirname(benchDir)
const resultsDir = path.join(benchDir, 'results')

const HELP = `Usage: npm run bench -- [options]      (or: node bench/run.mjs [options])

  --duration S     whole seconds of each measured wrk run (default 10, or BENCH_DURATION)
  --warmup S       whole seconds of wrk warm-up before each peer (default 2, or BENCH_WARMUP)
  --rounds N       measure each peer N times, alternating peers; report the median (default 1)
  --retries N      measure a run again when other work on the machine took CPU during it
                   (at most N more times; the least disturbed run counts; default 2)
  --quick          for development: 2 s runs, 1 s warm-up, 1,000 idle connections, 256 MiB
  --only LIST      comma-separated scenarios (number or id) and/or peers, e.g. --only 1,3
                   or --only 1,gatehouse,deno (node:http is always kept: it is the baseline)
  --fresh          start results/latest.json anew instead of replacing only the scenarios run
  --list           list the scenarios and peers
  -h, --help       this help

Scenarios: ${SCENARIOS.map((s) => `${s.n} ${s.id}`).join(', ')}
Peers: ${Object.keys(PEERS).join(', ')}`

function number(flag, text, { integer = false, min = 0 } = {}) {
  const v = Number(text)
  if (text === undefined || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new Error(`${flag}: expected a ${integer ? 'whole ' : ''}number >= ${min}, got ${JSON.stringify(text)}`)
  }
  return v
}

function parseArgs(argv) {
  const o = {
    duration: process.env.BENCH_DURATION,
    warmup: process.env.BENCH_WARMUP,
    rounds: 1,
    retries: 2,
    quick: false,
    only: [],
    fresh: false,
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], undefined]
    const value = () => inline ?? argv[++i]
    if (flag === '--duration') o.duration = value()
    else if (flag === '--warmup') o.warmup = value()
    else if (flag === '--rounds') o.rounds = number(flag, value(), { integer: true, min: 1 })
    else if (flag === '--retries') o.retries = number(flag, value(), { integer: true })
    else if (flag === '--quick') o.quick = true
    else if (flag === '--only') o.only.push(...String(value() ?? '').split(',').filter(Boolean))
    else if (flag === '--fresh') o.fresh = true
    else if (flag === '--list') o.list = true
    else if (flag === '-h' || flag === '--help') o.help = true
    else throw new Error(`unknown option ${argv[i]} (see --help)`)
  }
  // wrk takes whole seconds.
  o.duration = o.duration === undefined ? (o.quick ? 2 : 10) : number('--duration', o.duration, { integer: true, min: 1 })
  o.warmup = o.warmup === undefined ? (o.quick ? 1 : 2) : number('--warmup', o.warmup, { integer: true })
  o.holdConnections = o.quick ? 1000 : 5000
  o.gibBytes = (o.quick ? 256 : 1024) * 1024 * 1024
  return o
}

/** Scenarios and peers picked by --only (all when the list names none of that kind). */
function select(only) {
  const byToken = (s) => only.includes(String(s.n)) || only.includes(s.id)
  const unknown = only.filter((t) => !SCENARIOS.some((s) => String(s.n) === t || s.id === t) && !(t in PEERS))
  if (unknown.length) throw new Error(`--only: unknown scenario or peer ${unknown.join(', ')} (see --list)`)
  const scenarios = SCENARIOS.some(byToken) ? SCENARIOS.filter(byToken) : SCENARIOS
  const peerIds = only.filter((t) => t in PEERS)
  return scenarios.map((s) => (peerIds.length ? { ...s, peers: s.peers.filter((p) => p === BASELINE || peerIds.includes(p)) } : s))
}

/** PBKDF2 iterations that take about 2 ms here (BENCH_CPU_ITERATIONS overrides). */
function calibrateCpu() {
  if (process.env.BENCH_CPU_ITERATIONS) return Number(process.env.BENCH_CPU_ITERATIONS)
  const probe = 10000
  for (let i = 0; i < 5; i++) pbkdf2Sync('gatehouse', 'bench-salt', probe, 32, 'sha256')
  const started = performance.now()
  const runs = 20
  for (let i = 0; i < runs; i++) pbkdf2Sync('gatehouse', 'bench-salt', probe, 32, 'sha256')
  const msEach = (performance.now() - started) / runs
  return Math.max(1000, Math.round((probe * 2) / msEach / 100) * 100)
}

const RUNNERS = { wrk: runWrkScenario, idle: runIdleScenario, gib: runGibScenario, burst: runBurstScenario }

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.help) return console.log(HELP)
  if (opts.list) {
    for (const s of SCENARIOS) console.log(`${String(s.n).padStart(2)} ${s.id.padEnd(15)} ${s.title}   [${s.peers.join(', ')}]`)
    return
  }
  const scenarios = select(opts.only)

  ensureGatehouse(root)
  ensureBenchPackages(benchDir)
  const wrk = ensureWrk()
  const bins = findRuntimes(benchDir)
  for (const name of ['bun', 'deno']) if (!bins[name]) console.log(`${name}: no working binary in bench/node_modules; its peer will be skipped`)
  mkdirSync(resultsDir, { recursive: true })

  const machine = machineInfo()
  const vers = versions({ root, benchDir, bins, wrk })
  const tls = scenarios.some((s) => s.tls) ? makeCertificate() : undefined
  // Also when a signal ends the run (lib/procs.mjs exits then): the certificate goes.
  if (tls) process.on('exit', () => rmSync(tls.dir, { recursive: true, force: true }))
  const cpuIterations = scenarios.some((s) => s.app === 'cpu') ? calibrateCpu() : 10000
  const ctx = { root, benchDir, wrk, bins, tls, cpuIterations, duration: opts.duration, warmup: opts.warmup, rounds: opts.rounds, retries: opts.retries, holdConnections: opts.holdConnections, gibBytes: opts.gibBytes, skipCache: new Map() }

  console.log(`gatehouse bench: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB; node ${vers.node}, bun ${vers.bun ?? '-'}, ${vers.deno ?? 'deno -'}; gatehouse ${vers.gatehouse}`)
  console.log(`scenarios ${scenarios.map((s) => s.n).join(', ')}; ${opts.duration} s per peer after ${opts.warmup} s of warm-up${opts.rounds > 1 ? `, ${opts.rounds} rounds` : ''}${opts.quick ? ' (quick)' : ''}\n`)

  const doc = { generated: new Date().toISOString(), machine, versions: vers, ...loadPrevious(resultsDir, opts.fresh) }
  const measured = []
  let failures = 0
  try {
    for (const scenario of scenarios) {
      console.log(`${scenario.n}. ${scenario.title}`)
      const run = { date: new Date().toISOString(), gatehouse: vers.gatehouse, quick: opts.quick }
      if (scenario.kind === 'wrk') Object.assign(run, { duration: opts.duration, warmup: opts.warmup, rounds: opts.rounds })
      if (scenario.kind === 'idle') run.holdConnections = opts.holdConnections
      if (scenario.kind === 'gib') run.gibBytes = opts.gibBytes
      if (scenario.kind === 'burst') Object.assign(run, { requests: scenario.connections, rounds: opts.rounds })
      if (scenario.app === 'cpu') run.cpuIterations = cpuIterations
      let out
      try {
        out = await RUNNERS[scenario.kind](scenario, ctx)
      } catch (e) {
        console.log(`  the scenario failed: ${e.stack ?? e}`)
        out = { peers: scenario.peers.map((id) => ({ id, label: PEERS[id].label, status: 'failed', reason: `the scenario failed: ${e.message ?? e}` })), commands: { servers: {} } }
      }
      if (tls && scenario.tls) out.commands.tls = tls.command
      const result = { id: scenario.id, n: scenario.n, title: scenario.title, kind: scenario.kind, run, peers: out.peers, commands: out.commands }
      addRatios(result, scenario)
      failures += result.peers.filter((p) => p.status === 'failed').length
      doc.scenarios[scenario.id] = result
      measured.push(scenario.id)
      writeResults(resultsDir, doc, measured)
      console.log('')
    }
  } finally {
    if (tls) rmSync(tls.dir, { recursive: true, force: true })
  }

  console.log('Results (ratios: peer ÷ node:http, measured in this run)\n')
  for (const scenario of scenarios) console.log(terminalTable(doc.scenarios[scenario.id], scenario) + '\n')
  // The targets from this run's figures only (latest.md states them from all of latest.json's).
  const thisRun = Object.fromEntries(measured.map((id) => [id, doc.scenarios[id]]))
  console.log(terminalTargets(evaluateTargets(thisRun)) + '\n')
  console.log(`Written: ${path.relative(process.cwd(), path.join(resultsDir, 'latest.json'))}, latest.md and the SVG charts in ${path.relative(process.cwd(), resultsDir) || '.'}/`)
  if (failures) {
    console.log(`${failures} measurement(s) failed (see above)`)
    process.exitCode = 1
  }
}

main().catch((e) => {
  console.error(e.stack ?? String(e))
  process.exitCode = 1
})
