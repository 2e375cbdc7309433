// Peer: Hono on gatehouse (fromFetch), with the options of apps/gatehouse.cjs.
import { createRequire } from 'node:module'
import { honoApp } from './hono-app.mjs'
import shared from './shared.cjs'

const require = createRequire(import.meta.url)
const { Server, fromFetch } = require('../..')
const args = shared.parseArgs(process.argv.slice(2))
const options = { requestQueueSize: 511, numthreads: 128 }
if (args.tls) options.ssl = { certificate: args.tls.cert, privateKey: args.tls.key }
const server = new Server(['127.0.0.1', args.port], fromFetch(honoApp(args.scenario)), options)
await server.start()
console.log(shared.readyLine(server.bindAddr[1]))
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.stop().finally(() => process.exit(0)))
