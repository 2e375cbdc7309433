// The Fetch-API handlers Bun.serve and Deno.serve share: the same bytes as every other peer.
import { pbkdf2Sync } from 'node:crypto'
import shared from './shared.cjs'

const TEXT = { 'Content-Type': 'text/plain' }
const BINARY = { 'Content-Type': 'application/octet-stream' }
const JSON_TYPE = { 'Content-Type': 'application/json' }
const mibBody = new Uint8Array(shared.MIB).fill(0x6d)
const streamChunk = new Uint8Array(shared.STREAM_CHUNK_SIZE).fill(0x73)
const gibChunk = new Uint8Array(shared.GIB_CHUNK_SIZE).fill(0x67)
const iterations = shared.cpuIterations()

/** A pull-driven stream of `count` copies of `chunk`: the next chunk is made only when asked for. */
function repeated(chunk, count) {
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      controller.enqueue(chunk)
      if (++sent === count) controller.close()
    },
  })
}

export const handlers = {
  hello: () => new Response(shared.HELLO, { headers: TEXT }),
  mib: () => new Response(mibBody, { headers: BINARY }),
  echo: async (req) => new Response(await req.arrayBuffer(), { headers: BINARY }),
  stream100: () => new Response(repeated(streamChunk, shared.STREAM_CHUNKS), { headers: BINARY }),
  gib: async (req) => {
    if (req.method === 'POST') {
      let received = 0
      for await (const p of req.body) received += p.byteLength
      return new Response(String(received), { headers: TEXT })
    }
    return new Response(repeated(gibChunk, shared.gibBytes() / shared.GIB_CHUNK_SIZE), { headers: BINARY })
  },
  cpu: () => new Response(pbkdf2Sync('gatehouse', 'bench-salt', iterations, 32, 'sha256').toString('hex'), { headers: TEXT }),
  json: (req) => {
    const url = new URL(req.url)
    const body = shared.apiResponse(url.pathname, url.search)
    return body === undefined ? new Response('not found', { status: 404, headers: TEXT }) : new Response(body, { headers: JSON_TYPE })
  },
  async1s: () => new Promise((resolve) => setTimeout(() => resolve(new Response(shared.HELLO, { headers: TEXT })), shared.ASYNC_DELAY_MS)),
}

