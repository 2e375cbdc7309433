/**
 * The fetch-style adapter: a `(Request, info) => Response` handler (Hono, itty-router, an
 * `export default { fetch }` module as Bun and Deno take it) as a WSGI-style {@link App}.
 *
 * Building real `Request` and `Response` objects costs more than the whole Rust core spends on a
 * request (undici's constructors validate and set up streams), so neither is built unless the
 * handler needs one: the request is a {@link Request} look-alike whose getters read the environ,
 * and (by default) `globalThis.Response` is replaced by a subclass that keeps a string or bytes
 * body as given, so that it goes back to the core as one whole answer without touching a stream.
 * @packageDocumentation
 */
import { STATUS_CODES } from 'node:http'

import { isHalfClose } from '../errors'
import type { App, Body, Chunk, Environ, InputStream, StartResponse } from '../types'

import { NEVER_ABORTED } from '../environ'
import { headerName, isHopByHop } from './headers'
import { useInternals } from './internals'

/** The second argument a fetch handler gets. */
export interface FetchInfo {
  /** The client's address (`REMOTE_ADDR`; empty on a UNIX socket). */
  readonly remoteAddr: string
  /** Aborted when the client goes away (the same signal as `request.signal`). */
  readonly signal: AbortSignal
}

/** A fetch-style handler, as Bun.serve, Deno.serve and Cloudflare Workers call it. */
export type FetchHandler = (request: Request, info: FetchInfo) => Response | Promise<Response>

/** Options of {@link fromFetch}. */
export interface FetchAdapterOptions {
  /**
   * Replace `globalThis.Response` with a subclass that keeps a string, `Uint8Array`,
   * `ArrayBuffer` or `null` body as it was given and builds the real `Response` only when a
   * property that needs it is read: such a body then goes out in one native call without
   * building a stream (a hello-world Hono app then costs about half the CPU per request).
   * `instanceof Response` still holds for both kinds. `@hono/node-server` does the same by
   * default. Default is true.
   */
  overrideGlobalResponse?: boolean
}

type BodyInit = ConstructorParameters<typeof Response>[0]
type HeadersInit = ConstructorParameters<typeof Headers>[0]
type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>

const NativeRequest = globalThis.Request
const NativeResponse = globalThis.Response
const NativeHeaders = globalThis.Headers

/** A signal nobody can abort: the fallback when the server gives none. */

const decoder = new TextDecoder()

function signalOf(environ: Environ): AbortSignal {
  const s = environ['gatehouse.signal']
  return s instanceof AbortSignal ? s : NEVER_ABORTED
}

// ===== the request =====


/** The request headers from the environ. Repeated headers arrive joined (`, `; Cookie `; `). */
function environHeaders(environ: Environ): Headers {
  const h = new NativeHeaders()
  for (const key in environ) {
    if (key.charCodeAt(0) === 72 /* H */ && key.startsWith('HTTP_')) h.append(headerName(key), environ[key] as string)
  }
  if (environ.CONTENT_TYPE !== undefined) h.append('content-type', environ.CONTENT_TYPE)
  if (environ.CONTENT_LENGTH !== undefined) h.append('content-length', environ.CONTENT_LENGTH)
  return h
}

/** Scheme and host from the request, path and query exactly as sent. */
function requestUrl(environ: Environ): string {
  const target = environ.REQUEST_URI
  if (target.charCodeAt(0) !== 47 /* / */ && /^https?:\/\//i.test(target)) return target // absolute-form
  const host = (environ.HTTP_HOST as string | undefined) ?? `${environ.SERVER_NAME}:${environ.SERVER_PORT}`
  return `${environ['wsgi.url_scheme']}://${host}${target.charCodeAt(0) === 47 ? target : `/${target}`}`
}

function hasBody(environ: Environ): boolean {
  const m = environ.REQUEST_METHOD
  if (m === 'GET' || m === 'HEAD') return false
  const length = environ.CONTENT_LENGTH
  return environ.HTTP_TRANSFER_ENCODING !== undefined || (length !== undefined && length !== '0')
}

/** `wsgi.input` as a stream that reads only when pulled (so 100 Continue goes on the first read). */
function inputStream(input: InputStream): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const piece = await input.read(64 * 1024)
        if (piece.length === 0) controller.close()
        else controller.enqueue(piece)
      },
    },
    { highWaterMark: 0 },
  )
}

