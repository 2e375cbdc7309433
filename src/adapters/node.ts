/**
 * The Node-style adapter: a `(req, res)` handler (Express 4 and 5, Koa's `app.callback()`,
 * connect, a plain `http.createServer` listener) as a WSGI-style {@link App}.
 *
 * `req` and `res` are real `http.IncomingMessage` and `http.ServerResponse` instances, so
 * prototype tricks (Express replaces both prototypes with its own, which inherit from Node's) and
 * `instanceof` checks work. They have no socket: the Rust core owns the connection. What Node
 * would write to the socket goes to the gateway instead, through a handful of own methods on each
 * instance (own properties, because Express swaps the prototypes): the head with the first body
 * bytes, the body through the WSGI write callable, whose backpressure becomes `write()`'s
 * `false` and `'drain'`. A response ended before anything was written (`res.end(body)`, what
 * `res.send` and `res.json` do) is one whole answer with Content-Length.
 * @packageDocumentation
 */
import { EventEmitter } from 'node:events'
import { IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http'

import { GatehouseError, isHalfClose } from '../errors'
import type { App, Body, Chunk, Environ, StartResponse, Write } from '../types'

import { kFrameAsNode, type MarkedHeaders } from '../framing'

import { NEVER_ABORTED } from '../environ'
import { headerName, isHopByHop } from './headers'
import { useInternals } from './internals'

/** A Node-style request listener, as `http.createServer` takes it. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown


function unsupported(what: string, instead: string): Error {
  return new Error(`gatehouse: ${what} is not supported (the Rust core owns the connection); ${instead}`)
}

/**
 * Stands where Node's `net.Socket` would: the addresses, `encrypted`, and the flags that
 * `on-finished` and body parsers read. Writing to it throws: bytes cannot bypass the core.
 */
class GatehouseSocket extends EventEmitter {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly remoteFamily: string | undefined
  readonly localAddress: string | undefined
  readonly localPort: number
  /** true over TLS (what Express's `req.protocol` and `req.secure` read); absent otherwise. */
  readonly encrypted: true | undefined
  readable = true
  writable = true
  destroyed = false
  readonly writableLength = 0
  /** The exchange this socket belongs to: destroy() aborts it. */
  exchange: Exchange | undefined

  constructor(environ: Environ) {
    super()
    const addr = environ.REMOTE_ADDR
    this.remoteAddress = addr === '' ? undefined : addr
    this.remotePort = environ.REMOTE_PORT === '' ? undefined : Number(environ.REMOTE_PORT)
    this.remoteFamily = addr === '' ? undefined : addr.includes(':') ? 'IPv6' : 'IPv4'
    this.localAddress = undefined
    this.localPort = Number(environ.SERVER_PORT)
    this.encrypted = environ['wsgi.url_scheme'] === 'https' || environ.HTTPS === 'on' ? true : undefined
  }

  setTimeout(): this {
    // Timeouts are the core's (the `timeout` option).
    return this
  }
  setNoDelay(): this {
    return this
  }
  setKeepAlive(): this {
    return this
  }
  ref(): this {
    return this
  }
  unref(): this {
    return this
  }
  cork(): void {}
  uncork(): void {}
  address(): { port: number } {
    return { port: this.localPort }
  }
  write(): boolean {
    throw unsupported('writing to req.socket / res.socket', 'write the response with res.write() and res.end()')
  }
  end(): this {
    throw unsupported('ending req.socket / res.socket', 'end the response with res.end()')
  }
  destroy(err?: Error): this {
    if (this.destroyed) return this
    this.exchange?.abort(err ?? new GatehouseError('GH_ERR_CLOSED', 'the response was destroyed'))
    return this
  }
  /** The connection is gone (or the response was destroyed): tell whoever listens. */
  closed(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.readable = false
    this.writable = false
    this.emit('close', false)
  }
}


const kExchange = Symbol('gatehouse.exchange')

function pushHeader(out: Array<[string, string]>, lower: string, name: string, value: unknown): void {
  // Node sets Connection and Transfer-Encoding itself and lets apps set them; here they are the
  // core's to decide, and the core refuses them from an app.
  if (isHopByHop(lower)) return
  if (Array.isArray(value)) for (const v of value) out.push([name, String(v)])
  else out.push([name, String(value)])
}

/** The head as node:http would frame it: the headers set on `res`, marked {@link kFrameAsNode}. */
function responseHeaders(res: ServerResponse): Array<[string, string]> {
  const out: MarkedHeaders = []
  out[kFrameAsNode] = true
  // getRawHeaderNames() is public since Node 15; @types/node does not declare it.
  for (const name of (res as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames()) pushHeader(out, name.toLowerCase(), name, res.getHeader(name))
  return out
}

/**
 * Whether Node's `headersSent`, `setHeader` and the rest read `_header` on this line (they have
 * since Node 0.x; no public API marks a head sent without a socket). Where they do, `_header` is
 * set once the head is fixed, so `setHeader` throws ERR_HTTP_HEADERS_SENT as on node:http; where
 * not (or with GATEHOUSE_PUBLIC_API_ONLY=1), `headersSent` becomes an own property and the
 * response's own `setHeader`, `appendHeader` and `removeHeader` throw that error.
 */
const headerMarksSent = ((): boolean => {
  if (!useInternals) return false
  const res = new ServerResponse(new IncomingMessage(null as never)) as unknown as { _header: unknown; headersSent: boolean }
  res._header = 'probe'
  return res.headersSent
})()

/** The head of `res` is fixed: headersSent is true from here on. */
function markHeadSent(res: Res): void {
  if (headerMarksSent) {
    ;(res as unknown as { _header: string })._header = 'gatehouse'
    return
  }
  // The public way: what node:http's own methods would say once the head is sent.
  Object.defineProperty(res, 'headersSent', { value: true, configurable: true })
  const own = res as unknown as Record<string, unknown>
  own.setHeader = own.appendHeader = own.removeHeader = throwHeadersSent
}

function throwHeadersSent(): never {
  throw headersSentError()
}

type Callback = (err?: Error | null) => void

/** The state of one request between the Node objects and the gateway. */
class Exchange {
  /** The WSGI write callable, once the response streams. */
  write: Write | undefined = undefined
  /** The App's answer: a whole body, or [] after a streamed one. */
  settled = false
  reading = false
  /**
   * The gateway's Promise while its window is full (writes keep their order in the gateway
   * whether or not they wait for it): `write()` returns false until it resolves, then 'drain'.
   */
  draining: Promise<void> | undefined = undefined
  /** writeHead() has fixed the head. */
  headSent = false
  /** Listening to the signal already. */
  watching = false
  /** 'close' is emitted or on its way. */
  closing = false
  constructor(
    readonly environ: Environ,
    readonly startResponse: StartResponse,
    readonly resolve: (body: Body) => void,
    readonly reject: (err: unknown) => void,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly socket: GatehouseSocket,
  ) {}

  statusLine(): string {
    const res = this.res
    return `${res.statusCode} ${res.statusMessage || STATUS_CODES[res.statusCode] || 'Unknown'}`
  }

  /** Begin streaming: the head (as it is now) goes out with the first bytes written. */
  stream(): Write {
    if (this.write === undefined) {
      this.write = this.startResponse(this.statusLine(), responseHeaders(this.res))
      // A streamed response can outlive its client: hear about it even while nothing is written.
      this.watch()
    }
    return this.write
  }

  /**
   * Listen for the client going away (`environ['gatehouse.signal']`, when the server gives one):
   * then 'close' is emitted on res and on req.socket, as node:http does. Only for responses that
   * outlive the handler's first turn: reading the signal is not free, and an answer given at
   * once needs none.
   */
  watch(): void {
    if (this.watching || this.settled) return
    this.watching = true
    const signal = this.environ['gatehouse.signal']
    if (signal instanceof AbortSignal && signal !== NEVER_ABORTED) {
      // A client that only half-closed still reads the answer: node:http apps hear nothing.
      const onAbort = (): void => {
        if (!isHalfClose(signal.reason)) this.gone()
      }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    }
  }

  /**
   * Write one chunk through the WSGI write callable (the gateway keeps the order of every chunk
   * and of the end behind them). Returns false while the gateway's window is full; 'drain'
   * follows once it has room. The callback runs once the chunk is taken.
   */
  send(data: Chunk, cb: Callback | undefined): boolean {
    let pending: void | Promise<void>
    try {
      pending = this.stream()(data)
    } catch (e) {
      // A header the core refuses, or a client gone: the gateway answers 500 or cuts the connection.
      this.abort(e)
      if (cb) process.nextTick(cb, e as Error)
      return false
    }
    if (pending === undefined) {
      if (cb) process.nextTick(cb)
      return this.draining === undefined
    }
    pending.then(
      () => cb?.(),
      (e: unknown) => cb?.(e as Error),
    )
    if (this.draining !== pending) {
      this.draining = pending
      pending.then(
        () => {
          if (this.draining !== pending) return
          this.draining = undefined
          this.res.emit('drain')
        },
        (e: unknown) => this.abort(e),
      )
    }
    return false
  }

  /** Hand the whole answer (or the end of a stream) to the gateway. */
  finish(body: Chunk[]): void {
    if (this.settled) return
    this.settled = true
    this.closing = true
    this.resolve(body)
    process.nextTick(emitFinish, this)
  }

  /** The client went away. */
  gone(): void {
    this.abort(new GatehouseError('GH_ERR_CLOSED', 'the client went away'))
  }

  /** End the request without a whole answer: a 500 before the head went out, else a cut connection. */
  abort(err: unknown): void {
    if (!this.settled) {
      this.settled = true
      this.reject(err)
    }
    // 'close' once: after 'finish', or now.
    if (this.closing) return
    this.closing = true
    const res = this.res as ServerResponse & { finished: boolean; destroyed: boolean }
    res.finished = true
    // As in node:http, writes to a destroyed response fail quietly (their callback gets the error).
    res.destroyed = true
    this.socket.closed()
    process.nextTick(emitClose, this)
  }
}

/**
 * Whether `writableFinished` of a finished response whose socket is detached reads true on this
 * Node line (its getter: `finished`, nothing buffered, no socket left). Node 24 reads a private
 * field there instead, which this adapter never sets; there (and with GATEHOUSE_PUBLIC_API_ONLY=1)
 * the response is given an own `writableFinished` once finished. Asked once, of a response as the adapter leaves it.
 */
const finishedReadsTrue = ((): boolean => {
  if (!useInternals) return false
  const res = new ServerResponse(new IncomingMessage(null as never)) as ServerResponse & { finished: boolean }
  res.finished = true
  detachSocket(res)
  return res.writableFinished
})()

/** As node:http does once a response has finished: `res.socket` and `res.connection` are null. */
function detachSocket(res: ServerResponse): void {
  ;(res as unknown as { socket: unknown }).socket = null
}

function emitFinish(ex: Exchange): void {
  const res = ex.res
  res.emit('prefinish')
  detachSocket(res)
  if (!finishedReadsTrue) Object.defineProperty(res, 'writableFinished', { value: true, configurable: true })
  res.emit('finish')
  process.nextTick(emitClose, ex)
}

function emitClose(ex: Exchange): void {
  ex.res.emit('close')
}

function exchangeOf(self: unknown): Exchange {
  return (self as Record<symbol, Exchange>)[kExchange] as Exchange
}

function headersSentError(): Error {
  const err = new Error('Cannot write headers after they are sent to the client') as Error & { code: string }
  err.code = 'ERR_HTTP_HEADERS_SENT'
  return err
}

// ===== the own methods of each ServerResponse =====

type Res = ServerResponse & { finished: boolean; _implicitHeader(): void; [kExchange]: Exchange }

function writeHead(this: Res, statusCode: number, reason?: unknown, headers?: unknown): Res {
  const ex = exchangeOf(this)
  if (ex.headSent) throw headersSentError()
  if (typeof reason !== 'string') {
    headers = reason
    reason = undefined
  }
  this.statusCode = statusCode
  if (reason !== undefined) this.statusMessage = reason as string
  if (Array.isArray(headers)) {
    // Either [[name, value], ...] or Node's flat [name, value, name, value, ...].
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const [k, v] of headers as Array<[string, string]>) this.appendHeader(k, v)
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) this.appendHeader(headers[i] as string, headers[i + 1] as string)
    }
  } else if (headers !== undefined && headers !== null) {
    const h = headers as Record<string, string | number | string[]>
    for (const k in h) if (h[k] !== undefined) this.setHeader(k, h[k] as string)
  }
  ex.headSent = true
  markHeadSent(this)
  return this
}

