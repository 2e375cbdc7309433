/** PathInfoDispatcher: mount applications under path prefixes, as the original server does. */
import type { App, Body, Environ, StartResponse } from './types'

/** An application that dispatches on PATH_INFO. */
export interface PathInfoDispatcher extends App {
  /** The mounts, longest prefix first. */
  readonly apps: ReadonlyArray<readonly [string, App]>
}

/** How PathInfoDispatcher is constructed: with or without `new`. */
export interface PathInfoDispatcherConstructor {
  new (apps: Record<string, App> | Array<[string, App]>): PathInfoDispatcher
  (apps: Record<string, App> | Array<[string, App]>): PathInfoDispatcher
}

function notFound(_environ: Environ, startResponse: StartResponse): Body {
  startResponse('404 Not Found', [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', '10'],
  ])
  return ['Not Found\n']
}

/**
 * Dispatch to the application whose prefix is the longest match of PATH_INFO (a prefix matches
 * the path itself or the path followed by `/`). The prefix moves to SCRIPT_NAME and the rest
 * stays in PATH_INFO. No match gives 404.
 */
export const PathInfoDispatcher = function PathInfoDispatcher(apps: Record<string, App> | Array<[string, App]>): PathInfoDispatcher {
  const list: Array<[string, App]> = Array.isArray(apps) ? apps.map(([p, a]) => [p, a]) : Object.entries(apps)
  const mounts = list
    .map(([prefix, app]): [string, App] => {
      if (typeof prefix !== 'string') throw new TypeError('PathInfoDispatcher: a prefix must be a string')
      if (typeof app !== 'function') throw new TypeError(`PathInfoDispatcher: the application for ${JSON.stringify(prefix)} must be a function`)
      return [prefix.replace(/\/+$/, ''), app]
    })
    .sort((a, b) => b[0].length - a[0].length)
  const dispatch = (environ: Environ, startResponse: StartResponse): Body | Promise<Body> => {
    const path = environ.PATH_INFO || '/'
    for (const [prefix, app] of mounts) {
      if (path === prefix || path.startsWith(prefix + '/')) {
        environ.SCRIPT_NAME = environ.SCRIPT_NAME + prefix
        environ.PATH_INFO = path.slice(prefix.length)
        return app(environ, startResponse)
      }
    }
    return notFound(environ, startResponse)
  }
  Object.defineProperty(dispatch, 'apps', { value: Object.freeze(mounts.map((m) => Object.freeze(m))), enumerable: true })
  return dispatch as PathInfoDispatcher
} as PathInfoDispatcherConstructor
