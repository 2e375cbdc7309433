// wrk: the command line for a measurement, and a parser for its --latency report.
import { cpuSeconds, cpuTimes } from './machine.mjs'
import { runToEnd } from './procs.mjs'

/** wrk's arguments: one thread, so that the server has the rest of the machine. */
export function wrkArgs({ url, connections, seconds, script, headers = [], timeout = '5s' }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', timeout]
  for (const h of headers) args.push('-H', h)
  if (script) args.push('-s', script)
  args.push(url)
  return args
}

/** Quote arguments for a shell, for the record of the exact commands. */
export function shellLine(cmd, args) {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ')
}

const TIME_UNITS = { us: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000 }
const SIZE_UNITS = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }

/** "845.00us" -> 0.845 (milliseconds). */
function toMs(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text)
  if (!m) throw new Error(`wrk: cannot read the duration ${JSON.stringify(text)}`)
  return Number(m[1]) * TIME_UNITS[m[2]]
}

/** "27.45MB" -> bytes. */
function toBytes(text) {
  const m = /^([\d.]+)(B|KB|MB|GB|TB)$/.exec(text)
  if (!m) throw new Error(`wrk: cannot read the size ${JSON.stringify(text)}`)
  return Number(m[1]) * SIZE_UNITS[m[2]]
}

/** Read wrk's report (with --latency). Latencies are in milliseconds. */
export function parseWrk(text) {
  const out = { latency: {}, errors: { connect: 0, read: 0, write: 0, timeout: 0 }, non2xx: 0 }
  const lat = /^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+/m.exec(text)
  if (lat) Object.assign(out.latency, { avg: toMs(lat[1]), stdev: toMs(lat[2]), max: toMs(lat[3]) })
  for (const m of text.matchAll(/^\s+(50|75|90|99)%\s+(\S+)\s*$/gm)) {
    // With pipelining wrk sometimes prints 0.00us for the upper percentiles: it has no value.
    const ms = toMs(m[2])
    out.latency[`p${m[1]}`] = ms === 0 && out.latency.avg > 0 ? null : ms
  }
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), (\S+) read/m.exec(text)
  if (!total) throw new Error(`wrk: no "requests in" line in:\n${text}`)
  out.requests = Number(total[1])
  out.seconds = toMs(total[2] + total[3]) / 1000
  out.bytesRead = toBytes(total[4])
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  if (sock) out.errors = { connect: +sock[1], read: +sock[2], write: +sock[3], timeout: +sock[4] }
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(text)
  if (bad) out.non2xx = Number(bad[1])
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text)
  out.rps = rps ? Number(rps[1]) : out.requests / out.seconds
  return out
}

/**
 * Run wrk once; resolves with the parsed report and the raw text, and with what the machine did
 * meanwhile: `machineCores` (all CPUs busy, in cores) and `wrkCores` (wrk's own share), read just
 * before wrk's end.
 */
export async function runWrk(wrkPath, args, seconds, env = process.env) {
  const startTicks = cpuTimes()
  const started = performance.now()
  let sample
  let timer
  const onSpawn = (child) => {
    timer = setTimeout(() => {
      try {
        const ticks = cpuTimes()
        const elapsed = (performance.now() - started) / 1000
        const busyTicks = ticks.total - startTicks.total - (ticks.idle - startTicks.idle)
        sample = { machineCores: busyTicks / 100 / elapsed, wrkCores: cpuSeconds(child.pid) / elapsed }
      } catch {
        // wrk already ended
      }
    }, Math.max(0, seconds * 1000 - 300))
  }
  const r = await runToEnd(wrkPath, args, { env, timeoutMs: (seconds + 30) * 1000, onSpawn })
  clearTimeout(timer)
  if (r.timedOut) throw new Error(`wrk did not finish within ${seconds + 30} s`)
  if (r.code !== 0) throw new Error(`wrk exited with code ${r.code}: ${(r.stderr + r.stdout).trim().replace(/\s+/g, ' ').slice(0, 300)}`)
  // wrk goes on without a script it cannot load, so any complaint on stderr fails the run.
  if (r.stderr.trim()) throw new Error(`wrk: ${r.stderr.trim().replace(/\s+/g, ' ').slice(0, 300)}`)
  return { ...parseWrk(r.stdout), raw: r.stdout, ...sample }
}