/** The head as it stands, when write() or end() comes before writeHead(). */
function implicitHeader(res: Res): void {
  if (!exchangeOf(res).headSent) res.writeHead(res.statusCode)
}

/** `res._implicitHeader()`, which middleware such as `compression` calls. */
function implicitHeaderMethod(this: Res): void {
  implicitHeader(this)
}

/** write(chunk[, encoding][, callback]) and end(...) take their arguments the same way. */
function asBytes(chunk: unknown, encoding: unknown): Chunk {
  if (typeof chunk === 'string') {
    return typeof encoding === 'string' && encoding !== 'utf8' && encoding !== 'utf-8' ? Buffer.from(chunk, encoding as BufferEncoding) : chunk
  }
  if (chunk instanceof Uint8Array) return chunk
  const err = new TypeError('The "chunk" argument must be of type string or an instance of Buffer or Uint8Array') as TypeError & { code: string }
  err.code = 'ERR_INVALID_ARG_TYPE'
  throw err
}

function chunkLength(c: Chunk): number {
  return typeof c === 'string' ? c.length : c.byteLength
}

function write(this: Res, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
  if (typeof encoding === 'function') {
    cb = encoding
    encoding = undefined
  }
  const ex = exchangeOf(this)
  if (this.destroyed) {
    const err = new Error('Cannot call write after a stream was destroyed') as Error & { code: string }
    err.code = 'ERR_STREAM_DESTROYED'
    if (typeof cb === 'function') process.nextTick(cb as Callback, err)
    return false
  }
  if (this.finished) {
    const err = new Error('write after end') as Error & { code: string }
    err.code = 'ERR_STREAM_WRITE_AFTER_END'
    process.nextTick(() => {
      if (typeof cb === 'function') (cb as Callback)(err)
      this.emit('error', err)
    })
    return false
  }
  const data = asBytes(chunk, encoding)
  implicitHeader(this)
  if (chunkLength(data) === 0) {
    if (typeof cb === 'function') process.nextTick(cb as Callback)
    return ex.draining === undefined
  }
  return ex.send(data, typeof cb === 'function' ? (cb as Callback) : undefined)
}

