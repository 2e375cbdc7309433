/**
 * Reads the packed batches the core sends (see crates/node/src/head.rs for the layout) into
 * `environ` objects. No HTTP parsing here: only slicing.
 *
 * The records' text is made a JavaScript string once per batch (one native call), and every
 * variable is a slice of it, which V8 makes without leaving JavaScript; the CGI names of
 * common headers come from a table read once (`knownKeys`), so no key string is made per
 * request. Each record says its own length: one that cannot be read is reported alone and the
 * rest of the batch goes on.
 */
import type { Environ, ErrorStream, GatewayName } from './types'

const FLAG_HTTP11 = 1
const FLAG_PATH_UTF8 = 2
const FLAG_HTTPS = 4
/** The whole request body came with the head (a small body already in the socket). */
const FLAG_BODY = 8
const FLAG_PATH_ASCII = 16

const KIND_REQUEST = 0
const KIND_REFUSED = 1
const KIND_ABANDONED = 2
const KIND_HALF_CLOSED = 3

/** A field line that makes no CGI variable; a key bit: the variable's value is the joined one after the line. */
const KEY_NONE = 0xffff
const KEY_JOINED = 0x8000

/** A request id is `generation * INDEX_SPAN + index` (crates/node/src/bridge.rs, RequestId). */
export const INDEX_SPAN = 2 ** 20

/** Node's Buffer has fast slicing methods that @types/node does not declare. */
interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string
  utf8Slice(start: number, end: number): string
}

/** What every environ of one server shares. */
export interface EnvironBase {
  serverName: string
  software: string
  gateway: GatewayName
  errors: ErrorStream
  urlScheme: 'http' | 'https'
}

/** What a batch's records are handed to. */
export interface BatchHandlers {
  /** A request: its id, environ (without `wsgi.input`) and, when it came with the head, its whole body. */
  request(id: number, environ: Environ, whole: Buffer | undefined): void
  /** A request whose record could not be read (`id` when at least that was read). */
  unreadable(id: number | undefined, error: unknown): void
  /** An answer of the last flush that the core refused, by its place in that flush. */
  refused(ordinal: number, code: string, message: string): void
  /** A request the core gave up on: its client left, or (`deadline`) its requestTimeout passed. */
  abandoned(id: number, deadline: boolean): void
  /** A request whose client half-closed its connection: it sends nothing more, its answer is still written. */
  halfClosed(id: number): void
}

/** Where `environ['gatehouse.signal']` comes from: the request's gateway makes it when first asked. */
export interface SignalSource {
  signal(): AbortSignal
}

/**
 * The signal of an environ no request stands behind: never aborted. The adapters compare with it
 * to skip listening where nothing can happen.
 */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal

/**
 * An environ: the CGI and `wsgi.*` keys as own properties, always made in the same order so
 * that every request's environ has one shape; `gatehouse.signal` is an accessor, so the
 * AbortController behind it is made only for the requests whose application asks for it.
 */
class RequestEnviron {
  #source: SignalSource | undefined = undefined
  #signal: AbortSignal | undefined = undefined
  /** Where the record's field lines are (`gatehouse.rawHeaders` reads them when asked). */
  #lines: FieldLines | undefined = undefined
  #rawHeaders: string[] | undefined = undefined;
  [key: string]: unknown

  constructor(base: EnvironBase, flags: number, method: string, uri: string, path: string, query: string, remoteAddr: string, remotePort: string, serverPort: string) {
    this.REQUEST_METHOD = method
    this.SCRIPT_NAME = ''
    this.PATH_INFO = path
    this.QUERY_STRING = query
    this.REQUEST_URI = uri
    this.SERVER_NAME = base.serverName
    this.SERVER_PORT = serverPort
    this.SERVER_PROTOCOL = flags & FLAG_HTTP11 ? 'HTTP/1.1' : 'HTTP/1.0'
    this.SERVER_SOFTWARE = base.software
    this.REMOTE_ADDR = remoteAddr
    this.REMOTE_PORT = remotePort
    this['wsgi.version'] = WSGI_VERSION
    this['wsgi.url_scheme'] = flags & FLAG_HTTPS ? 'https' : base.urlScheme
    this['wsgi.input'] = undefined
    this['wsgi.errors'] = base.errors
    this['wsgi.multithread'] = true
    this['wsgi.multiprocess'] = false
    this['wsgi.run_once'] = false
  }

  /** Aborted (with a GatehouseError as its reason) when the client goes away or `requestTimeout` passes. */
  get 'gatehouse.signal'(): AbortSignal {
    this.#signal ??= this.#source?.signal() ?? NEVER_ABORTED
    return this.#signal
  }

