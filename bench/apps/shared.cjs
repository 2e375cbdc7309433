// What every peer serves, so that all of them answer with the same bytes. CommonJS so that the
// gatehouse app module (which app threads may load with require) and the ES module peers under
// node, Bun and Deno can all import it.
'use strict'

/** The hello-world body. */
const HELLO = 'Hello, World!'

/** Scenario "mib": a 1 MiB response from one Buffer made at start-up. */
const MIB = 1024 * 1024

/** Scenario "stream100": 100 chunks of 1 KiB each. */
const STREAM_CHUNKS = 100
const STREAM_CHUNK_SIZE = 1024

/** Scenario "gib": the streamed download, in chunks of 1 MiB. */
const GIB_CHUNK_SIZE = MIB

/** The kinds of app a peer can be started with (`--scenario KIND`). */
const SCENARIOS = ['hello', 'mib', 'echo', 'stream100', 'gib', 'cpu', 'json', 'async1s', 'hello-json']

/** Scenario "async1s": how long the app awaits before it answers (with HELLO). */
const ASYNC_DELAY_MS = 1000

/**
 * Scenario "json": a small JSON API, the same work in every peer. wrk requests these URLs in
 * turn (wrk/json-api.lua gets them in API_PATHS); each answer is about 2 KiB of JSON built for
 * the request. Routes: /api/users/:id (a user and their items), /api/items (a page of items);
 * anything else is a 404.
 */
const API_PATHS = ['/api/users/123?fields=id,name,tags,price,inStock&limit=20', '/api/items?tag=blue&limit=20&offset=40', '/api/users/7?limit=18']
const API_TAGS = ['red', 'green', 'blue', 'amber', 'violet']
const API_ITEM_FIELDS = ['id', 'name', 'tags', 'price', 'inStock', 'updatedAt']

/** The route of an API path: { kind: 'user', id } or { kind: 'items' }, or undefined (404). */
function apiRoute(pathname) {
  if (pathname === '/api/items') return { kind: 'items' }
  const m = /^\/api\/users\/([^/]+)$/.exec(pathname)
  return m ? { kind: 'user', id: m[1] } : undefined
}

function apiInteger(text, fallback, min, max) {
  const n = Number.parseInt(text, 10)
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback
}

/** One item, derived from its number (and the request's tag): every field is computed per request. */
function apiItem(n, tag, fields) {
  const full = {
    id: n,
    name: `item-${n}`,
    tags: tag ? [tag, API_TAGS[n % API_TAGS.length]] : [API_TAGS[n % API_TAGS.length], API_TAGS[(n * 7) % API_TAGS.length]],
    price: ((n * 37) % 10000) / 100,
    inStock: n % 3 !== 0,
    updatedAt: new Date(Date.UTC(2026, 0, 1) + (n % 365) * 86400000).toISOString(),
  }
  if (fields === API_ITEM_FIELDS) return full
  const out = {}
  for (const f of fields) out[f] = full[f]
  return out
}

/**
 * The object a route answers with, built from the query: `query` is a URLSearchParams, or the
 * plain object of strings that a framework's own query parser gives (fastify's request.query).
 * Undefined when the route does not exist (a user id that is not a number).
 */
function apiObject(route, query) {
  const get = typeof query.get === 'function' ? (k) => query.get(k) ?? undefined : (k) => query[k]
  const limit = apiInteger(get('limit'), 20, 1, 100)
  const offset = apiInteger(get('offset'), 0, 0, 1e6)
  const asked = get('fields')
  const fields = asked ? asked.split(',').filter((f) => API_ITEM_FIELDS.includes(f)) : API_ITEM_FIELDS
  const tag = get('tag')
  if (route.kind === 'items') {
    const items = []
    for (let i = 0; i < limit; i++) items.push(apiItem(offset + i, tag, fields))
    return { offset, limit, total: 1e6, tag: tag ?? null, items }
  }
  if (!/^\d{1,9}$/.test(route.id)) return undefined
  const id = Number(route.id)
  const items = []
  for (let i = 0; i < limit; i++) items.push(apiItem(id * 1000 + offset + i, tag, fields))
  return { id, name: `user-${id}`, email: `user${id}@example.com`, roles: id % 2 ? ['admin', 'editor'] : ['viewer'], items }
}

