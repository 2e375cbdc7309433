/**
 * The gateway: runs the application for each request with PEP 3333 semantics — startResponse,
 * the write callable, body iteration, errors turned into a 500 (or a cut connection once the
 * headers are out), and `close()` called exactly once.
 *
 * The crossing, seen from here: a batch of requests comes in through one call (the lane's
 * threadsafe function), and the whole answers they get are packed into one buffer and go out
 * with one call (`flush`), which also brings the requests that arrived meanwhile. An answer
 * whose status and headers equal the previous one's is sent without them: the core reuses the
 * head it already checked and encoded. Streamed responses go chunk by chunk, in order.
 */
import { BatchReader, bindSignal, INDEX_SPAN, type EnvironBase, type SignalSource } from './environ'
import { GatehouseError, fromNative } from './errors'
import { kFrameAsNode, type MarkedHeaders } from './framing'
import { Input, NO_BODY } from './input'
import type { NativeLane } from './native'
import type { App, Body, Chunk, Environ, StartResponse, Write } from './types'

const ERROR_HEADERS: Array<[string, string]> = [['Content-Type', 'text/plain; charset=utf-8']]

/** Chunks of a sync iterable are gathered up to this many bytes before they cross to the core. */
const STREAM_BATCH = 64 * 1024

/** Answer-record flags (crates/node/src/answers.rs). */
const FLAG_SAME_HEAD = 1
const FLAG_ATTACHED = 2
const FLAG_FRAME_AS_NODE = 4
/** Bodies this large cross beside the answers, without a copy (as the core's zero-copy threshold). */
const ATTACH_MIN = 64 * 1024
/** Answers go out at once past this many bytes or answers, so none waits long for the others. */
const FLUSH_BYTES = 256 * 1024
const FLUSH_ANSWERS = 64

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

const noop = (): void => undefined

/**
 * Whether `err` is how an application stops when its signal aborts with `reason`: the reason
 * itself (`signal.throwIfAborted()`, fetch), an error caused by it, or an `AbortError`.
 */
function stoppedBy(reason: GatehouseError | undefined, err: unknown): boolean {
  if (reason === undefined) return false
  if (err === reason) return true
  if (typeof err !== 'object' || err === null) return false
  return (err as { cause?: unknown }).cause === reason || (err as { name?: unknown }).name === 'AbortError'
}

/** The state of one request on the JavaScript side. */
class Exchange implements SignalSource {
  status: string | undefined = undefined
  /** The headers as the application gave them (checked to be pairs of strings). */
  headers: Array<[string, string]> = []
  /** The application's headers array carried {@link kFrameAsNode}: framed as node:http's answers. */
  frameAsNode = false
  /** The head went to the core (a streamed response started). */
  started = false
  /** The request id was consumed (an answer packed, end or abort). */
  finished = false
  /** Set once the client is gone: what every later write() returns (a rejected, handled Promise). */
  gone: Promise<void> | undefined = undefined
  /** The Promise writes return while the stream's window is full. */
  draining: Promise<void> | undefined = undefined
  /** Made when the application first asks for `environ['gatehouse.signal']`. */
  controller: AbortController | undefined = undefined
  /** The client half-closed: the signal aborted with this reason, and the answer is still wanted. */
  halfClosed: GatehouseError | undefined = undefined

  constructor(
    readonly id: number,
    readonly environ: Environ,
    /** The open requests whose application holds a signal, by id (to abort them). */
    private readonly watched: Map<number, Exchange>,
  ) {}

  signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (!this.finished) this.watched.set(this.id, this)
    }
    return this.controller.signal
  }

  /** The request is over on this side: nothing to abort any more. */
  settle(): void {
    this.finished = true
    if (this.controller !== undefined) this.watched.delete(this.id)
  }
}

function checkHeaders(headers: unknown): Array<[string, string]> {
  if (!Array.isArray(headers)) throw new TypeError('startResponse: headers must be an array of [name, value] pairs')
  for (let i = 0; i < headers.length; i++) {
    const pair: unknown = headers[i]
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw new TypeError(`startResponse: header ${i} must be a [name, value] pair of strings`)
    }
  }
  return headers as Array<[string, string]>
}

