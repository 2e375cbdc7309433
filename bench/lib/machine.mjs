// What the numbers were measured on: the machine and the versions of everything measured.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** The first line a command prints (wrk --version exits with 1, so the status is not looked at). */
function firstLine(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd, timeout: 30000 })
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim()
  return r.error || !text ? undefined : text.split('\n')[0]
}

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m) return m[1].trim()
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown'
}

export function machineInfo() {
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  }
}

export function versions({ root, benchDir, bins, wrk }) {
  const pkg = (dir) => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version
  const benchPkg = (name) => {
    try {
      return pkg(path.join(benchDir, 'node_modules', name))
    } catch {
      return undefined // not installed: its peer is skipped
    }
  }
  const sha = firstLine('git', ['rev-parse', '--verify', '-q', 'HEAD'], root)
  const dirty = firstLine('git', ['status', '--porcelain', '--', '.', ':!bench'], root)
  return {
    node: process.version,
    bun: bins.bun ? firstLine(bins.bun, ['--version']) : undefined,
    deno: bins.deno ? firstLine(bins.deno, ['--version']) : undefined,
    fastify: pkg(path.join(benchDir, 'node_modules', 'fastify')),
    uws: benchPkg('@trufflesuite/uws-js-unofficial'),
    wrk: firstLine(wrk, ['--version'])?.replace(/\s+Copyright.*$/, ''),
    gatehouse: `${pkg(root)} (${sha ? sha.slice(0, 12) : 'no git'}${dirty ? ', with uncommitted changes' : ''})`,
    gatehouseSha: sha,
    ioThreads: process.env.GATEHOUSE_IO_THREADS ?? `default (${Math.max(1, (os.availableParallelism ? os.availableParallelism() : os.cpus().length) - 1)})`,
  }
}

/** Clock ticks of all CPUs so far: idle and total. */
export function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  return { idle: f[3] + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) }
}

/** How busy all CPUs were (percent) over the next `ms`: what else runs on the machine. */
export async function cpuBusy(ms = 500) {
  const a = cpuTimes()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const b = cpuTimes()
  return 100 * (1 - (b.idle - a.idle) / Math.max(1, b.total - a.total))
}

/**
 * Before a measurement: wait (at most `maxSeconds`) until the machine is quiet, that is less than
 * `threshold` percent busy over half a second. Resolves with the last reading.
 */
export async function waitQuiet(maxSeconds = 30, threshold = 20) {
  let busy = await cpuBusy()
  for (let waited = 0; busy >= threshold && waited < maxSeconds; waited += 0.5) busy = await cpuBusy()
  return busy
}

/**
 * The fields of a /proc stat file after the command name (which may hold spaces and parentheses):
 * [0] state, [2] pgrp, [11] utime, [12] stime. Undefined when the process or thread is gone.
 */
function statFields(file) {
  let text
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  return text.slice(text.lastIndexOf(') ') + 2).split(' ')
}

/** utime + stime of stat fields, in seconds (clock ticks of USER_HZ = 100). */
function statCpu(fields) {
  return fields ? (Number(fields[11]) + Number(fields[12])) / 100 : 0
}

/** CPU seconds (user + system) a process has used so far: all its threads, also those that ended. */
export function cpuSeconds(pid) {
  const fields = statFields(`/proc/${pid}/stat`)
  if (!fields) throw new Error(`process ${pid} is gone`)
  return statCpu(fields)
}

/**
 * CPU seconds of every process in the process group `pgid` (each process: all its threads): a
 * server and whatever it started, e.g. a runtime behind a launcher. Processes of the group that
 * ended are not counted (none of the peers ends one while it serves).
 */
export function groupCpuSeconds(pgid) {
  let total = 0
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue // not a pid: /proc's other entries start with a letter
    const fields = statFields(`/proc/${name}/stat`)
    if (fields && Number(fields[2]) === pgid) total += statCpu(fields)
  }
  return total
}

/** CPU seconds of some threads of process `pid` (/proc/PID/task/TID/stat); a thread that ended counts 0. */
export function threadsCpuSeconds(pid, tids) {
  let total = 0
  for (const tid of tids) total += statCpu(statFields(`/proc/${pid}/task/${tid}/stat`))
  return total
}
