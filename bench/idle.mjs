#!/usr/bin/env node
// RSS per idle keep-alive connection, plain and TLS, without the rest of the benchmark (no wrk,
// no bench packages): the method of scenarios 9 and 18, for measuring a change quickly.
//   node bench/idle.mjs [--connections N] [--peers gatehouse,node] [--only plain|tls]
// Prints the method, then one line per transport and peer. The server inherits the environment
// (MALLOC_ARENA_MAX=2 node bench/idle.mjs, to see what glibc's arenas account for).
import { rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { IDLE_WARMUP_CONNECTIONS, IDLE_WARMUP_REQUESTS, measureIdle, startPeer } from './lib/measure.mjs'
import { stopGroup } from './lib/procs.mjs'
import { PEERS, peerLabel } from './lib/scenarios.mjs'
import { ensureGatehouse, makeCertificate } from './lib/setup.mjs'

const benchDir = path.dirname(fileURLToPath(import.meta.url))

const HELP = `Usage: node bench/idle.mjs [options]

  --connections N   idle connections held (default 2000)
  --peers LIST      comma-separated peers (default gatehouse,node; see npm run bench -- --list)
  --only KIND       plain or tls (default both)
  -h, --help        this help`

function parseArgs(argv) {
  const o = { connections: 2000, peers: ['gatehouse', 'node'], kinds: ['plain', 'tls'] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--connections') o.connections = Number(value())
    else if (a === '--peers') o.peers = value().split(',').filter(Boolean)
    else if (a === '--only') o.kinds = [value()]
    else if (a === '-h' || a === '--help') o.help = true
    else throw new Error(`unknown option ${a} (see --help)`)
  }
  if (!Number.isInteger(o.connections) || o.connections < 1 || o.connections > 20000) throw new Error('--connections: a whole number 1..20000')
  for (const p of o.peers) if (!(p in PEERS) || PEERS[p].runtime !== 'node') throw new Error(`--peers: ${p} is not a node peer (bench/lib/scenarios.mjs)`)
  for (const k of o.kinds) if (k !== 'plain' && k !== 'tls') throw new Error('--only: plain or tls')
  return o
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.help) return console.log(HELP)
  ensureGatehouse(path.dirname(benchDir))
  const tls = opts.kinds.includes('tls') ? makeCertificate() : undefined
  if (opts.kinds.includes('tls') && !tls) throw new Error('TLS needs openssl (for a self-signed certificate)')
  process.on('exit', () => tls && rmSync(tls.dir, { recursive: true, force: true }))
  const ctx = { benchDir, tls, bins: {}, cpuIterations: 10000, gibBytes: 0, skipCache: new Map() }
  console.log(`node ${process.version}; MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '(unset)'}`)
  console.log(
    `method: a fresh server per line; ${IDLE_WARMUP_CONNECTIONS} keep-alive connections make ${IDLE_WARMUP_REQUESTS} requests each and close (warm-up); ` +
      `VmRSS of the server process (/proc/PID/status, median of 5 readings 200 ms apart); a separate node process ` +
      `opens ${opts.connections} keep-alive connections, each makes one GET and reads its answer, then stays open idle; ` +
      `2 s later VmRSS again; KiB/conn = (after - before) / connections still open`,
  )
  for (const kind of opts.kinds) {
    const scenario = { app: 'hello', tls: kind === 'tls' }
    for (const id of opts.peers) {
      const label = `${kind.padEnd(5)} ${peerLabel(id, scenario)}`
      const r = await startPeer(id, scenario, ctx, { idleTimeout: 120 })
      if (!r.server) {
        console.log(`${label.padEnd(24)} ${r.status}: ${r.reason}`)
        continue
      }
      try {
        const v = await measureIdle(r.server, ctx, opts.connections, scenario.tls)
        console.log(`${label.padEnd(24)} ${v.kibPerConn.toFixed(2).padStart(6)} KiB/conn   RSS ${(v.rssBeforeMiB).toFixed(1)} -> ${v.rssAfterMiB.toFixed(1)} MiB, ${v.held} held`)
      } catch (e) {
        console.log(`${label.padEnd(24)} failed: ${e.message}`)
      } finally {
        await stopGroup(r.server.child)
      }
    }
  }
}

main().catch((e) => {
  console.error(e.message)
  process.exit(1)
})
