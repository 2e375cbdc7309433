// The package as users get it: `npm pack` the main package (with the manifest the release
// publishes) and this machine's platform package, install both into a fresh folder with npm
// offline and no Rust toolchain or C compiler on PATH, then use gatehouse from there: ESM,
// CommonJS, TypeScript (node16 and bundler resolution), `npx gatehouse` and `npx @gatehouse/server`.
// Without the platform package, importing gatehouse must fail with one clear error.
import { execFile, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

import test from 'ava'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const TSC = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc')
const TYPES_NODE = path.dirname(require.resolve('@types/node/package.json'))
const WINDOWS = process.platform === 'win32'

const packages = await import(pathToFileURL(path.join(ROOT, 'scripts', 'packages.mjs')).href)
const manifest = packages.readManifest(ROOT)
const PLATFORM = packages.currentPlatform()
const platform = packages.platforms(manifest).find((p) => p.platform === PLATFORM)

/** npm's own scripts (npm-cli.js, npx-cli.js), run with this node: no shell, no PATH lookup. */
function npmScript(file) {
  const candidates = []
  if (process.env.npm_execpath) candidates.push(path.join(path.dirname(process.env.npm_execpath), file))
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    try {
      candidates.push(path.join(path.dirname(fs.realpathSync(path.join(dir, 'npm'))), file))
    } catch {}
  }
  const nodeDir = path.dirname(process.execPath)
  candidates.push(path.join(nodeDir, 'node_modules', 'npm', 'bin', file))
  candidates.push(path.join(nodeDir, '..', 'lib', 'node_modules', 'npm', 'bin', file))
  return candidates.find((c) => fs.existsSync(c))
}
const NPM = npmScript('npm-cli.js')
const NPX = npmScript('npx-cli.js')

const skipReason = !platform
  ? `${PLATFORM} is not one of the platforms in package.json`
  : !fs.existsSync(path.join(ROOT, platform.binary))
    ? `${platform.binary} is not built here (npm run build)`
    : !NPM || !NPX
      ? 'npm-cli.js was not found next to node or on PATH'
      : undefined

/** Run a command; resolves { code, stdout, stderr } and never rejects on a non-zero exit. */
function run(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60_000, maxBuffer: 16 << 20, ...options }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(Object.assign(error, { stdout, stderr }))
      resolve({ code: error ? error.code : 0, stdout, stderr })
    })
  })
}

async function npm(args, options) {
  const r = await run(process.execPath, [NPM, ...args], options)
  if (r.code !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-packaging-'))
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }))

/**
 * The environment users without Rust have: PATH holds node (and sh, which npx runs bins with)
 * and nothing else; npm is offline with its own empty cache, so nothing comes from a registry.
 */
function bareEnv() {
  const bin = path.join(tmp, 'bin')
  let PATH = bin
  if (WINDOWS) {
    PATH = path.dirname(process.execPath)
  } else if (!fs.existsSync(bin)) {
    fs.mkdirSync(bin)
    fs.symlinkSync(process.execPath, path.join(bin, 'node'))
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh'))
  }
  const env = {
    PATH,
    HOME: path.join(tmp, 'home'),
    npm_config_cache: path.join(tmp, 'npm-cache'),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  }
  if (WINDOWS) {
    for (const key of ['SystemRoot', 'ComSpec', 'TEMP', 'TMP', 'USERPROFILE', 'APPDATA', 'LOCALAPPDATA']) {
      if (process.env[key]) env[key] = process.env[key]
    }
  }
  return env
}

/** `npm pack --json` in `dir`: { filename, size, unpackedSize, files }. */
async function pack(dir, extra = []) {
  const out = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tmp, ...extra], { cwd: dir })
  return JSON.parse(out)[0]
}

/** A fresh app folder with `tarballs` installed by npm, offline, in the bare environment. */
async function install(name, tarballs) {
  const dir = path.join(tmp, name)
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true }) + '\n')
  await npm(['install', '--offline', '--no-audit', '--no-fund', ...tarballs.map((t) => path.join(tmp, t))], {
    cwd: dir,
    env: bareEnv(),
  })
  return dir
}

