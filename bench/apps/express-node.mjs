// Peer: Express 5 on node:http, as it is usually run.
import http from 'node:http'
import { createRequire } from 'node:module'
import shared from './shared.cjs'

const require = createRequire(import.meta.url)
const { expressApp } = require('./express-app.cjs')
const args = shared.parseArgs(process.argv.slice(2))
const server = http.createServer(expressApp(args.scenario))
server.listen(args.port, '127.0.0.1', () => console.log(shared.readyLine(server.address().port)))
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close()
    server.closeAllConnections()
    process.exit(0)
  })
}