function end(this: Res, chunk?: unknown, encoding?: unknown, cb?: unknown): Res {
  if (typeof chunk === 'function') {
    cb = chunk
    chunk = undefined
  } else if (typeof encoding === 'function') {
    cb = encoding
    encoding = undefined
  }
  const ex = exchangeOf(this)
  if (typeof cb === 'function') this.once('finish', cb as () => void)
  if (this.finished) return this
  const data = chunk === undefined || chunk === null ? undefined : asBytes(chunk, encoding)
  implicitHeader(this)
  this.finished = true
  if (ex.write === undefined) {
    // Nothing streamed yet: the whole answer in one native call, with Content-Length.
    try {
      ex.startResponse(ex.statusLine(), responseHeaders(this))
    } catch (e) {
      ex.abort(e)
      return this
    }
    ex.finish(data === undefined || chunkLength(data) === 0 ? [] : [data])
    return this
  }
  if (data !== undefined && chunkLength(data) > 0) ex.send(data, undefined)
  // The gateway sends the end behind every chunk written before it.
  ex.finish([])
  return this
}

function flushHeaders(this: Res): void {
  implicitHeader(this)
  // WSGI sends the head with the first body bytes; committing now fixes the headers.
  exchangeOf(this).stream()
}

function addTrailers(): void {
  throw unsupported('res.addTrailers()', 'send the values as headers or in the body')
}

