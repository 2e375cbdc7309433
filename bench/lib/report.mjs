// Reporting: ratios to the baseline, the terminal table, results/latest.json, results/latest.md
// and one SVG chart per scenario metric.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

import { BASELINE, OTHER_WORK, PEERS, SCENARIOS, TARGETS } from './scenarios.mjs'
import { barChart } from './svg.mjs'

/** Adds `ratios` (value / baseline value, per metric) to each measured peer of a scenario result. */
export function addRatios(result, scenario) {
  const baseline = scenario.baseline ?? BASELINE
  const base = result.peers.find((p) => p.id === baseline && p.status === 'ok')
  for (const p of result.peers) {
    if (p.status !== 'ok') continue
    p.ratios = {}
    for (const m of scenario.metrics) {
      const b = base?.values[m.key]
      p.ratios[m.key] = b > 0 ? p.values[m.key] / b : undefined
    }
  }
}

function format(value, kind) {
  if (value === undefined || value === null || !Number.isFinite(value)) return '-'
  if (kind === 'int') return Math.round(value).toLocaleString('en-US')
  if (kind === 'ms') return value < 10 ? value.toFixed(3) : value.toFixed(1)
  if (kind === 'f1') return value.toFixed(1)
  if (kind === 'f2') return value.toFixed(2)
  if (kind === 'ratio') return `${value.toFixed(2)}×`
  return String(value)
}

/** The rows of a scenario's table: header first, then one row per peer (strings). */
function tableRows(result, scenario) {
  // ×node, or × the scenario's own baseline (the framework scenarios): ×base there.
  const times = scenario.baseline ? '×base' : '×node'
  const ratioCols = scenario.metrics.map((m) => ({ key: m.key, label: scenario.metrics.length > 1 ? `${m.key.startsWith('out') ? 'out' : 'in'} ${times}` : `${times} (${m.key === 'rps' ? 'req/s' : m.key})` }))
  const header = ['peer', ...ratioCols.map((c) => c.label), ...scenario.columns.map((c) => c.label)]
  const rows = result.peers.map((p) => {
    if (p.status !== 'ok') return [p.label, `${p.status}: ${p.reason}`]
    return [p.label, ...ratioCols.map((c) => format(p.ratios?.[c.key], 'ratio')), ...scenario.columns.map((c) => format(p.values[c.key], c.format))]
  })
  return { header, rows }
}

function describeRun(result) {
  const r = result.run
  const parts = []
  if (result.kind === 'wrk') parts.push(`${r.duration} s per peer after a ${r.warmup} s warm-up${r.rounds > 1 ? `, median of ${r.rounds} rounds` : ''}`)
  if (result.kind === 'idle') parts.push(`${r.holdConnections} connections held`)
  if (result.kind === 'gib') parts.push(`${r.gibBytes / 1024 ** 2} MiB each way`)
  if (result.kind === 'burst') parts.push(`${r.requests} requests at once from a separate node process${r.rounds > 1 ? `, median of ${r.rounds} rounds` : ''}`)
  if (r.cpuIterations) parts.push(`PBKDF2-SHA256 with ${r.cpuIterations} iterations per request`)
  if (r.quick) parts.push('quick mode')
  return parts.join(', ')
}

/** The chart's footnote on how it was measured. */
function shortRun(result) {
  const r = result.run
  if (result.kind === 'wrk') return `wrk -t1, ${r.duration} s per peer${r.rounds > 1 ? `, median of ${r.rounds}` : ''}`
  if (result.kind === 'idle') return `${r.holdConnections} connections held`
  if (result.kind === 'burst') return `${r.requests} requests at once${r.rounds > 1 ? `, median of ${r.rounds}` : ''}`
  return `${r.gibBytes / 1024 ** 2} MiB each way`
}

/** Lines such as "gatehouse ÷ Deno.serve: 0.64× (requests/s)" for the scenario's `compare` pairs. */
function comparisons(result, scenario) {
  const metric = scenario.metrics[0]
  const lines = []
  for (const [a, b] of scenario.compare ?? []) {
    const pa = result.peers.find((p) => p.id === a && p.status === 'ok')
    const pb = result.peers.find((p) => p.id === b && p.status === 'ok')
    if (pa && pb && pb.values[metric.key] > 0) lines.push(`${pa.label} ÷ ${pb.label}: ${format(pa.values[metric.key] / pb.values[metric.key], 'ratio')} (${metric.label})`)
  }
  return lines
}