/**
 * The whole work of the JSON API for a server without a router of its own: route on the path,
 * parse the query string (with or without its '?'), build the object, stringify it. The JSON
 * text, or undefined for a 404.
 */
function apiResponse(pathname, search) {
  const route = apiRoute(pathname)
  const object = route && apiObject(route, new URLSearchParams(search ?? ''))
  return object === undefined ? undefined : JSON.stringify(object)
}

/** Bytes of the 1 GiB download: BENCH_GIB_BYTES (a multiple of 1 MiB) or 1 GiB. */
function gibBytes() {
  const v = Number(process.env.BENCH_GIB_BYTES ?? 1024 * MIB)
  if (!Number.isInteger(v) || v <= 0 || v % GIB_CHUNK_SIZE !== 0) throw new Error(`BENCH_GIB_BYTES must be a positive multiple of ${GIB_CHUNK_SIZE}`)
  return v
}

/** PBKDF2 iterations of the CPU-heavy app (the harness calibrates them to about 2 ms). */
function cpuIterations() {
  const v = Number(process.env.BENCH_CPU_ITERATIONS ?? 10000)
  if (!Number.isInteger(v) || v <= 0) throw new Error('BENCH_CPU_ITERATIONS must be a positive integer')
  return v
}

/**
 * Command-line arguments every peer takes:
 *   --port N           where to listen on 127.0.0.1 (0: any free port; the peer prints it)
 *   --scenario KIND    hello | mib | echo | stream100 | gib | cpu | json | async1s
 *   --tls CERT:KEY     serve HTTPS with these PEM files
 *   --idle-timeout S   keep idle keep-alive connections this long (the idle-connection scenario)
 *   --app-threads N    gatehouse only
 *   --rust-only        gatehouse only: the Rust-only responder
 * BENCH_SCENARIO in the environment is the default of --scenario.
 */
function parseArgs(argv) {
  const out = { port: 0, scenario: process.env.BENCH_SCENARIO || 'hello', tls: undefined, idleTimeout: undefined, appThreads: undefined, rustOnly: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--port') out.port = Number(next())
    else if (a === '--scenario') out.scenario = next()
    else if (a === '--tls') {
      const [cert, key] = next().split(':')
      out.tls = { cert, key }
    } else if (a === '--idle-timeout') out.idleTimeout = Number(next())
    else if (a === '--app-threads') out.appThreads = Number(next())
    else if (a === '--rust-only') out.rustOnly = true
    else throw new Error(`unknown argument ${a}`)
  }
  if (!SCENARIOS.includes(out.scenario)) throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')}, got ${out.scenario}`)
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) throw new Error('--port must be 0..65535')
  return out
}

/** The line the harness waits for: the real port and the pid. */
function readyLine(port) {
  return `BENCH_READY ${JSON.stringify({ port, pid: process.pid })}`
}

/** Listen with a node:http(s) server on 127.0.0.1, print the ready line, stop on SIGTERM/SIGINT. */
function listenNode(server, port) {
  server.listen(port, '127.0.0.1', () => console.log(readyLine(server.address().port)))
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      server.close()
      server.closeAllConnections()
      process.exit(0)
    })
  }
}

/**
 * The line a JS thread prints to tell the harness its thread id, so that the JS threads' CPU time
 * can be read from /proc/PID/task/TID (node names its worker threads "node", as its other
 * threads, so they cannot be told apart from outside). Nothing on systems without
 * /proc/thread-self.
 */
function jsThreadLine() {
  try {
    const tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()
    return `BENCH_JS_THREAD ${tid}`
  } catch {
    return undefined
  }
}

/** The line a peer prints (then exits with SKIP_EXIT_CODE) when it cannot run as asked. */
const SKIP_EXIT_CODE = 3
function skipLine(reason) {
  return `BENCH_SKIP ${reason}`
}

module.exports = {
  listenNode,
  HELLO,
  MIB,
  STREAM_CHUNKS,
  STREAM_CHUNK_SIZE,
  GIB_CHUNK_SIZE,
  SCENARIOS,
  SKIP_EXIT_CODE,
  ASYNC_DELAY_MS,
  API_PATHS,
  apiRoute,
  apiObject,
  apiResponse,
  jsThreadLine,
  gibBytes,
  cpuIterations,
  parseArgs,
  readyLine,
  skipLine,
}
