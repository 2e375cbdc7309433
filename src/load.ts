/** Loading an application module by name, for the CLI and for `appThreads` workers. */
import { resolve as resolvePath } from 'node:path'
import { pathToFileURL } from 'node:url'

import type { App } from './types'

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

/**
 * Load the application named by `MODULE[:EXPORT]`: a path (relative to the working directory) or
 * a package name. EXPORT defaults to `app`, then the module's default export.
 */
export async function loadApp(target: string): Promise<App> {
  const { spec, exportName, url } = parseTarget(target)
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
  if (code === 'ERR_MODULE_NOT_FOUND' && (e as { url?: string }).url === url) {
    return `there is no file ${resolvePath(spec)}`
  }
  // A package that is not installed: only when the missing package is MODULE itself, imported
  // from here; a missing dependency of the application is reported as Node.js words it.
  if (code === 'ERR_MODULE_NOT_FOUND' && !isPath && firstLine.startsWith(`Cannot find package '${spec}' imported from ${__filename}`)) {
    return `no package named ${spec} is installed here; install it, or give a path (./${spec}.js)`
  }
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?tsx?$/.test(spec)) {
    return `Node.js does not run ${/\.[cm]?tsx?$/.exec(spec)?.[0]} files by itself; load a TypeScript loader: npm install --save-dev tsx, then NODE_OPTIONS="--import tsx" gatehouse ${target}`
  }
  if (e instanceof SyntaxError) {
    // A CommonJS syntax error names its file and line in the stack's first line; an ES module's
    // does not, but `node --check` shows it.
    const where = /^(\S+:\d+)$/m.exec(e.stack?.split('\n')[0] ?? '')?.[1]
    if (where) return `SyntaxError: ${firstLine} (${where})`
    return `SyntaxError: ${firstLine}${isPath ? ` (node --check ${spec} shows where)` : ''}`
  }
  return `${e.name === 'Error' ? '' : `${e.name}: `}${firstLine}`
}
