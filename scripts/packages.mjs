#!/usr/bin/env node
// The platform packages of gatehouse: one npm package per prebuilt binary, `@gatehouse/<platform>`,
// each holding only `gatehouse.<platform>.node`. The platforms come from the "napi" block of
// package.json; `<platform>` is napi-rs's platform-arch-abi name (linux-x64-gnu, darwin-arm64...).
//
// napi-rs names platform packages `<packageName>-<platform>`, which cannot give `@gatehouse/<platform>`,
// so the names are made here: `loader` points the generated index.js at them (run after every
// `napi build`), `npm-dirs` writes the package folders, `publish-manifest` adds the
// optionalDependencies to the main package.json just before it is published. The repository's
// package.json never lists them: until a version is on the registry, `npm ci` would fail on them.
//
//   node scripts/packages.mjs loader [index.js]
//   node scripts/packages.mjs types [dist/cjs/native.d.ts]
//   node scripts/packages.mjs npm-dirs [--out npm] [--binaries DIR] [--only PLATFORM] [--require-binaries]
//   node scripts/packages.mjs publish-manifest [package.json]
//   node scripts/packages.mjs platform          (prints this machine's platform, if it is one of ours)
//   node scripts/packages.mjs list              (prints every platform, one a line)
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const SCOPE = '@gatehouse'

// The Rust target triples gatehouse ships, with napi-rs's name for each and npm's os/cpu/libc.
const TRIPLES = {
  'x86_64-unknown-linux-gnu': { platform: 'linux-x64-gnu', os: 'linux', cpu: 'x64', libc: 'glibc' },
  'x86_64-unknown-linux-musl': { platform: 'linux-x64-musl', os: 'linux', cpu: 'x64', libc: 'musl' },
  'aarch64-unknown-linux-gnu': { platform: 'linux-arm64-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'aarch64-unknown-linux-musl': { platform: 'linux-arm64-musl', os: 'linux', cpu: 'arm64', libc: 'musl' },
  'x86_64-apple-darwin': { platform: 'darwin-x64', os: 'darwin', cpu: 'x64' },
  'aarch64-apple-darwin': { platform: 'darwin-arm64', os: 'darwin', cpu: 'arm64' },
  'x86_64-pc-windows-msvc': { platform: 'win32-x64-msvc', os: 'win32', cpu: 'x64' },
}

/** The package.json at `root`, parsed. */
export function readManifest(root = ROOT) {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
}

/** Every platform of the "napi" block: { triple, platform, os, cpu, libc?, packageName, binary }. */
export function platforms(manifest = readManifest()) {
  const binaryName = manifest.napi?.binaryName
  const targets = manifest.napi?.targets
  if (!binaryName || !Array.isArray(targets)) throw new Error('package.json: "napi" needs binaryName and targets')
  return targets.map((triple) => {
    const known = TRIPLES[triple]
    if (!known) throw new Error(`package.json: napi target ${triple} has no platform package here; add it to TRIPLES in scripts/packages.mjs`)
    return { triple, ...known, packageName: `${SCOPE}/${known.platform}`, binary: `${binaryName}.${known.platform}.node` }
  })
}

/** This machine's platform name (linux-x64-gnu, ...), whether or not gatehouse ships it. */
export function currentPlatform() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const header = process.report?.getReport()?.header
    return `linux-${arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

/** The package.json of one platform package. */
export function platformManifest(manifest, p) {
  const out = {
    name: p.packageName,
    version: manifest.version,
    description: `The ${p.platform} (${p.triple}) binary of ${manifest.name}.`,
    license: manifest.license,
    os: [p.os],
    cpu: [p.cpu],
    ...(p.libc ? { libc: [p.libc] } : {}),
    main: p.binary,
    files: [p.binary],
  }
  for (const key of ['engines', 'repository', 'homepage', 'bugs', 'author']) {
    if (manifest[key] !== undefined) out[key] = manifest[key]
  }
  return out
}

/**
 * The main package.json as it is published: with an exact optionalDependency on every platform
 * package, and without "prepare" (it builds the addon with cargo in a clone; an install of the
 * package from a tarball or URL must never try that).
 */
export function publishManifest(manifest) {
  const optionalDependencies = { ...manifest.optionalDependencies }
  for (const p of platforms(manifest)) optionalDependencies[p.packageName] = manifest.version
  const scripts = { ...manifest.scripts }
  delete scripts.prepare
  return { ...manifest, scripts, optionalDependencies }
}

// Breadth first, so a binary at the top of `dir` wins; build and dependency folders are skipped.
function findFile(dir, name) {
  const queue = [dir]
  while (queue.length > 0) {
    const current = queue.shift()
    if (!existsSync(current)) continue
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name)
      if (entry.isFile() && entry.name === name) return path
      if (entry.isDirectory() && !['node_modules', '.git', 'target'].includes(entry.name)) queue.push(path)
    }
  }
  return undefined
}

/**
 * Write `<out>/<platform>/{package.json,README.md}` for each platform (or only `only`), and copy
 * `gatehouse.<platform>.node` into it when `binaries` (searched recursively) holds one.
 * Returns the folders written.
 */
export function writeNpmDirs({ root = ROOT, out = join(root, 'npm'), binaries, only, requireBinaries = false } = {}) {
  const manifest = readManifest(root)
  const chosen = platforms(manifest).filter((p) => !only || p.platform === only)
  if (chosen.length === 0) throw new Error(`no platform named ${only}`)
  const missing = []
  const dirs = []
  for (const p of chosen) {
    const dir = join(out, p.platform)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), JSON.stringify(platformManifest(manifest, p), null, 2) + '\n')
    writeFileSync(
      join(dir, 'README.md'),
      `# \`${p.packageName}\`\n\nThe prebuilt ${p.platform} (\`${p.triple}\`) binding of [${manifest.name}](https://www.npmjs.com/package/${manifest.name}).\n` +
        `There is no need to install it yourself: \`${manifest.name}\` lists it as an optional dependency and npm picks the one for your platform.\n`,
    )
    const found = binaries ? findFile(resolve(binaries), p.binary) : undefined
    if (found) copyFileSync(found, join(dir, p.binary))
    else if (!existsSync(join(dir, p.binary))) missing.push(p.binary)
    dirs.push(dir)
  }
  if (requireBinaries && missing.length > 0) throw new Error(`missing binaries: ${missing.join(', ')}`)
  return dirs
}

