/**
 * The gateway: runs the application for each request with PEP 3333 semantics — startResponse,
 * the write callable, body iteration, errors turned into a 500 (or a cut connection once the
 * headers are out), and `close()` called exactly once.
 */
import { forEachRequest, type EnvironBase } from './environ'
import { GatehouseError, fromNative } from './errors'
import { Input } from './input'
import type { NativeLane } from './native'
import type { App, Body, Chunk, Environ, StartResponse, Write } from './types'

const ERROR_HEADERS = ['Content-Type', 'text/plain; charset=utf-8']

/** Chunks of a sync iterable are gathered up to this many bytes before they cross to the core. */
const STREAM_BATCH = 64 * 1024

/**
 * The answer to an error before the headers went out: a request body that was too large,
 * malformed or stalled is the client's doing (413, 400, 408); anything else is the app's (500).
 */
function statusFor(err: unknown): string {
  switch (err instanceof GatehouseError ? err.code : undefined) {
    case 'GH_ERR_BODY_TOO_LARGE':
      return '413 Payload Too Large'
    case 'GH_ERR_BODY_INVALID':
      return '400 Bad Request'
    case 'GH_ERR_BODY_TIMEOUT':
      return '408 Request Timeout'
    default:
      return '500 Internal Server Error'
  }
}

/** The state of one request on the JavaScript side. */
class Exchange {
  status: string | undefined = undefined
  headers: string[] = []
  /** The head went to the core (streamed response started). */
  started = false
  /** The request id was consumed (respond, end or abort). */
  finished = false

  constructor(
    readonly id: number,
    readonly environ: Environ,
  ) {}
}

function flattenHeaders(headers: Array<[string, string]>): string[] {
  if (!Array.isArray(headers)) throw new TypeError('startResponse: headers must be an array of [name, value] pairs')
  const flat: string[] = new Array(headers.length * 2)
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i]
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw new TypeError(`startResponse: header ${i} must be a [name, value] pair of strings`)
    }
    flat[2 * i] = pair[0]
    flat[2 * i + 1] = pair[1]
  }
  return flat
}

function isChunk(c: unknown): c is Chunk {
  return typeof c === 'string' || c instanceof Uint8Array
}

function chunkLength(c: Chunk): number {
  return typeof c === 'string' ? c.length : c.byteLength
}

function toBuffer(c: Chunk): Buffer {
  return typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c.buffer, c.byteOffset, c.byteLength)
}

/** A chunk as the core takes it: a string or a Buffer (a view, no copy, of any other Uint8Array). */
function asNative(c: Chunk): string | Buffer {
  return typeof c === 'string' || Buffer.isBuffer(c) ? c : toBuffer(c)
}