const TARGET_UNITS = { rps: 'req/s', cpuUsPerReq: 'µs', jsUsPerReq: 'µs', seconds: 's', kibPerConn: 'KiB' }

function targetFigure(value, key) {
  return key === 'rps' ? format(value, 'int') : format(value, 'f2')
}

/**
 * The targets (scenarios.mjs TARGETS) against the figures of `scenarios` (latest.json's): each with
 * its measured value, 'pass', 'fail' or 'not measured' (and why), and when it was measured.
 */
export function evaluateTargets(scenarios) {
  return TARGETS.map((t) => {
    const result = scenarios[t.scenario]
    const out = { what: t.what, scenario: t.scenario, measured: result && `${result.run.date.slice(0, 16).replace('T', ' ')} UTC at gatehouse ${result.run.gatehouse}${result.run.quick ? ', quick mode' : ''}` }
    if (!result) return { ...out, status: 'not measured', reason: `scenario ${t.scenario} was not run` }
    const ok = (id) => result.peers.find((p) => p.id === id && p.status === 'ok' && Number.isFinite(p.values[t.key]))
    for (const id of [t.peer, t.of].filter(Boolean)) {
      if (ok(id)) continue
      const p = result.peers.find((x) => x.id === id)
      let reason = `${PEERS[id].label} was not in the run`
      if (p?.status === 'ok') reason = `${p.label}: no ${t.key} figure (measured before the harness had it)`
      else if (p) reason = `${p.label}: ${p.status}${p.reason ? ` (${p.reason.split(': ')[0]})` : ''}`
      return { ...out, status: 'not measured', reason }
    }
    const a = ok(t.peer).values[t.key]
    const unit = TARGET_UNITS[t.key]
    let value = a
    let shown = `${targetFigure(a, t.key)} ${unit}`
    if (t.of) {
      const b = ok(t.of).values[t.key]
      value = a / b
      shown = `${value.toFixed(2)}× (${targetFigure(a, t.key)} ÷ ${targetFigure(b, t.key)} ${unit})`
    }
    const pass = t.op === '>=' ? value >= t.limit : value <= t.limit
    return { ...out, value, shown, status: pass ? 'pass' : 'fail' }
  })
}

/** The targets as terminal lines. */
export function terminalTargets(evaluated) {
  const width = Math.max(...evaluated.map((t) => t.what.length))
  const lines = ['Targets (issue 11; gatehouse with its defaults)']
  for (const t of evaluated) lines.push(`   ${t.status.toUpperCase().padEnd(12)} ${t.what.padEnd(width)}  ${t.shown ?? t.reason}`)
  return lines.join('\n')
}

function markdownTargets(evaluated) {
  const out = ['| target | measured | result | scenario measured |', '| --- | ---: | --- | --- |']
  for (const t of evaluated) out.push(`| ${t.what} | ${t.shown ?? t.reason.replaceAll('|', '\\|')} | ${t.status === 'pass' ? '**pass**' : t.status === 'fail' ? '**FAIL**' : t.status} | ${t.measured ?? '-'} |`)
  return out.join('\n')
}

/** The terminal table of one scenario. */
export function terminalTable(result, scenario) {
  const { header, rows } = tableRows(result, scenario)
  const full = rows.filter((r) => r.length === header.length)
  const widths = header.map((h, i) => Math.max(h.length, ...full.map((r) => r[i].length)))
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  const out = [`${scenario.n}. ${scenario.title}  [${describeRun(result)}]`, '   ' + line(header)]
  for (const r of rows) out.push('   ' + (r.length === header.length ? line(r) : `${r[0].padEnd(widths[0])}  ${r[1]}`))
  for (const c of comparisons(result, scenario)) out.push(`   ${c}`)
  return out.join('\n')
}

export function chartFile(scenario, metric) {
  const base = `${String(scenario.n).padStart(2, '0')}-${scenario.id}`
  return scenario.metrics.length > 1 ? `${base}-${metric.key}.svg` : `${base}.svg`
}

function absolute(value, metric) {
  if (!Number.isFinite(value)) return undefined
  if (metric.key === 'rps') return `${Math.round(value).toLocaleString('en-US')} req/s`
  if (metric.unit === 'ms') return `${format(value, 'ms')} ms`
  if (metric.unit === 's') return `${value.toFixed(2)} s`
  return `${value.toFixed(1)} ${metric.unit}`
}

