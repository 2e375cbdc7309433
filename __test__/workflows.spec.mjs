// The GitHub workflows (.github/workflows) pass actionlint, which also runs shellcheck on their
// scripts when shellcheck is installed. actionlint comes from the Go module proxy: on first use it
// is installed into .tmp/bin (gitignored). Without Go on PATH the test fails, saying why.
import { execFile, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, '.tmp', 'bin')
const ACTIONLINT = path.join(BIN, process.platform === 'win32' ? 'actionlint.exe' : 'actionlint')
const PACKAGE = 'github.com/rhysd/actionlint/cmd/actionlint@latest'

const go = spawnSync('go', ['version'], { encoding: 'utf8' })
const noGo = go.error || go.status !== 0 ? '`go` is not on PATH, so actionlint cannot be installed' : undefined

function run(file, args, options) {
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 16 << 20, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr, error })
    })
  })
}

const title = 'the GitHub workflows pass actionlint'
if (noGo) {
  // Go is a prerequisite of `npm test` (README), as the Rust toolchain is: no silent skip.
  test(title, (t) => t.fail(`${noGo}; install Go (1.22 or later) to run this test`))
} else {
  test(title, async (t) => {
    if (!fs.existsSync(ACTIONLINT)) {
      t.log(`installing ${PACKAGE} into .tmp/bin with ${go.stdout.trim()}`)
      fs.mkdirSync(BIN, { recursive: true })
      const install = await run('go', ['install', PACKAGE], { cwd: ROOT, env: { ...process.env, GOBIN: BIN }, timeout: 300_000 })
      if (install.code !== 0) return t.fail(`go install ${PACKAGE} failed:\n${install.stderr}${install.stdout}`)
    }
    const workflows = fs.readdirSync(path.join(ROOT, '.github', 'workflows')).filter((f) => /\.ya?ml$/.test(f))
    t.true(workflows.includes('ci.yml') && workflows.includes('release.yml'), workflows.join(', '))
    const shellcheck = spawnSync('shellcheck', ['--version']).error ? 'without shellcheck' : 'with shellcheck'
    t.log(`actionlint ${shellcheck} on ${workflows.join(', ')}`)
    const lint = await run(ACTIONLINT, ['-no-color'], { cwd: ROOT, timeout: 120_000 })
    t.is(lint.code, 0, `actionlint found problems:\n${lint.stdout}${lint.stderr}`)
  })
}
