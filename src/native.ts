/**
 * The native binding, loaded once through the napi-rs generated loader (`index.js` at the
 * package root). Everything else imports it from here.
 *
 * The loader tries `gatehouse.<platform>.node` next to itself (a build from source), then the
 * prebuilt package `@gatehouse/<platform>` (an optional dependency of the published package,
 * `@gatehouse/server`).
 * When nothing loads it throws a chain of require errors; this module turns that into one
 * {@link GatehouseError} with code `GH_ERR_NO_BINDING` that names the platform and the ways out.
 */
import type * as Binding from '../index'
import { GatehouseError } from './errors'

interface Manifest {
  version: string
  napi?: { targets?: string[] }
}

/** napi-rs's name for a Rust target triple: x86_64-unknown-linux-gnu -> linux-x64-gnu. */
function platformOfTriple(triple: string): string {
  const [cpu = '', , system = '', abi] = triple.split('-')
  const arch = ({ x86_64: 'x64', aarch64: 'arm64', i686: 'ia32' } as Record<string, string>)[cpu] ?? cpu
  const os = system === 'windows' ? 'win32' : system
  return abi ? `${os}-${arch}-${abi}` : `${os}-${arch}`
}

/** This process's platform in napi-rs's naming, and the C library on Linux. */
function hostPlatform(): { name: string; libc?: 'glibc' | 'musl' } {
  const { platform, arch } = process
  if (platform === 'linux') {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    const libc = report?.header?.glibcVersionRuntime ? 'glibc' : 'musl'
    return { name: `linux-${arch}-${libc === 'glibc' ? 'gnu' : 'musl'}`, libc }
  }
  if (platform === 'win32') return { name: `win32-${arch}-msvc` }
  return { name: `${platform}-${arch}` }
}

/** The messages of the loader's error chain (it links one error per candidate through `cause`). */
function reasonsOf(error: unknown): string[] {
  const reasons: string[] = []
  let e: unknown = error instanceof Error ? error.cause : undefined
  while (e instanceof Error && reasons.length < 50) {
    reasons.push(e.message.split('\n')[0] as string)
    e = e.cause
  }
  return reasons.reverse()
}

/** The one error thrown when no binding loads. */
function noBinding(error: unknown): GatehouseError {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const manifest: Manifest = require('../../package.json')
  const host = hostPlatform()
  const where = `${process.platform}-${process.arch}${host.libc ? ` with ${host.libc}` : ''}`
  const prebuilt = (manifest.napi?.targets ?? []).map(platformOfTriple)
  const pkg = `@gatehouse/${host.name}@${manifest.version}`
  const reasons = reasonsOf(error)
  // A "Cannot find module" means the candidate is absent; anything else means it is there but broken.
  const broken = reasons.find((r) => !/^Cannot find module\b/.test(r))
  const fromSource =
    'build it from source with Rust (https://rustup.rs): in a clone of the gatehouse repository,\n' +
    '  `npm ci` (or `npm run build`) compiles it with cargo.'
  let message: string
  if (!prebuilt.includes(host.name)) {
    message =
      `gatehouse has no native binding for this platform (${where}).\n` +
      `  There is no prebuilt package for ${host.name} (prebuilt: ${prebuilt.join(', ')});\n` +
      `  ${fromSource}`
  } else if (broken !== undefined) {
    message =
      `gatehouse found a native binding for this platform (${where}) but could not load it:\n` +
      `  ${broken}\n` +
      `  Reinstall it, \`npm install ${pkg}\`, or ${fromSource}`
  } else {
    message =
      `gatehouse has no native binding for this platform (${where}).\n` +
      `  Install the prebuilt one, \`npm install ${pkg}\` (an optional dependency of @gatehouse/server,\n` +
      `  left out when optional dependencies are omitted or the lockfile was made on another platform),\n` +
      `  or ${fromSource}`
  }
  const err = new GatehouseError('GH_ERR_NO_BINDING', message)
  // What each candidate said, for whoever needs it; kept off the printed error on purpose.
  Object.defineProperty(err, 'reasons', { value: reasons, enumerable: false })
  return err
}

function load(): typeof Binding {
  try {
    // From dist/cjs/native.js the loader is two folders up.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('../../index.js')
  } catch (e) {
    // Only the loader's own "nothing loaded" errors; anything else is a bug to see as it is.
    if (e instanceof Error && /native binding/i.test(e.message)) throw noBinding(e)
    throw e
  }
}

export const binding: typeof Binding = load()

export type NativeServer = Binding.NativeServer
export type NativeLane = Binding.NativeLane
export type NativeOptions = Binding.NativeOptions
// Re-exported, not aliased: the public API names it (Server.nativeStats), and the docs show it.
export type { NativeStats } from '../index'
export type NativeHistogram = Binding.NativeHistogram
export type NativeSsl = Binding.NativeSsl
export type NativeIdentity = Binding.NativeIdentity
export type NativePem = Binding.NativePem
