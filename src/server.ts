/** The Server: options, start/serve/stop, statistics. HTTP itself lives in the Rust core. */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { join, resolve as resolvePath } from 'node:path'
import { Worker } from 'node:worker_threads'

import type { EnvironBase } from './environ'
import { GatehouseError, fromNative } from './errors'
import { Gateway } from './gateway'
import { loadApp } from './load'
import { renderMetrics } from './metrics'
import { binding, type NativeIdentity, type NativePem, type NativeServer, type NativeSsl, type NativeStats } from './native'
import type { App, AppInterface, BindAddr, PemInput, ServerOptions, SslIdentity, SslOptions } from './types'
import type { WorkerData } from './worker'

import { SERVER_SOFTWARE } from './version'

export { SERVER_SOFTWARE }

/**
 * Requests inside the application at once, by default. The original server's 10 are threads,
 * each holding one request; a JavaScript thread runs many requests at once, so a bound that low
 * only makes requests wait for a slot while the thread is free: with 10, 64 keep-alive clients
 * got about 26% fewer requests/s than with 128, and 12 requests that each await 3 s took 6 s.
 * 1024 keeps the pool a bound (past it requests queue, then get 503 past `maxQueue`) without
 * throttling a fast application or serialising slow async ones.
 */
export const DEFAULT_NUMTHREADS = 1024

/** The largest request head the core reads (its ceiling, whatever maxRequestHeaderSize says). */
const HEAD_SIZE_CEILING = 1024 * 1024

function invalid(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_INVALID_OPTION', message)
}

/** The largest count an integer option takes (the native side holds it in 32 bits). */
const MAX_COUNT = 2 ** 31 - 1
/** The longest time an option names: about 31 years (the core refuses more). */
const MAX_SECONDS = 1e9

