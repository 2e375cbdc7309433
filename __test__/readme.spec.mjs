// The README's TypeScript snippets compile with tsc --strict against the package's types, as a
// user's ES module that imports `@gatehouse/server` (reached through the package's own name).
//
// The convention: every ```ts block is compiled and imports from '@gatehouse/server'; a block that
// lists signatures rather than code to run is fenced ```ts signatures and is not compiled. The
// snippets may use the names PRELUDE declares: the reader's own application objects.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const TSC = path.join(path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc')

const PRELUDE = `// The reader's own objects, as the README's snippets name them.
declare const app: import('@gatehouse/server').App
declare const honoApp: { fetch(request: Request): Response | Promise<Response> }
declare const expressApp: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void
declare const err: Error
`

/** The README's fenced blocks: info string, text and the line the block starts on. */
function blocks(readme) {
  return [...readme.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    info: m[1].trim(),
    code: m[2],
    line: readme.slice(0, m.index).split('\n').length,
  }))
}

test("the README's TypeScript snippets import @gatehouse/server and compile with tsc --strict against its types", async (t) => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const all = blocks(readme)
  const ts = all.filter((b) => b.info === 'ts')
  t.true(ts.length >= 3, `${ts.length} ts blocks to compile`)
  t.deepEqual(all.filter((b) => /^(ts|typescript)\b/.test(b.info) && b.info !== 'ts' && b.info !== 'ts signatures').map((b) => b.line), [], 'a TypeScript block is fenced ts or ts signatures')
  // No snippet of any kind names a package that is not ours.
  t.deepEqual(all.filter((b) => /from '(?!@gatehouse\/server')[^']*gatehouse|require\('(?!@gatehouse\/server')[^']*gatehouse/.test(b.code)).map((b) => b.line), [], "every import of the package names '@gatehouse/server'")
  for (const b of ts) t.regex(b.code, /^import .* from '@gatehouse\/server'$/m, `the ts block at README.md:${b.line} imports @gatehouse/server`)

  // Inside the repository, so the package's own name resolves to it (self-reference).
  const dir = path.join(ROOT, '.tmp', 'readme-snippets')
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'prelude.d.ts'), PRELUDE)
  const files = ts.map((b) => {
    const file = path.join(dir, `readme-line-${b.line}.mts`)
    fs.writeFileSync(file, b.code)
    return file
  })
  const args = ['--strict', '--noEmit', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node', path.join(dir, 'prelude.d.ts'), ...files]
  const r = await new Promise((resolve) => execFile(process.execPath, [TSC, ...args], { cwd: ROOT }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, out: stdout + stderr })))
  // tsc names each file after the README line its block starts on.
  t.is(r.code, 0, r.out)
})