  set 'gatehouse.signal'(signal: AbortSignal) {
    this.#signal = signal
  }

  /**
   * The request's field lines as sent: `[name, value, name, value, ...]`, one pair a line, names
   * in the case the client sent (node:http's `rawHeaders`). Made when first read.
   */
  get 'gatehouse.rawHeaders'(): string[] | undefined {
    if (this.#rawHeaders === undefined && this.#lines !== undefined) this.#rawHeaders = readLines(this.#lines)
    return this.#rawHeaders
  }

  /** Where the field lines of `environ` are. */
  static setLines(environ: RequestEnviron, lines: FieldLines): void {
    environ.#lines = lines
  }

  /** Tell `environ` where its signal comes from. */
  static bind(environ: Environ, source: SignalSource): void {
    if (environ instanceof RequestEnviron) environ.#source = source
  }
}

/** Tell `environ` where its `gatehouse.signal` comes from. */
export const bindSignal = RequestEnviron.bind

const WSGI_VERSION: [1, 0] = [1, 0]

/** The field lines of one record: in `buf` from `at`, `count` of them; `text` holds the same bytes at offset - 4. */
interface FieldLines {
  buf: Buffer
  text: string
  at: number
  end: number
  count: number
}

/** The flat `[name, value, ...]` list of a record's field lines. */
function readLines(l: FieldLines): string[] {
  const { buf, text, end } = l
  const out: string[] = new Array(2 * l.count)
  let off = l.at
  const str = (): string => {
    const len = readU32(buf, off, end)
    const s = off + 4
    off = s + len
    if (off > end) throw new BadRecord('a field runs past the end of its record')
    return text.slice(s - 4, off - 4)
  }
  for (let i = 0; i < l.count; i++) {
    const k = (buf[off] as number) | ((buf[off + 1] as number) << 8)
    off += 2
    if (k !== KEY_NONE && (k & ~KEY_JOINED) === 0) str()
    out[2 * i] = str()
    out[2 * i + 1] = str()
    if (k !== KEY_NONE && k & KEY_JOINED) str()
  }
  return out
}

/** A record that cannot be read (a bug in the core or here): it is reported, never thrown past the batch. */
class BadRecord extends Error {}

/** Reads batches for one server: the text once, then each record. */
export class BatchReader {
  readonly #base: EnvironBase
  readonly #keys: readonly string[]

  /** @param keys The CGI names of the headers that cross by number (key `i + 1` is `keys[i]`). */
  constructor(base: EnvironBase, keys: readonly string[]) {
    this.#base = base
    this.#keys = keys
  }

  /** Hand every record of `batch` to `handlers`, each on its own: an exception in one does not stop the others. */
  read(batch: Buffer, handlers: BatchHandlers): void {
    const buf = batch as FastBuffer
    if (buf.length < 4) return
    const textEnd = 4 + readU32(buf, 0, buf.length)
    if (textEnd > buf.length) {
      handlers.unreadable(undefined, new BadRecord('a batch says its text is longer than the batch'))
      return
    }
    // String offsets are byte offsets less 4 (the text starts after its length).
    const text = buf.latin1Slice(4, textEnd)
    let off = 4
    while (off + 5 <= textEnd) {
      const len = readU32(buf, off, textEnd)
      const kind = buf[off + 4]
      const start = off + 5
      const end = start + len
      if (end > textEnd) {
        handlers.unreadable(undefined, new BadRecord('a record runs past the end of its batch'))
        return
      }
      off = end
      if (kind === KIND_REQUEST) {
        let id: number | undefined
        let environ: Environ
        let whole: Buffer | undefined
        try {
          id = readId(buf, start, end)
          const r = this.#request(buf, text, start + 8, end, textEnd)
          environ = r.environ
          whole = r.whole
        } catch (e) {
          handlers.unreadable(id, e)
          continue
        }
        handlers.request(id, environ, whole)
      } else if (kind === KIND_ABANDONED) {
        let id: number
        let deadline: boolean
        try {
          id = readId(buf, start, end)
          deadline = buf[start + 8] === 1
        } catch (e) {
          handlers.unreadable(undefined, e)
          continue
        }
        handlers.abandoned(id, deadline)
      } else if (kind === KIND_HALF_CLOSED) {
        let id: number
        try {
          id = readId(buf, start, end)
        } catch (e) {
          handlers.unreadable(undefined, e)
          continue
        }
        handlers.halfClosed(id)
      } else if (kind === KIND_REFUSED) {
        let refusal: [number, string, string]
        try {
          const code = readString(buf, text, start + 4, end)
          const message = readString(buf, text, code.end, end)
          // The message is UTF-8 (it may quote what the application gave).
          refusal = [readU32(buf, start, end), code.value, buf.utf8Slice(message.start, message.end)]
        } catch (e) {
          handlers.unreadable(undefined, e)
          continue
        }
        handlers.refused(...refusal)
      }
    }
  }

