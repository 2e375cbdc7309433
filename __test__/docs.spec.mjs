// The API reference (`npm run docs`, typedoc) as its readers get it: it opens with the README,
// builds without a warning, and documents each name of the API the README uses.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const TYPEDOC = path.join(path.dirname(createRequire(import.meta.url).resolve('typedoc/package.json')), 'bin', 'typedoc')

test('the API reference starts with the README and documents every Server member and export the README uses', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-docs-'))
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }))
  // typedoc.json treats warnings as errors: a clean exit is a clean build.
  const r = await new Promise((resolve) =>
    execFile(process.execPath, [TYPEDOC, '--json', path.join(out, 'api.json'), '--out', path.join(out, 'html')], { cwd: ROOT }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, text: stdout + stderr }),
    ),
  )
  t.is(r.code, 0, r.text)
  const api = JSON.parse(fs.readFileSync(path.join(out, 'api.json'), 'utf8'))
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  t.true(api.readme.map((p) => p.text ?? '').join('').startsWith(readme.slice(0, 200)), 'the index page is the README')

  const documented = (node) => Boolean(node?.comment || node?.signatures?.some((s) => s.comment) || node?.getSignature?.comment || node?.setSignature?.comment)
  const top = new Map(api.children.map((c) => [c.name, c]))
  const server = top.get('Server')
  const members = new Map(server.children.map((c) => [c.name, c]))
  const used = new Set([...readme.matchAll(/\bserver\.(\w+)/g)].map((m) => m[1]))
  t.true(used.has('nativeStats'), 'the README uses server.nativeStats()')
  for (const name of used) t.true(documented(members.get(name)), `Server.${name} is documented`)
  const imported = /^import \{([^}]+)\} from '@gatehouse\/server'/m.exec(readme)[1].split(',').map((s) => s.replace(/\btype\b/, '').trim())
  for (const name of [...imported, 'Environ', 'ServerOptions', 'GatehouseError', 'NativeStats']) t.true(documented(top.get(name)), `${name} is documented`)
})
