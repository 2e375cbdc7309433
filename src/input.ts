/** `wsgi.input`: the request body, pulled from the core on demand. */
import { fromNative } from './errors'
import type { NativeLane } from './native'
import type { InputStream } from './types'

const EMPTY = Buffer.alloc(0)

/** The body of one request. Reads ask the core for bytes; the first read sends `100 Continue`. */
export class Input implements InputStream {
  #native: NativeLane
  #id: number
  #buffered: Buffer = EMPTY
  #eof: boolean

  constructor(native: NativeLane, id: number, contentLength: string | undefined, chunked: boolean) {
    this.#native = native
    this.#id = id
    // No Content-Length and no chunked coding: there is no body to ask for.
    this.#eof = !chunked && (contentLength === undefined || contentLength === '0')
  }

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
    this.#buffered = this.#buffered.length === 0 ? piece : Buffer.concat([this.#buffered, piece])
    return true
  }

  #take(n: number): Buffer {
    const out = this.#buffered.subarray(0, n)
    this.#buffered = this.#buffered.subarray(n)
    return out
  }

  async read(size?: number): Promise<Buffer> {
    if (size === undefined || size === null || size < 0) {
      const parts: Buffer[] = [this.#take(this.#buffered.length)]
      while (await this.#fill()) parts.push(this.#take(this.#buffered.length))
      return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)
    }
    while (this.#buffered.length < size && (await this.#fill())) {
      // keep filling
    }
    return this.#take(Math.min(size, this.#buffered.length))
  }

  async readline(size?: number): Promise<Buffer> {
    const limit = size === undefined || size === null || size < 0 ? Infinity : size
    let scanned = 0
    for (;;) {
      const nl = this.#buffered.indexOf(10, scanned)
      if (nl !== -1 && nl + 1 <= limit) return this.#take(nl + 1)
      if (this.#buffered.length >= limit) return this.#take(limit)
      scanned = this.#buffered.length
      if (!(await this.#fill())) return this.#take(this.#buffered.length)
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
