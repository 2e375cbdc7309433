/** Loading an application module by name, for the CLI and for `appThreads` workers. */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isMainThread } from 'node:worker_threads'

import { fromFetch, type FetchHandler } from './adapters/fetch'
import { fromNodeHandler, type NodeHandler } from './adapters/node'
import type { App, AppInterface } from './types'

/** The module loaded but has no such application. */
export class LoadError extends Error {}

/** MODULE[:EXPORT] split, and MODULE as the specifier `import()` takes. */
function parseTarget(target: string): { spec: string; exportName: string | undefined; url: string; isPath: boolean } {
  // MODULE:EXPORT, where MODULE may itself contain ':' (a Windows drive letter).
  const m = /^(.*?)(?::([A-Za-z_$][\w$]*))?$/.exec(target)
  const spec = m?.[1] ?? target
  const isPath = spec.startsWith('.') || spec.startsWith('/') || /\.[cm]?[jt]sx?$/.test(spec) || /^[A-Za-z]:[\\/]/.test(spec)
  return { spec, exportName: m?.[2], url: isPath ? pathToFileURL(resolvePath(spec)).href : spec, isPath }
}

function isFetchObject(v: unknown): v is { fetch: FetchHandler } {
  return typeof v === 'object' && v !== null && typeof (v as { fetch?: unknown }).fetch === 'function'
}

/** Koa: an application object whose `callback()` gives the Node-style listener. */
function isCallbackObject(v: unknown): v is { callback: () => NodeHandler } {
  return typeof v === 'object' && v !== null && typeof (v as { callback?: unknown }).callback === 'function'
}

/** The export as an App under the interface asked for; undefined when it does not fit. */
function asApp(found: unknown, iface: AppInterface): App | undefined {
  switch (iface) {
    case 'auto':
      if (typeof found === 'function') return found as App
      return isFetchObject(found) ? fromFetch(found) : undefined
    case 'wsgi':
      return typeof found === 'function' ? (found as App) : undefined
    case 'fetch':
      if (typeof found === 'function') return fromFetch(found as FetchHandler)
      return isFetchObject(found) ? fromFetch(found) : undefined
    case 'node':
      if (typeof found === 'function') return fromNodeHandler(found as NodeHandler)
      return isCallbackObject(found) ? fromNodeHandler(found.callback()) : undefined
  }
}

const WANTED: Record<AppInterface, string> = {
  auto: 'a function (a WSGI-style app) or an object with a fetch method',
  wsgi: 'a function (environ, startResponse)',
  fetch: 'a function (request) => Response or an object with a fetch method',
  node: 'a function (req, res) or an object with a callback() method (Koa)',
}

/**
 * Load the application named by `MODULE[:EXPORT]`: a path (relative to the working directory) or
 * a package name. EXPORT defaults to `app`, then the module's default export. `iface` says what
 * the export is: `'auto'` takes a function as a WSGI-style app and an object with a `fetch`
 * method (a Hono app, `export default { fetch }`) as a fetch handler; `'fetch'` and `'node'` wrap
 * the export with {@link fromFetch} or {@link fromNodeHandler}.
 */
export async function loadApp(target: string, iface: AppInterface = 'auto'): Promise<App> {
  const { spec, exportName, url } = parseTarget(target)
  const mod = (await import(url)) as Record<string, unknown>
  const pick = (o: Record<string, unknown>): unknown => (exportName ? o[exportName] : (o.app ?? o.default))
  let app = asApp(pick(mod), iface)
  // A CommonJS module imported from ESM puts module.exports under `default`.
  if (app === undefined && mod.default && typeof mod.default === 'object') app = asApp(pick(mod.default as Record<string, unknown>), iface)
  if (app === undefined) {
    const what = exportName ? `export ${JSON.stringify(exportName)}` : '`app` or default export'
    throw new LoadError(`${spec} has no ${what} that is ${WANTED[iface]}${iface === 'auto' ? ' (a Node-style (req, res) handler needs --interface node)' : ''}`)
  }
  return app
}

/**
 * Why `loadApp(target)` failed, in one line for the CLI: what is wrong and, where it is known,
 * what to do. The error itself (with its stack) is what `--debug` shows.
 */