function integer(name: string, value: unknown, min: number, fallback: number, max = MAX_COUNT): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`invalid ${name}: expected an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

function seconds(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_SECONDS) {
    throw invalid(`invalid ${name}: expected a number of seconds above 0 and at most ${MAX_SECONDS}, got ${String(value)}`)
  }
  return value
}

function pemInput(name: string, value: unknown, required: boolean): PemInput | undefined {
  if (value === undefined || value === null) {
    if (required) throw invalid(`invalid ${name}: required (a PEM file path, PEM text, or a Buffer of PEM text)`)
    return undefined
  }
  if (typeof value === 'string') {
    if (value.length === 0) throw invalid(`invalid ${name}: an empty string`)
    return value
  }
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw invalid(`invalid ${name}: expected a PEM file path, PEM text or a Buffer, got ${typeof value}`)
}

function sslIdentity(name: string, value: unknown): SslIdentity {
  if (typeof value !== 'object' || value === null) throw invalid(`invalid ${name}: expected an object with certificate and privateKey`)
  const v = value as Record<string, unknown>
  const id: SslIdentity = {
    certificate: pemInput(`${name}.certificate`, v.certificate, true) as PemInput,
    privateKey: pemInput(`${name}.privateKey`, v.privateKey, true) as PemInput,
  }
  const chain = pemInput(`${name}.certificateChain`, v.certificateChain, false)
  if (chain !== undefined) id.certificateChain = chain
  return id
}

/** Check `ssl` and fill in its defaults. Paths stay as given; they are resolved when used. */
function sslOptions(value: unknown): SslOptions | undefined {
  if (value === undefined || value === null) return undefined
  const out: SslOptions = sslIdentity('ssl', value)
  const v = value as Record<string, unknown>
  const ca = pemInput('ssl.caCerts', v.caCerts, false)
  if (ca !== undefined) out.caCerts = ca
  const auth = v.clientAuth ?? (ca !== undefined ? 'optional' : 'none')
  if (auth !== 'none' && auth !== 'optional' && auth !== 'required') {
    throw invalid(`invalid ssl.clientAuth: expected 'none', 'optional' or 'required', got ${String(auth)}`)
  }
  if (auth !== 'none' && ca === undefined) {
    throw invalid(`invalid ssl.clientAuth: '${auth}' needs ssl.caCerts, the CA certificates client certificates are checked against`)
  }
  out.clientAuth = auth
  if (v.sni !== undefined && v.sni !== null) {
    if (typeof v.sni !== 'object' || Array.isArray(v.sni)) throw invalid('invalid ssl.sni: expected an object { hostName: { certificate, privateKey } }')
    const sni: Record<string, SslIdentity> = {}
    for (const [host, id] of Object.entries(v.sni as Record<string, unknown>)) {
      if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(host)) {
        throw invalid(`invalid ssl.sni: ${JSON.stringify(host)} is not a host name (or *.domain)`)
      }
      sni[host] = sslIdentity(`ssl.sni[${JSON.stringify(host)}]`, id)
    }
    out.sni = sni
  }
  return out
}

/** PEM text when the value is PEM (a Buffer, or a string with a BEGIN line), else a path. */
function nativePem(value: PemInput): NativePem {
  if (typeof value !== 'string') return { pem: Buffer.from(value).toString('latin1') }
  if (value.includes('-----BEGIN ')) return { pem: value }
  return { path: resolvePath(value) }
}

function nativeIdentity(id: SslIdentity): NativeIdentity {
  const out: NativeIdentity = { certificate: nativePem(id.certificate), privateKey: nativePem(id.privateKey) }
  if (id.certificateChain !== undefined) out.certificateChain = nativePem(id.certificateChain)
  return out
}

function nativeSsl(ssl: SslOptions): NativeSsl {
  const out: NativeSsl = {
    identity: nativeIdentity(ssl),
    clientAuth: ssl.clientAuth ?? 'none',
    sni: Object.entries(ssl.sni ?? {}).map(([host, id]) => ({ host, identity: nativeIdentity(id) })),
  }
  if (ssl.caCerts !== undefined) out.caCerts = nativePem(ssl.caCerts)
  return out
}

/** A copy that callers cannot use to change the server's settings. */
function copySsl(ssl: SslOptions): SslOptions {
  const copy: SslOptions = { ...ssl }
  if (ssl.sni) copy.sni = Object.fromEntries(Object.entries(ssl.sni).map(([h, id]) => [h, { ...id }]))
  return copy
}

/** Normalised options. */
interface Resolved {
  numthreads: number
  maxThreads: number
  serverName: string
  serverHeader: string
  requestQueueSize: number
  timeout: number
  shutdownTimeout: number
  maxRequestHeaderSize: number
  maxRequestBodySize: number
  nodelay: boolean
  protocol: 'HTTP/1.1' | 'HTTP/1.0'
  gateway: 'u0' | '1.0'
  errors: NonNullable<ServerOptions['errors']>
  maxQueue: number
  maxConnections: number
  reusePort: boolean
  socketMode: number
  proxyProtocol: boolean
  forwardedAllowIps: string[]
  accessLog: string | undefined
  accessLogFormat: 'common' | 'combined'
  staticResponse: string | undefined
  appThreads: number
  requestTimeout: number
  minRequestBodyRate: number
  minResponseDataRate: number
  rateGracePeriod: number
  interface: AppInterface
  ssl: SslOptions | undefined
}

function resolve(o: ServerOptions): Resolved {
  if (typeof o !== 'object' || o === null) throw invalid('options must be an object')
  const numthreads = integer('numthreads', o.numthreads, 1, DEFAULT_NUMTHREADS)
  const maxThreads = integer('maxThreads', o.maxThreads, -1, -1)
  if (maxThreads !== -1 && maxThreads < numthreads) {
    throw invalid(`invalid maxThreads: ${maxThreads} is below numthreads (${numthreads}); use -1 for no limit`)
  }
  if (o.protocol !== undefined && o.protocol !== 'HTTP/1.1' && o.protocol !== 'HTTP/1.0') {
    throw invalid(`invalid protocol: expected 'HTTP/1.1' or 'HTTP/1.0', got ${String(o.protocol)}`)
  }
  if (o.gateway !== undefined && o.gateway !== 'u0' && o.gateway !== '1.0') {
    throw invalid(`invalid gateway: expected 'u0' or '1.0', got ${String(o.gateway)}`)
  }
  if (o.errors !== undefined && (typeof o.errors !== 'object' || typeof o.errors.write !== 'function')) {
    throw invalid('invalid errors: expected an object with write(s) and flush()')
  }
  return {
    numthreads,
    maxThreads,
    serverName: o.serverName ?? hostname(),
    serverHeader: headerValue('serverHeader', o.serverHeader, SERVER_SOFTWARE),
    requestQueueSize: integer('requestQueueSize', o.requestQueueSize, 1, 511, 65535),
    timeout: seconds('timeout', o.timeout, 10),
    shutdownTimeout: o.shutdownTimeout === 0 ? 0 : seconds('shutdownTimeout', o.shutdownTimeout, 5),
    maxRequestHeaderSize: integer('maxRequestHeaderSize', o.maxRequestHeaderSize, 0, 65536, HEAD_SIZE_CEILING),
    maxRequestBodySize: integer('maxRequestBodySize', o.maxRequestBodySize, 0, 0, Number.MAX_SAFE_INTEGER),
    nodelay: o.nodelay ?? true,
    protocol: o.protocol ?? 'HTTP/1.1',
    gateway: o.gateway ?? 'u0',
    errors: o.errors ?? { write: (s: string) => process.stderr.write(s), flush: () => undefined },
    maxQueue: integer('maxQueue', o.maxQueue, 0, 1000),
    maxConnections: integer('maxConnections', o.maxConnections, -1, -1),
    reusePort: o.reusePort ?? false,
    socketMode: integer('socketMode', o.socketMode, 0, -1, 0o7777),
    proxyProtocol: o.proxyProtocol ?? false,
    forwardedAllowIps: stringList('forwardedAllowIps', o.forwardedAllowIps),
    accessLog: optionalString('accessLog', o.accessLog),
    accessLogFormat: oneOf('accessLogFormat', o.accessLogFormat, ['common', 'combined'] as const, 'combined'),
    staticResponse: o.staticResponse === undefined ? undefined : String(o.staticResponse),
    appThreads: integer('appThreads', o.appThreads, 0, 0, 256),
    requestTimeout: o.requestTimeout === 0 ? 0 : seconds('requestTimeout', o.requestTimeout, 0),
    minRequestBodyRate: integer('minRequestBodyRate', o.minRequestBodyRate, 0, 240, Number.MAX_SAFE_INTEGER),
    minResponseDataRate: integer('minResponseDataRate', o.minResponseDataRate, 0, 240, Number.MAX_SAFE_INTEGER),
    rateGracePeriod: o.rateGracePeriod === 0 ? 0 : seconds('rateGracePeriod', o.rateGracePeriod, 5),
    interface: oneOf('interface', o.interface, ['auto', 'wsgi', 'fetch', 'node'] as const, 'auto'),
    ssl: sslOptions(o.ssl),
  }
}

/** A header value option: printable ASCII (and HTAB) as the core sends it unchanged; '' allowed. */
function headerValue(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || /[^\t\x20-\x7e]/.test(value)) {
    throw invalid(`invalid ${name}: expected a header value (printable ASCII; '' for none), got ${JSON.stringify(value)}`)
  }
  return value
}

function stringList(name: string, value: unknown): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw invalid(`invalid ${name}: expected an array of strings`)
  return value as string[]
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0) throw invalid(`invalid ${name}: expected a non-empty string`)
  return value
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback
  if (!allowed.includes(value as T)) throw invalid(`invalid ${name}: expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${String(value)}`)
  return value as T
}

function checkCount(what: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw invalid(`pool.${what}(n): n must be an integer >= 0`)
  return n
}

function checkBind(bind: BindAddr): void {
  if (typeof bind === 'object' && bind !== null && !Array.isArray(bind)) {
    if (!Number.isInteger(bind.fd) || bind.fd < 0) throw invalid('invalid bind address: { fd } needs a descriptor number >= 0')
    return
  }
  if (typeof bind === 'string') {
    if (bind.length === 0) throw invalid('invalid bind address: an empty UNIX socket path')
    return
  }
  if (!Array.isArray(bind) || bind.length !== 2 || typeof bind[0] !== 'string' || !Number.isInteger(bind[1]) || bind[1] < 0 || bind[1] > 65535) {
    throw invalid('invalid bind address: expected [host, port] with a port from 0 to 65535, or a UNIX socket path')
  }
}

/**
 * The IP address to bind for `host`: an IP address as it is; a host name resolved as node's
 * `server.listen(port, host)` resolves it (`dns.lookup`, the first address it gives).
 */
async function bindHost(host: string): Promise<string> {
  if (isIP(host.replace(/^\[(.*)\]$/, '$1')) !== 0) return host
  try {
    return (await lookup(host)).address
  } catch (e) {
    const why = e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e)
    throw new GatehouseError('GH_ERR_BIND', `bind host ${JSON.stringify(host)} does not resolve to an address (${why})`)
  }
}

/** The worker pool, live: its figures and the operator's controls. */
export interface Pool {
  /** The minimum number of slots (numthreads). */
  readonly min: number
  /** The maximum (-1: no limit). */
  readonly max: number
  /** The current number of slots. */
  readonly size: number
  /** Free slots. */
  readonly idle: number
  /** Requests waiting for a slot. */
  readonly qsize: number
  /** Add up to `n` slots, never above max. Returns how many were added. */
  grow(n: number): number
  /** Remove up to `n` free slots, never below min. Returns how many were removed. */
  shrink(n: number): number
}

/**
 * Per-worker statistics, with the original server's keys. A worker's bytes are those of the
 * requests it held (request head and body read, response head and body written); what the core
 * reads and writes outside a worker (its own 400/408/413/503 answers, `100 Continue`, PROXY
 * headers, pipelined bytes not yet taken) is only in the server's totals.
 */
export interface WorkerStats {
  Requests: number
  'Bytes Read': number
  'Bytes Written': number
  'Work Time': number
  'Read Throughput': number
  'Write Throughput': number
}

/**
 * The original server's statistics, with the same keys. 'Bytes Read' and 'Bytes Written' are the
 * server's totals, the counters `metrics()` shows too: every byte read from and written to client
 * sockets (plaintext under TLS), also of answers the core gives itself and of responses cut
 * short. 'Requests' is every request head read. 'Work Time' and the throughputs sum the workers.
 */
export interface Stats extends WorkerStats {
  Enabled: boolean
  'Bind Address': string
  'Run time': number
  Accepts: number
  'Accepts/sec': number
  Queue: number
  Threads: number
  'Threads Idle': number
  'Socket Errors': number
  /** Requests whose client went away (or whose `requestTimeout` passed) before their answer (nginx's 499). */
  Abandoned: number
  /** Per pool slot that has run a request (a slot is made a record when first used, not before). */
  'Worker Threads': Record<string, WorkerStats>
}

/**
 * An HTTP server running a WSGI-style application. The life cycle follows the original server:
 * `start()` binds and resolves once listening, `serve()` resolves when the server has stopped,
 * `stop()` is graceful and idempotent.
 */
export class Server {
  /** The application, or the `MODULE[:EXPORT]` name it is loaded from. */
  readonly app: App | string
  #bind: BindAddr
  #options: Resolved
  #native: NativeServer | undefined
  #workers: Worker[] = []
  /** When the last replacement of a dead worker started (at most one a second). */
  #lastReplacement = 0
  /** Keeps the event loop alive while a staticResponse server (which has no lane) runs. */
  #keepAlive: ReturnType<typeof setInterval> | undefined
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #served: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined

  /**
   * @param bindAddr `[host, port]` (an IPv4 or IPv6 address, or a host name resolved as `server.listen` resolves it: the first address `dns.lookup` gives; port 0 picks a free port) or a UNIX socket path.
   * @param app The application.
   * @param options See {@link ServerOptions}.
   */
  constructor(bindAddr: BindAddr, app: App | string, options: ServerOptions = {}) {
    checkBind(bindAddr)
    if (typeof app !== 'function' && (typeof app !== 'string' || app.length === 0)) {
      throw invalid('app must be a function (environ, startResponse) => body, or a MODULE[:EXPORT] name')
    }
    this.#bind = Array.isArray(bindAddr) ? [bindAddr[0], bindAddr[1]] : typeof bindAddr === 'object' ? { fd: bindAddr.fd } : bindAddr
    this.app = app
    this.#options = resolve(options)
    if (this.#options.appThreads > 0 && typeof app !== 'string') {
      throw invalid(
        "invalid appThreads: each thread loads the application itself, so pass it as a module name: new Server(bind, './app.js:app', { appThreads })",
      )
    }
  }

  /** Where the server listens: after start(), the real port when 0 was asked. */
  get bindAddr(): BindAddr {
    const b = this.#bind
    return Array.isArray(b) ? [b[0], b[1]] : typeof b === 'object' ? { fd: b.fd } : b
  }

  /** Whether the server is listening. */
  get ready(): boolean {
    return this.#native !== undefined && this.#stopping === undefined
  }

  /** Bind and start serving. Resolves once listening. Calling it again while running is a no-op. */
  start(): Promise<void> {
    if (this.#starting && !this.#stopping) return this.#starting
    this.#stopping = undefined
    // Also for what #start throws before its own try (the native options, such as a host name
    // for an IP address): a GatehouseError, and a start() that can be tried again.
    const starting: Promise<void> = this.#start().catch((e: unknown) => {
      if (this.#starting === starting) this.#starting = undefined
      throw fromNative(e)
    })
    this.#starting = starting
    return starting
  }

  async #start(): Promise<void> {
    const o = this.#options
    const bind = this.#bind
    const native = new binding.NativeServer({
      host: Array.isArray(bind) ? await bindHost(bind[0]) : undefined,
      port: Array.isArray(bind) ? bind[1] : undefined,
      path: typeof bind === 'string' ? bind : undefined,
      fd: typeof bind === 'object' && !Array.isArray(bind) ? bind.fd : undefined,
      backlog: o.requestQueueSize,
      nodelay: o.nodelay,
      protocol: o.protocol,
      maxRequestHeaderSize: o.maxRequestHeaderSize,
      maxRequestBodySize: o.maxRequestBodySize,
      timeout: o.timeout,
      shutdownTimeout: o.shutdownTimeout,
      numthreads: o.numthreads,
      maxThreads: o.maxThreads,
      serverSoftware: o.serverHeader,
      maxQueue: o.maxQueue,
      maxConnections: o.maxConnections,
      reusePort: o.reusePort,
      unixMode: o.socketMode,
      proxyProtocol: o.proxyProtocol,
      forwardedAllowIps: o.forwardedAllowIps,
      accessLog: o.accessLog,
      accessLogFormat: o.accessLogFormat,
      staticResponse: o.staticResponse,
      ssl: o.ssl ? nativeSsl(o.ssl) : undefined,
      requestTimeout: o.requestTimeout > 0 ? o.requestTimeout : undefined,
      minRequestBodyRate: o.minRequestBodyRate,
      minResponseDataRate: o.minResponseDataRate,
      rateGracePeriod: o.rateGracePeriod,
    })
    const base: EnvironBase = {
      serverName: o.serverName,
      software: SERVER_SOFTWARE,
      gateway: o.gateway,
      errors: o.errors,
      urlScheme: 'http',
    }
    let bound
    try {
      if (o.staticResponse === undefined) {
        if (o.appThreads > 0) {
          const data: WorkerData = { key: native.key, app: this.app as string, interface: o.interface, base: { ...base, errors: undefined } as WorkerData['base'] }
          this.#workers = await startWorkers(o.appThreads, data)
          for (const w of this.#workers) this.#watchWorker(w, data)
        } else {
          const app = typeof this.app === 'string' ? await loadApp(this.app, o.interface) : this.app
          new Gateway((onBatch) => native.attach(onBatch), app, base)
        }
      }
      bound = await native.start()
      if (o.staticResponse !== undefined) this.#keepAlive = setInterval(() => undefined, 0x7fffffff)
    } catch (e) {
      this.#starting = undefined
      await this.#stopWorkers()
      throw fromNative(e)
    }
    if (bound.path !== undefined && bound.path !== null) {
      this.#bind = bound.path
    } else {
      this.#bind = [bound.host ?? '', bound.port ?? 0]
    }
    this.#native = native
    let resolveFn!: () => void
    let rejectFn!: (e: unknown) => void
    const promise = new Promise<void>((res, rej) => {
      resolveFn = res
      rejectFn = rej
    })
    this.#served = { promise, resolve: resolveFn, reject: rejectFn }
  }

  /** Start if needed, then resolve when the server has stopped (reject with an interrupt's error). */
  async serve(): Promise<void> {
    await this.start()
    const served = this.#served
    if (served) await served.promise
  }

  /**
   * Stop: no new connections, idle keep-alive connections closed, in-flight requests given
   * `shutdownTimeout` seconds, then every connection cut. Idempotent.
   */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping
    this.#stopping = this.#stop(undefined)
    return this.#stopping
  }

  /**
   * Stop the server and make `serve()` reject with the error, as the original server's
   * `interrupt` does: `server.interrupt = err` or `await server.interrupt(err)`.
   */
  get interrupt(): (error: unknown) => Promise<void> {
    return (error: unknown) => this.#interrupt(error)
  }

  set interrupt(error: unknown) {
    void this.#interrupt(error)
  }

  #interrupt(error: unknown): Promise<void> {
    if (this.#stopping) return this.#stopping
    this.#stopping = this.#stop(error === undefined ? new GatehouseError('GH_ERR_APP', 'interrupted') : error)
    return this.#stopping
  }

  async #stop(error: unknown): Promise<void> {
    if (this.#starting) await this.#starting.catch(() => undefined)
    const native = this.#native
    this.#native = undefined
    this.#starting = undefined
    if (native) await native.stop(this.#options.shutdownTimeout)
    clearInterval(this.#keepAlive)
    this.#keepAlive = undefined
    await this.#stopWorkers()
    const served = this.#served
    this.#served = undefined
    if (served) {
      if (error === undefined) served.resolve()
      else served.reject(error)
    }
  }

  /**
   * A worker that dies while the server runs (an exception nothing caught, `process.exit()` in
   * the application): its lane already stopped taking requests and the core answered the ones
   * it held (500, or a cut for a response already started). Say so, and start a replacement, at
   * most one a second so a worker that dies at once cannot spin.
   */
  #watchWorker(w: Worker, data: WorkerData): void {
    w.on('error', (e: unknown) => {
      this.#options.errors.write(`[${new Date().toISOString()}] gatehouse: an appThreads worker failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    })
    w.once('exit', (code) => {
      if (!this.#workers.includes(w)) return // stopped on purpose
      this.#workers = this.#workers.filter((x) => x !== w)
      if (this.#native === undefined || this.#stopping !== undefined) return
      this.#options.errors.write(
        `[${new Date().toISOString()}] gatehouse: an appThreads worker exited (code ${code}); its requests were answered 500 or cut; starting a replacement\n`,
      )
      this.#replaceWorker(data)
    })
  }

  #replaceWorker(data: WorkerData): void {
    const wait = Math.max(0, this.#lastReplacement + 1000 - Date.now())
    this.#lastReplacement = Date.now() + wait
    setTimeout(() => {
      if (this.#native === undefined || this.#stopping !== undefined) return
      startWorkers(1, data).then(
        ([w]) => {
          if (w === undefined) return
          if (this.#native === undefined || this.#stopping !== undefined) {
            void w.terminate()
            return
          }
          this.#workers.push(w)
          this.#watchWorker(w, data)
        },
        (e: unknown) => {
          this.#options.errors.write(`[${new Date().toISOString()}] gatehouse: a replacement appThreads worker could not start: ${String(e)}; trying again\n`)
          this.#replaceWorker(data)
        },
      )
    }, wait)
  }

  async #stopWorkers(): Promise<void> {
    const workers = this.#workers
    this.#workers = []
    await Promise.all(workers.map((w) => w.terminate()))
  }

  /**
   * The HTTPS settings (the original server's `ssl_adapter`), with defaults filled in, or
   * undefined for plain HTTP. Set it before `start()` to serve HTTPS; a running server takes
   * new certificates through {@link Server.reloadCertificates}.
   */
  get sslAdapter(): SslOptions | undefined {
    return this.#options.ssl ? copySsl(this.#options.ssl) : undefined
  }

  set sslAdapter(ssl: SslOptions | undefined) {
    if (this.#starting && !this.#stopping) {
      throw invalid('sslAdapter cannot change while the server runs; stop() it first, or use reloadCertificates() for new certificates')
    }
    this.#options.ssl = sslOptions(ssl)
  }

  /**
   * Load certificates again without dropping connections: with no argument the files of the
   * current `ssl` settings are read again (SIGHUP in the CLI does this); with `ssl`, those
   * settings replace the current ones. New handshakes use the new certificates; open
   * connections go on with the old ones. Rejects with `GH_ERR_TLS`, changing nothing, when a
   * file cannot be read or used, or when the server is not running HTTPS.
   */
  async reloadCertificates(ssl?: SslOptions): Promise<void> {
    const next = ssl === undefined ? undefined : sslOptions(ssl)
    if (ssl !== undefined && next === undefined) throw invalid('reloadCertificates: ssl settings are required')
    const native = this.#native
    if (!native) throw new GatehouseError('GH_ERR_TLS', 'reloadCertificates: the server is not running')
    if (!this.#options.ssl) throw new GatehouseError('GH_ERR_TLS', 'reloadCertificates: the server was started without ssl')
    try {
      await native.reloadCertificates(next ? nativeSsl(next) : undefined)
    } catch (e) {
      throw fromNative(e)
    }
    if (next) this.#options.ssl = next
  }


  /** The worker pool while running (undefined otherwise): live figures, grow() and shrink(). */
  get pool(): Pool | undefined {
    const native = this.#native
    if (!native) return undefined
    const get = (): NativeStats => native.stats() ?? ({ poolMin: 0, poolMax: 0, poolSize: 0, poolIdle: 0, poolQsize: 0 } as NativeStats)
    return {
      get min() {
        return get().poolMin
      },
      get max() {
        return get().poolMax
      },
      get size() {
        return get().poolSize
      },
      get idle() {
        return get().poolIdle
      },
      get qsize() {
        return get().poolQsize
      },
      grow: (n: number) => native.poolGrow(checkCount('grow', n)),
      shrink: (n: number) => native.poolShrink(checkCount('shrink', n)),
    }
  }

  /** Seconds the server has been running (since start or the last clearStats()); 0 when stopped. */
  runtime(): number {
    return this.#native?.stats()?.runTime ?? 0
  }

  /** Reset the statistics, as the original server's `clear_stats`: the server's counts and every record of `Worker Threads`. */
  clearStats(): void {
    this.#native?.clearStats()
  }

  /** The original server's statistics, with the same keys. */
  stats(): Stats {
    const s = this.#native?.stats()
    const workers = this.#native?.workers() ?? []
    const runTime = s?.runTime ?? -1
    const per: Record<string, WorkerStats> = {}
    let work = 0
    let readTp = 0
    let writeTp = 0
    workers.forEach((w, i) => {
      const t = w.workSeconds || 1e-6
      per[`gatehouse-worker-${i}`] = {
        Requests: w.requests,
        'Bytes Read': w.bytesRead,
        'Bytes Written': w.bytesWritten,
        'Work Time': w.workSeconds,
        'Read Throughput': w.bytesRead / t,
        'Write Throughput': w.bytesWritten / t,
      }
      work += w.workSeconds
      readTp += w.bytesRead / t
      writeTp += w.bytesWritten / t
    })
    const b = this.#bind
    return {
      Enabled: s !== undefined && s !== null,
      'Bind Address': Array.isArray(b) ? `('${b[0]}', ${b[1]})` : typeof b === 'object' ? `fd ${b.fd}` : b,
      'Run time': runTime,
      Accepts: s?.accepts ?? 0,
      'Accepts/sec': s && s.runTime > 0 ? s.accepts / s.runTime : 0,
      Queue: s?.poolQsize ?? 0,
      Threads: s?.poolSize ?? 0,
      'Threads Idle': s?.poolIdle ?? 0,
      'Socket Errors': s?.socketErrors ?? 0,
      Abandoned: s?.abandoned ?? 0,
      Requests: s?.requests ?? 0,
      // One source of truth: the server-wide counters, as metrics() (the workers' figures count
      // only the requests they held, see WorkerStats).
      'Bytes Read': s?.bytesRead ?? 0,
      'Bytes Written': s?.bytesWritten ?? 0,
      'Work Time': work,
      'Read Throughput': readTp,
      'Write Throughput': writeTp,
      'Worker Threads': per,
    }
  }

  /** The statistics in the Prometheus text format, with a request-duration histogram and status counts. */
  metrics(): string {
    const s = this.#native?.stats()
    const h = this.#native?.histogram()
    return renderMetrics(s ?? undefined, h ?? undefined)
  }

  /**
   * The Rust core's own counters, or undefined when the server is not running: what
   * {@link Server.stats} and {@link Server.metrics} are made from, and more. Counts since the
   * start (or the last {@link Server.clearStats}): `accepts` (connections), `requests` (heads read,
   * rejected ones too), `bytesRead`, `bytesWritten`, `socketErrors` (accept and connection I/O
   * errors), `rejected` (answered 4xx/5xx by the core without reaching the application),
   * `overloaded` (answered 503: the queue for a pool slot was full), `panics` (connection tasks
   * that panicked; each closed only its own connection), `accessLogDropped` (lines dropped because
   * the log writer fell behind), `tlsHandshakes` (completed), `tlsHandshakeErrors` (fatal alerts,
   * protocol errors, refused client certificates, clients that left part way),
   * `tlsHandshakeTimeouts` (not finished within `timeout`), `tlsPlainHttp` (plain HTTP sent to the
   * TLS port). Figures of now: `runTime` (seconds), `openConnections`, and the pool's `poolMin`,
   * `poolMax`, `poolSize`, `poolIdle`, `poolQsize` (as {@link Server.pool}).
   */
  nativeStats(): NativeStats | undefined {
    return this.#native?.stats() ?? undefined
  }
}

/** Start `n` worker threads that each load the application and attach a lane; resolves when all are ready. */
function startWorkers(n: number, data: WorkerData): Promise<Worker[]> {
  const workers: Worker[] = []
  const ready = Array.from({ length: n }, () => {
    const w = new Worker(join(__dirname, 'worker.js'), { workerData: data })
    workers.push(w)
    return new Promise<void>((resolve, reject) => {
      w.once('message', (m: { ready?: boolean; error?: string }) =>
        m.ready ? resolve() : reject(new GatehouseError('GH_ERR_APP', `an appThreads worker could not load ${data.app}: ${m.error}`)),
      )
      w.once('error', reject)
      w.once('exit', (code) => reject(new GatehouseError('GH_ERR_APP', `an appThreads worker exited with code ${code} before it was ready`)))
    })
  })
  return Promise.all(ready).then(
    () => workers,
    async (e: unknown) => {
      await Promise.all(workers.map((w) => w.terminate()))
      throw e
    },
  )
}
