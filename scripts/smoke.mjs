#!/usr/bin/env node
// A quick end-to-end check of one built binding, with nothing but node: the release workflow runs
// it where the full test suite cannot run (in containers, for musl and, under emulation, arm64).
//   node scripts/smoke.mjs [PLATFORM]
// PLATFORM (e.g. linux-arm64-musl) is the binary that must be the one loaded.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const expected = process.argv[2]

const { Server } = require('../dist/cjs/index.js')

const app = async (environ, startResponse) => {
  const body = await environ['wsgi.input'].read()
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  async function* parts() {
    yield `${environ.REQUEST_METHOD} ${environ.PATH_INFO} `
    yield String(body.length)
  }
  return parts()
}

const server = new Server(['127.0.0.1', 0], app)
await server.start()
try {
  const [host, port] = server.bindAddr
  const res = await fetch(`http://${host}:${port}/smoke`, { method: 'POST', body: 'x'.repeat(100_000) })
  const text = await res.text()
  if (res.status !== 200 || text !== 'POST /smoke 100000') throw new Error(`unexpected answer: ${res.status} ${text}`)
} finally {
  await server.stop()
}

// Which addon the loader actually picked.
const loaded = process.report
  .getReport()
  .sharedObjects.filter((file) => /gatehouse\.[^/\\]+\.node$/.test(file))
if (expected && !loaded.some((file) => file.endsWith(`gatehouse.${expected}.node`))) {
  throw new Error(`expected gatehouse.${expected}.node to be loaded, found: ${loaded.join(', ') || 'none'}`)
}
console.log(`smoke test passed on ${process.platform}-${process.arch} with ${loaded.join(', ')}`)
