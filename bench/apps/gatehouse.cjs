// Peer: gatehouse. The JS app runs on the main thread unless --app-threads is given;
// --rust-only asks for the Rust-only responder (the ceiling: no crossing into JS).
//
// Features that gatehouse may not have yet (app threads, TLS, the Rust-only responder) are asked
// for through the options they are specified with; when the Server refuses them, this peer prints
// a BENCH_SKIP line and exits. When the Server silently ignores them, the harness finds out with
// a probe (a worker thread id from /__whoami, a TLS handshake, the body of the Rust responder).
'use strict'
const path = require('node:path')
const shared = require('./shared.cjs')

const args = shared.parseArgs(process.argv.slice(2))
process.env.BENCH_SCENARIO = args.scenario // app threads load the app module with the same scenario

const { Server } = require(path.join(__dirname, '..', '..'))
const { makeApp } = require('./gatehouse-app.cjs')

function skip(reason) {
  console.log(shared.skipLine(reason))
  process.exit(shared.SKIP_EXIT_CODE)
}

// gatehouse's defaults, which the CLI's are (it passes on only the flags given): what a user gets
// is what is measured (issue 11). BENCH_NUMTHREADS opts
// in to another pool size (the number of requests inside the app at once); the peer
// gatehouse-tuned sets it, to show how far the defaults are from a tuned server.
const options = {}
if (process.env.BENCH_NUMTHREADS) options.numthreads = Number(process.env.BENCH_NUMTHREADS)
if (args.idleTimeout !== undefined) options.timeout = args.idleTimeout
if (args.appThreads !== undefined) options.appThreads = args.appThreads
if (args.tls) options.ssl = { certificate: args.tls.cert, privateKey: args.tls.key }

// With app threads every worker loads the app module itself, so the app is given by name
// (MODULE:EXPORT); gatehouse-app.cjs reads the scenario from BENCH_SCENARIO, set above.
let app = args.appThreads !== undefined ? `${path.join(__dirname, 'gatehouse-app.cjs')}:app` : makeApp(args.scenario)
if (args.rustOnly) {
  if (args.scenario !== 'hello') skip('the Rust-only responder serves hello world only')
  // staticResponse: the core answers every request with this text (200, text/plain) without
  // calling JS. The JS app below answers with another body, so that the harness can tell when
  // the option is not honoured.
  options.staticResponse = shared.HELLO
  app = (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']])
    return ['answered by the JS app']
  }
}

function describe(e) {
  return `${e && e.code ? e.code + ': ' : ''}${e && e.message ? e.message : String(e)}`.split('\n')[0]
}

let server
try {
  server = new Server(['127.0.0.1', args.port], app, options)
} catch (e) {
  skip(`new Server(..., ${JSON.stringify(options)}) threw ${describe(e)}`)
}

async function main() {
  try {
    await server.start()
  } catch (e) {
    if (args.appThreads !== undefined || args.tls || args.rustOnly) skip(`server.start() failed: ${describe(e)}`)
    throw e
  }
  console.log(shared.readyLine(server.bindAddr[1]))
}

let stopping = false
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    server.stop().finally(() => process.exit(0))
  })
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
