// Peer: Deno.serve (run with the deno binary from the npm package, `deno run -A`).
import { handlers } from './fetch-handlers.mjs'
import shared from './shared.cjs'

const args = shared.parseArgs(Deno.args)

const options = {
  hostname: '127.0.0.1',
  port: args.port,
  onListen: ({ port }) => console.log(shared.readyLine(port)),
}
if (args.tls) {
  options.cert = Deno.readTextFileSync(args.tls.cert)
  options.key = Deno.readTextFileSync(args.tls.key)
}
const server = Deno.serve(options, handlers[args.scenario])

for (const signal of ['SIGTERM', 'SIGINT']) {
  Deno.addSignalListener(signal, () => {
    server.shutdown()
    Deno.exit(0)
  })
}
