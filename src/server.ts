/** The Server: options, start/serve/stop, statistics. HTTP itself lives in the Rust core. */
import { hostname } from 'node:os'

import type { EnvironBase } from './environ'
import { GatehouseError, fromNative } from './errors'
import { Gateway } from './gateway'
import { binding, type NativeServer, type NativeStats } from './native'
import type { App, BindAddr, ServerOptions } from './types'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../../package.json').version

/** The value of SERVER_SOFTWARE and of the `Server` response header. */
export const SERVER_SOFTWARE = `gatehouse/${VERSION}`

function invalid(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_INVALID_OPTION', message)
}

function integer(name: string, value: unknown, min: number, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalid(`invalid ${name}: expected an integer >= ${min}, got ${String(value)}`)
  }
  return value
}

function seconds(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(`invalid ${name}: expected a number of seconds > 0, got ${String(value)}`)
  }
  return value
}

/** Normalised options. */
interface Resolved {
  numthreads: number
  maxThreads: number
  serverName: string
  requestQueueSize: number
  timeout: number
  shutdownTimeout: number
  maxRequestHeaderSize: number
  maxRequestBodySize: number
  nodelay: boolean
  protocol: 'HTTP/1.1' | 'HTTP/1.0'
  gateway: 'u0' | '1.0'
  errors: NonNullable<ServerOptions['errors']>
}

function resolve(o: ServerOptions): Resolved {
  if (typeof o !== 'object' || o === null) throw invalid('options must be an object')
  const numthreads = integer('numthreads', o.numthreads, 1, 10)
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
    requestQueueSize: integer('requestQueueSize', o.requestQueueSize, 1, 5),
    timeout: seconds('timeout', o.timeout, 10),
    shutdownTimeout: o.shutdownTimeout === 0 ? 0 : seconds('shutdownTimeout', o.shutdownTimeout, 5),
    maxRequestHeaderSize: integer('maxRequestHeaderSize', o.maxRequestHeaderSize, 0, 65536),
    maxRequestBodySize: integer('maxRequestBodySize', o.maxRequestBodySize, 0, 0),
    nodelay: o.nodelay ?? true,
    protocol: o.protocol ?? 'HTTP/1.1',
    gateway: o.gateway ?? 'u0',
    errors: o.errors ?? { write: (s: string) => process.stderr.write(s), flush: () => undefined },
  }
}

function checkBind(bind: BindAddr): void {
  if (typeof bind === 'string') {
    if (bind.length === 0) throw invalid('invalid bind address: an empty UNIX socket path')
    return
  }
  if (!Array.isArray(bind) || bind.length !== 2 || typeof bind[0] !== 'string' || !Number.isInteger(bind[1]) || bind[1] < 0 || bind[1] > 65535) {
    throw invalid('invalid bind address: expected [host, port] with a port from 0 to 65535, or a UNIX socket path')
  }
}

/** Figures of the worker pool, live. */
export interface PoolInfo {
  /** The minimum number of slots (numthreads). */
  min: number
  /** The maximum (-1: no limit). */
  max: number
  /** The current number of slots. */
  size: number
  /** Free slots. */
  idle: number
  /** Requests waiting for a slot. */
  qsize: number
}

/**
 * An HTTP server running a WSGI-style application. The life cycle follows the original server:
 * `start()` binds and resolves once listening, `serve()` resolves when the server has stopped,
 * `stop()` is graceful and idempotent.
 */
export class Server {
  /** The application. */
  readonly app: App
  #bind: BindAddr
  #options: Resolved
  #native: NativeServer | undefined
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #served: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined

  /**
   * @param bindAddr `[host, port]` (IPv4 or IPv6; port 0 picks a free port) or a UNIX socket path.
   * @param app The application.
   * @param options See {@link ServerOptions}.
   */
  constructor(bindAddr: BindAddr, app: App, options: ServerOptions = {}) {
    checkBind(bindAddr)
    if (typeof app !== 'function') throw invalid('app must be a function (environ, startResponse) => body')
    this.#bind = Array.isArray(bindAddr) ? [bindAddr[0], bindAddr[1]] : bindAddr
    this.app = app
    this.#options = resolve(options)
  }

  /** Where the server listens: after start(), the real port when 0 was asked. */
  get bindAddr(): BindAddr {
    return Array.isArray(this.#bind) ? [this.#bind[0], this.#bind[1]] : this.#bind
  }

  /** Whether the server is listening. */
  get ready(): boolean {
    return this.#native !== undefined && this.#stopping === undefined
  }

  /** Bind and start serving. Resolves once listening. Calling it again while running is a no-op. */
  start(): Promise<void> {
    if (this.#starting && !this.#stopping) return this.#starting
    this.#stopping = undefined
    this.#starting = this.#start()
    return this.#starting
  }

  async #start(): Promise<void> {
    const o = this.#options
    const bind = this.#bind
    const native = new binding.NativeServer({
      host: Array.isArray(bind) ? bind[0] : undefined,
      port: Array.isArray(bind) ? bind[1] : undefined,
      path: Array.isArray(bind) ? undefined : bind,
      backlog: o.requestQueueSize,
      nodelay: o.nodelay,
      protocol: o.protocol,
      maxRequestHeaderSize: o.maxRequestHeaderSize,
      maxRequestBodySize: o.maxRequestBodySize,
      timeout: o.timeout,
      shutdownTimeout: o.shutdownTimeout,
      numthreads: o.numthreads,
      maxThreads: o.maxThreads,
      serverSoftware: SERVER_SOFTWARE,
    })
    const base: EnvironBase = {
      serverName: o.serverName,
      serverPort: '',
      software: SERVER_SOFTWARE,
      gateway: o.gateway,
      errors: o.errors,
      urlScheme: 'http',
    }
    const gateway = new Gateway(native, this.app, base)
    let bound
    try {
      bound = await native.start(gateway.onBatch)
    } catch (e) {
      this.#starting = undefined
      throw fromNative(e)
    }
    if (bound.path !== undefined && bound.path !== null) {
      this.#bind = bound.path
    } else {
      this.#bind = [bound.host ?? '', bound.port ?? 0]
      base.serverPort = String(bound.port ?? '')
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
   * Stop the server and make `serve()` reject with `error`, as the original server's
   * `interrupt` does.
   */
  interrupt(error: unknown): Promise<void> {
    if (this.#stopping) return this.#stopping
    this.#stopping = this.#stop(error)
    return this.#stopping
  }

  async #stop(error: unknown): Promise<void> {
    if (this.#starting) await this.#starting.catch(() => undefined)
    const native = this.#native
    this.#native = undefined
    this.#starting = undefined
    if (native) await native.stop(this.#options.shutdownTimeout)
    const served = this.#served
    this.#served = undefined
    if (served) {
      if (error === undefined) served.resolve()
      else served.reject(error)
    }
  }

  /** The worker pool's figures, or undefined when not running. */
  get pool(): PoolInfo | undefined {
    const s = this.#native?.stats()
    if (!s) return undefined
    return { min: s.poolMin, max: s.poolMax, size: s.poolSize, idle: s.poolIdle, qsize: s.poolQsize }
  }

  /** The core's raw counters, or undefined when not running. */
  nativeStats(): NativeStats | undefined {
    return this.#native?.stats() ?? undefined
  }
}
