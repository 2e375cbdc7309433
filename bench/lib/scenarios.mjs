// The peers and the scenarios: what is measured, against what, and how it is reported.
import shared from '../apps/shared.cjs'

/**
 * The servers compared. `check` names a probe that must pass before a gatehouse peer is
 * measured: 'workers' (the app really runs in worker threads) or 'rust' (the Rust-only responder
 * really answers, not the JS app). `env`: added to the peer's environment.
 */
export const PEERS = {
  gatehouse: { label: 'gatehouse', runtime: 'node', file: 'apps/gatehouse.cjs', family: 'gatehouse' },
  'gatehouse-app1': { label: 'gatehouse appThreads:1', runtime: 'node', file: 'apps/gatehouse.cjs', args: ['--app-threads', '1'], family: 'gatehouse', check: 'workers' },
  'gatehouse-app2': { label: 'gatehouse appThreads:2', runtime: 'node', file: 'apps/gatehouse.cjs', args: ['--app-threads', '2'], family: 'gatehouse', check: 'workers' },
  'gatehouse-rust': { label: 'gatehouse Rust-only', runtime: 'node', file: 'apps/gatehouse.cjs', args: ['--rust-only'], family: 'gatehouse', check: 'rust' },
  node: { label: 'node:http', tlsLabel: 'node:https', runtime: 'node', file: 'apps/node-http.mjs', baseline: true },
  fastify: { label: 'fastify', runtime: 'node', file: 'apps/fastify.mjs' },
  bun: { label: 'Bun.serve', runtime: 'bun', file: 'apps/bun.mjs' },
  deno: { label: 'Deno.serve', runtime: 'deno', file: 'apps/deno.mjs' },
  uws: { label: 'uWebSockets.js', runtime: 'node', file: 'apps/uws.mjs' },
  // A pool far above any connection count here: how far gatehouse's defaults are from a tuned
  // server (issue 11 wants them within 5% in scenarios 1 and 3).
  'gatehouse-tuned': { label: 'gatehouse tuned', runtime: 'node', file: 'apps/gatehouse.cjs', env: { BENCH_NUMTHREADS: '1024' }, family: 'gatehouse' },
  // The framework scenarios (issue 13): the same Hono and Express apps on each server.
  'hono-gatehouse': { label: 'Hono on gatehouse', runtime: 'node', file: 'apps/hono-gatehouse.mjs', family: 'gatehouse' },
  'hono-node': { label: 'Hono on @hono/node-server', runtime: 'node', file: 'apps/hono-node.mjs' },
  'hono-bun': { label: 'Hono on Bun.serve', runtime: 'bun', file: 'apps/hono-bun.mjs' },
  'hono-deno': { label: 'Hono on Deno.serve', runtime: 'deno', file: 'apps/hono-deno.mjs' },
  'express-gatehouse': { label: 'Express 5 on gatehouse', runtime: 'node', file: 'apps/express-gatehouse.cjs', family: 'gatehouse' },
  'express-node': { label: 'Express 5 on node:http', runtime: 'node', file: 'apps/express-node.mjs' },
}

/** Cores used by other work during a run above which the run is flagged as disturbed. */
export const OTHER_WORK = 0.25

/** The baseline every ratio is taken against. */
export const BASELINE = 'node'

const HELLO_PEERS = ['gatehouse', 'gatehouse-app2', 'gatehouse-rust', 'node', 'fastify', 'bun', 'deno', 'uws']
const APP_PEERS = ['gatehouse', 'gatehouse-app2', 'node', 'fastify', 'bun', 'deno', 'uws']
const MEMORY_PEERS = ['gatehouse', 'node', 'fastify', 'bun', 'deno']
const HONO_PEERS = ['hono-gatehouse', 'hono-node', 'hono-bun', 'hono-deno']
const HONO_COMPARE = [['hono-gatehouse', 'hono-node'], ['hono-gatehouse', 'hono-deno'], ['hono-gatehouse', 'hono-bun']]
const EXPRESS_PEERS = ['express-gatehouse', 'express-node']
const EXPRESS_COMPARE = [['express-gatehouse', 'express-node']]

// Metrics: `better` says which way is good; charts plot peer / node:http.
const RPS = { key: 'rps', label: 'requests/s', better: 'higher', unit: '' }
const P50 = { key: 'p50', label: 'p50 latency', better: 'lower', unit: 'ms' }