let built
/** Pack both packages and install them (once, shared by the tests). */
function setup() {
  built ??= (async () => {
    // The file list npm would publish from this repository.
    const dry = JSON.parse(await npm(['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT }))[0]
    // The release adds the optionalDependencies to package.json just before publishing; do the
    // same on a copy of the packed files.
    const stage = path.join(tmp, 'stage')
    for (const f of dry.files) {
      fs.mkdirSync(path.dirname(path.join(stage, f.path)), { recursive: true })
      fs.copyFileSync(path.join(ROOT, f.path), path.join(stage, f.path))
    }
    const published = packages.publishManifest(manifest)
    fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(published, null, 2) + '\n')
    const [platformDir] = packages.writeNpmDirs({
      root: ROOT,
      out: path.join(tmp, 'npm'),
      binaries: ROOT,
      only: PLATFORM,
      requireBinaries: true,
    })
    const [main, native] = await Promise.all([pack(stage), pack(platformDir)])
    const [app, bare] = await Promise.all([
      install('app', [main.filename, native.filename]),
      install('no-binding', [main.filename]),
    ])
    return { dry, published, main, native, app, bare }
  })()
  return built
}

const serial = skipReason ? test.skip : test
if (skipReason) console.log(`packaging tests skipped: ${skipReason}`)

serial('the bare environment has no cargo, rustc or C compiler on PATH', (t) => {
  for (const tool of ['cargo', 'rustc', 'cc', 'gcc', 'clang', 'cl']) {
    const r = spawnSync(tool, ['--version'], { env: bareEnv(), stdio: 'ignore' })
    t.is(r.error?.code, 'ENOENT', `${tool} must not be found`)
  }
})

serial('the main tarball holds the built package and no tests, Rust sources, build folders or binaries', async (t) => {
  const { dry, main, native, published } = await setup()
  t.log(`${main.filename}: ${main.size} bytes packed, ${main.unpackedSize} unpacked, ${main.files.length} files`)
  t.log(`${native.filename}: ${native.size} bytes packed, ${native.unpackedSize} unpacked`)
  const files = dry.files.map((f) => f.path.replaceAll('\\', '/'))
  for (const needed of ['package.json', 'index.js', 'index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/cli.js', 'esm/index.mjs', 'esm/index.d.mts']) {
    t.true(files.includes(needed), `ships ${needed}`)
  }
  for (const doc of ['README.md', 'LICENSE']) {
    if (fs.existsSync(path.join(ROOT, doc))) t.true(files.includes(doc), `ships ${doc}`)
  }
  const unwanted = files.filter(
    (f) =>
      /^(__test__|test|tests|crates|src|target|bench|examples|scripts|npm|docs|\.github|\.ci|\.tmp|node_modules)\//.test(f) ||
      /(\.rs|\.node|\.map|\.tgz|Cargo\.(toml|lock))$/.test(f) ||
      /(^|\/)(tsconfig\.json|\.gitignore)$/.test(f),
  )
  t.deepEqual(unwanted, [])
  t.deepEqual(main.files.map((f) => f.path).sort(), [...dry.files.map((f) => f.path)].sort(), 'the staged tarball is the same file list')

  t.deepEqual(
    native.files.map((f) => f.path).sort(),
    ['README.md', platform.binary, 'package.json'].sort(),
    'the platform package holds only its binary',
  )
  t.deepEqual(
    Object.keys(published.optionalDependencies).sort(),
    packages.platforms(manifest).map((p) => `@gatehouse/${p.platform}`).sort(),
  )
  t.true(Object.values(published.optionalDependencies).every((v) => v === manifest.version))
  t.is(published.scripts.prepare, undefined, 'no build from source when installed')
  t.is(manifest.optionalDependencies, undefined, 'the repository does not list them: npm ci would fail until they are published')
})

serial('installed without Rust, an ES module app starts a server and answers', async (t) => {
  const { app } = await setup()
  fs.writeFileSync(
    path.join(app, 'esm-app.mjs'),
    `import { Server } from '@gatehouse/server'
const server = new Server(['127.0.0.1', 0], (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return ['esm ' + environ.PATH_INFO]
})
await server.start()
const [host, port] = server.bindAddr
const res = await fetch('http://' + host + ':' + port + '/hello')
console.log(res.status, await res.text())
await server.stop()
`,
  )
  const r = await run(process.execPath, ['esm-app.mjs'], { cwd: app, env: bareEnv() })
  t.is(r.stderr, '')
  t.is(r.stdout, '200 esm /hello\n')
  t.is(r.code, 0)
})

serial('installed without Rust, a CommonJS app starts a server and answers', async (t) => {
  const { app } = await setup()
  fs.writeFileSync(
    path.join(app, 'cjs-app.cjs'),
    `const { Server, PathInfoDispatcher } = require('@gatehouse/server')
const api = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return ['cjs ' + environ.SCRIPT_NAME + ' ' + environ.PATH_INFO]
}
;(async () => {
  const server = new Server(['127.0.0.1', 0], PathInfoDispatcher({ '/api': api }))
  await server.start()
  const [host, port] = server.bindAddr
  const res = await fetch('http://' + host + ':' + port + '/api/items')
  console.log(res.status, await res.text())
  await server.stop()
})()
`,
  )
  const r = await run(process.execPath, ['cjs-app.cjs'], { cwd: app, env: bareEnv() })
  t.is(r.stderr, '')
  t.is(r.stdout, '200 cjs /api /items\n')
  t.is(r.code, 0)
})

const TS_APP = (imports) => `${imports}

const hello: App = (environ: Environ, startResponse: StartResponse) => {
  const method: string = environ.REQUEST_METHOD
  const write: Write = startResponse('200 OK', [['Content-Type', 'text/plain']])
  void write
  const body: Body = [method, ' ', environ.PATH_INFO]
  return body
}
const options: ServerOptions = { numthreads: 4, timeout: 5 }
const server = new Server(['127.0.0.1', 0], PathInfoDispatcher({ '/': hello }), options)
export async function main(): Promise<BindAddr> {
  await server.start()
  const addr: BindAddr = server.bindAddr
  await server.stop()
  return addr
}
export function isOurs(e: unknown): boolean {
  return e instanceof GatehouseError && e.code === 'GH_ERR_BIND'
}
// The types are real, not any: each of these must be an error.
// @ts-expect-error numthreads is a number
export const wrong: ServerOptions = { numthreads: 'four' }
// @ts-expect-error an app returns a body
export const notAnApp: App = () => 42
// @ts-expect-error bindAddr is [host, port] or a path
new Server(8080, hello)
`
const NAMES = 'Server, PathInfoDispatcher, GatehouseError, type App, type Body, type BindAddr, type Environ, type ServerOptions, type StartResponse, type Write'

serial('a TypeScript app compiles with tsc --strict against the installed types (node16 and bundler resolution)', async (t) => {
  const { app } = await setup()
  // Users of a Node.js server have @types/node; this one is the repository's.
  fs.mkdirSync(path.join(app, 'node_modules', '@types'), { recursive: true })
  fs.symlinkSync(TYPES_NODE, path.join(app, 'node_modules', '@types', 'node'), 'junction')
  fs.writeFileSync(path.join(app, 'ts-esm.mts'), TS_APP(`import { ${NAMES} } from '@gatehouse/server'`))
  fs.writeFileSync(
    path.join(app, 'ts-cjs.cts'),
    TS_APP(`import gatehouse = require('@gatehouse/server')\nimport { ${NAMES} } from '@gatehouse/server'\nvoid gatehouse.Server`),
  )
  fs.writeFileSync(path.join(app, 'ts-bundler.ts'), TS_APP(`import { ${NAMES} } from '@gatehouse/server'`))
  // --skipDefaultLibCheck skips only TypeScript's own lib files: gatehouse's declarations are checked.
  const tsc = (args) =>
    run(process.execPath, [TSC, '--strict', '--noEmit', '--skipDefaultLibCheck', '--target', 'es2022', ...args], { cwd: app, env: bareEnv() })
  const [node16, bundler] = await Promise.all([
    tsc(['--module', 'node16', '--moduleResolution', 'node16', '--traceResolution', 'ts-esm.mts', 'ts-cjs.cts']),
    tsc(['--module', 'esnext', '--moduleResolution', 'bundler', 'ts-bundler.ts']),
  ])
  const errors = (r) => r.stdout.split('\n').filter((l) => /error TS\d+/.test(l)).join('\n') + r.stderr
  t.is(node16.code, 0, `node16:\n${errors(node16)}`)
  t.is(bundler.code, 0, `bundler:\n${errors(bundler)}`)
  // Which declarations node16 picked: the ESM entry for import, the CommonJS one for require.
  t.regex(node16.stdout, /'@gatehouse\/server' was successfully resolved to '[^']*node_modules\/@gatehouse\/server\/esm\/index\.d\.mts'/)
  t.regex(node16.stdout, /'@gatehouse\/server' was successfully resolved to '[^']*node_modules\/@gatehouse\/server\/dist\/cjs\/index\.d\.ts'/)
})

// Installed, the bin is `gatehouse`; `npx @gatehouse/server` names the package and runs the same bin.
for (const command of ['gatehouse', '@gatehouse/server']) {
  serial(`npx ${command} app.js prints its Listening line and serves`, async (t) => {
    const { app } = await setup()
    fs.copyFileSync(path.join(ROOT, 'examples', 'hello.js'), path.join(app, 'app.js'))
    const child = spawn(process.execPath, [NPX, command, 'app.js', '--bind', '127.0.0.1:0'], {
      cwd: app,
      env: bareEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      // npx runs the bin through a shell: signal the whole group so the server gets it too.
      detached: !WINDOWS,
    })
    const kill = (signal) => {
      try {
        if (WINDOWS) spawnSync('taskkill', ['/pid', String(child.pid), '/T', '/F'])
        else process.kill(-child.pid, signal)
      } catch {}
    }
    t.teardown(() => kill('SIGKILL'))
    let out = ''
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    const exited = new Promise((resolve) => child.on('exit', resolve))
    const line = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no Listening line in 30 s; stderr: ${err}`)), 30_000)
      child.stdout.on('data', (d) => {
        out += d
        if (out.includes('\n')) {
          clearTimeout(timer)
          resolve(out.split('\n')[0])
        }
      })
      child.on('exit', (code) => reject(new Error(`npx exited (${code}) before listening: ${err}`)))
    })
    const m = /^Listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(line)
    t.truthy(m, line)
    t.not(m[1], '0')
    const res = await fetch(`http://127.0.0.1:${m[1]}/`)
    t.is(res.status, 200)
    t.is(await res.text(), 'Hello, World!\n')
    kill('SIGTERM')
    await exited
  })
}

serial('without the platform package, importing gatehouse fails with one clear GH_ERR_NO_BINDING error', async (t) => {
  const { bare } = await setup()
  t.deepEqual(fs.readdirSync(path.join(bare, 'node_modules', '@gatehouse')), ['server'], 'only the main package is installed')
  const report = `.then(() => console.log('loaded'), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })))`
  const [cjs, esm, uncaught] = await Promise.all([
    run(process.execPath, ['-e', `Promise.resolve().then(() => require('@gatehouse/server'))${report}`], { cwd: bare, env: bareEnv() }),
    run(process.execPath, ['--input-type=module', '-e', `import('@gatehouse/server')${report}`], { cwd: bare, env: bareEnv() }),
    run(process.execPath, ['-e', `require('@gatehouse/server')`], { cwd: bare, env: bareEnv() }),
  ])
  const libc = process.platform === 'linux' ? ` with ${PLATFORM.endsWith('-musl') ? 'musl' : 'glibc'}` : ''
  for (const [how, r] of [['require', cjs], ['import', esm]]) {
    const e = JSON.parse(r.stdout)
    t.is(e.name, 'GatehouseError', how)
    t.is(e.code, 'GH_ERR_NO_BINDING', how)
    t.is(
      e.message,
      `gatehouse has no native binding for this platform (${process.platform}-${process.arch}${libc}).\n` +
        `  Install the prebuilt one, \`npm install @gatehouse/${PLATFORM}@${manifest.version}\` (an optional dependency of @gatehouse/server,\n` +
        `  left out when optional dependencies are omitted or the lockfile was made on another platform),\n` +
        `  or build it from source with Rust (https://rustup.rs): in a clone of the gatehouse repository,\n` +
        '  `npm ci` (or `npm run build`) compiles it with cargo.',
      how,
    )
  }
  // Uncaught, it prints that one error: not the chain of require errors behind it.
  t.is(uncaught.code, 1)
  t.regex(uncaught.stderr, /GatehouseError: gatehouse has no native binding for this platform/)
  t.regex(uncaught.stderr, /code: 'GH_ERR_NO_BINDING'/)
  t.notRegex(uncaught.stderr, /Cannot find module|\[cause\]/)
})
