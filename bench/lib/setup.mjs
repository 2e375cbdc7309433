// Everything the harness needs before it measures: gatehouse built, the bench's own packages
// (bun, deno, fastify, uWebSockets.js), Debian's wrk, openssl for the TLS scenario. What is missing is installed,
// and the harness says so.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

function run(cmd, args, cwd) {
  console.log(`$ ${[cmd, ...args].join(' ')}${cwd ? `   (in ${cwd})` : ''}`)
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`)
}

/** The path of an executable on PATH, or undefined. */
export function which(name) {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

function works(bin, args = ['--version']) {
  if (!bin || !existsSync(bin)) return false
  return spawnSync(bin, args, { stdio: 'ignore', timeout: 30000 }).status === 0
}

/** gatehouse itself: the native addon and dist/cjs, built by the repository's own scripts. */
export function ensureGatehouse(root) {
  const built = existsSync(path.join(root, 'dist', 'cjs', 'index.js')) && existsSync(path.join(root, 'index.js'))
  const addon = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(root)})`], { stdio: 'ignore' }).status === 0
  if (built && addon) return
  if (!existsSync(path.join(root, 'node_modules'))) {
    console.log('gatehouse is not installed: running `npm ci` at the repository root (it builds gatehouse)')
    run('npm', ['ci'], root)
  } else {
    console.log('gatehouse is not built: running `npm run build` at the repository root')
    run('npm', ['run', 'build'], root)
  }
}

/**
 * The bench's own dependencies (bench/package.json), installed when bench/node_modules lacks one
 * of them at its pinned version (also when a peer was added since the last install).
 */
export function ensureBenchPackages(benchDir) {
  const wanted = JSON.parse(readFileSync(path.join(benchDir, 'package.json'), 'utf8')).dependencies ?? {}
  const installed = (name) => {
    try {
      return JSON.parse(readFileSync(path.join(benchDir, 'node_modules', name, 'package.json'), 'utf8')).version
    } catch {
      return undefined
    }
  }
  const missing = Object.entries(wanted).filter(([name, version]) => installed(name) !== version).map(([name, version]) => `${name}@${version}`)
  if (!missing.length) return
  const lock = existsSync(path.join(benchDir, 'package-lock.json'))
  console.log(`bench/node_modules lacks ${missing.join(', ')}: installing the bench's packages with \`npm ${lock ? 'ci' : 'install'}\` in bench/`)
  run('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund'], benchDir)
}

/** Debian's wrk, installed with apt-get when absent. */
export function ensureWrk() {
  let wrk = which('wrk')
  if (wrk) return wrk
  console.log('wrk is not installed: installing Debian\'s wrk with `apt-get update && apt-get install -y wrk`')
  const sudo = process.getuid && process.getuid() !== 0 && which('sudo') ? ['sudo'] : []
  const apt = (...args) => (sudo.length ? run('sudo', ['apt-get', ...args]) : run('apt-get', args))
  apt('update')
  apt('install', '-y', 'wrk')
  wrk = which('wrk')
  if (!wrk) throw new Error('wrk is still not on PATH after apt-get install wrk')
  return wrk
}

/**
 * The bun and deno executables from bench/node_modules. Their npm packages put the binary in
 * place with a postinstall script; when that did not run, the platform package holds it.
 */
export function findRuntimes(benchDir) {
  const nm = path.join(benchDir, 'node_modules')
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x64'
  const candidates = {
    bun: [path.join(nm, '.bin', 'bun'), path.join(nm, '@oven', `bun-linux-${arch}`, 'bin', 'bun'), path.join(nm, '@oven', `bun-linux-${arch}-baseline`, 'bin', 'bun')],
    deno: [path.join(nm, '.bin', 'deno'), path.join(nm, 'deno', 'deno'), path.join(nm, '@deno', `linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}-glibc`, 'deno')],
  }
  const found = {}
  for (const [name, paths] of Object.entries(candidates)) found[name] = paths.find((p) => works(p))
  return found
}

/** A self-signed certificate for 127.0.0.1 in a fresh temporary folder, or undefined without openssl. */
export function makeCertificate() {
  const openssl = which('openssl')
  if (!openssl) return undefined
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-tls-'))
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
  return { dir, cert, key, command: `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem` }
}
