// The many-connections check: N keep-alive connections that each had one request answered are
// held open; meanwhile a new client must be answered quickly; once they close, the server's open
// connections, pool and RSS must come back to where they were, and a second round must not need
// more memory than the first.
import net from 'node:net'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * One GET /hello on a new connection; resolves { socket, ms } once the whole answer is in
 * (time from connect() to the last byte). The socket stays open (keep-alive) unless `close`.
 */
export function helloOnNewConnection(port, { close = false, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const s = net.connect(port, '127.0.0.1')
    let got = ''
    const timer = setTimeout(() => {
      s.destroy()
      reject(new Error(`no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    s.setEncoding('latin1')
    s.once('connect', () => s.write('GET /hello HTTP/1.1\r\nHost: soak\r\n\r\n'))
    s.on('data', (d) => {
      got += d
      if (!got.endsWith('\r\n\r\nhello\n')) return
      clearTimeout(timer)
      s.removeAllListeners('data')
      if (!got.startsWith('HTTP/1.1 200 ')) return reject(new Error(`answer ${JSON.stringify(got.slice(0, 40))}`))
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (close) s.destroy()
      resolve({ socket: s, ms })
    })
    s.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** Poll `probe()` until `ok(value)` or `ms` pass; resolves the last value. */
export async function settle(probe, ok, ms, every = 250) {
  const until = Date.now() + ms
  let v = await probe()
  while (!ok(v) && Date.now() < until) {
    await sleep(every)
    v = await probe()
  }
  return v
}

/**
 * Open `count` connections that each get one answer and stay open; resolves { sockets, openMs }
 * and notes connections that could not be made in `failures`.
 */
async function openMany(server, count, failures) {
  const sockets = []
  const t0 = Date.now()
  // `batch` at a time: within the listen backlog, and each waits for its answer.
  const batch = 200
  let refused = 0
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i)
    const made = await Promise.allSettled(Array.from({ length: n }, () => helloOnNewConnection(server.port)))
    for (const r of made) {
      if (r.status === 'fulfilled') sockets.push(r.value.socket)
      else if (++refused <= 5) failures.push(`connection ${i}: ${r.reason?.code ?? ''} ${r.reason?.message ?? r.reason}`)
    }
  }
  if (refused > 5) failures.push(`${refused} connections in all could not be made`)
  return { sockets, openMs: Date.now() - t0 }
}

/** Close them, and wait for the server to see every one gone and its pool idle. */
async function closeMany(server, sockets, failures) {
  for (const s of sockets) s.destroy()
  const after = await settle(
    () => server.stats(),
    (s) => s.native.openConnections === 0 && s.pool.idle === s.pool.size && s.pool.qsize === 0,
    30_000,
  )
  if (after.native.openConnections !== 0) failures.push(`${after.native.openConnections} connections still open 30 s after the client closed all of them`)
  if (after.pool.idle !== after.pool.size || after.pool.qsize !== 0) failures.push(`pool not back: ${JSON.stringify(after.pool)}`)
  return after
}

/**
 * Run the check against `server` (a ServerChild whose idle timeout outlasts the check): two
 * rounds of `count` connections. Round one gives RSS per connection and the new-client latency;
 * after it, RSS must be back within `rssReturn` of where it started. Round two must not hold
 * more than round one did (beyond `rssReturn`): memory kept once and reused is not a leak,
 * memory kept per connection is. Resolves { figures, failures }.
 */
export async function manyConnections(server, { count, latencyLimitMs = 100, rssReturn = 0.1, log = () => {} }) {
  const failures = []
  // Warm up so that the baseline includes what any first requests allocate.
  for (let i = 0; i < 20; i++) await helloOnNewConnection(server.port, { close: true })
  await sleep(1000)
  const rssBefore = await server.rss()
  const { sockets, openMs } = await openMany(server, count, failures)
  log(`${sockets.length} connections open in ${openMs} ms`)
  await sleep(1000)
  const held = await server.stats()
  const rssHeld = await server.rss()
  if (held.native.openConnections < sockets.length) failures.push(`the server counts ${held.native.openConnections} open connections while the client holds ${sockets.length}`)
  // A new client while they are all held: several probes, judged by the median, so that one
  // unlucky scheduling tick on a shared machine is not taken for the server's doing.
  const probes = []
  for (let i = 0; i < 15; i++) {
    probes.push((await helloOnNewConnection(server.port, { close: true })).ms)
    await sleep(50)
  }
  const probeMedian = median(probes)
  if (probeMedian > latencyLimitMs) failures.push(`a new client took ${probeMedian.toFixed(1)} ms (median of ${probes.length}) to be answered with ${sockets.length} connections open, over ${latencyLimitMs} ms`)
  const after = await closeMany(server, sockets, failures)
  // Memory freed by the server may take a moment to go back to the system; the C allocator
  // keeps most of it (10,000 small frees leave no free block at the top of its heap to give
  // back). What must hold is that it is reused, not leaked: a second round of as many
  // connections may not hold more than the first (checked below), and RSS after they closed
  // may not exceed what they held.
  const rssAfter = await settle(
    () => server.rss(),
    (r) => r <= rssBefore * (1 + rssReturn),
    10_000,
    1000,
  )
  if (rssAfter > rssHeld * (1 + rssReturn)) failures.push(`RSS ${mib(rssAfter)} after the connections closed, over the ${mib(rssHeld)} they held`)
  const again = await openMany(server, count, failures)
  await sleep(1000)
  const rssHeldAgain = await server.rss()
  await closeMany(server, again.sockets, failures)
  const rssAfterAgain = await server.rss()
  if (rssHeldAgain > rssHeld * (1 + rssReturn)) failures.push(`a second round of ${again.sockets.length} connections held ${mib(rssHeldAgain)}, over the first round's ${mib(rssHeld)} + ${rssReturn * 100}%`)
  const figures = {
    connections: sockets.length,
    openMs,
    rssBefore,
    rssHeld,
    rssAfter,
    rssHeldAgain,
    rssAfterAgain,
    rssPerConnection: sockets.length ? (rssHeld - rssBefore) / sockets.length : 0,
    newClientMs: { median: probeMedian, max: Math.max(...probes), min: Math.min(...probes) },
    openAfter: after.native.openConnections,
  }
  return { figures, failures }
}

export const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`
