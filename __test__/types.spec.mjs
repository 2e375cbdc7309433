// The public types as TypeScript users compile against them (the declarations in dist/, reached
// through the package's own name), with tsc --strict.
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const TSC = path.join(path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc')

test('environ.HTTP_* keys are typed string | undefined: an app assigns them to strings under tsc --strict', async (t) => {
  const args = ['--strict', '--noEmit', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node', '__test__/fixtures/typed-app.ts']
  const r = await new Promise((resolve) => execFile(process.execPath, [TSC, ...args], { cwd: ROOT }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, out: stdout + stderr })))
  t.is(r.code, 0, r.out)
})
