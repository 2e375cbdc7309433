// Peer: fastify on node (HTTPS with --tls). Bodies are taken as raw streams so that the echo and
// the 1 GiB upload need no parser and no body limit.
import { pbkdf2Sync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import Fastify from 'fastify'
import shared from './shared.cjs'

const args = shared.parseArgs(process.argv.slice(2))

const mibBody = Buffer.alloc(shared.MIB, 'm')
const streamChunk = Buffer.alloc(shared.STREAM_CHUNK_SIZE, 's')
const gibChunk = Buffer.alloc(shared.GIB_CHUNK_SIZE, 'g')
const iterations = shared.cpuIterations()

function* repeat(chunk, count) {
  for (let i = 0; i < count; i++) yield chunk
}

const handlers = {
  hello(request, reply) {
    reply.type('text/plain').send(shared.HELLO)
  },
  mib(request, reply) {
    reply.type('application/octet-stream').send(mibBody)
  },
  async echo(request, reply) {
    const pieces = []
    for await (const p of request.body) pieces.push(p)
    reply.type('application/octet-stream').send(Buffer.concat(pieces))
  },
  stream100(request, reply) {
    reply.type('application/octet-stream').send(Readable.from(repeat(streamChunk, shared.STREAM_CHUNKS)))
  },
  async gib(request, reply) {
    if (request.method === 'POST') {
      let received = 0
      for await (const p of request.body) received += p.length
      reply.type('text/plain').send(String(received))
      return
    }
    const count = shared.gibBytes() / shared.GIB_CHUNK_SIZE
    reply.type('application/octet-stream').send(Readable.from(repeat(gibChunk, count)))
  },
  async async1s(request, reply) {
    await new Promise((resolve) => setTimeout(resolve, shared.ASYNC_DELAY_MS))
    reply.type('text/plain').send(shared.HELLO)
  },
  cpu(request, reply) {
    reply.type('text/plain').send(pbkdf2Sync('gatehouse', 'bench-salt', iterations, 32, 'sha256').toString('hex'))
  },
}

const options = { logger: false }
if (args.tls) options.https = { cert: readFileSync(args.tls.cert), key: readFileSync(args.tls.key), minVersion: 'TLSv1.3' }
if (args.idleTimeout !== undefined) options.keepAliveTimeout = args.idleTimeout * 1000
const app = Fastify(options)
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (request, payload, done) => done(null, payload))
if (args.scenario === 'json') {
  // fastify's own router and query parser, as a fastify app would have them; the object is the
  // same (shared.apiObject) and reply.send stringifies it.
  const answer = (route, request, reply) => {
    const object = shared.apiObject(route, request.query)
    if (object === undefined) reply.code(404).type('text/plain').send('not found')
    else reply.type('application/json').send(object)
  }
  app.get('/api/users/:id', (request, reply) => answer({ kind: 'user', id: request.params.id }, request, reply))
  app.get('/api/items', (request, reply) => answer({ kind: 'items' }, request, reply))
} else {
  app.all('/*', handlers[args.scenario])
}

const address = await app.listen({ port: args.port, host: '127.0.0.1' })
console.log(shared.readyLine(Number(new URL(address).port)))

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    app.close()
    process.exit(0)
  })
}
