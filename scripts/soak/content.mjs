// The bytes the soak server sends and the client checks: both sides build them from here, so a
// response can be checked byte for byte without being sent along with it.

// Byte k of a /large body is k % 251: a prime period, so a chunk dropped, repeated or shifted by
// any multiple of a power-of-two buffer size shows as a mismatch.
const PERIOD = 251
const PATTERN = Buffer.alloc(65536 + PERIOD)
for (let k = 0; k < PATTERN.length; k++) PATTERN[k] = k % PERIOD

/** `len` (at most 65536) bytes of the /large pattern starting at position `at`. */
export function patternAt(at, len) {
  if (len > 65536) throw new RangeError('patternAt: at most 65536 bytes')
  const from = at % PERIOD
  return PATTERN.subarray(from, from + len)
}

/** The position of the first byte of `chunk` (which starts at `at`) that is not the pattern, or -1. */
export function patternMismatch(chunk, at) {
  for (let off = 0; off < chunk.length; off += 65536) {
    const piece = chunk.subarray(off, off + 65536)
    if (!piece.equals(patternAt(at + off, piece.length))) {
      const want = patternAt(at + off, piece.length)
      for (let k = 0; k < piece.length; k++) if (piece[k] !== want[k]) return at + off + k
    }
  }
  return -1
}

/** Chunk `i` of a /stream body: `<i>` then a letter that depends on i, `size` bytes in all. */
export function numberedChunk(i, size) {
  const label = `<${i}>`
  return label + String.fromCharCode(97 + (i % 26)).repeat(Math.max(0, size - label.length))
}

/** The whole /stream body the client must receive: chunks 0..n-1 in order, none missing. */
export function numberedBody(n, size) {
  let s = ''
  for (let i = 0; i < n; i++) s += numberedChunk(i, size)
  return s
}
