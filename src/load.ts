/** Loading an application module by name, for the CLI and for `appThreads` workers. */
import { resolve as resolvePath } from 'node:path'
import { pathToFileURL } from 'node:url'

import type { App } from './types'

/** The module loaded but has no such application. */
export class LoadError extends Error {}

/**
 * Load the application named by `MODULE[:EXPORT]`: a path (relative to the working directory) or
 * a package name. EXPORT defaults to `app`, then the module's default export.
 */
export async function loadApp(target: string): Promise<App> {
  // MODULE:EXPORT, where MODULE may itself contain ':' (a Windows drive letter).
  const m = /^(.*?)(?::([A-Za-z_$][\w$]*))?$/.exec(target)
  const spec = m?.[1] ?? target
  const exportName = m?.[2]
  const looksLikePath = spec.startsWith('.') || spec.startsWith('/') || /\.[cm]?[jt]sx?$/.test(spec) || /^[A-Za-z]:[\\/]/.test(spec)
  const url = looksLikePath ? pathToFileURL(resolvePath(spec)).href : spec
  const mod = (await import(url)) as Record<string, unknown>
  const pick = (o: Record<string, unknown>): unknown => (exportName ? o[exportName] : (o.app ?? o.default))
  let app = pick(mod)
  // A CommonJS module imported from ESM puts module.exports under `default`.
  if (typeof app !== 'function' && mod.default && typeof mod.default === 'object') app = pick(mod.default as Record<string, unknown>)
  if (typeof app !== 'function') {
    throw new LoadError(`${spec} has no ${exportName ? `export ${JSON.stringify(exportName)}` : '`app` or default export'} that is a function`)
  }
  return app as App
}