function noop(): void {}

function destroyResponse(this: Res, err?: Error): Res {
  exchangeOf(this).abort(err ?? new GatehouseError('GH_ERR_CLOSED', 'the response was destroyed'))
  return this
}

// ===== the request body =====

type Req = IncomingMessage & { [kExchange]: Exchange }

/** Readable's _read: pull the next piece from `wsgi.input` (the first read sends 100 Continue). */
function readBody(this: Req): void {
  const ex = this[kExchange]
  if (ex.reading) return
  ex.reading = true
  ex.environ['wsgi.input'].read(64 * 1024).then(
    (piece) => {
      ex.reading = false
      if (piece.length === 0) {
        this.complete = true
        this.push(null)
      } else if (this.push(piece)) {
        // Room for more: read on. IncomingMessage keeps Readable from asking again after a
        // piece (its socket pushes by itself), so the pull goes on from here while push() has
        // room, and from the next _read() once the reader drained what is buffered.
        readBody.call(this)
      }
    },
    (e: unknown) => {
      ex.reading = false
      this.destroy(e as Error)
    },
  )
}

function endBody(this: Req): void {
  this.push(null)
}

function hasBody(environ: Environ): boolean {
  const length = environ.CONTENT_LENGTH
  return environ.HTTP_TRANSFER_ENCODING !== undefined || (length !== undefined && length !== '0')
}

