// Peer: uWebSockets.js on node (the @trufflesuite/uws-js-unofficial build: its binaries run on
// this glibc with node 20). HTTPS with --tls (uWS.SSLApp).
//
// The package falls back to a pure-JS implementation (over `ws` and node:http) when its binary
// does not load, with only a warning: that would measure node:http under uWS's name. So the binary
// is loaded directly, and when it cannot be, this peer is skipped with the reason.
import { pbkdf2Sync } from 'node:crypto'
import { createRequire } from 'node:module'
import shared from './shared.cjs'

const args = shared.parseArgs(process.argv.slice(2))

function skip(reason) {
  console.log(shared.skipLine(reason))
  process.exit(shared.SKIP_EXIT_CODE)
}

let uWS
try {
  const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`
  uWS = createRequire(import.meta.url)(`@trufflesuite/uws-js-unofficial/binaries/${binary}`)
} catch (e) {
  skip(`uWebSockets.js's binary does not load here: ${String(e.message ?? e).split('\n')[0]}`)
}

// uWS closes idle HTTP connections after 10 s, a constant of its build.
if (args.idleTimeout !== undefined && args.idleTimeout > 10) skip('uWS closes idle HTTP connections after 10 s (fixed in its build)')

const TEXT = 'text/plain'
const BINARY = 'application/octet-stream'
const mibBody = Buffer.alloc(shared.MIB, 'm')
const streamChunk = Buffer.alloc(shared.STREAM_CHUNK_SIZE, 's')
const iterations = shared.cpuIterations()

/** An answer from outside the handler's synchronous part: corked (one write), unless the client left. */
function answerLater(res, status, type, body) {
  if (res.aborted) return
  res.cork(() => res.writeStatus(status).writeHeader('Content-Type', type).end(body))
}

const handlers = {
  hello(res) {
    res.writeHeader('Content-Type', TEXT).end(shared.HELLO)
  },
  mib(res) {
    // end() keeps what the socket does not take at once and sends it as the socket drains.
    res.writeHeader('Content-Type', BINARY).end(mibBody)
  },
  echo(res) {
    // onData's ArrayBuffer is only valid during the call: each piece is copied.
    const pieces = []
    res.onAborted(() => (res.aborted = true))
    res.onData((piece, isLast) => {
      pieces.push(Buffer.from(piece.slice(0)))
      if (isLast) answerLater(res, '200 OK', BINARY, Buffer.concat(pieces))
    })
  },
  stream100(res) {
    // Chunked: write() without a length; 100 KiB in all stays within uWS's buffering.
    res.writeHeader('Content-Type', BINARY)
    for (let i = 0; i < shared.STREAM_CHUNKS; i++) res.write(streamChunk)
    res.end()
  },
  cpu(res) {
    res.writeHeader('Content-Type', TEXT).end(pbkdf2Sync('gatehouse', 'bench-salt', iterations, 32, 'sha256').toString('hex'))
  },
  json(res, req) {
    const body = shared.apiResponse(req.getUrl(), req.getQuery())
    if (body === undefined) res.writeStatus('404 Not Found').writeHeader('Content-Type', TEXT).end('not found')
    else res.writeHeader('Content-Type', 'application/json').end(body)
  },
  async1s(res) {
    res.onAborted(() => (res.aborted = true))
    setTimeout(() => answerLater(res, '200 OK', TEXT, shared.HELLO), shared.ASYNC_DELAY_MS)
  },
}

const handler = handlers[args.scenario]
if (handler === undefined) skip(`the uWS peer does not serve the ${args.scenario} scenario (it would need writes paced by onWritable)`)

const app = args.tls ? uWS.SSLApp({ cert_file_name: args.tls.cert, key_file_name: args.tls.key }) : uWS.App()
app.any('/*', handler)
let listenSocket
app.listen('127.0.0.1', args.port, (token) => {
  if (!token) {
    console.error(`uWS could not listen on 127.0.0.1:${args.port}`)
    process.exit(1)
  }
  listenSocket = token
  console.log(shared.readyLine(uWS.us_socket_local_port(token)))
})

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (listenSocket) uWS.us_listen_socket_close(listenSocket)
    process.exit(0)
  })
}