function flatten(headers: Array<[string, string]>): string[] {
  const flat: string[] = new Array(headers.length * 2)
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i] as [string, string]
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

/** Node's Buffer writes UTF-8 without a bounds object; @types/node does not declare it. */
interface WritableBuffer extends Buffer {
  utf8Write(s: string, offset: number): number
}

/** The whole answers waiting to go to the core, packed as crates/node/src/answers.rs reads them. */
class Answers {
  buf = Buffer.allocUnsafe(64 * 1024) as WritableBuffer
  used = 0
  /** The exchanges answered, in record order (a refusal names its record's place). */
  exchanges: Exchange[] = []
  /** Large bodies that cross beside the buffer. */
  attached: Buffer[] = []
  /** The status and header strings of the last record written with a head. */
  #lastHead: string[] | undefined
  /** Whether that head was framed as node's (part of the head the core reuses). */
  #lastFrameAsNode = false

  #room(n: number): void {
    if (this.used + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + n)) as WritableBuffer
    this.buf.copy(bigger, 0, 0, this.used)
    this.buf = bigger
  }

  #u32(v: number): void {
    const b = this.buf
    const o = this.used
    b[o] = v & 0xff
    b[o + 1] = (v >>> 8) & 0xff
    b[o + 2] = (v >>> 16) & 0xff
    b[o + 3] = (v >>> 24) & 0xff
    this.used = o + 4
  }

  /** A string as u32 length and UTF-8 bytes. */
  #str(s: string): void {
    const n = s.length
    this.#room(4 + 3 * n)
    const b = this.buf
    const at = this.used + 4
    let i = 0
    // Short ASCII strings are copied here: cheaper than a native call.
    if (n < 64) {
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c > 0x7f) break
        b[at + i] = c
      }
    }
    const len = i === n ? n : b.utf8Write(s, at)
    this.#u32(len)
    this.used = at + len
  }

  /** Whether this status and these headers are those of the last record written with a head. */
  #sameHead(status: string, headers: Array<[string, string]>): boolean {
    const last = this.#lastHead
    if (last === undefined || last.length !== 2 * headers.length + 1 || last[0] !== status) return false
    for (let i = 0; i < headers.length; i++) {
      const pair = headers[i] as [string, string]
      if (last[2 * i + 1] !== pair[0] || last[2 * i + 2] !== pair[1]) return false
    }
    return true
  }

  /** Pack one whole answer. */
  add(ex: Exchange, status: string, headers: Array<[string, string]>, body: string | Buffer | null, frameAsNode: boolean): void {
    const same = frameAsNode === this.#lastFrameAsNode && this.#sameHead(status, headers)
    // Checked again here: the application may have changed its headers array since startResponse.
    const head = same ? undefined : [status, ...flatten(checkHeaders(headers))]
    this.#room(13)
    const start = this.used
    this.used += 4
    this.#u32(ex.id % INDEX_SPAN)
    this.#u32(Math.floor(ex.id / INDEX_SPAN))
    const flagsAt = this.used++
    let flags = 0
    if (head === undefined) {
      flags |= FLAG_SAME_HEAD
    } else {
      this.#u32(head.length)
      for (const s of head) this.#str(s)
      this.#lastHead = head
      this.#lastFrameAsNode = frameAsNode
      if (frameAsNode) flags |= FLAG_FRAME_AS_NODE
    }
    if (typeof body === 'string') {
      this.#str(body)
    } else if (body !== null && body.length >= ATTACH_MIN) {
      flags |= FLAG_ATTACHED
      this.#room(4)
      this.#u32(this.attached.length)
      this.attached.push(body)
    } else {
      const n = body === null ? 0 : body.length
      this.#room(4 + n)
      this.#u32(n)
      if (body !== null) body.copy(this.buf, this.used)
      this.used += n
    }
    this.buf[flagsAt] = flags
    const len = this.used - start - 4
    this.buf.writeUInt32LE(len, start)
    this.exchanges.push(ex)
  }

  /** Whether enough waits that it should go now. */
  get full(): boolean {
    return this.used >= FLUSH_BYTES || this.exchanges.length >= FLUSH_ANSWERS
  }

  /** Forget what was packed (after it was handed to the core). */
  clear(): void {
    this.used = 0
    this.exchanges = []
    this.attached = []
  }
}

