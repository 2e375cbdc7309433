/** Errors of gatehouse, each with a stable `code` (`GH_ERR_*`). */

import { constants } from 'node:os'
import { getSystemErrorMap, getSystemErrorName } from 'node:util'

/** The codes a gatehouse error can carry. */
export type ErrorCode =
  | 'GH_ERR_BIND'
  | 'GH_ERR_IO'
  | 'GH_ERR_BODY_TOO_LARGE'
  | 'GH_ERR_BODY_TIMEOUT'
  | 'GH_ERR_BODY_INVALID'
  | 'GH_ERR_INVALID_STATUS'
  | 'GH_ERR_INVALID_HEADER'
  | 'GH_ERR_HOP_BY_HOP_HEADER'
  | 'GH_ERR_CLOSED'
  | 'GH_ERR_HALF_CLOSED'
  | 'GH_ERR_REQUEST_TIMEOUT'
  | 'GH_ERR_INVALID_OPTION'
  | 'GH_ERR_TLS'
  | 'GH_ERR_APP'
  | 'GH_ERR_INTERNAL'
  | 'GH_ERR_NO_BINDING'

/** The operating-system error behind a gatehouse error, in node's terms. */
export interface SystemErrorInfo {
  /** Node's error number, negative as in node's own system errors (`-98` for EADDRINUSE on Linux). */
  errno?: number
  /** The OS error's name, as node's system errors have it in `code`: 'EADDRINUSE', 'EACCES', … */
  osCode?: string
}

/** An error raised by gatehouse. Match on `code`, not on the message. */
export class GatehouseError extends Error {
  /** The stable code. */
  readonly code: ErrorCode
  /**
   * When an OS error caused this one (`GH_ERR_BIND`, a certificate file that cannot be read, a
   * body read whose connection failed: `GH_ERR_CLOSED` with ECONNRESET): node's number for it, negative as `err.errno` of node's own system errors, so
   * `err.errno === -os.constants.errno.EADDRINUSE` on UNIX. Undefined otherwise.
   */
  declare readonly errno?: number
  /**
   * When an OS error caused this one: its name, as node's system errors carry it in `code`
   * ('EADDRINUSE', 'EACCES', 'ENOENT', …); `code` itself stays the `GH_ERR_*` code. Undefined
   * otherwise.
   */
  declare readonly osCode?: string

  constructor(code: ErrorCode, message: string, system: SystemErrorInfo = {}) {
    super(message)
    this.name = 'GatehouseError'
    this.code = code
    if (system.errno !== undefined) this.errno = system.errno
    if (system.osCode !== undefined) this.osCode = system.osCode
  }
}

/**
 * Whether a signal's abort reason says only that the client half-closed: it sends nothing more
 * but still reads the answer, so a response in progress goes on.
 */
export function isHalfClose(reason: unknown): boolean {
  return reason instanceof GatehouseError && reason.code === 'GH_ERR_HALF_CLOSED'
}

/**
 * Node's errno and name for an OS error number as the core has it (`raw_os_error`: `errno` on
 * UNIX, a Windows error code on Windows, where node numbers errors its own way).
 */
function systemError(raw: number): SystemErrorInfo {
  if (process.platform !== 'win32') {
    const name = getSystemErrorName(-raw)
    return { errno: -raw, osCode: /^E[A-Z0-9]+$/.test(name) ? name : undefined }
  }
  const table = constants.errno as Record<string, number | undefined>
  const found = Object.keys(table).find((n) => table[n] === raw)
  if (found === undefined) return {}
  const osCode = found.replace(/^WSA/, '')
  for (const [errno, [name]] of getSystemErrorMap()) if (name === osCode) return { errno, osCode }
  return { osCode }
}

/**
 * Turn an error thrown by the native binding (`GH_ERR_X: text`) into a GatehouseError, with the
 * OS error the binding set as a property (`rawOsError`), if any.
 */
export function fromNative(e: unknown): unknown {
  if (e instanceof Error && !(e instanceof GatehouseError)) {
    const m = /^(GH_ERR_[A-Z_]+): ([\s\S]*)$/.exec(e.message)
    if (m) {
      const raw = (e as { rawOsError?: unknown }).rawOsError
      const system = typeof raw === 'number' && Number.isInteger(raw) && raw > 0 ? systemError(raw) : {}
      return new GatehouseError(m[1] as ErrorCode, m[2] as string, system)
    }
  }
  return e
}
