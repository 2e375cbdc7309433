// Peer: Hono on @hono/node-server (its defaults: the lightweight Request/Response it installs).
import { serve } from '@hono/node-server'
import { honoApp } from './hono-app.mjs'
import shared from './shared.cjs'

const args = shared.parseArgs(process.argv.slice(2))
const server = serve({ fetch: honoApp(args.scenario).fetch, port: args.port, hostname: '127.0.0.1' }, (info) => console.log(shared.readyLine(info.port)))
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close()
    process.exit(0)
  })
}
