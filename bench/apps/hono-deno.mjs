// Peer: Hono on Deno.serve.
import { honoApp } from './hono-app.mjs'
import shared from './shared.cjs'

const args = shared.parseArgs(Deno.args)
const server = Deno.serve({ hostname: '127.0.0.1', port: args.port, onListen: ({ port }) => console.log(shared.readyLine(port)) }, honoApp(args.scenario).fetch)
for (const signal of ['SIGTERM', 'SIGINT']) {
  Deno.addSignalListener(signal, () => {
    server.shutdown()
    Deno.exit(0)
  })
}
