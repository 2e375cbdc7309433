// Peer: Express 5 on node:http, as it is usually run.
import http from 'node:http'
import { createRequire } from 'node:module'
import shared from './shared.cjs'

const require = createRequire(import.meta.url)
const { expressApp } = require('./express-app.cjs')
const args = shared.parseArgs(process.argv.slice(2))
const server = http.createServer(expressApp(args.scenario))
shared.listenNode(server, args.port)