/**
 * Point the napi-generated loader at `@gatehouse/<platform>` instead of `<package name>-<platform>`
 * (`@gatehouse/server-linux-x64-gnu`).
 * Idempotent. Returns how many specifiers changed.
 */
export function rewriteLoader(file = join(ROOT, 'index.js'), manifest = readManifest()) {
  const source = readFileSync(file, 'utf8')
  const name = manifest.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const pattern = new RegExp(`(['"\`])${name}-([a-z0-9]+(?:-[a-z0-9]+)*)(/package\\.json)?\\1`, 'g')
  let count = 0
  const rewritten = source.replace(pattern, (_all, quote, platform, sub = '') => {
    count++
    return `${quote}${SCOPE}/${platform}${sub}${quote}`
  })
  if (count > 0) writeFileSync(file, rewritten)
  return count
}

/**
 * The declaration of src/native.ts imports the binding's types from `../index` (the generated
 * index.d.ts, relative to src/); tsc keeps that specifier, but from dist/cjs/ the file is two
 * folders up. Without this, users compiling against the package get "Cannot find module '../index'".
 */
export function fixNativeTypes(file = join(ROOT, 'dist', 'cjs', 'native.d.ts')) {
  const source = readFileSync(file, 'utf8')
  const rewritten = source.replace(/from '\.\.\/index(\.js)?'/g, "from '../../index'")
  if (rewritten !== source) writeFileSync(file, rewritten)
  return rewritten !== source
}

function main(argv) {
  const [command, ...rest] = argv
  const flag = (name) => {
    const i = rest.indexOf(name)
    if (i === -1) return undefined
    const value = rest[i + 1]
    rest.splice(i, 2)
    return value
  }
  switch (command) {
    case 'loader': {
      const n = rewriteLoader(rest[0] ? resolve(rest[0]) : undefined)
      if (n > 0) console.log(`index.js: ${n} platform package specifiers now under ${SCOPE}/`)
      return
    }
    case 'types':
      fixNativeTypes(rest[0] ? resolve(rest[0]) : undefined)
      return
    case 'npm-dirs': {
      const requireBinaries = rest.includes('--require-binaries')
      const out = flag('--out')
      const binaries = flag('--binaries')
      const only = flag('--only')
      const dirs = writeNpmDirs({ out: out && resolve(out), binaries, only, requireBinaries })
      for (const dir of dirs) console.log(dir)
      return
    }
    case 'publish-manifest': {
      const file = resolve(rest[0] ?? join(ROOT, 'package.json'))
      const manifest = JSON.parse(readFileSync(file, 'utf8'))
      writeFileSync(file, JSON.stringify(publishManifest(manifest), null, 2) + '\n')
      return
    }
    case 'platform': {
      const here = currentPlatform()
      if (!platforms().some((p) => p.platform === here)) {
        console.error(`${here} is not one of the platforms in package.json`)
        process.exitCode = 1
        return
      }
      console.log(here)
      return
    }
    case 'list':
      for (const p of platforms()) console.log(p.platform)
      return
    default:
      console.error('usage: node scripts/packages.mjs loader|types|npm-dirs|publish-manifest|platform|list (see the top of this file)')
      process.exitCode = 2
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2))
  } catch (e) {
    console.error(`packages.mjs: ${e.message}`)
    process.exitCode = 1
  }
}
