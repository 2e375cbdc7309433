/**
 * Builds `environ` objects from the packed batch of request heads the core sends (see
 * crates/node/src/head.rs for the layout). No HTTP parsing here: only slicing.
 */
import type { Environ, ErrorStream, GatewayName, InputStream } from './types'

const FLAG_HTTP11 = 1
const FLAG_PATH_UTF8 = 2
const FLAG_HTTPS = 4
/** The whole request body follows the variables (a small body that came with the head). */
const FLAG_BODY = 8

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

/** Decode each request of a batch and hand it to `onRequest`. */
export function forEachRequest(
  batch: Buffer,
  base: EnvironBase,
  makeInput: (id: number, environ: Environ, whole: Buffer | undefined) => InputStream,
  onRequest: (id: number, environ: Environ) => void,
): void {
  const buf = batch as FastBuffer
  let off = 0
  const str = (): string => {
    const len = buf.readUInt32LE(off)
    off += 4
    const s = len === 0 ? '' : buf.latin1Slice(off, off + len)
    off += len
    return s
  }
  while (off < buf.length) {
    const id = buf.readUInt32LE(off)
    const flags = buf[off + 4] as number
    off += 5
    const method = str()
    const uri = str()
    let path: string
    {
      const len = buf.readUInt32LE(off)
      off += 4
      path = base.gateway === 'u0' && flags & FLAG_PATH_UTF8 ? buf.utf8Slice(off, off + len) : buf.latin1Slice(off, off + len)
      off += len
    }
    const query = str()
    const remoteAddr = str()
    const remotePort = str()
    const serverPort = str()
    const environ: Environ = {
      REQUEST_METHOD: method,
      SCRIPT_NAME: '',
      PATH_INFO: path,
      QUERY_STRING: query,
      REQUEST_URI: uri,
      SERVER_NAME: base.serverName,
      SERVER_PORT: serverPort,
      SERVER_PROTOCOL: flags & FLAG_HTTP11 ? 'HTTP/1.1' : 'HTTP/1.0',
      SERVER_SOFTWARE: base.software,
      REMOTE_ADDR: remoteAddr,
      REMOTE_PORT: remotePort,
      'wsgi.version': [1, 0],
      'wsgi.url_scheme': flags & FLAG_HTTPS ? 'https' : base.urlScheme,
      'wsgi.input': undefined as unknown as InputStream,
      'wsgi.errors': base.errors,
      'wsgi.multithread': true,
      'wsgi.multiprocess': false,
      'wsgi.run_once': false,
    }
    const n = buf.readUInt16LE(off)
    off += 2
    for (let i = 0; i < n; i++) {
      const klen = buf.readUInt16LE(off)
      off += 2
      const key = buf.latin1Slice(off, off + klen)
      off += klen
      environ[key] = str()
    }
    let whole: Buffer | undefined
    if (flags & FLAG_BODY) {
      const len = buf.readUInt32LE(off)
      off += 4
      // A view of the batch, not a copy: the batch lives as long as the body is kept.
      whole = buf.subarray(off, off + len)
      off += len
    }
    environ['wsgi.input'] = makeInput(id, environ, whole)
    onRequest(id, environ)
  }
}