/** Runs an application against the requests of one server. */
export class Gateway {
  /** This thread's lane of the server: where responses go and bodies come from. */
  private readonly native: NativeLane
  private readonly reader: BatchReader
  private readonly answers = new Answers()
  /** The exchanges of the flush whose batch is being read (its refusals name them by place). */
  private flushed: Exchange[] = []
  /** A batch is being run: answers wait for its end instead of a flush of their own. */
  private running = false
  /** A flush is scheduled for answers given outside a batch (async applications). */
  private scheduled = false
  /** Open requests whose application asked for a signal. */
  private readonly watched = new Map<number, Exchange>()

  /**
   * @param attach Attaches this thread to the server, given the function that receives batches.
   */
  constructor(
    attach: (onBatch: (batch: Buffer) => void) => NativeLane,
    private readonly app: App,
    private readonly base: EnvironBase,
  ) {
    this.native = attach(this.onBatch)
    // Property keys are looked up by their internalized form: make the table's strings keys once.
    const keys = Object.keys(Object.fromEntries(this.native.knownKeys().map((k) => [k, true])))
    this.reader = new BatchReader(base, keys)
  }

  /** Receives each packed batch from the core (the threadsafe function's target). Never throws. */
  readonly onBatch = (batch: Buffer): void => {
    this.drive(batch.length > 0 ? batch : null)
  }

  /**
   * Run `first`, then flush the answers and run what each flush brings back, until a flush
   * brings nothing. Never throws: a batch cannot fail as a whole.
   */
  private drive(first: Buffer | null): void {
    if (this.running) {
      if (first !== null) this.runBatch(first, [])
      return
    }
    this.running = true
    try {
      if (first !== null) this.runBatch(first, [])
      // Nothing answered yet (async applications answer later, in their promises): no flush now.
      // Their answers go with the flush scheduled when they come, and requests arriving
      // meanwhile wake this thread as usual. A flush per batch, not two.
      while (this.answers.exchanges.length > 0 && this.flushAndRun()) {
        // each flush may bring requests that arrived meanwhile; run them and flush again
      }
    } catch (e) {
      this.internalError(e)
    } finally {
      this.running = false
    }
  }

  /**
   * Hand the packed answers to the core and run the requests that arrived meanwhile (and the
   * refusals of this flush, which name its answers by place). False when nothing came back.
   */
  private flushAndRun(): boolean {
    const a = this.answers
    const exchanges = a.exchanges
    const attached = a.attached
    const used = a.used
    a.clear()
    let batch: Buffer | null
    try {
      batch = this.native.flush(used > 0 ? a.buf : null, used, attached.length > 0 ? attached : undefined)
    } catch (e) {
      // A bug below: the answers of this flush are lost and their connections time out. Said loudly.
      this.internalError(e)
      return false
    }
    if (batch === null) return false
    this.runBatch(batch, exchanges)
    return true
  }

  private runBatch(batch: Buffer, flushed: Exchange[]): void {
    const outer = this.flushed
    this.flushed = flushed
    try {
      this.reader.read(batch, this.handlers)
    } finally {
      this.flushed = outer
    }
  }

