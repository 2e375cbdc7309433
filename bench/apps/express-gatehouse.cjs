// Peer: Express 5 on gatehouse (fromNodeHandler), with the options of apps/gatehouse.cjs.
'use strict'
const path = require('node:path')
const shared = require('./shared.cjs')
const { expressApp } = require('./express-app.cjs')
const { Server, fromNodeHandler } = require(path.join(__dirname, '..', '..'))

const args = shared.parseArgs(process.argv.slice(2))
const options = { requestQueueSize: 511, numthreads: 128 }
if (args.tls) options.ssl = { certificate: args.tls.cert, privateKey: args.tls.key }
const server = new Server(['127.0.0.1', args.port], fromNodeHandler(expressApp(args.scenario)), options)
server.start().then(() => console.log(shared.readyLine(server.bindAddr[1])))
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.stop().finally(() => process.exit(0)))
