// Child processes: every server and client runs in its own process group so that it can be
// killed with everything it started. Every group started here is killed when the harness exits,
// whatever the reason.
import { spawn } from 'node:child_process'

const FD_LIMIT = 65536
const live = new Set()

function killGroupNow(child, signal) {
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

function killAllNow() {
  for (const child of live) killGroupNow(child, 'SIGKILL')
  live.clear()
}

process.on('exit', killAllNow)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: killing ${live.size} child process group(s)`)
    killAllNow()
    process.exit(130)
  })
}

/**
 * Start `cmd args` in a new process group, through a shell that raises the open-file limit
 * first (and then execs, so the pid is the command's own).
 */
export function spawnGroup(cmd, args, { cwd, env, stdin = 'ignore' } = {}) {
  const raise = `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`
  const child = spawn('sh', ['-c', raise, 'sh', cmd, ...args], {
    cwd,
    env: env ?? process.env,
    detached: true,
    stdio: [stdin, 'pipe', 'pipe'],
  })
  live.add(child)
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child)
      resolve({ code, signal })
    })
  })
  child.on('error', () => live.delete(child))
  return child
}

/** Keeps the last `max` characters of a stream, and calls `onLine` for each line. */
export function collect(stream, { max = 8192, onLine } = {}) {
  let tail = ''
  let partial = ''
  stream.setEncoding('utf8')
  stream.on('data', (text) => {
    tail = (tail + text).slice(-max)
    if (!onLine) return
    partial += text
    let nl
    while ((nl = partial.indexOf('\n')) !== -1) {
      onLine(partial.slice(0, nl))
      partial = partial.slice(nl + 1)
    }
  })
  return () => tail
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** SIGTERM to the group, then SIGKILL if it has not exited within `graceMs`. */
export async function stopGroup(child, graceMs = 3000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  killGroupNow(child, 'SIGTERM')
  const exited = await Promise.race([child.exited.then(() => true), delay(graceMs).then(() => false)])
  if (!exited) {
    killGroupNow(child, 'SIGKILL')
    await Promise.race([child.exited, delay(graceMs)])
  }
  // Whatever the leader did, nothing of its group may outlive it.
  killGroupNow(child, 'SIGKILL')
  live.delete(child)
}

/**
 * Start a peer server and wait for its BENCH_READY line (or BENCH_SKIP, or an early exit).
 * Resolves with { child, pid, port, jsThreads } or { skipped: reason } or { failed: reason }.
 * jsThreads: the thread ids the server's JS threads announced (BENCH_JS_THREAD lines, also
 * those printed later, as app threads start); empty when none did: then the JS thread is the
 * main thread (tid = pid).
 */
export async function startServer({ cmd, args, cwd, env, timeoutMs = 30000 }) {
  const child = spawnGroup(cmd, args, { cwd, env })
  let settle
  const outcome = new Promise((resolve) => (settle = resolve))
  const jsThreads = new Set()
  const onLine = (line) => {
    if (line.startsWith('BENCH_READY ')) {
      const { port, pid } = JSON.parse(line.slice('BENCH_READY '.length))
      settle({ child, port, pid, jsThreads })
    } else if (line.startsWith('BENCH_SKIP ')) {
      settle({ skipped: line.slice('BENCH_SKIP '.length) })
    } else if (line.startsWith('BENCH_JS_THREAD ')) {
      jsThreads.add(Number(line.slice('BENCH_JS_THREAD '.length)))
    }
  }
  const stdout = collect(child.stdout, { onLine })
  const stderr = collect(child.stderr)
  child.output = () => (stdout() + stderr()).trim()
  child.exited.then(({ code, signal }) => settle({ failed: `exited (code ${code}, signal ${signal}) before it was ready: ${child.output().slice(-600)}` }))
  const timer = setTimeout(() => settle({ failed: `not ready within ${timeoutMs / 1000} s: ${child.output().slice(-600)}` }), timeoutMs)
  const result = await outcome
  clearTimeout(timer)
  if (!result.child) await stopGroup(child)
  return result
}

/**
 * Run a command to completion (in its own group, killed after `timeoutMs`), collecting output.
 * Resolves with { code, signal, stdout, stderr, timedOut }.
 */
export async function runToEnd(cmd, args, { cwd, env, timeoutMs, maxOutput = 1 << 20, onSpawn } = {}) {
  const child = spawnGroup(cmd, args, { cwd, env })
  if (onSpawn) onSpawn(child)
  const stdout = collect(child.stdout, { max: maxOutput })
  const stderr = collect(child.stderr, { max: maxOutput })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroupNow(child, 'SIGKILL')
  }, timeoutMs)
  const { code, signal } = await child.exited
  clearTimeout(timer)
  killGroupNow(child, 'SIGKILL')
  return { code, signal, stdout: stdout(), stderr: stderr(), timedOut }
}

export { delay }