function chartKind(id, scenario) {
  if (id === (scenario.baseline ?? BASELINE)) return 'baseline'
  return PEERS[id]?.family === 'gatehouse' ? 'gatehouse' : 'other'
}

function writeCharts(resultsDir, result, scenario, machine) {
  const baseLabel = result.peers.find((p) => p.id === (scenario.baseline ?? BASELINE))?.label ?? 'node:http'
  for (const metric of scenario.metrics) {
    const rows = result.peers.map((p) => ({
      label: p.label,
      ratio: p.ratios?.[metric.key],
      detail: p.status === 'ok' ? absolute(p.values[metric.key], metric) : undefined,
      note: p.status === 'ok' ? 'no baseline to compare with' : `${p.status}: ${p.reason.split(': ')[0]}`,
      kind: chartKind(p.id, scenario),
    }))
    const svg = barChart({
      title: `${scenario.n}. ${scenario.title}`,
      subtitle: `${metric.label} relative to ${baseLabel} (${metric.better} is better)`,
      footer: `${result.run.date.slice(0, 10)} · gatehouse ${result.run.gatehouse.replace(/^\S+ \((\w+).*$/, '$1')} · ${machine.cores} cores, ${machine.cpu} · ${shortRun(result)}`,
      rows,
    })
    writeFileSync(path.join(resultsDir, chartFile(scenario, metric)), svg)
  }
}