  private readonly handlers = {
    request: (id: number, environ: Environ, whole: Buffer | undefined): void => {
      try {
        environ['wsgi.input'] =
          whole !== undefined || environ.HTTP_TRANSFER_ENCODING !== undefined || (environ.CONTENT_LENGTH !== undefined && environ.CONTENT_LENGTH !== '0')
            ? new Input(this.native, id, environ.CONTENT_LENGTH, environ.HTTP_TRANSFER_ENCODING !== undefined, whole)
            : NO_BODY
        const ex = new Exchange(id, environ, this.watched)
        bindSignal(environ, ex)
        this.run(ex)
      } catch (e) {
        this.internalError(e)
      }
    },
    unreadable: (id: number | undefined, error: unknown): void => {
      this.internalError(error)
      if (id === undefined) return
      // Answered alone; the rest of the batch runs.
      const ex = new Exchange(id, { REQUEST_METHOD: '-', REQUEST_URI: '-' } as Environ, this.watched)
      this.fail(ex, new GatehouseError('GH_ERR_INTERNAL', `a request could not be read: ${String(error)}`), undefined)
    },
    refused: (ordinal: number, code: string, message: string): void => {
      const ex = this.flushed[ordinal]
      if (ex === undefined) return
      // The core did not take that answer: the request is still open, answered now as the
      // application's error it is.
      ex.finished = false
      this.fail(ex, fromNative(new Error(`${code}: ${message}`)), undefined)
    },
    abandoned: (id: number, deadline: boolean): void => {
      const ex = this.watched.get(id)
      if (ex === undefined) return
      // Writes fail from now on in any case (the core dropped the request); the application
      // that holds the signal hears it too.
      const reason = deadline
        ? new GatehouseError('GH_ERR_REQUEST_TIMEOUT', 'the request took longer than requestTimeout')
        : new GatehouseError('GH_ERR_CLOSED', 'the client went away')
      void this.lost(ex, reason)
      this.watched.delete(id)
      ex.controller?.abort(reason)
    },
    halfClosed: (id: number): void => {
      const ex = this.watched.get(id)
      if (ex === undefined || ex.halfClosed !== undefined) return
      // Finished sending, not listening: writes go on, and an application that holds the
      // signal may stop early. If it throws because of that, the request counts as abandoned.
      ex.halfClosed = new GatehouseError('GH_ERR_HALF_CLOSED', 'the client half-closed its connection; it may still read the answer')
      ex.controller?.abort(ex.halfClosed)
    },
  }

  /** Answers were added outside a batch: flush them once the current turn of the event loop is done. */
  private afterAnswer(): void {
    if (this.answers.full) {
      if (this.running) this.flushAndRun()
      else this.drive(null)
      return
    }
    if (this.running || this.scheduled) return
    this.scheduled = true
    setImmediate(this.flushScheduled)
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false
    this.drive(null)
  }

  private run(ex: Exchange): void {
    let write: Write | undefined
    const startResponse: StartResponse = (status, headers, excInfo) => {
      if (excInfo !== undefined && excInfo !== null) {
        if (ex.started) throw excInfo
      } else if (ex.status !== undefined) {
        throw new GatehouseError('GH_ERR_APP', 'startResponse() was already called; pass excInfo to replace the status')
      }
      if (typeof status !== 'string') throw new TypeError('startResponse: status must be a string like "200 OK"')
      ex.headers = checkHeaders(headers)
      ex.frameAsNode = (headers as MarkedHeaders)[kFrameAsNode] === true
      ex.status = status
      return (write ??= (chunk: Chunk) => this.write(ex, chunk))
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
      this.native.startResponse(ex.id, ex.status, flatten(ex.headers), ex.frameAsNode)
    } catch (e) {
      throw fromNative(e)
    }
    ex.started = true
  }

