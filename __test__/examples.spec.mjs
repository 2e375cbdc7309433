// The examples in examples/ do what their comments say, and examples/hello.ts (with the JSDoc of
// the JavaScript ones) type-checks against the package's types.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

import test from 'ava'

import { makeServer } from './helpers.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const TSC = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc')

// upload.js reads its folder when it loads; each test file runs in its own process.
const uploadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-upload-'))
process.env.UPLOAD_DIR = uploadDir
test.after.always(() => fs.rmSync(uploadDir, { recursive: true, force: true }))

test('examples/hello.ts and the JSDoc types of the JavaScript examples pass tsc --strict', async (t) => {
  const run = promisify(execFile)
  try {
    await run(process.execPath, [TSC, '-p', path.join(ROOT, 'examples', 'tsconfig.json')], { cwd: ROOT })
    t.pass()
  } catch (e) {
    t.fail(`tsc -p examples failed:\n${e.stdout}${e.stderr}`)
  }
})

test('json-api.js: the dispatcher mounts the items API and /health; bad input gets 4xx JSON errors', async (t) => {
  const { app } = require('../examples/json-api.js')
  const { url } = await makeServer(t, app)
  const post = (body, type = 'application/json') =>
    fetch(`${url}/api/items`, { method: 'POST', headers: { 'Content-Type': type }, body })

  const created = await post(JSON.stringify({ name: 'pen' }))
  t.is(created.status, 201)
  const item = await created.json()
  t.like(item, { name: 'pen' })
  t.is(created.headers.get('location'), `/api/items/${item.id}`, 'SCRIPT_NAME holds the mount point')
  t.deepEqual(await (await fetch(`${url}/api/items`)).json(), [item])
  t.deepEqual(await (await fetch(`${url}/api/items/${item.id}`)).json(), item)
  t.deepEqual(await (await fetch(`${url}/health`)).json(), { ok: true, items: 1 })

  t.is((await post('{not json')).status, 400)
  t.is((await post('{}')).status, 422)
  t.is((await post('name=pen', 'application/x-www-form-urlencoded')).status, 415)
  t.is((await post(JSON.stringify({ name: 'x'.repeat(70 * 1024) }))).status, 413)
  t.is((await fetch(`${url}/api/items/999`)).status, 404)
  t.is((await fetch(`${url}/nowhere`)).status, 404)

  t.is((await fetch(`${url}/api/items/${item.id}`, { method: 'DELETE' })).status, 204)
  t.deepEqual(await (await fetch(`${url}/api/items`)).json(), [])
})

test('upload.js streams a 3 MiB body to a file and reports its size; a bad name is refused', async (t) => {
  const { app } = require('../examples/upload.js')
  const { url } = await makeServer(t, app)
  const body = Buffer.alloc(3 * 1024 * 1024)
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 12)) & 0xff
  const res = await fetch(`${url}/data.bin`, { method: 'PUT', body })
  t.is(res.status, 201)
  t.deepEqual(await res.json(), { name: 'data.bin', bytes: body.length })
  t.true(fs.readFileSync(path.join(uploadDir, 'data.bin')).equals(body))
  t.deepEqual(fs.readdirSync(uploadDir), ['data.bin'], 'no partial file is left behind')

  t.is((await fetch(`${url}/..%2Fescape`, { method: 'PUT', body: 'x' })).status, 400)
  t.is((await fetch(`${url}/data.bin`)).status, 405)
})

test('stream.js sends each chunk of its async generator as it comes, chunked', async (t) => {
  const { app } = require('../examples/stream.js')
  const { url } = await makeServer(t, app)
  const res = await fetch(`${url}/?count=3&interval=1`)
  t.is(res.status, 200)
  t.is(res.headers.get('transfer-encoding'), 'chunked')
  const lines = (await res.text()).trim().split('\n')
  t.is(lines.length, 3)
  t.regex(lines[2], /^tick 3 of 3 at /)
})
