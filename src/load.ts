/** Loading an application module by name, for the CLI and for `appThreads` workers. */
import { resolve as resolvePath } from 'node:path'
import { pathToFileURL } from 'node:url'

import { fromFetch, type FetchHandler } from './adapters/fetch'
import { fromNodeHandler, type NodeHandler } from './adapters/node'
import type { App, AppInterface } from './types'

/** The module loaded but has no such application. */
export class LoadError extends Error {}

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
  // MODULE:EXPORT, where MODULE may itself contain ':' (a Windows drive letter).
  const m = /^(.*?)(?::([A-Za-z_$][\w$]*))?$/.exec(target)
  const spec = m?.[1] ?? target
  const exportName = m?.[2]
  const looksLikePath = spec.startsWith('.') || spec.startsWith('/') || /\.[cm]?[jt]sx?$/.test(spec) || /^[A-Za-z]:[\\/]/.test(spec)
  const url = looksLikePath ? pathToFileURL(resolvePath(spec)).href : spec
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