  /**
   * The write callable, and the streaming path. Every chunk is queued at once, in call order,
   * whether or not the application awaits; past the window the returned Promise resolves when
   * there is room. Once the client is gone, writes return a rejected Promise that is already
   * handled: it fails an application that awaits it and is no unhandled rejection otherwise.
   */
  private write(ex: Exchange, chunk: Chunk): void | Promise<void> {
    if (!isChunk(chunk)) throw new TypeError('write: a chunk must be a string or a Uint8Array')
    if (ex.finished) throw new GatehouseError('GH_ERR_CLOSED', 'the response is already finished')
    if (ex.gone !== undefined) return ex.gone
    if (chunkLength(chunk) === 0) return
    let room: boolean
    try {
      this.ensureStarted(ex)
      room = this.native.write(ex.id, asNative(chunk))
    } catch (e) {
      const err = fromNative(e)
      if (err instanceof GatehouseError && err.code === 'GH_ERR_CLOSED') return this.lost(ex, err)
      throw err
    }
    if (room) return
    if (ex.draining !== undefined) return ex.draining
    let wait: Promise<void>
    try {
      wait = this.native.drain(ex.id)
    } catch (e) {
      return this.lost(ex, fromNative(e))
    }
    const draining = wait.then(
      () => {
        ex.draining = undefined
      },
      (e: unknown) => {
        ex.draining = undefined
        const err = fromNative(e)
        void this.lost(ex, err)
        throw err
      },
    )
    draining.catch(noop)
    ex.draining = draining
    return draining
  }

  /** The client went away: every later write() gets the same handled, rejected Promise. */
  private lost(ex: Exchange, err: unknown): Promise<void> {
    if (ex.gone === undefined) {
      ex.gone = Promise.reject(err)
      ex.gone.catch(noop)
    }
    return ex.gone
  }

  private finish(ex: Exchange, body: Body): void {
    if (Array.isArray(body) && !ex.started) {
      this.respondWhole(ex, body as Chunk[])
      return
    }
    void this.stream(ex, body)
  }

  /** The fast path: status, headers and the whole body in one record of the next flush. */
  private respondWhole(ex: Exchange, chunks: Chunk[]): void {
    try {
      if (ex.status === undefined) throw new GatehouseError('GH_ERR_APP', 'the application returned without calling startResponse()')
      this.answer(ex, ex.status, ex.headers, joinChunks(chunks), ex.frameAsNode)
    } catch (e) {
      this.fail(ex, e, chunks as Body)
      return
    }
    this.close(chunks as Body)
  }

  /** Pack a whole answer (it leaves with the next flush). Consumes the request. */
  private answer(ex: Exchange, status: string, headers: Array<[string, string]>, body: string | Buffer | null, frameAsNode: boolean): void {
    this.answers.add(ex, status, headers, body, frameAsNode)
    ex.settle()
    this.afterAnswer()
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
        try {
          for (const r of [first, second]) if (!r.done) await add(r.value)
          for (let r = it.next(); !r.done && !ex.finished; r = it.next()) await add(r.value)
          if (!ex.finished) await flush()
        } finally {
          if (typeof it.return === 'function' && ex.finished) it.return()
        }
      }
      if (ex.finished) return
      if (!ex.started) {
        // An empty body: the headers go out now, with Content-Length: 0.
        this.respondWhole(ex, [])
        return
      }
      ex.settle()
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
    if (!ex.finished && stoppedBy(ex.halfClosed, err)) {
      // The application stopped because its client half-closed: abandoned, not a 500.
      ex.settle()
      try {
        this.native.abandon(ex.id)
      } catch {
        // Gone on the native side already.
      }
      if (body !== undefined) this.close(body)
      return
    }
    // Not the application's fault: the client left, or the core already answered 503 for it.
    const clientGone = err instanceof GatehouseError && (err.code === 'GH_ERR_CLOSED' || err.code === 'GH_ERR_REQUEST_TIMEOUT')
    if (!clientGone) this.logError(ex, err)
    if (!ex.finished) {
      try {
        if (!ex.started) {
          const status = statusFor(err)
          this.answer(ex, status, ERROR_HEADERS, `${status.slice(4)}\n`, false)
        } else {
          ex.settle()
          this.native.abort(ex.id)
        }
      } catch {
        // The request is already gone on the native side; nothing left to answer.
        ex.settle()
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

  /** A failure of the gateway itself (never of one request): logged, never thrown into the event loop. */
  private internalError(e: unknown): void {
    try {
      this.base.errors.write(`[${new Date().toISOString()}] gatehouse: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    } catch {
      // nowhere left to report to
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
