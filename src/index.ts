/**
 * gatehouse: a high-speed, thread-pooled, WSGI-style HTTP server for Node.js.
 * @packageDocumentation
 */
export { Server, SERVER_SOFTWARE, type Pool, type Stats, type WorkerStats } from './server'
export { PathInfoDispatcher, type PathInfoDispatcherConstructor } from './dispatcher'
export { GatehouseError, type ErrorCode, type SystemErrorInfo } from './errors'
export type { NativeStats } from './native'
export { fromFetch, fromNodeHandler, type FetchAdapterOptions, type FetchHandler, type FetchInfo, type NodeHandler } from './adapters'
export type {
  App,
  AppInterface,
  BindAddr,
  Body,
  Chunk,
  Environ,
  ErrorStream,
  GatewayName,
  InputStream,
  PemInput,
  ServerOptions,
  SslIdentity,
  SslOptions,
  StartResponse,
  Write,
} from './types'
