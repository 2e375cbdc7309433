/** Errors of gatehouse, each with a stable `code` (`GH_ERR_*`). */

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

/** An error raised by gatehouse. Match on `code`, not on the message. */
export class GatehouseError extends Error {
  /** The stable code. */
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string) {
    super(message)
    this.name = 'GatehouseError'
    this.code = code
  }
}

/**
 * Whether a signal's abort reason says only that the client half-closed: it sends nothing more
 * but still reads the answer, so a response in progress goes on.
 */
export function isHalfClose(reason: unknown): boolean {
  return reason instanceof GatehouseError && reason.code === 'GH_ERR_HALF_CLOSED'
}

/** Turn an error thrown by the native binding (`GH_ERR_X: text`) into a GatehouseError. */
export function fromNative(e: unknown): unknown {
  if (e instanceof Error && !(e instanceof GatehouseError)) {
    const m = /^(GH_ERR_[A-Z_]+): ([\s\S]*)$/.exec(e.message)
    if (m) return new GatehouseError(m[1] as ErrorCode, m[2] as string)
  }
  return e
}