function markdownTable(result, scenario) {
  const { header, rows } = tableRows(result, scenario)
  const out = [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`]
  for (const r of rows) {
    if (r.length === header.length) out.push(`| ${r.join(' | ')} |`)
    else out.push(`| ${r[0]} | ${r[1].replaceAll('|', '\\|')} |${' |'.repeat(header.length - 2)}`)
  }
  return out.join('\n')
}

function markdown(doc) {
  const { machine, versions } = doc
  const out = []
  out.push('# gatehouse benchmarks', '')
  out.push(`Made by \`npm run bench\` (bench/run.mjs). Ratios to node:http, measured in the same run, are what matter: absolute figures vary from machine to machine. Each scenario below says when and at which gatehouse commit it was measured (a run with \`--only\` replaces only the scenarios it ran).`, '')
  out.push('## Machine', '')
  out.push(`- CPU: ${machine.cpu}, ${machine.cores} cores`, `- RAM: ${machine.ramGiB} GiB`, `- OS: ${machine.os}`, '')
  out.push('## Versions', '')
  out.push(`- gatehouse ${versions.gatehouse}, tokio IO threads: ${versions.ioThreads}`, `- node ${versions.node}`, `- bun ${versions.bun ?? 'not installed'}`, `- ${versions.deno ?? 'deno not installed'}`, `- fastify ${versions.fastify}`, `- uWebSockets.js ${versions.uws ?? 'not installed'}`, `- ${versions.wrk}`, '')
  out.push('## Method', '')
  out.push(
    '- Every server runs on 127.0.0.1 in its own process, started from `bench/` with the commands listed under each scenario (PORT is the port the server picked and printed); the open-file limit is raised to 65536 first.',
    '- wrk runs with one thread (`-t1`) so that the server has the rest of the machine. For each scenario the peers are measured one after another in the same run, each after a warm-up, and each scenario starts at a different peer.',
    '- gatehouse runs with its defaults (apps/gatehouse.cjs passes no pool or backlog option), as its CLI does. "gatehouse tuned" is the same server with a pool far above any connection count here (`BENCH_NUMTHREADS=1024`): how far the defaults are from a tuned server.',
    '- Before a peer is measured, one request checks that it answers as the scenario expects. gatehouse features that are not there yet (app threads, TLS, the Rust-only responder) are detected then and the peer is skipped with the reason.',
    '- Memory is VmRSS from /proc/PID/status of the server process: for idle connections, after a warm-up (8 keep-alive connections make 2,500 requests each, then close), the median of five readings 200 ms apart before, and 2 s after, the connections are held by a separate node process (each made one request and read its answer; over TLS 1.3 in scenario 18), (after - before) / connections still open; for 1 GiB, the peak of readings every 50 ms minus the RSS before, on a fresh server for each direction.',
    '- Latencies are wrk\'s (--latency): p50 and p99 in milliseconds. "server CPU" is the CPU time (user + system, /proc/PID/stat) of every thread of every process in the server\'s process group during the measured run, divided by its length (in cores); "CPU µs/req" is the same CPU time divided by the requests wrk completed. "JS µs/req" counts only the JavaScript threads (/proc/PID/task/TID/stat): the main thread, and for gatehouse with `appThreads` also the worker threads, which announce their thread ids when they load the app. For node:http, fastify, uWebSockets.js, Bun and Deno the main thread runs the JavaScript and also the HTTP work of the event loop, so their JS µs/req is most of their CPU µs/req; gatehouse does HTTP on its own IO thread.',
    '- The JSON API (scenario 12): wrk requests three URLs in turn (wrk/json-api.lua, apps/shared.cjs API_PATHS); every peer routes on the path, parses the query and stringifies an object of about 2 KiB built for the request by the same function (apps/shared.cjs apiObject; fastify with its own router and query parser). Before it is measured each peer must answer the first URL with exactly the same bytes, and /api/nothing with 404.',
    '- Scenario 13: a separate node process sends 200 GET requests at once, each on a new connection (`agent: false`), to an app that awaits 1 s; the figure is the time from the first request to the last answer. A run in which any request fails counts as failed.',
    '- Before each measured wrk run the harness waits (30 s at most) until the machine is less than 20% busy. "other CPU" is what the rest of the machine used during the run (all CPUs busy, less the server and wrk, in cores): near 0 on a quiet machine.',
    '',
  )
  out.push('## Targets (issue 11)', '')
  out.push('gatehouse with its defaults, from the figures below (each row says when its scenario was measured).', '')
  out.push(markdownTargets(doc.targets), '')
  out.push('## Results', '')
  for (const scenario of SCENARIOS) {
    const result = doc.scenarios[scenario.id]
    if (!result) continue
    out.push(`### ${scenario.n}. ${scenario.title}`, '')
    out.push(`${describeRun(result)}; measured ${result.run.date} at gatehouse ${result.run.gatehouse}.`, '')
    for (const metric of scenario.metrics) out.push(`![${scenario.n}. ${scenario.title}: ${metric.label}](${chartFile(scenario, metric)})`, '')
    out.push(markdownTable(result, scenario), '')
    const compared = comparisons(result, scenario)
    for (const c of compared) out.push(`- ${c}`)
    if (compared.length) out.push('')
    const disturbed = result.peers.filter((p) => p.values?.otherCores >= OTHER_WORK)
    if (disturbed.length) out.push(`Other work on the machine took CPU during some runs (\"other CPU\", in cores): ${disturbed.map((p) => `${p.label} ${p.values.otherCores.toFixed(2)}`).join(', ')}; those figures are less certain.`, '')
    const withErrors = result.peers.filter((p) => p.errorDetail)
    for (const p of withErrors) out.push(`- ${p.label}: wrk counted errors: ${JSON.stringify(p.errorDetail)}`)
    if (withErrors.length) out.push('')
    out.push('<details><summary>Commands</summary>', '', '```sh')
    for (const [id, cmd] of Object.entries(result.commands.servers ?? {})) out.push(`# ${PEERS[id].label}`, cmd)
    for (const key of ['wrk', 'warmup', 'client']) if (result.commands[key]) out.push(`# ${key}`, result.commands[key])
    for (const c of result.commands.clients ?? []) out.push('# client', c)
    if (result.commands.tls) out.push('# certificate', result.commands.tls)
    out.push('```', '', '</details>', '')
  }
  return out.join('\n')
}

/** latest.json as it was (scenarios of earlier runs are kept unless `fresh`). */
export function loadPrevious(resultsDir, fresh) {
  const file = path.join(resultsDir, 'latest.json')
  if (fresh || !existsSync(file)) return { scenarios: {} }
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8'))
    return { scenarios: doc.scenarios ?? {} }
  } catch {
    return { scenarios: {} }
  }
}

/** Write latest.json, latest.md and the charts of the scenarios measured in this run. */
export function writeResults(resultsDir, doc, measuredIds) {
  doc.targets = evaluateTargets(doc.scenarios) // latest.md states them from here
  writeFileSync(path.join(resultsDir, 'latest.json'), JSON.stringify(doc, null, 2) + '\n')
  writeFileSync(path.join(resultsDir, 'latest.md'), markdown(doc))
  for (const scenario of SCENARIOS) {
    if (measuredIds.includes(scenario.id) && doc.scenarios[scenario.id]) writeCharts(resultsDir, doc.scenarios[scenario.id], scenario, doc.machine)
  }
}
