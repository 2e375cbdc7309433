// Peer: Bun.serve (run with the bun binary from the npm package).
import { pbkdf2Sync } from 'node:crypto'
import shared from './shared.cjs'

const args = shared.parseArgs(process.argv.slice(2))

const TEXT = { 'Content-Type': 'text/plain' }
const BINARY = { 'Content-Type': 'application/octet-stream' }
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

const handlers = {
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
}

const options = {
  hostname: '127.0.0.1',
  port: args.port,
  fetch: handlers[args.scenario],
  // The 1 GiB upload: Bun's default limit is 128 MiB.
  maxRequestBodySize: 4 * 1024 * 1024 * 1024,
}
if (args.tls) options.tls = { cert: Bun.file(args.tls.cert), key: Bun.file(args.tls.key) }
if (args.idleTimeout !== undefined) options.idleTimeout = Math.min(args.idleTimeout, 255)
const server = Bun.serve(options)
console.log(shared.readyLine(server.port))

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.stop(true)
    process.exit(0)
  })
}
