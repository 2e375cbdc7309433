/**
 * Adapters: fetch-style and Node-style handlers as WSGI-style applications.
 * @packageDocumentation
 */
export { fromFetch, type FetchAdapterOptions, type FetchHandler, type FetchInfo } from './fetch'
export { fromNodeHandler, type NodeHandler } from './node'
