/**
 * The application interface: PEP 3333 (WSGI) meanings with JavaScript types.
 * @packageDocumentation
 */

/** A piece of a response body. Strings are sent as UTF-8. */
export type Chunk = string | Uint8Array

/**
 * A response body: any iterable or async iterable of chunks. An array is the fast path (one
 * native call with status, headers and body). If it has a `close()` method, the server calls it
 * exactly once when the response is done, also when the client went away.
 */
export type Body = (Iterable<Chunk> | AsyncIterable<Chunk>) & { close?: () => unknown }

/**
 * The legacy write callable returned by `startResponse`. Chunks leave in call order whether or not
 * it is awaited; it returns a Promise once 256 KiB wait for the client (await it to be held back
 * instead of holding them in memory), and a rejected one (`GH_ERR_CLOSED`) once the client is gone.
 */
export type Write = (chunk: Chunk) => void | Promise<void>

/**
 * Begin the response. `status` is like `'200 OK'`; `headers` is a list of `[name, value]`. A
 * second call without `excInfo` throws; with `excInfo` after the headers were sent it rethrows
 * `excInfo`. Hop-by-hop headers (Connection, Transfer-Encoding…) and CR/LF/NUL in names or
 * values are the application's error (a 500), never bytes on the wire.
 */
export type StartResponse = (status: string, headers: Array<[string, string]>, excInfo?: unknown) => Write

/** A WSGI-style application. */
export type App = (environ: Environ, startResponse: StartResponse) => Body | Promise<Body>

/**
 * What an application module exports (uvicorn's `--interface`): `'wsgi'` a WSGI-style
 * {@link App}; `'fetch'` a fetch handler or an object with a `fetch` method (Hono, `export default
 * { fetch }`); `'node'` a `(req, res)` listener (Express, connect) or a Koa app; `'auto'` a
 * function as `'wsgi'`, an object with `fetch` as `'fetch'`.
 */
export type AppInterface = 'auto' | 'wsgi' | 'fetch' | 'node'

/** `wsgi.errors`: where applications (and the server) write error lines. */
export interface ErrorStream {
  /** Write text. */
  write(s: string): unknown
  /** Flush, if the stream buffers. */
  flush(): unknown
}

/** `wsgi.input`: the request body, read asynchronously. Reads resolve to Buffers, empty at the end. */
export interface InputStream extends AsyncIterable<Buffer> {
  /** Read `size` bytes (fewer at the end), or the whole rest of the body when `size` is omitted or negative. */
  read(size?: number): Promise<Buffer>
  /** Read one line including its `\n`, at most `size` bytes when given. */
  readline(size?: number): Promise<Buffer>
  /** Read lines until the end, or until their total length reaches `hint`. */
  readlines(hint?: number): Promise<Buffer[]>
}

/** Which of the original server's gateways decodes PATH_INFO. */
export type GatewayName = 'u0' | '1.0'

/**
 * The request as CGI variables plus the `wsgi.*` keys. Every `HTTP_*` header variable is a
 * string; repeated headers are joined with `, ` (Cookie with `; `).
 */
