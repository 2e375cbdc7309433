// Peer: Bun.serve (run with the bun binary from the npm package).
import { handlers } from './fetch-handlers.mjs'
import shared from './shared.cjs'

const args = shared.parseArgs(process.argv.slice(2))

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
