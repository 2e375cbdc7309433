// Peer: Hono on Bun.serve.
import { honoApp } from './hono-app.mjs'
import shared from './shared.cjs'

const args = shared.parseArgs(process.argv.slice(2))
const server = Bun.serve({ hostname: '127.0.0.1', port: args.port, fetch: honoApp(args.scenario).fetch })
console.log(shared.readyLine(server.port))
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.stop(true)
    process.exit(0)
  })
}
