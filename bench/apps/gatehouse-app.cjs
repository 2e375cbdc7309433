// The WSGI-style app every gatehouse peer serves. It is a module of its own, read from
// BENCH_SCENARIO when it loads, so that app threads (which load the app module in each worker)
// serve the same app as the main thread.
'use strict'
const { pbkdf2Sync } = require('node:crypto')
const { threadId } = require('node:worker_threads')
const shared = require('./shared.cjs')

const TEXT = [['Content-Type', 'text/plain']]
const BINARY = [['Content-Type', 'application/octet-stream']]
const JSON_TYPE = [['Content-Type', 'application/json']]

// Every thread that loads this module runs the app: the harness reads the CPU time of these
// threads as the "JS thread" figure (with appThreads, the workers' and the main thread's).
const jsThread = shared.jsThreadLine()
if (jsThread) console.log(jsThread)

function hello(environ, startResponse) {
  startResponse('200 OK', TEXT)
  return [shared.HELLO]
}

const mibBody = Buffer.alloc(shared.MIB, 'm')
function mib(environ, startResponse) {
  startResponse('200 OK', BINARY)
  return [mibBody]
}

async function echo(environ, startResponse) {
  const body = await environ['wsgi.input'].read()
  startResponse('200 OK', BINARY)
  return [body]
}

const streamChunk = Buffer.alloc(shared.STREAM_CHUNK_SIZE, 's')
function* hundredChunks() {
  for (let i = 0; i < shared.STREAM_CHUNKS; i++) yield streamChunk
}
function stream100(environ, startResponse) {
  startResponse('200 OK', BINARY)
  return hundredChunks()
}

// GET: stream BENCH_GIB_BYTES (1 GiB) out; POST: read the whole upload in pieces and answer
// with its length.
const gibChunk = Buffer.alloc(shared.GIB_CHUNK_SIZE, 'g')
function* gibChunks(count) {
  for (let i = 0; i < count; i++) yield gibChunk
}
async function gib(environ, startResponse) {
  if (environ.REQUEST_METHOD === 'POST') {
    // read(size), not iteration: iterating wsgi.input yields lines (PEP 3333), and this body
    // has none.
    const input = environ['wsgi.input']
    let received = 0
    for (let piece = await input.read(65536); piece.length > 0; piece = await input.read(65536)) received += piece.length
    startResponse('200 OK', TEXT)
    return [String(received)]
  }
  startResponse('200 OK', BINARY)
  return gibChunks(shared.gibBytes() / shared.GIB_CHUNK_SIZE)
}

const iterations = shared.cpuIterations()
function cpu(environ, startResponse) {
  const digest = pbkdf2Sync('gatehouse', 'bench-salt', iterations, 32, 'sha256').toString('hex')
  startResponse('200 OK', TEXT)
  return [digest]
}

function json(environ, startResponse) {
  const body = shared.apiResponse(environ.PATH_INFO, environ.QUERY_STRING)
  if (body === undefined) {
    startResponse('404 Not Found', TEXT)
    return ['not found']
  }
  startResponse('200 OK', JSON_TYPE)
  return [body]
}

async function async1s(environ, startResponse) {
  await new Promise((resolve) => setTimeout(resolve, shared.ASYNC_DELAY_MS))
  startResponse('200 OK', TEXT)
  return [shared.HELLO]
}

const APPS = { hello, mib, echo, stream100, gib, cpu, json, async1s }

/** The app of a scenario, answering /__whoami with the JS thread id (the harness checks app threads with it). */
function makeApp(scenario) {
  const inner = APPS[scenario]
  if (inner === undefined) throw new Error(`unknown scenario ${scenario}`)
  return function app(environ, startResponse) {
    if (environ.PATH_INFO === '/__whoami') {
      startResponse('200 OK', TEXT)
      return [String(threadId)]
    }
    return inner(environ, startResponse)
  }
}

module.exports = { makeApp, app: makeApp(process.env.BENCH_SCENARIO || 'hello') }