export function explainLoadError(target: string, e: unknown): string {
  const { spec, url, isPath } = parseTarget(target)
  if (e instanceof LoadError) return e.message
  if (!(e instanceof Error)) return `it threw ${String(e)}`
  const code = (e as NodeJS.ErrnoException).code
  const firstLine = e.message.split('\n')[0] as string
  if (code === 'ERR_MODULE_NOT_FOUND' && ((e as { url?: string }).url === url || firstLine.startsWith(`Cannot find module '${resolvePath(spec)}' `))) {
    return `there is no file ${resolvePath(spec)}`
  }
  // A package that is not installed: only when the missing package is MODULE itself, imported
  // from here; a missing dependency of the application is reported as Node.js words it.
  if (code === 'ERR_MODULE_NOT_FOUND' && !isPath && firstLine.startsWith(`Cannot find package '${spec}' imported from ${__filename}`)) {
    return `no package named ${spec} is installed here; install it, or give a path (./${spec}.js)`
  }
  const tsExtension = /\.[cm]?tsx?$/.exec(spec)?.[0]
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && tsExtension !== undefined) {
    const tsx = `run it through a loader: npm install --save-dev tsx, then NODE_OPTIONS="--import tsx" gatehouse ${target}`
    // Node.js 22.6+ can strip types (on by default from 22.18 and 23.6); a .tsx file it never runs.
    if (tsExtension.endsWith('x') || !('typescript' in process.features)) return `Node.js ${process.version} does not run ${tsExtension} files by itself; ${tsx}`
    return `type stripping is off in this Node.js (${process.version}); turn it on with NODE_OPTIONS="--experimental-strip-types", or ${tsx}`
  }
  // Node.js strips types but does not transform what has no JavaScript equivalent to strip to
  // (enum, namespace, parameter properties): its own transform where it has one, or tsx.
  if (code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
    const transform = process.allowedNodeEnvironmentFlags.has('--experimental-transform-types') ? `run it with NODE_OPTIONS="--experimental-transform-types" gatehouse ${target}, or ` : ''
    return `${firstLine} (Node.js ${process.version} strips types, it does not transform this syntax); ${transform}run it through a loader: npm install --save-dev tsx, then NODE_OPTIONS="--import tsx" gatehouse ${target}`
  }
  if (e instanceof SyntaxError) {
    // A CommonJS syntax error names its file and line in the stack's first line; an ES module's
    // does not on Node.js 20 (a file: URL there, if a version adds it), but `node --check` shows it.
    const where = /^(\S+):(\d+)$/.exec(e.stack?.split('\n')[0] ?? '')
    if (where) return `SyntaxError: ${firstLine} (${where[1]?.startsWith('file:') ? fileURLToPath(where[1]) : where[1]}:${where[2]})`
    return `SyntaxError: ${firstLine}${isPath ? ` (node --check ${spec} shows where)` : ''}`
  }
  return `${e.name === 'Error' ? '' : `${e.name}: `}${firstLine}`
}

/** The `--import` modules this process was started with: its command line, then NODE_OPTIONS. */
function importFlags(): string[] {
  const args = [...process.execArgv, ...splitOptions(process.env.NODE_OPTIONS ?? '')]
  const out: string[] = []
  args.forEach((a, i) => {
    if (a === '--import' && args[i + 1] !== undefined) out.push(args[i + 1] as string)
    else if (a.startsWith('--import=')) out.push(a.slice('--import='.length))
  })
  return out
}

/** NODE_OPTIONS split as Node.js splits it: on spaces, with "double quotes" and \\ escapes inside them. */
function splitOptions(s: string): string[] {
  const out: string[] = []
  for (const m of s.matchAll(/"((?:\\.|[^"\\])*)"|(\S+)/g)) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string))
  }
  return out
}

/**
 * Register tsx's hooks in an `appThreads` worker when the process was started with
 * `--import tsx` (NODE_OPTIONS="--import tsx"), before the worker loads the application.
 *
 * A worker runs the process's `--import` modules too, but tsx's entry registers its hooks on the
 * main thread only (on Node.js 20, and 22 and 24 before 22.22.3 and 24.11.1), so a TypeScript
 * application that the main thread loads failed in the workers with ERR_UNKNOWN_FILE_EXTENSION.
 * tsx's API registers them for the thread it runs in. Where tsx has registered itself as well,
 * the second set is redundant: the first hook to load a .ts file answers it.
 */
export async function registerTsxInWorker(): Promise<void> {
  if (isMainThread || !importFlags().some((spec) => spec === 'tsx' || spec === 'tsx/esm')) return
  const { register } = (await import(tsxApi())) as { register: () => unknown }
  register()
}

/** The ES module of tsx's `tsx/esm/api` export, found from the working directory as `--import tsx` is. */
function tsxApi(): string {
  // Through the "import" condition of its exports map: its CommonJS build cannot register
  // hooks from a worker on Node.js 20, and require.resolve would pick that one.
  const manifest = createRequire(join(process.cwd(), 'noop.js')).resolve('tsx/package.json')
  const entry = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> }).exports?.['./esm/api']?.import?.default
  if (entry === undefined) throw new Error(`${manifest} has no "./esm/api" export to register tsx in a worker thread with`)
  return pathToFileURL(join(dirname(manifest), entry)).href
}