export interface Environ {
  REQUEST_METHOD: string
  SCRIPT_NAME: string
  /** Percent-decoded. Gateway 'u0': UTF-8, or latin-1 where that fails; '1.0': latin-1. */
  PATH_INFO: string
  /** Raw, without `?`. */
  QUERY_STRING: string
  /** The raw request target. */
  REQUEST_URI: string
  SERVER_NAME: string
  SERVER_PORT: string
  SERVER_PROTOCOL: string
  SERVER_SOFTWARE: string
  REMOTE_ADDR: string
  REMOTE_PORT: string
  CONTENT_TYPE?: string
  CONTENT_LENGTH?: string
  /** `'on'` when the request came over TLS; absent otherwise. */
  HTTPS?: 'on'
  /** `'TLSv1.3'` or `'TLSv1.2'`. */
  SSL_PROTOCOL?: string
  /** The cipher suite by its OpenSSL name, e.g. `'TLS_AES_256_GCM_SHA384'`, `'ECDHE-RSA-AES128-GCM-SHA256'`. */
  SSL_CIPHER?: string
  /** Secret bits of the cipher, e.g. `'256'`. */
  SSL_CIPHER_USEKEYSIZE?: string
  SSL_CIPHER_ALGKEYSIZE?: string
  /** The host name the client asked for with SNI, when it sent one. */
  SSL_TLS_SNI?: string
  /** The served certificate's subject, an RFC 4514 string as mod_ssl 2.4 gives it (`'CN=example.org,O=Example,C=US'`). */
  SSL_SERVER_S_DN?: string
  /** The served certificate's issuer, RFC 4514. */
  SSL_SERVER_I_DN?: string
  /** `'NONE'` (no client certificate) or `'SUCCESS'` (one was sent and verified against `ssl.caCerts`). */
  SSL_CLIENT_VERIFY?: 'NONE' | 'SUCCESS'
  /** The client certificate's subject, RFC 4514 (most specific attribute first). */
  SSL_CLIENT_S_DN?: string
  /** The commonName of the client certificate's subject. */
  SSL_CLIENT_S_DN_CN?: string
  /** The client certificate's issuer, RFC 4514. */
  SSL_CLIENT_I_DN?: string
  /** The commonName of the client certificate's issuer. */
  SSL_CLIENT_I_DN_CN?: string
  /** The X.509 version of the client certificate, e.g. `'3'`. */
  SSL_CLIENT_M_VERSION?: string
  /** The client certificate's serial number: upper-case hex, two digits a byte (`'1A2B03'`). */
  SSL_CLIENT_M_SERIAL?: string
  /** notBefore of the client certificate, as OpenSSL prints it: `'Jan  2 03:04:05 2026 GMT'`. */
  SSL_CLIENT_V_START?: string
  /** notAfter of the client certificate, same format. */
  SSL_CLIENT_V_END?: string
  /** Whole days until the client certificate expires. */
  SSL_CLIENT_V_REMAIN?: string
  /** The client certificate in PEM. */
  SSL_CLIENT_CERT?: string
  'wsgi.version': [1, 0]
  /** `'https'` over TLS. */
  'wsgi.url_scheme': 'http' | 'https'
  'wsgi.input': InputStream
  'wsgi.errors': ErrorStream
  'wsgi.multithread': boolean
  'wsgi.multiprocess': boolean
  'wsgi.run_once': boolean
  /**
   * The request's field lines as sent, `[name, value, name, value, ...]`, one pair a line, names in
   * the client's case (node:http's `rawHeaders`; the Node-style adapter's `req.rawHeaders`). Absent
   * from an environ the server did not make.
   */
  'gatehouse.rawHeaders'?: string[]
  /** A request header: `HTTP_USER_AGENT` for User-Agent. Present when the client sent it. */
  [header: `HTTP_${string}`]: string | undefined
  [key: string]: unknown
}

/**
 * PEM data: a path to a PEM file, PEM text (a string containing `-----BEGIN`), or a Buffer of
 * PEM text. Files are read at `start()` and again by `reloadCertificates()`.
 */
export type PemInput = string | Uint8Array

/** A certificate with its private key. */
export interface SslIdentity {
  /** The server certificate, optionally followed by its intermediate certificates. */
  certificate: PemInput
  /** The private key, unencrypted: RSA (PKCS#1 or PKCS#8), ECDSA P-256/P-384 (SEC1 or PKCS#8) or Ed25519 (PKCS#8). */
  privateKey: PemInput
  /** Intermediate certificates, sent after the certificate. */
  certificateChain?: PemInput
}

/**
 * HTTPS: the original server's SSL adapter, on rustls (TLS 1.2 and 1.3 only, ALPN `http/1.1`).
 * A file that cannot be read, a key that does not match its certificate, or an expired
 * certificate makes `start()` reject with `GH_ERR_TLS` before anything is bound.
 */
export interface SslOptions extends SslIdentity {
  /** CA certificates (PEM bundle) that client certificates are checked against. */
  caCerts?: PemInput
  /**
   * Ask clients for a certificate: `'none'`; `'optional'` (a client without one is served, one
   * with an untrusted one fails the handshake); `'required'` (a client without a trusted one
   * fails the handshake). Default: `'optional'` when `caCerts` is given, else `'none'`.
   */
  clientAuth?: 'none' | 'optional' | 'required'
  /**
   * More certificates, chosen by the host name the client sends (SNI); `'*.example.org'`
   * matches one label. Other names, and clients without SNI, get the main certificate.
   */
  sni?: Record<string, SslIdentity>
}

/**
 * Where to listen: `[host, port]` (host an IP address or a name such as `localhost`, resolved as node's `listen` resolves it; port 0 picks a free one), a UNIX socket path, or `{ fd }` for a
 * listening socket inherited from a service manager (systemd socket activation).
 */
export type BindAddr = [string, number] | string | { fd: number }