const WRK_COLUMNS = [
  { key: 'rps', label: 'req/s', format: 'int' },
  { key: 'p50', label: 'p50 ms', format: 'ms' },
  { key: 'p99', label: 'p99 ms', format: 'ms' },
  { key: 'errors', label: 'errors', format: 'int' },
  { key: 'serverCores', label: 'server CPU', format: 'f2' },
  { key: 'cpuUsPerReq', label: 'CPU µs/req', format: 'f2' },
  { key: 'jsUsPerReq', label: 'JS µs/req', format: 'f2' },
  { key: 'otherCores', label: 'other CPU', format: 'f2' },
]

const IDLE_METRICS = [{ key: 'kibPerConn', label: 'KiB of RSS per idle connection', better: 'lower', unit: 'KiB' }]
const IDLE_COLUMNS = [
  { key: 'kibPerConn', label: 'KiB/conn', format: 'f1' },
  { key: 'rssBeforeMiB', label: 'RSS before MiB', format: 'f1' },
  { key: 'rssAfterMiB', label: 'RSS held MiB', format: 'f1' },
  { key: 'held', label: 'held', format: 'int' },
]

/**
 * compare: pairs of peers whose ratio (of the first metric) the report states as well, besides the
 * ratios to node:http (the targets of issue 6 are such ratios).
 * kind 'wrk': wrk -t1 against every peer in turn. app: what the peers serve (apps/*: --scenario).
 * kind 'idle': RSS per idle keep-alive connection (over TLS with `tls`). kind 'gib': RSS growth over 1 GiB each way.
 * kind 'burst': `connections` requests at once from a client process, the time until all are answered.
 */