/**
 * The fields node:http keeps once (a repeat is dropped), by lower-case name, as its
 * IncomingMessage does when it is not told to join duplicates: a second Content-Type or Host
 * cannot be meant. Set-Cookie is always a list; Cookie repeats join with '; ', the rest with ', '.
 */
const SINGLE_FIELDS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
])

/** `req.rawHeaders`, `req.headers` and `req.headersDistinct` from the field lines as sent, by node:http's rules. */
function setHeaders(req: IncomingMessage, raw: string[]): void {
  const headers: Record<string, string | string[]> = {}
  const distinct: Record<string, string[]> = {}
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    const value = raw[i + 1] as string
    const all = distinct[name]
    if (all === undefined) distinct[name] = [value]
    else all.push(value)
    const now = headers[name]
    if (name === 'set-cookie') {
      if (Array.isArray(now)) now.push(value)
      else headers[name] = [value]
    } else if (now === undefined) {
      headers[name] = value
    } else if (!SINGLE_FIELDS.has(name)) {
      headers[name] = `${now as string}${name === 'cookie' ? '; ' : ', '}${value}`
    }
  }
  req.rawHeaders = raw
  req.headers = headers as IncomingMessage['headers']
  // Node makes these from the lines it parsed, which this request has none of: given here.
  Object.defineProperty(req, 'headersDistinct', { value: distinct, configurable: true, writable: true })
}

/** For an environ that has no field lines (made by hand, or by middleware): headers from its CGI variables, repeats as joined there. */
function setHeadersFromVariables(req: IncomingMessage, environ: Environ): void {
  const headers: Record<string, string> = {}
  const raw: string[] = []
  for (const key in environ) {
    if (key.charCodeAt(0) === 72 /* H */ && key.startsWith('HTTP_')) {
      const name = headerName(key)
      const value = environ[key] as string
      headers[name] = value
      raw.push(name, value)
    }
  }
  if (environ.CONTENT_TYPE !== undefined) {
    headers['content-type'] = environ.CONTENT_TYPE
    raw.push('content-type', environ.CONTENT_TYPE)
  }
  if (environ.CONTENT_LENGTH !== undefined) {
    headers['content-length'] = environ.CONTENT_LENGTH
    raw.push('content-length', environ.CONTENT_LENGTH)
  }
  req.headers = headers
  req.rawHeaders = raw
}

