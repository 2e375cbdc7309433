import { createRequire } from 'node:module'

import test from 'ava'

test('ESM import and CommonJS require expose the same API', async (t) => {
  const esm = await import('../esm/index.mjs')
  const cjs = createRequire(import.meta.url)('../dist/cjs/index.js')
  for (const name of ['Server', 'PathInfoDispatcher', 'GatehouseError', 'SERVER_SOFTWARE']) {
    t.truthy(esm[name], name)
    t.is(esm[name], cjs[name], `${name} is the same object both ways`)
  }
  const publicCjs = Object.keys(cjs).filter((k) => k !== '__esModule').sort()
  const publicEsm = Object.keys(esm).sort()
  t.deepEqual(publicEsm, publicCjs, 'esm/index.mjs re-exports every export')
})

test('the package resolves by name through its exports map, both ways', async (t) => {
  const byName = await import('@gatehouse/server')
  const required = createRequire(import.meta.url)('@gatehouse/server')
  t.is(byName.Server, required.Server)
})