export const SCENARIOS = [
  { n: 1, id: 'hello-c64', title: 'hello world, keep-alive, 64 connections', kind: 'wrk', app: 'hello', connections: 64, peers: [...HELLO_PEERS, 'gatehouse-tuned'], metrics: [RPS], columns: WRK_COLUMNS, compare: [['gatehouse', 'gatehouse-rust'], ['gatehouse', 'deno']] },
  { n: 2, id: 'hello-c1', title: 'hello world, 1 connection (latency)', kind: 'wrk', app: 'hello', connections: 1, peers: HELLO_PEERS, metrics: [P50], columns: WRK_COLUMNS },
  { n: 3, id: 'pipelined-c64', title: 'pipelined, 16 requests per write, 64 connections', kind: 'wrk', app: 'hello', connections: 64, script: 'wrk/pipeline.lua', env: { PIPELINE_DEPTH: '16' }, peers: [...HELLO_PEERS, 'gatehouse-tuned'], metrics: [RPS], columns: WRK_COLUMNS, compare: [['gatehouse', 'deno']] },
  { n: 4, id: 'close-c16', title: 'no keep-alive (Connection: close), 16 connections', kind: 'wrk', app: 'hello', connections: 16, headers: ['Connection: close'], peers: HELLO_PEERS, metrics: [RPS], columns: WRK_COLUMNS },
  { n: 5, id: 'mib-c16', title: '1 MiB response from a Buffer, 16 connections', kind: 'wrk', app: 'mib', connections: 16, peers: APP_PEERS, metrics: [RPS], columns: WRK_COLUMNS },
  { n: 6, id: 'post64k-c16', title: '64 KiB POST echoed back (the app reads wsgi.input), 16 connections', kind: 'wrk', app: 'echo', connections: 16, script: 'wrk/post-64k.lua', peers: APP_PEERS, metrics: [RPS], columns: WRK_COLUMNS },
  { n: 7, id: 'stream100-c16', title: 'streamed response of 100 chunks of 1 KiB, 16 connections', kind: 'wrk', app: 'stream100', connections: 16, peers: APP_PEERS, metrics: [RPS], columns: WRK_COLUMNS },
  { n: 8, id: 'tls-c64', title: 'TLS 1.3 hello world, keep-alive, 64 connections', kind: 'wrk', app: 'hello', tls: true, connections: 64, peers: APP_PEERS, metrics: [RPS], columns: WRK_COLUMNS },
  {
    n: 9,
    id: 'idle-conns',
    title: 'memory: RSS per idle keep-alive connection, 5,000 held',
    kind: 'idle',
    app: 'hello',
    connections: 5000,
    peers: MEMORY_PEERS,
    metrics: IDLE_METRICS,
    columns: IDLE_COLUMNS,
  },
  {
    n: 10,
    id: 'gib',
    title: 'memory: 1 GiB streamed out and 1 GiB uploaded, RSS growth',
    kind: 'gib',
    app: 'gib',
    peers: MEMORY_PEERS,
    metrics: [
      { key: 'outGrowthMiB', label: 'RSS growth streaming 1 GiB out', better: 'lower', unit: 'MiB' },
      { key: 'inGrowthMiB', label: 'RSS growth reading a 1 GiB upload', better: 'lower', unit: 'MiB' },
    ],
    columns: [
      { key: 'outGrowthMiB', label: 'out: growth MiB', format: 'f1' },
      { key: 'outMiBps', label: 'out MiB/s', format: 'int' },
      { key: 'inGrowthMiB', label: 'in: growth MiB', format: 'f1' },
      { key: 'inMiBps', label: 'in MiB/s', format: 'int' },
    ],
  },
  { n: 11, id: 'cpu-c16', title: 'CPU-heavy app (about 2 ms of PBKDF2 per request), 16 connections', kind: 'wrk', app: 'cpu', connections: 16, peers: ['gatehouse', 'gatehouse-app1', 'gatehouse-app2', 'node'], metrics: [RPS], columns: WRK_COLUMNS, compare: [['gatehouse-app2', 'gatehouse-app1']] },
  // wrk/json-api.lua requests shared.API_PATHS in turn; the probe checks the first one's bytes.
  { n: 12, id: 'json-c64', title: 'JSON API (route, parse the query, about 2 KiB of JSON built per request), 64 connections', kind: 'wrk', app: 'json', connections: 64, script: 'wrk/json-api.lua', env: { API_PATHS: shared.API_PATHS.join(' ') }, peers: APP_PEERS, metrics: [RPS], columns: WRK_COLUMNS },
  {
    n: 13,
    id: 'async1s-c200',
    title: '200 requests at once to an app that awaits 1 s: time until all are answered',
    kind: 'burst',
    app: 'async1s',
    connections: 200,
    peers: ['gatehouse', 'node'],
    metrics: [{ key: 'seconds', label: 'seconds until all 200 are answered', better: 'lower', unit: 's' }],
    columns: [
      { key: 'seconds', label: 'all answered s', format: 'f2' },
      { key: 'p50', label: 'p50 s', format: 'f2' },
      { key: 'ok', label: 'answered', format: 'int' },
      { key: 'failed', label: 'failed', format: 'int' },
    ],
  },
  // Frameworks: `baseline` is the framework's usual Node server, the ratios are to it.
  { n: 14, id: 'hono-hello-c64', title: 'Hono, hello world (c.text), keep-alive, 64 connections', kind: 'wrk', app: 'hello', connections: 64, peers: HONO_PEERS, baseline: 'hono-node', metrics: [RPS], columns: WRK_COLUMNS, compare: HONO_COMPARE },
  { n: 15, id: 'hono-json-c64', title: 'Hono, JSON route (c.json), keep-alive, 64 connections', kind: 'wrk', app: 'hello-json', connections: 64, peers: HONO_PEERS, baseline: 'hono-node', metrics: [RPS], columns: WRK_COLUMNS, compare: HONO_COMPARE },
  { n: 16, id: 'express-hello-c64', title: 'Express 5, hello world (res.send), keep-alive, 64 connections', kind: 'wrk', app: 'hello', connections: 64, peers: EXPRESS_PEERS, baseline: 'express-node', metrics: [RPS], columns: WRK_COLUMNS, compare: EXPRESS_COMPARE },
  { n: 17, id: 'express-json-c64', title: 'Express 5, JSON route (res.json), keep-alive, 64 connections', kind: 'wrk', app: 'hello-json', connections: 64, peers: EXPRESS_PEERS, baseline: 'express-node', metrics: [RPS], columns: WRK_COLUMNS, compare: EXPRESS_COMPARE },
  // Issue 17: an idle TLS connection, the same method as scenario 9 (the TLS peers of scenario 8).
  { n: 18, id: 'idle-tls', title: 'memory: RSS per idle TLS 1.3 keep-alive connection, 5,000 held', kind: 'idle', app: 'hello', tls: true, connections: 5000, peers: MEMORY_PEERS, metrics: IDLE_METRICS, columns: IDLE_COLUMNS },
]