/** The request: method, url (the raw target), version, headers, rawHeaders and the body stream. */
function makeRequest(environ: Environ, socket: GatehouseSocket): Req {
  const req = new IncomingMessage(socket as never) as Req
  req.method = environ.REQUEST_METHOD
  req.url = environ.REQUEST_URI
  const http11 = environ.SERVER_PROTOCOL === 'HTTP/1.1'
  req.httpVersionMajor = 1
  req.httpVersionMinor = http11 ? 1 : 0
  req.httpVersion = http11 ? '1.1' : '1.0'
  // No upgrade can happen here (the core owns the connection): every request is a plain one.
  ;(req as unknown as { upgrade: boolean }).upgrade = false
  const lines = environ['gatehouse.rawHeaders']
  if (Array.isArray(lines)) {
    setHeaders(req, lines as string[])
  } else {
    setHeadersFromVariables(req, environ)
  }
  if (hasBody(environ)) {
    req._read = readBody
  } else {
    // As Node does for a request without a body: complete, and the stream ends at the first
    // read (pushing the end now would schedule a tick per request for a body nobody reads).
    req.complete = true
    req._read = endBody
  }
  return req
}

/**
 * Serve a Node-style handler on gatehouse: `fromNodeHandler(expressApp)`,
 * `fromNodeHandler(koaApp.callback())`, `fromNodeHandler((req, res) => res.end('hi'))`.
 *
 * `req` is an `http.IncomingMessage`: `method`, `url` (the target as sent), `httpVersion`,
 * `rawHeaders` (one name and value per field line, names as sent), `headers` and
 * `headersDistinct` made from them by node:http's rules (repeats of Content-Type, Host,
 * Authorization and the other single fields dropped, Set-Cookie a list, Cookie joined with '; ',
 * the rest with ', '), the body as the readable stream, and `req.socket` with `remoteAddress`,
 * `remotePort` and `encrypted`. `res` is an `http.ServerResponse`: `statusCode`,
 * `setHeader`/`getHeader`, `writeHead`, `write` (false and then `'drain'` when the client is
 * slow), `end`, `headersSent`, `flushHeaders`, `'finish'` and `'close'`. A response ended
 * without earlier writes is one whole answer with Content-Length; otherwise it streams. Answers
 * are framed as node:http frames them: `Connection: keep-alive` and `Keep-Alive: timeout=N` (N: the
 * `timeout` option) on a kept-alive connection, `Connection: close` otherwise, and no `Server`
 * header unless the handler sets one.
 * Upgrades (WebSocket), writing to `res.socket` and trailers are not supported: they throw an
 * error saying so. A handler that throws (or returns a rejected promise) before the response
 * began gets a 500, as any app.
 */
export function fromNodeHandler(handler: NodeHandler): App {
  if (typeof handler !== 'function') throw new TypeError('fromNodeHandler: expected a function (req, res) => void')
  return (environ, startResponse) =>
    new Promise<Body>((resolve, reject) => {
      const socket = new GatehouseSocket(environ)
      const req = makeRequest(environ, socket)
      const res = new ServerResponse(req) as unknown as Res
      const own = res as unknown as Record<string, unknown>
      const ex = new Exchange(environ, startResponse, resolve, reject, req, res, socket)
      socket.exchange = ex
      req[kExchange] = ex
      res[kExchange] = ex
      ;(res as unknown as { socket: unknown }).socket = socket
      own.writeHead = writeHead
      res._implicitHeader = implicitHeaderMethod
      own.write = write
      own.end = end
      res.flushHeaders = flushHeaders
      res.addTrailers = addTrailers
      res.writeContinue = noop // the core sends 100 Continue on the first body read
      res.writeProcessing = noop
      own.destroy = destroyResponse
      let r: unknown
      try {
        r = handler(req, res)
      } catch (e) {
        ex.abort(e)
        return
      }
      // Koa's callback and async listeners return a promise: a rejection is the app's error.
      if (typeof r === 'object' && r !== null && typeof (r as { then?: unknown }).then === 'function') {
        ;(r as Promise<unknown>).then(undefined, (e: unknown) => ex.abort(e))
      }
      // Still waiting (a database, a timer): 'close' must come if the client leaves meanwhile.
      ex.watch()
    })
}
