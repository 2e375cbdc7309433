#!/usr/bin/env node
// `npm run fuzz -- --minutes N --seed S`: fuzz a gatehouse server for N minutes with mutated
// requests (see fuzz-lib.mjs). The server runs in a child process so that a crash is seen and
// survived: any input after which the server crashed, stopped answering a normal request, or
// answered with malformed bytes is saved to fuzz-crashes/ (with a .txt saying why), and the
// server is restarted. Bounded by time and by --iterations; traffic goes to 127.0.0.1 only.
//
//   node scripts/fuzz.mjs [--minutes 1] [--seed S] [--iterations 10000000] [--workers 8]
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

import { FUZZ_OPTIONS, fuzzApp, iterate, prng } from './fuzz-lib.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..')

function parseArgs(argv) {
  const out = { minutes: 1, seed: undefined, iterations: 10_000_000, workers: 8, serve: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--minutes') out.minutes = Number(value())
    else if (a === '--seed') out.seed = Number(value())
    else if (a === '--iterations') out.iterations = Number(value())
    else if (a === '--workers') out.workers = Number(value())
    else if (a === '--serve') out.serve = true
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/fuzz.mjs [--minutes N] [--seed S] [--iterations N] [--workers N]')
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  if (!(out.minutes > 0 && out.minutes <= 24 * 60)) throw new Error('--minutes must be between 0 and 1440')
  if (!(Number.isInteger(out.iterations) && out.iterations > 0)) throw new Error('--iterations must be a positive integer')
  if (!(Number.isInteger(out.workers) && out.workers > 0 && out.workers <= 64)) throw new Error('--workers must be 1..64')
  if (out.seed !== undefined && !Number.isInteger(out.seed)) throw new Error('--seed must be an integer')
  return out
}

/** The child: a server on 127.0.0.1, its port on stdout; it lives until stdin closes. */
async function serve() {
  const require = createRequire(import.meta.url)
  const { Server } = require(path.join(root, 'dist/cjs/index.js'))
  let server
  server = new Server(['127.0.0.1', 0], fuzzApp(() => server), { ...FUZZ_OPTIONS, errors: { write() {}, flush() {} } })
  await server.start()
  process.stdout.write(`PORT ${server.bindAddr[1]}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => server.stop().then(() => process.exit(0)))
}

/** Start the child server; resolves { child, port, exited, stderr() }. */
function startChild() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let tail = ''
    child.stderr.on('data', (d) => {
      tail = (tail + d.toString()).slice(-4096)
    })
    const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })))
    const lines = readline.createInterface({ input: child.stdout })
    lines.once('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line)
      if (!m) return reject(new Error(`the fuzz server said ${JSON.stringify(line)}`))
      resolve({ child, port: Number(m[1]), exited, stderr: () => tail })
    })
    child.once('error', reject)
    exited.then(({ code, signal }) => reject(new Error(`the fuzz server exited before listening (${code ?? signal}): ${tail}`)))
  })
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.serve) return serve()
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32)
  const outDir = path.join(root, 'fuzz-crashes')
  console.log(`fuzzing for ${opts.minutes} min (at most ${opts.iterations} iterations), seed ${seed}, ${opts.workers} workers`)
  console.log(`reproduce: npm run fuzz -- --seed ${seed} --minutes ${opts.minutes} --workers ${opts.workers}`)

  let current = await startChild()
  let restarting = null
  let crashedAt = null
  const inFlight = new Map()
  let saved = 0
  let stopping = false
  let iterations = 0
  let panics = null
  const deadline = Date.now() + opts.minutes * 60_000

  const save = (worker, n, input, reason, answer) => {
    if (saved >= 100) return
    fs.mkdirSync(outDir, { recursive: true })
    const base = path.join(outDir, `${seed}-w${worker}-${n}`)
    fs.writeFileSync(`${base}.bin`, input)
    fs.writeFileSync(`${base}.txt`, `seed ${seed}, worker ${worker}, iteration ${n}\n${reason}\ninput (latin-1, JSON): ${JSON.stringify(input.toString('latin1'))}\nanswer: ${JSON.stringify((answer ?? Buffer.alloc(0)).subarray(0, 1024).toString('latin1'))}\n`)
    saved++
    console.log(`saved ${base}.bin: ${reason}`)
  }

  /** Replace a crashed or wedged server; every worker waits for the new one. */
  const restart = (why) => {
    if (restarting) return restarting
    restarting = (async () => {
      console.log(`restarting the server: ${why}`)
      try {
        current.child.kill('SIGKILL')
      } catch {
        // already gone
      }
      await current.exited
      current = await startChild()
      panics = null
      restarting = null
    })()
    return restarting
  }

  const watched = new WeakSet()
  const watch = (c) => {
    if (watched.has(c)) return
    watched.add(c)
    void c.exited.then(({ code, signal }) => {
      if (c !== current || restarting || stopping) return
      crashedAt = Date.now()
      const reason = `the server process exited (code ${code}, signal ${signal}); stderr: ${c.stderr().slice(-1000)}`
      for (const [w, f] of inFlight) save(w, f.n, f.input, reason)
      void restart('crash').then(() => watch(current))
    })
  }
  watch(current)

  await Promise.all(
    Array.from({ length: opts.workers }, async (_, w) => {
      const rng = prng(seed + w * 0x9e3779b9)
      let n = 0
      while (Date.now() < deadline && iterations < opts.iterations && saved < 100) {
        if (restarting) await restarting
        n++
        iterations++
        const port = current.port
        const r = await iterate(rng, port, panics, (input) => inFlight.set(w, { n, input }))
        inFlight.delete(w)
        if (crashedAt !== null && Date.now() - crashedAt < 5000) continue
        if (r.panics !== null && r.panics !== undefined) panics = r.panics
        if (r.failure) {
          const { exitCode, signalCode } = current.child
          const died = exitCode !== null || signalCode !== null ? ` (the server process exited: code ${exitCode}, signal ${signalCode}; stderr: ${current.stderr().slice(-1000)})` : ''
          save(w, n, r.input, r.failure + died, r.answer)
          if (/health check|did not close|panic/.test(r.failure)) await restart(r.failure).then(() => watch(current))
        }
      }
    }),
  )
  stopping = true
  current.child.stdin.end()
  await Promise.race([current.exited, new Promise((r) => setTimeout(r, 3000))])
  if (current.child.exitCode === null) current.child.kill('SIGKILL')
  console.log(`done: ${iterations} iterations, ${saved} inputs saved${saved ? ` in ${outDir}` : ''}, seed ${seed}`)
  process.exitCode = saved > 0 ? 1 : 0
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e)
  process.exitCode = 2
})