const kReal = Symbol('gatehouse.request')

/**
 * A `Request` look-alike over the environ: method, url, headers, signal and the body readers
 * need no real `Request`; anything else builds one (once) and asks it. It passes
 * `instanceof Request`.
 */
class GatehouseRequest {
  #environ: Environ
  #url: string | undefined
  #headers: Headers | undefined
  #stream: ReadableStream<Uint8Array> | null | undefined
  #used = false
  #real: Request | undefined

  constructor(environ: Environ) {
    this.#environ = environ
  }

  get method(): string {
    return this.#environ.REQUEST_METHOD
  }

  get url(): string {
    return (this.#url ??= requestUrl(this.#environ))
  }

  get headers(): Headers {
    return this.#real ? this.#real.headers : (this.#headers ??= environHeaders(this.#environ))
  }

  get signal(): AbortSignal {
    return signalOf(this.#environ)
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#real) return this.#real.body
    if (this.#stream === undefined) this.#stream = hasBody(this.#environ) ? inputStream(this.#environ['wsgi.input']) : null
    return this.#stream
  }

  get bodyUsed(): boolean {
    return this.#used || (this.#real ? this.#real.bodyUsed : false)
  }

  /** The whole body, read straight from `wsgi.input` while nobody took the stream. */
  async #bytes(): Promise<Buffer | undefined> {
    if (this.#real || this.#stream) return undefined
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read')
    this.#used = true
    return hasBody(this.#environ) ? await this.#environ['wsgi.input'].read() : Buffer.alloc(0)
  }

  async text(): Promise<string> {
    const b = await this.#bytes()
    return b ? decoder.decode(b) : this[kReal]().text()
  }

  async json(): Promise<unknown> {
    const b = await this.#bytes()
    return b ? JSON.parse(decoder.decode(b)) : this[kReal]().json()
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.#bytes()
    if (!b) return this[kReal]().arrayBuffer()
    const copy = new ArrayBuffer(b.length)
    new Uint8Array(copy).set(b)
    return copy
  }

  async bytes(): Promise<Uint8Array> {
    const b = await this.#bytes()
    if (!b) return new Uint8Array(await this[kReal]().arrayBuffer())
    return new Uint8Array(b)
  }

  /** The real Request, built on first need from what this one knows. */
  [kReal](): Request {
    if (this.#real === undefined) {
      if (this.#used) throw new TypeError('Body is unusable: Body has already been read')
      const body = this.body
      const init: RequestInit & { duplex?: 'half' } = { method: this.method, headers: this.headers, signal: this.signal }
      if (body !== null) {
        init.body = body
        init.duplex = 'half'
      }
      this.#real = new NativeRequest(this.url, init)
    }
    return this.#real
  }
}

/**
 * Give `light` every method and getter of `native`'s prototype that it does not define itself,
 * each asking the real object (`realOf`, built on first use): a look-alike that answers the
 * common questions itself and everything else as the real class would.
 */
function delegateToReal(light: object, native: object, realOf: (self: object) => object): void {
  for (const name of Object.getOwnPropertyNames(native)) {
    if (name === 'constructor' || Object.prototype.hasOwnProperty.call(light, name)) continue
    const d = Object.getOwnPropertyDescriptor(native, name) as PropertyDescriptor
    if (typeof d.value === 'function') {
      Object.defineProperty(light, name, {
        configurable: true,
        writable: true,
        value: function (this: object, ...args: unknown[]) {
          const real = realOf(this) as Record<string, (...a: unknown[]) => unknown>
          return (real[name] as (...a: unknown[]) => unknown).apply(real, args)
        },
      })
    } else if (d.get) {
      Object.defineProperty(light, name, {
        configurable: true,
        get(this: object) {
          return (realOf(this) as Record<string, unknown>)[name]
        },
      })
    }
  }
}

// Everything else a Request has (clone, formData, blob, cache, mode, ...) asks the real one.
delegateToReal(GatehouseRequest.prototype, NativeRequest.prototype, (self) => (self as GatehouseRequest)[kReal]())
Object.setPrototypeOf(GatehouseRequest.prototype, NativeRequest.prototype)

/** The info argument: the signal is read only when asked for (it may be a lazy getter). */
class Info implements FetchInfo {
  readonly remoteAddr: string
  #environ: Environ
  constructor(environ: Environ) {
    this.#environ = environ
    this.remoteAddr = environ.REMOTE_ADDR
  }
  get signal(): AbortSignal {
    return signalOf(this.#environ)
  }
}

// ===== the response =====

type WholeBody = string | Uint8Array | ArrayBuffer | null

function isWhole(body: unknown): body is WholeBody {
  return body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer
}

/** What a real Response adds for a string body without a Content-Type (the fetch standard's "extract a body"). */
const TEXT_PLAIN = 'text/plain;charset=UTF-8'

function isContentType(pair: [string, string]): boolean {
  return pair[0].length === 12 && pair[0].toLowerCase() === 'content-type'
}

const kBody = Symbol('gatehouse.body')
const kInit = Symbol('gatehouse.init')
const kResponse = Symbol('gatehouse.response')
const kRealResponse = Symbol('gatehouse.realResponse')
const kHeaderPairs = Symbol('gatehouse.headerPairs')

/**
 * `globalThis.Response` while the override is on: a string or bytes body is kept as given, and
 * the real Response (whose constructor sets up a stream) is built only when something other
 * than status, statusText, ok or headers is read.
 */
class LightResponse {
  [kBody]: WholeBody
  [kInit]: ResponseInit | undefined
  [kResponse]: Response | undefined
  #headers: Headers | undefined

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    this[kInit] = init
    if (isWhole(body)) {
      this[kBody] = body ?? null
      this[kResponse] = undefined
      // The checks the real constructor would make now, so errors come from the same place.
      const status = init?.status
      if (status !== undefined && (!Number.isInteger(status) || status < 200 || status > 599)) {
        this[kResponse] = new NativeResponse(body, init) // throws the RangeError
      }
    } else {
      this[kBody] = null
      this[kResponse] = new NativeResponse(body, init)
    }
  }

  static [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && Object.prototype.isPrototypeOf.call(NativeResponse.prototype, x)
  }

  get status(): number {
    return this[kResponse]?.status ?? this[kInit]?.status ?? 200
  }

  get ok(): boolean {
    const s = this.status
    return s >= 200 && s <= 299
  }

  get statusText(): string {
    return this[kResponse]?.statusText ?? this[kInit]?.statusText ?? ''
  }

  get headers(): Headers {
    const real = this[kResponse]
    if (real) return real.headers
    if (this.#headers === undefined) {
      this.#headers = new NativeHeaders(this[kInit]?.headers)
      if (typeof this[kBody] === 'string' && !this.#headers.has('content-type')) this.#headers.set('content-type', TEXT_PLAIN)
    }
    return this.#headers
  }

  /** The headers as WSGI pairs: from the Headers object if someone asked for it, else from the init. */
  [kHeaderPairs](): Array<[string, string]> {
    if (this.#headers) return headerPairs(this.#headers, [])
    const pairs = headerPairs(this[kInit]?.headers, [])
    if (typeof this[kBody] === 'string' && !pairs.some(isContentType)) pairs.push(['content-type', TEXT_PLAIN])
    return pairs
  }

  /** The real Response, built once, with the headers as they are now. */
  [kRealResponse](): Response {
    let real = this[kResponse]
    if (real === undefined) {
      const init = this[kInit]
      real = new NativeResponse(this[kBody], { status: init?.status ?? 200, statusText: init?.statusText ?? '', headers: this.headers })
      this[kResponse] = real
    }
    return real
  }
}

delegateToReal(LightResponse.prototype, NativeResponse.prototype, (self) => (self as LightResponse)[kRealResponse]())
Object.setPrototypeOf(LightResponse.prototype, NativeResponse.prototype)
Object.setPrototypeOf(LightResponse, NativeResponse) // Response.json(), Response.redirect(), Response.error()

/** Install the light Response as `globalThis.Response` (once; idempotent). */
function overrideResponse(): void {
  if (globalThis.Response !== (LightResponse as unknown as typeof Response)) {
    Object.defineProperty(globalThis, 'Response', { value: LightResponse, writable: true, configurable: true, enumerable: false })
  }
}


/** Response headers as WSGI pairs: Set-Cookie stays one header per cookie, hop-by-hop ones are dropped. */
function headerPairs(init: HeadersInit | undefined, out: Array<[string, string]>): Array<[string, string]> {
  if (init === undefined || init === null) return out
  if (init instanceof NativeHeaders) {
    // Iterating Headers yields each Set-Cookie on its own (the fetch standard's "sort and combine").
    for (const [name, value] of init) if (!isHopByHop(name)) out.push([name, value])
  } else if (Array.isArray(init)) {
    for (const pair of init) {
      const [name, value] = pair as [string, string]
      if (!isHopByHop(name.toLowerCase())) out.push([name, String(value)])
    }
  } else if (typeof (init as unknown as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return headerPairs(new NativeHeaders(init), out)
  } else {
    const record = init as Record<string, string | readonly string[]>
    for (const name in record) {
      const value = record[name]
      if (isHopByHop(name.toLowerCase())) continue
      if (Array.isArray(value)) for (const v of value as string[]) out.push([name, String(v)])
      else out.push([name, String(value)])
    }
  }
  return out
}

function statusLine(status: number, text: string): string {
  return `${status} ${text || STATUS_CODES[status] || 'Unknown'}`
}

function asChunk(body: WholeBody): Chunk[] {
  if (body === null || body === undefined) return []
  if (typeof body === 'string') return body.length === 0 ? [] : [body]
  if (body instanceof ArrayBuffer) return [new Uint8Array(body)]
  return [body]
}

const pending = Symbol('pending')
const IMMEDIATE = (): Promise<typeof pending> => new Promise((resolve) => setImmediate(resolve, pending))

/**
 * A response body stream as a WSGI body: pulled one chunk at a time as the gateway writes (so the
 * socket's backpressure reaches the stream), cancelled by `close()`, which the gateway calls when
 * the response is done or the client went away, and when `gatehouse.signal` aborts (a client
 * gone while the stream waits for its next chunk).
 */
class StreamBody implements AsyncIterator<Chunk> {
  #reader: ReadableStreamDefaultReader<Uint8Array>
  #signal: AbortSignal
  #done = false
  /** Chunks read ahead (the first two, to tell a whole body from a stream). */
  #queued: Uint8Array | undefined = undefined
  #ahead: Promise<ReadResult> | undefined = undefined
  readonly cancel = (): void => {
    if (this.#done) return
    this.#done = true
    this.#signal.removeEventListener('abort', this.#onAbort)
    this.#reader.cancel().catch(() => undefined)
  }

  /** A client that only half-closed still reads the answer: the stream goes on for it. */
  readonly #onAbort = (): void => {
    if (!isHalfClose(this.#signal.reason)) this.cancel()
  }

  constructor(stream: ReadableStream<Uint8Array>, environ: Environ) {
    this.#reader = stream.getReader()
    this.#signal = signalOf(environ)
    if (this.#signal !== NEVER_ABORTED) this.#signal.addEventListener('abort', this.#onAbort, { once: true })
  }

  /**
   * One chunk that ends at once (a string or bytes a real Response was made with) is a whole
   * answer with Content-Length; a stream still producing when the event loop comes round again
   * is streamed, so that its first chunk is not held back.
   */
  async answer(): Promise<Body> {
    const first = await this.#reader.read()
    if (first.done) return this.#whole([])
    const next = this.#reader.read()
    const second = await Promise.race([next, IMMEDIATE()])
    if (second !== pending && second.done) return this.#whole([first.value])
    this.#queued = first.value
    this.#ahead = next
    return { [Symbol.asyncIterator]: () => this, close: this.cancel }
  }

  #whole(chunks: Chunk[]): Chunk[] {
    this.#done = true
    this.#signal.removeEventListener('abort', this.#onAbort)
    this.#reader.releaseLock()
    return chunks
  }

  async next(): Promise<IteratorResult<Chunk>> {
    const queued = this.#queued
    if (queued !== undefined) {
      this.#queued = undefined
      return { done: false, value: queued }
    }
    const r = await (this.#ahead ?? this.#reader.read())
    this.#ahead = undefined
    if (r.done) {
      this.#done = true
      this.#signal.removeEventListener('abort', this.#onAbort)
      return { done: true, value: undefined }
    }
    return { done: false, value: r.value }
  }

  async return(): Promise<IteratorResult<Chunk>> {
    this.cancel()
    return { done: true, value: undefined }
  }
}

/**
 * Node's Response (undici) keeps the body it was made from in an internal state, under a symbol
 * described 'state' (Node 20 and 22, undici 6; undici 7 and 8, in Node 24 and 26, keep it in
 * private fields, and this finds nothing). A string or bytes source read from there needs no
 * stream at all. Where it is not found (or GATEHOUSE_PUBLIC_API_ONLY=1), the public way gives the
 * same whole answer through the public stream: {@link StreamBody.answer} finds one chunk that
 * ends at once.
 */
const kState = useInternals ? Object.getOwnPropertySymbols(new NativeResponse('')).find((s) => s.description === 'state') : undefined

interface UndiciBody {
  source?: unknown
  stream?: { locked?: boolean }
}

/** The body a real Response was made with, when it is a string or bytes not yet read; else undefined. */
function sourceOf(res: Response): Chunk | undefined {
  if (kState === undefined) return undefined
  const body = ((res as unknown as Record<symbol, { body?: UndiciBody | null } | undefined>)[kState] ?? undefined)?.body
  if (!body || res.bodyUsed || body.stream?.locked) return undefined
  const source = body.source
  return typeof source === 'string' || source instanceof Uint8Array ? source : undefined
}

function answer(res: Response, environ: Environ, startResponse: StartResponse): Body | Promise<Body> {
  // A brand check, not instanceof (which is true for every Response): kBody is null or the body.
  if (typeof res === 'object' && res !== null && (res as unknown as LightResponse)[kBody] !== undefined && (res as unknown as LightResponse)[kResponse] === undefined) {
    const light = res as unknown as LightResponse
    const init = light[kInit]
    startResponse(statusLine(init?.status ?? 200, init?.statusText ?? ''), light[kHeaderPairs]())
    return asChunk(light[kBody])
  }
  if (typeof res !== 'object' || res === null || typeof (res as { status?: unknown }).status !== 'number') {
    throw new TypeError(`the fetch handler must return a Response, got ${res === null ? 'null' : typeof res}`)
  }
  startResponse(statusLine(res.status, res.statusText), headerPairs(res.headers, []))
  const source = sourceOf(res)
  if (source !== undefined) return typeof source === 'string' || source.byteLength > 0 ? [source] : []
  const body = res.body
  if (body === null) return []
  return new StreamBody(body, environ).answer()
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

/**
 * Serve a fetch-style handler on gatehouse: `fromFetch(honoApp)`, `fromFetch({ fetch })` or
 * `fromFetch((request, info) => new Response('hi'))`.
 *
 * The handler gets a `Request` (method; URL with the scheme and host of the request and the
 * path and query as sent; headers, repeats joined as the environ has them; the body as a
 * `ReadableStream` read from `wsgi.input` on demand; `signal`) and `info` (`remoteAddr`,
 * `signal`). Its `Response` goes out with its status and headers (each Set-Cookie on its own;
 * hop-by-hop headers dropped): a string, bytes or `null` body as one whole answer with
 * Content-Length, a `ReadableStream` streamed with backpressure and cancelled when the client
 * leaves. A throw or a rejection is a 500, as for any app.
 */
export function fromFetch(handler: FetchHandler | { fetch: FetchHandler }, options: FetchAdapterOptions = {}): App {
  let fetch: FetchHandler
  if (typeof handler === 'function') {
    fetch = handler
  } else if (handler !== null && typeof handler === 'object' && typeof handler.fetch === 'function') {
    // Bound: Hono's fetch is an arrow function already, a plain { fetch() {} } may use `this`.
    fetch = handler.fetch.bind(handler)
  } else {
    throw new TypeError('fromFetch: expected a function (request, info) => Response, or an object with a fetch method')
  }
  if (options.overrideGlobalResponse !== false) overrideResponse()
  return (environ, startResponse) => {
    const res = fetch(new GatehouseRequest(environ) as unknown as Request, new Info(environ))
    if (isPromise(res)) return res.then((r) => answer(r, environ, startResponse))
    return answer(res, environ, startResponse)
  }
}
