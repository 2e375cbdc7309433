/** `wsgi.input`: the request body, pulled from the core on demand. */
import { fromNative } from './errors'
import type { NativeLane } from './native'
import type { InputStream } from './types'

const EMPTY = Buffer.alloc(0)

/** `wsgi.input` of a request without a body: one for all of them, since it has no state. */
export const NO_BODY: InputStream = Object.freeze({
  read: async (): Promise<Buffer> => EMPTY,
  readline: async (): Promise<Buffer> => EMPTY,
  readlines: async (): Promise<Buffer[]> => [],
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    // no lines
  },
})

/**
 * The body of one request. Reads ask the core for bytes; the first read sends `100 Continue`.
 * A small body that came with the head is here from the start (`whole`): reads then never
 * cross to the core.
 */
export class Input implements InputStream {
  #native: NativeLane
  /** The request's id on its lane. */
  #id: number
  /** Bytes read from the core and not yet returned, as received: joined only when taken. */
  #pieces: Buffer[] = []
  #length = 0
  #eof: boolean

  constructor(native: NativeLane, id: number, contentLength: string | undefined, chunked: boolean, whole?: Buffer) {
    this.#native = native
    this.#id = id
    if (whole !== undefined) {
      if (whole.length > 0) this.#pieces.push(whole)
      this.#length = whole.length
      this.#eof = true
      return
    }
    // No Content-Length and no chunked coding: there is no body to ask for.
    this.#eof = !chunked && (contentLength === undefined || contentLength === '0')
  }

  /** Ask the core for the next piece; false at the end of the body. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false
    let piece: Buffer
    try {
      piece = await this.#native.read(this.#id, 0)
    } catch (e) {
      throw fromNative(e)
    }
    if (piece.length === 0) {
      this.#eof = true
      return false
    }
    this.#pieces.push(piece)
    this.#length += piece.length
    return true
  }

  /** Take the first `n` buffered bytes (n <= what is buffered), joining pieces once. */
  #take(n: number): Buffer {
    if (n === 0) return EMPTY
    const first = this.#pieces[0] as Buffer
    let out: Buffer
    if (first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.#pieces.shift()
      else this.#pieces[0] = first.subarray(n)
    } else {
      const parts: Buffer[] = []
      let need = n
      while (need > 0) {
        const p = this.#pieces[0] as Buffer
        if (p.length <= need) {
          parts.push(p)
          this.#pieces.shift()
          need -= p.length
        } else {
          parts.push(p.subarray(0, need))
          this.#pieces[0] = p.subarray(need)
          need = 0
        }
      }
      out = Buffer.concat(parts, n)
    }
    this.#length -= n
    return out
  }

  async read(size?: number): Promise<Buffer> {
    if (size === undefined || size === null || size < 0) {
      while (await this.#fill()) {
        // keep filling: the whole rest of the body
      }
      return this.#take(this.#length)
    }
    while (this.#length < size && (await this.#fill())) {
      // keep filling
    }
    return this.#take(Math.min(size, this.#length))
  }

  async readline(size?: number): Promise<Buffer> {
    const limit = size === undefined || size === null || size < 0 ? Infinity : size
    // Scan each piece once: `offset` is the length of the pieces already scanned.
    let index = 0
    let offset = 0
    for (;;) {
      while (index < this.#pieces.length) {
        const p = this.#pieces[index] as Buffer
        const nl = p.indexOf(10)
        if (nl !== -1 && offset + nl + 1 <= limit) return this.#take(offset + nl + 1)
        offset += p.length
        index++
        if (offset >= limit) return this.#take(limit)
      }
      if (!(await this.#fill())) return this.#take(this.#length)
    }
  }

  async readlines(hint?: number): Promise<Buffer[]> {
    const lines: Buffer[] = []
    let total = 0
    for (;;) {
      const line = await this.readline()
      if (line.length === 0) return lines
      lines.push(line)
      total += line.length
      if (hint !== undefined && hint > 0 && total >= hint) return lines
    }
  }

  /** Iterates lines, as PEP 3333 says iterating `wsgi.input` does. */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const line = await this.readline()
      if (line.length === 0) return
      yield line
    }
  }
}
