// Peer: node:http (node:https with --tls), the baseline every ratio is taken against.
import { pbkdf2Sync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import shared from './shared.cjs'

const args = shared.parseArgs(process.argv.slice(2))

const TEXT = { 'Content-Type': 'text/plain' }
const helloBody = Buffer.from(shared.HELLO)
const mibBody = Buffer.alloc(shared.MIB, 'm')
const streamChunk = Buffer.alloc(shared.STREAM_CHUNK_SIZE, 's')
const gibChunk = Buffer.alloc(shared.GIB_CHUNK_SIZE, 'g')
const iterations = shared.cpuIterations()

function readAll(req, done) {
  const pieces = []
  req.on('data', (p) => pieces.push(p))
  req.on('end', () => done(Buffer.concat(pieces)))
}

async function writeGib(res) {
  const count = shared.gibBytes() / shared.GIB_CHUNK_SIZE
  for (let i = 0; i < count; i++) {
    if (!res.write(gibChunk)) {
      await new Promise((resolve) => {
        res.once('drain', resolve)
        res.once('close', resolve)
      })
      if (res.destroyed) return
    }
  }
  res.end()
}

const handlers = {
  hello(req, res) {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': helloBody.length })
    res.end(helloBody)
  },
  mib(req, res) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': mibBody.length })
    res.end(mibBody)
  },
  echo(req, res) {
    readAll(req, (body) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length })
      res.end(body)
    })
  },
  stream100(req, res) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
    for (let i = 0; i < shared.STREAM_CHUNKS; i++) res.write(streamChunk)
    res.end()
  },
  gib(req, res) {
    if (req.method === 'POST') {
      let received = 0
      req.on('data', (p) => (received += p.length))
      req.on('end', () => {
        res.writeHead(200, TEXT)
        res.end(String(received))
      })
      return
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
    writeGib(res)
  },
  json(req, res) {
    const q = req.url.indexOf('?')
    const body = q === -1 ? shared.apiResponse(req.url, '') : shared.apiResponse(req.url.slice(0, q), req.url.slice(q + 1))
    if (body === undefined) {
      res.writeHead(404, TEXT)
      res.end('not found')
      return
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
  },
  async1s(req, res) {
    setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': helloBody.length })
      res.end(helloBody)
    }, shared.ASYNC_DELAY_MS)
  },
  cpu(req, res) {
    const digest = pbkdf2Sync('gatehouse', 'bench-salt', iterations, 32, 'sha256').toString('hex')
    res.writeHead(200, TEXT)
    res.end(digest)
  },
}

const handler = handlers[args.scenario]
const server = args.tls
  ? https.createServer({ cert: readFileSync(args.tls.cert), key: readFileSync(args.tls.key), minVersion: 'TLSv1.3' }, handler)
  : http.createServer(handler)
if (args.idleTimeout !== undefined) {
  server.keepAliveTimeout = args.idleTimeout * 1000
  server.headersTimeout = args.idleTimeout * 1000 + 1000
}
shared.listenNode(server, args.port)
