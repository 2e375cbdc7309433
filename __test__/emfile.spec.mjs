// Out of file descriptors (EMFILE) on accept: the server backs off and logs once instead of
// spinning, and serves again as soon as descriptors are free.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

import test from 'ava'

import { spawnLines } from './helpers.mjs'

const hasPrlimit = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' })
    return process.platform === 'linux'
  } catch {
    return false
  }
})()

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

;(hasPrlimit ? test : test.skip)('at EMFILE the accept loop backs off, logs once, and recovers', async (t) => {
  const p = spawnLines(t, 'prlimit', ['--nofile=64:64', process.execPath, path.resolve('dist/cjs/cli.js'), path.resolve('examples/hello.js'), '--bind', '127.0.0.1:0'])
  const port = Number(/:(\d+)$/.exec(await p.nthLine(0))[1])
  const pid = Number(execFileSync('pgrep', ['-n', '-f', `cli.js ${path.resolve('examples/hello.js')} --bind 127.0.0.1:0`]).toString().trim())
  // Hold more connections than the server has descriptors for.
  const held = []
  t.teardown(() => held.forEach((s) => s.destroy()))
  for (let i = 0; i < 100; i++) {
    const s = net.connect(port, '127.0.0.1')
    s.on('error', () => {})
    held.push(s)
  }
  await new Promise((r) => setTimeout(r, 500))
  const before = cpuSeconds(pid)
  await new Promise((r) => setTimeout(r, 1000))
  const used = cpuSeconds(pid) - before
  t.true(used < 0.5, `the server used ${used.toFixed(2)} s of CPU in 1 s while out of descriptors`)
  held.forEach((s) => s.destroy())
  held.length = 0
  await new Promise((r) => setTimeout(r, 500))
  const res = await fetch(`http://127.0.0.1:${port}/`)
  t.is(await res.text(), 'Hello, World!\n', 'it serves again once descriptors are free')
  p.child.kill('SIGTERM')
  const { err } = await p.exited
  t.is((err.match(/accept failed/g) ?? []).length, 1, 'the failure is logged once')
})