/** Server options. Names and defaults follow the original server where it has them. */
export interface ServerOptions {
  /**
   * Requests inside the application at once (the pool's minimum). The original server's 10 are
   * threads of one request each; a JavaScript thread runs many at once, so the default is
   * higher: it bounds the application without throttling it. Default is 1024.
   */
  numthreads?: number
  /** The most the pool may grow to; -1 for no limit. Default is -1. */
  maxThreads?: number
  /** SERVER_NAME. Default is the machine's host name. */
  serverName?: string
  /**
   * The `Server` response header, sent when the application sets none (also on the server's own
   * answers: 400, 503...); `''` sends none. Default is `gatehouse/VERSION` (`SERVER_SOFTWARE`).
   */
  serverHeader?: string
  /** The listen backlog. Default is 511 (as node:http; the original server's 5 overflows under a burst of connects). */
  requestQueueSize?: number
  /**
   * Seconds: the longest a TLS handshake or a request head may take, a keep-alive connection may
   * idle, and one body read or response write may stall. Default is 10.
   */
  timeout?: number
  /** Seconds `stop()` lets in-flight requests run before cutting them. Default is 5. */
  shutdownTimeout?: number
  /** The whole request head in bytes; 431 past it. 0 keeps only the 1 MiB ceiling. Default is 65536. */
  maxRequestHeaderSize?: number
  /** The request body in bytes; 413 past it. 0 for no limit. Default is 0. */
  maxRequestBodySize?: number
  /** Set TCP_NODELAY on connections. Default is true. */
  nodelay?: boolean
  /** The highest protocol spoken. Default is 'HTTP/1.1'. */
  protocol?: 'HTTP/1.1' | 'HTTP/1.0'
  /** How PATH_INFO is decoded. Default is 'u0'. */
  gateway?: GatewayName
  /** Where `wsgi.errors` and the server's error lines go. Default is process.stderr. */
  errors?: ErrorStream
  /** Requests that may wait for a pool slot; past it, 503 with `Retry-After`. Default is 1000. */
  maxQueue?: number
  /** Open connections at most; past it the server stops accepting until one closes. -1 for no limit. Default is -1. */
  maxConnections?: number
  /** Set SO_REUSEPORT, so a new process can bind beside the old one (UNIX only). Default is false. */
  reusePort?: boolean
  /** File mode of a UNIX socket, e.g. 0o660. Default: left to the process umask. */
  socketMode?: number
  /** Expect a PROXY protocol v1/v2 header on each connection (behind HAProxy or a cloud load balancer). Default is false. */
  proxyProtocol?: boolean
  /**
   * Peers whose X-Forwarded-For / X-Forwarded-Proto set REMOTE_ADDR and `wsgi.url_scheme`:
   * addresses, `'*'` for any, `'unix'` for UNIX socket peers. Default is none (off).
   */
  forwardedAllowIps?: string[]
  /** Access log: `'-'` for stdout or a file path. Default is off. */
  accessLog?: string
  /** Access log format. Default is 'combined'. Both end with the request time in microseconds. */
  accessLogFormat?: 'common' | 'combined'
  /**
   * For benchmarks: answer every request with this text from Rust, never calling the application
   * (the ceiling the JavaScript path is measured against). Default is off.
   */
  staticResponse?: string
  /**
   * Run the application in this many `worker_threads` (JavaScript on every core without
   * `cluster`); each request goes to the least busy one. 0 runs it on the main thread. Each
   * thread loads the application module itself, so pass the application as a `MODULE[:EXPORT]`
   * name, and keep module-level state per thread (or outside the process). Default is 0.
   */
  appThreads?: number
  /**
   * Seconds a request may take from its head to the end of its answer. Past it the client gets
   * 503 (or a closed connection once the answer started), `environ['gatehouse.signal']` aborts
   * with `GH_ERR_REQUEST_TIMEOUT`, and the pool slot is freed; a later answer is dropped.
   * Default is 0 (no limit).
   */
  requestTimeout?: number
  /**
   * Bytes per second a request body must average once {@link ServerOptions.rateGracePeriod}
   * (5 seconds) has passed since the application first read it (Kestrel's
   * `MinRequestBodyDataRate`); a slower body fails the read with `GH_ERR_BODY_TIMEOUT` (408), so
   * a client that trickles cannot hold a pool slot. 0 turns the check off. Default is 240.
   */
  minRequestBodyRate?: number
  /**
   * Bytes per second a client must read an answer at (Kestrel's `MinResponseDataRate`): once the
   * server has waited {@link ServerOptions.rateGracePeriod} (5 seconds) in all for the client to
   * make room, its waits may not exceed the time the bytes sent so far earn at this rate. A slower
   * reader is cut off and its request counted abandoned, as a reader that stops for `timeout` is,
   * so a client that reads a little just before every `timeout` cannot hold an answer open
   * without end. Only time spent waiting on the client counts, never the time the application
   * takes to produce the answer; bytes the kernel buffers count as sent. 0 turns the check off.
   * Default is 240.
   */
  minResponseDataRate?: number
  /**
   * Seconds a request body or an answer may be slower than {@link ServerOptions.minRequestBodyRate}
   * or {@link ServerOptions.minResponseDataRate} at first (Kestrel's grace period). 0 applies the
   * rates from the first byte. Default is 5.
   */
  rateGracePeriod?: number
  /**
   * What the application module exports, when the application is given by name (`MODULE[:EXPORT]`,
   * as `appThreads` needs): see {@link AppInterface}. An application passed as a value is a
   * WSGI-style App: wrap other handlers with `fromFetch` or `fromNodeHandler`. Default is 'auto'.
   */
  interface?: AppInterface
  /** Serve HTTPS (the original's `ssl_adapter`). Default: plain HTTP. */
  ssl?: SslOptions
}
