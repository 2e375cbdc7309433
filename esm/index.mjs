// The ES module entry: the package is built once as CommonJS; this re-exports it.
import cjs from '../dist/cjs/index.js'

export const { Server, SERVER_SOFTWARE, PathInfoDispatcher, GatehouseError, fromFetch, fromNodeHandler } = cjs