/** One payload for the core from checked chunks: the chunk itself when there is one, else their bytes joined. */
function joinChunks(chunks: readonly unknown[]): string | Buffer | null {
  for (const c of chunks) if (!isChunk(c)) throw new TypeError('a body chunk must be a string or a Uint8Array')
  if (chunks.length === 0) return null
  if (chunks.length === 1) return asNative(chunks[0] as Chunk)
  return Buffer.concat((chunks as Chunk[]).map(toBuffer))
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

/** Runs an application against the requests of one server. */
export class Gateway {
  /** This thread's lane of the server: where responses go and bodies come from. */
  private readonly native: NativeLane

  /**
   * @param attach Attaches this thread to the server, given the function that receives batches.
   */
  constructor(
    attach: (onBatch: (batch: Buffer) => void) => NativeLane,
    private readonly app: App,
    private readonly base: EnvironBase,
  ) {
    this.native = attach(this.onBatch)
  }

  /** Receives each packed batch from the core (the threadsafe function's target). */
  readonly onBatch = (batch: Buffer): void => {
    // The whole answers of the batch go to the core together when it ends (see holdAnswers).
    this.native.holdAnswers()
    try {
      // Requests that arrive while a batch runs are taken in the same turn, without another wake-up.
      for (let b: Buffer | null = batch; b !== null; b = this.native.takeBatch()) {
        if (b.length === 0) continue
        forEachRequest(b, this.base, this.makeInput, this.runRequest)
      }
    } finally {
      this.native.sendAnswers()
    }
  }

  private readonly makeInput = (id: number, environ: Environ, whole: Buffer | undefined): Input =>
    new Input(this.native, id, environ.CONTENT_LENGTH, environ.HTTP_TRANSFER_ENCODING !== undefined, whole)

  private readonly runRequest = (id: number, environ: Environ): void => this.run(new Exchange(id, environ))

  private run(ex: Exchange): void {
    const write = (chunk: Chunk): void | Promise<void> => this.write(ex, chunk)
    const startResponse: StartResponse = (status, headers, excInfo) => {
      if (excInfo !== undefined && excInfo !== null) {
        if (ex.started) throw excInfo
      } else if (ex.status !== undefined) {
        throw new GatehouseError('GH_ERR_APP', 'startResponse() was already called; pass excInfo to replace the status')
      }
      if (typeof status !== 'string') throw new TypeError('startResponse: status must be a string like "200 OK"')
      ex.headers = flattenHeaders(headers)
      ex.status = status
      return write as Write
    }
    let result: Body | Promise<Body>
    try {
      result = this.app(ex.environ, startResponse)
    } catch (e) {
      this.fail(ex, e, undefined)
      return
    }
    if (isPromise(result)) {
      result.then(
        (body) => this.finish(ex, body),
        (e: unknown) => this.fail(ex, e, undefined),
      )
    } else {
      this.finish(ex, result)
    }
  }

  /** Send the head to the core if it has not gone yet. */
  private ensureStarted(ex: Exchange): void {
    if (ex.started) return
    if (ex.status === undefined) throw new GatehouseError('GH_ERR_APP', 'the application sent body data before calling startResponse()')
    try {
      this.native.startResponse(ex.id, ex.status, ex.headers)
    } catch (e) {
      throw fromNative(e)
    }
    ex.started = true
  }

  /** The write callable, and the streaming path: returns a Promise only when it must wait. */
  private write(ex: Exchange, chunk: Chunk): void | Promise<void> {
    if (!isChunk(chunk)) throw new TypeError('write: a chunk must be a string or a Uint8Array')
    if (ex.finished) throw new GatehouseError('GH_ERR_CLOSED', 'the response is already finished')
    if (chunkLength(chunk) === 0) return
    this.ensureStarted(ex)
    let more: boolean
    try {
      more = this.native.write(ex.id, asNative(chunk))
    } catch (e) {
      throw fromNative(e)
    }
    if (!more) {
      return this.native.drain(ex.id).catch((e: unknown) => {
        throw fromNative(e)
      })
    }
  }

  private finish(ex: Exchange, body: Body): void {
    if (Array.isArray(body) && !ex.started) {
      this.respondWhole(ex, body as Chunk[])
      return
    }
    void this.stream(ex, body)
  }

  /** The fast path: status, headers and the whole body in one native call. */
  private respondWhole(ex: Exchange, chunks: Chunk[]): void {
    try {
      if (ex.status === undefined) throw new GatehouseError('GH_ERR_APP', 'the application returned without calling startResponse()')
      const payload = joinChunks(chunks)
      try {
        this.native.respond(ex.id, ex.status, ex.headers, payload)
      } catch (e) {
        throw fromNative(e)
      }
      ex.finished = true
    } catch (e) {
      this.fail(ex, e, chunks as Body)
      return
    }
    this.close(chunks as Body)
  }

  /** The streaming path, for iterables, async iterables and responses begun with write(). */
  private async stream(ex: Exchange, body: Body): Promise<void> {
    try {
      if (body === null || body === undefined || (typeof body !== 'object' && typeof body !== 'function')) {
        throw new TypeError('the application must return an iterable or async iterable of chunks')
      }
      const asyncIt = (body as AsyncIterable<Chunk>)[Symbol.asyncIterator]
      const syncIt = (body as Iterable<Chunk>)[Symbol.iterator]
      if (typeof asyncIt !== 'function' && typeof syncIt !== 'function') {
        throw new TypeError('the application must return an iterable or async iterable of chunks')
      }
      if (typeof asyncIt === 'function') {
        for await (const chunk of body as AsyncIterable<Chunk>) {
          if (ex.finished) break
          const w = this.write(ex, chunk)
          if (w) await w
        }
      } else {
        const it = (syncIt as () => Iterator<Chunk>).call(body)
        // A sync iterable of one chunk gets a Content-Length: look one chunk ahead.
        let first = it.next()
        while (!first.done && isChunk(first.value) && chunkLength(first.value) === 0) first = it.next()
        const second = first.done ? first : it.next()
        if (!ex.started && second.done) {
          this.respondWhole(ex, first.done ? [] : [first.value])
          return
        }
        // A sync iterable yields without waiting, so small chunks are gathered and cross to the
        // core up to 64 KiB at a time: one native call instead of one per chunk.
        const batch: Chunk[] = []
        let batched = 0
        const flush = async (): Promise<void> => {
          if (batch.length === 0) return
          const chunk = joinChunks(batch) as string | Buffer
          batch.length = 0
          batched = 0
          const w = this.write(ex, chunk)
          if (w) await w
        }
        const add = async (c: Chunk): Promise<void> => {
          if (!isChunk(c)) throw new TypeError('a body chunk must be a string or a Uint8Array')
          batch.push(c)
          batched += chunkLength(c)
          if (batched >= STREAM_BATCH) await flush()
        }
        for (const r of [first, second]) if (!r.done) await add(r.value)
        for (let r = it.next(); !r.done && !ex.finished; r = it.next()) await add(r.value)
        if (!ex.finished) await flush()
        if (typeof it.return === 'function' && ex.finished) it.return()
      }
      if (ex.finished) return
      if (!ex.started) {
        // An empty body: the headers go out now, with Content-Length: 0.
        this.respondWhole(ex, [])
        return
      }
      ex.finished = true
      this.native.end(ex.id)
    } catch (e) {
      this.fail(ex, e, undefined)
    } finally {
      this.close(body)
    }
  }

  /** An error in the application (or a client gone away). */
  private fail(ex: Exchange, e: unknown, body: Body | undefined): void {
    const err = fromNative(e)
    const clientGone = err instanceof GatehouseError && err.code === 'GH_ERR_CLOSED'
    if (!clientGone) this.logError(ex, err)
    if (!ex.finished) {
      ex.finished = true
      try {
        if (!ex.started) {
          const status = statusFor(err)
          this.native.respond(ex.id, status, ERROR_HEADERS, `${status.slice(4)}\n`)
        } else {
          this.native.abort(ex.id)
        }
      } catch {
        // The request is already gone on the native side; nothing left to answer.
      }
    }
    if (body !== undefined) this.close(body)
  }

  private logError(ex: Exchange, e: unknown): void {
    const what = e instanceof Error ? (e.stack ?? String(e)) : String(e)
    try {
      this.base.errors.write(
        `[${new Date().toISOString()}] gatehouse: error in the application for ${ex.environ.REQUEST_METHOD} ${ex.environ.REQUEST_URI}: ${what}\n`,
      )
    } catch {
      // wsgi.errors itself failed; there is nowhere left to report to.
    }
  }

  /** Call the body's close() exactly once. */
  private close(body: Body): void {
    if (body === null || body === undefined || typeof body !== 'object') return
    const closer = (body as { close?: unknown }).close
    if (typeof closer !== 'function') return
    const marked = body as { [kClosed]?: boolean }
    if (marked[kClosed]) return
    try {
      Object.defineProperty(body, kClosed, { value: true })
    } catch {
      // A frozen body cannot be marked; it is closed from one place only anyway.
    }
    try {
      const r = closer.call(body)
      if (isPromise(r)) r.catch((e: unknown) => this.base.errors.write(`gatehouse: body.close() failed: ${String(e)}\n`))
    } catch (e) {
      this.base.errors.write(`gatehouse: body.close() failed: ${e instanceof Error ? e.stack : String(e)}\n`)
    }
  }
}

const kClosed = Symbol('gatehouse.closed')