  /** One request record's fields, from the flags on. */
  #request(buf: FastBuffer, text: string, at: number, end: number, bodies: number): { environ: Environ; whole: Buffer | undefined } {
    const base = this.#base
    const flags = buf[at] as number
    let off = at + 1
    // Each field: u32 length, then the bytes; `text` holds the same bytes at offset - 4.
    const str = (): string => {
      const len = readU32(buf, off, end)
      const s = off + 4
      off = s + len
      if (off > end) throw new BadRecord('a field runs past the end of its record')
      return text.slice(s - 4, off - 4)
    }
    const method = str()
    const uri = str()
    let path: string
    {
      const len = readU32(buf, off, end)
      const s = off + 4
      off = s + len
      if (off > end) throw new BadRecord('a field runs past the end of its record')
      path = flags & FLAG_PATH_ASCII || !(base.gateway === 'u0' && flags & FLAG_PATH_UTF8) ? text.slice(s - 4, off - 4) : buf.utf8Slice(s, off)
    }
    const query = str()
    const remoteAddr = str()
    const remotePort = str()
    const serverPort = str()
    const request = new RequestEnviron(base, flags, method, uri, path, query, remoteAddr, remotePort, serverPort)
    const environ = request as unknown as Environ
    const keys = this.#keys
    const lines = readU32(buf, off, end)
    off += 4
    RequestEnviron.setLines(request, { buf, text, at: off, end, count: lines })
    for (let i = 0; i < lines; i++) {
      if (off + 2 > end) throw new BadRecord('a field line runs past the end of its record')
      const k = (buf[off] as number) | ((buf[off + 1] as number) << 8)
      off += 2
      if (k === KEY_NONE) {
        // Not a variable: step over the name and the value.
        off += 4 + readU32(buf, off, end)
        off += 4 + readU32(buf, off, end)
        if (off > end) throw new BadRecord('a field line runs past the end of its record')
        continue
      }
      const key = (k & ~KEY_JOINED) === 0 ? str() : keys[(k & ~KEY_JOINED) - 1]
      if (key === undefined) throw new BadRecord(`unknown variable key ${k}`)
      off += 4 + readU32(buf, off, end)
      const value = str()
      environ[key] = k & KEY_JOINED ? str() : value
    }
    const n = readU32(buf, off, end)
    off += 4
    for (let i = 0; i < n; i++) {
      if (off + 2 > end) throw new BadRecord('a variable runs past the end of its record')
      const k = (buf[off] as number) | ((buf[off + 1] as number) << 8)
      off += 2
      const key = k === 0 ? str() : keys[k - 1]
      if (key === undefined) throw new BadRecord(`unknown variable key ${k}`)
      environ[key] = str()
    }
    let whole: Buffer | undefined
    if (flags & FLAG_BODY) {
      const at = bodies + readU32(buf, off, end)
      const len = readU32(buf, off + 4, end)
      off += 8
      if (at + len > buf.length) throw new BadRecord('a body runs past the end of its batch')
      // A view of the batch, not a copy: the batch lives as long as the body is kept.
      whole = buf.subarray(at, at + len)
    }
    return { environ, whole }
  }
}

/** A little-endian u32 at `off`, which must end by `end`. */
function readU32(buf: Buffer, off: number, end: number): number {
  if (off + 4 > end) throw new BadRecord('a number runs past the end of its record')
  return ((buf[off] as number) | ((buf[off + 1] as number) << 8) | ((buf[off + 2] as number) << 16)) + (buf[off + 3] as number) * 0x1000000
}

/** A request id at `off`: its slot index, then its generation (u32 each). */
function readId(buf: Buffer, off: number, end: number): number {
  return readU32(buf, off + 4, end) * INDEX_SPAN + readU32(buf, off, end)
}

/** A string field at `off` as latin-1 text, and where its bytes start and end. */
function readString(buf: Buffer, text: string, off: number, end: number): { value: string; start: number; end: number } {
  const len = readU32(buf, off, end)
  const start = off + 4
  if (start + len > end) throw new BadRecord('a field runs past the end of its record')
  return { value: text.slice(start - 4, start + len - 4), start, end: start + len }
}