/**
 * The targets of issue 11, each stated in the report with the measured value and pass or fail.
 * value: `key` of `peer` in `scenario`, divided by the same of `of` when given; pass when
 * value `op` limit.
 */
export const TARGETS = [
  { what: 'hello c64 req/s ≥ 1.6× node:http', scenario: 'hello-c64', key: 'rps', peer: 'gatehouse', of: 'node', op: '>=', limit: 1.6 },
  { what: "CPU per request (all threads), hello c64 ≤ 0.70× node:http's", scenario: 'hello-c64', key: 'cpuUsPerReq', peer: 'gatehouse', of: 'node', op: '<=', limit: 0.7 },
  { what: 'pipelined req/s ≥ 1.2× Deno.serve', scenario: 'pipelined-c64', key: 'rps', peer: 'gatehouse', of: 'deno', op: '>=', limit: 1.2 },
  { what: 'JS thread µs per request, hello c64 ≤ 2.0', scenario: 'hello-c64', key: 'jsUsPerReq', peer: 'gatehouse', op: '<=', limit: 2.0 },
  { what: 'JSON API req/s ≥ Deno.serve', scenario: 'json-c64', key: 'rps', peer: 'gatehouse', of: 'deno', op: '>=', limit: 1 },
  { what: 'JSON API req/s ≥ 1.5× node:http', scenario: 'json-c64', key: 'rps', peer: 'gatehouse', of: 'node', op: '>=', limit: 1.5 },
  { what: '200 concurrent 1 s async requests finish in ≤ 1.3 s', scenario: 'async1s-c200', key: 'seconds', peer: 'gatehouse', op: '<=', limit: 1.3 },
  { what: 'defaults within 5% of tuned (numthreads 1024), hello c64 req/s', scenario: 'hello-c64', key: 'rps', peer: 'gatehouse', of: 'gatehouse-tuned', op: '>=', limit: 0.95 },
  { what: 'defaults within 5% of tuned (numthreads 1024), pipelined req/s', scenario: 'pipelined-c64', key: 'rps', peer: 'gatehouse', of: 'gatehouse-tuned', op: '>=', limit: 0.95 },
  // Issue 17: the memory of an idle connection.
  { what: 'idle keep-alive connection ≤ 4 KiB of RSS', scenario: 'idle-conns', key: 'kibPerConn', peer: 'gatehouse', op: '<=', limit: 4 },
  { what: 'idle TLS keep-alive connection ≤ 8 KiB of RSS', scenario: 'idle-tls', key: 'kibPerConn', peer: 'gatehouse', op: '<=', limit: 8 },
  // Issue 13: the frameworks on gatehouse against their usual servers.
  { what: 'Hono hello on gatehouse ≥ 1.5× Hono on @hono/node-server', scenario: 'hono-hello-c64', key: 'rps', peer: 'hono-gatehouse', of: 'hono-node', op: '>=', limit: 1.5 },
  { what: 'Hono JSON on gatehouse ≥ 1.5× Hono on @hono/node-server', scenario: 'hono-json-c64', key: 'rps', peer: 'hono-gatehouse', of: 'hono-node', op: '>=', limit: 1.5 },
  { what: 'Hono hello on gatehouse ≥ Hono on Deno.serve', scenario: 'hono-hello-c64', key: 'rps', peer: 'hono-gatehouse', of: 'hono-deno', op: '>=', limit: 1 },
  { what: 'Hono JSON on gatehouse ≥ Hono on Deno.serve', scenario: 'hono-json-c64', key: 'rps', peer: 'hono-gatehouse', of: 'hono-deno', op: '>=', limit: 1 },
  { what: 'Express hello on gatehouse ≥ 1.3× Express on node:http', scenario: 'express-hello-c64', key: 'rps', peer: 'express-gatehouse', of: 'express-node', op: '>=', limit: 1.3 },
  { what: 'Express JSON on gatehouse ≥ 1.3× Express on node:http', scenario: 'express-json-c64', key: 'rps', peer: 'express-gatehouse', of: 'express-node', op: '>=', limit: 1.3 },
]

export function peerLabel(id, scenario) {
  const peer = PEERS[id]
  return scenario.tls && peer.tlsLabel ? peer.tlsLabel : peer.label
}
