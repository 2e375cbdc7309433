#!/usr/bin/env node
/** The `gatehouse` command: serve an application module. */
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, resolve as resolvePath } from 'node:path'
import { inspect } from 'node:util'

import { GatehouseError } from './errors'
import { explainLoadError, loadApp } from './load'
import type { Server as ServerClass } from './server'
import { SERVER_SOFTWARE } from './version'
import type { App, BindAddr, ServerOptions } from './types'

const HELP = `Usage: gatehouse MODULE[:EXPORT] [options]

Serve the application exported by MODULE (a path to a .js/.mjs/.cjs file, or a package name).
EXPORT defaults to \`app\`, then to the module's default export.

Options:
  --bind HOST:PORT | unix:PATH    where to listen (default 127.0.0.1:8080; [::1]:PORT for IPv6)
  --threads N                     requests inside the application at once (default 1024)
  --app-threads N                 run the application in N worker threads, each loading MODULE
                                  (default 0: the main thread)
  --interface I                   what EXPORT is: wsgi (environ, startResponse), fetch (a
                                  (request) => Response handler or an object with a fetch
                                  method: Hono, export default { fetch }), node (an Express or
                                  connect (req, res) handler, a Koa app), or auto (default: an
                                  object with fetch is fetch-style, a function is wsgi)
  --max-request-header-size N     bytes of request head before 431 (default 65536)
  --max-request-body-size N       bytes of request body before 413 (default 0: no limit)
  --timeout S                     seconds for a request head, an idle keep-alive connection,
                                  a stalled body read or write, and a TLS handshake (default 10)
  --shutdown-timeout S            seconds a graceful stop gives requests in flight (default 5)
  --request-timeout S             seconds a request may take to its answer's end; past it 503
                                  or a closed connection (default 0: no limit)
  --min-request-body-rate N       bytes/s a request body must average after the grace
                                  period, else 408 (default 240; 0: off)
  --min-response-data-rate N      bytes/s a client must read an answer at, counting the time
                                  the server waits on it, after the grace period, else the
                                  connection is cut (default 240; 0: off)
  --rate-grace-period S           seconds before the two rates apply (default 5)
  --max-queue N                   requests waiting for a pool slot before 503 (default 1000)
  --max-connections N             stop accepting past N open connections (default: no limit)
  --reuse-port                    set SO_REUSEPORT: a new process can bind beside the old one
  --umask MODE                    octal umask for a UNIX socket file, e.g. 007 (mode 660)
  --pid FILE                      write the process id to FILE (removed on exit)
  --access-log -|FILE             write an access log to stdout (-) or FILE (default: off)
  --access-log-format F           common or combined (default combined)
  --server-header VALUE           the Server response header when the app sets none
                                  (default gatehouse/VERSION; '' for none)
  --proxy-protocol                expect a PROXY protocol v1/v2 header on each connection
  --forwarded-allow-ips LIST      comma-separated peers whose X-Forwarded-For/-Proto are
                                  trusted ('*' for any, 'unix' for UNIX socket peers)
  --metrics HOST:PORT             serve Prometheus metrics on a separate listener
  --certfile FILE                 serve HTTPS with this PEM certificate (and intermediates)
  --keyfile FILE                  the PEM private key of --certfile (RSA, ECDSA or Ed25519)
  --ca-certs FILE                 PEM CA certificates that client certificates are checked
                                  against; clients are then asked for one (optional)
  --client-auth MODE              none, optional or required (default: optional with
                                  --ca-certs, else none)
  --debug                         on an error, print its stack trace too (or set DEBUG=gatehouse)
  -h, --help                      print this help
  -v, --version                   print the version

TypeScript modules: Node.js 22.18+ runs a .ts module by itself (it strips the types), also in
--app-threads workers. Syntax it cannot strip (enum, namespace, parameter properties), or an
older Node.js, needs a loader, e.g.
  NODE_OPTIONS="--import tsx" gatehouse app.ts

Started by systemd with socket activation (LISTEN_FDS/LISTEN_PID), the first inherited socket is
served and --bind is ignored.

Once listening, one line goes to stdout: "Listening on http://HOST:PORT" (https:// with
--certfile, or "unix:PATH"). SIGTERM and SIGINT stop the server gracefully; a second signal
forces the exit. With --certfile, SIGHUP reads the certificate files again: new connections get
the new certificate, open ones go on, and a file that cannot be used leaves the old one in place.

An error that stops the start (a bad flag, a module that cannot be loaded, an address that cannot
be bound) prints one line on stderr, "gatehouse: ..." with what to do, and exits with status 2
(the command line or the module) or 1 (anything else), with nothing left listening.`

interface Args {
  target: string
  bind: BindAddr
  options: ServerOptions
  pidFile: string | undefined
  metrics: BindAddr | undefined
}

/** An error the user can fix: one line on stderr, then exit with `status`. */
class CliError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason?: unknown,
  ) {
    super(message)
  }
}

/** A bad command line: exit status 2. */
class UsageError extends CliError {
  constructor(message: string) {
    super(`${message}; see gatehouse --help`, 2)
  }
}

interface TlsFlags {
  certfile?: string
  keyfile?: string
  caCerts?: string
  clientAuth?: string
}

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`${flag}: expected a value`)
  return value
}

/** The ssl option from the TLS flags, or undefined without --certfile/--keyfile. */
function sslFromFlags(f: TlsFlags): ServerOptions['ssl'] {
  if (f.certfile === undefined && f.keyfile === undefined) {
    if (f.caCerts !== undefined || f.clientAuth !== undefined) throw new UsageError('--ca-certs and --client-auth need --certfile and --keyfile')
    return undefined
  }
  if (f.certfile === undefined || f.keyfile === undefined) throw new UsageError('--certfile and --keyfile go together')
  const ssl: NonNullable<ServerOptions['ssl']> = { certificate: resolvePath(f.certfile), privateKey: resolvePath(f.keyfile) }
  if (f.caCerts !== undefined) ssl.caCerts = resolvePath(f.caCerts)
  if (f.clientAuth !== undefined) ssl.clientAuth = f.clientAuth as 'none' | 'optional' | 'required'
  return ssl
}

function parseBind(flag: string, value: string): BindAddr {
  if (value.startsWith('unix:') && value.length > 5) return value.slice(5)
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value)
  if (!m) throw new UsageError(`${flag}: expected HOST:PORT, [IPV6]:PORT or unix:PATH, got ${JSON.stringify(value)}`)
  const host = m[1] ?? m[2] ?? ''
  const port = Number(m[3])
  if (port > 65535) throw new UsageError(`${flag}: port ${m[3]} is out of range (0 to 65535, 0 picks a free one)`)
  return [host === '' ? '0.0.0.0' : host, port]
}

function parseInteger(flag: string, value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new UsageError(`${flag}: expected a whole number, got ${JSON.stringify(value)}`)
  return Number(value)
}

function parseArgs(argv: string[]): Args | 'help' | 'version' {
  let target: string | undefined
  let bind: BindAddr = ['127.0.0.1', 8080]
  let pidFile: string | undefined
  let metrics: BindAddr | undefined
  const options: ServerOptions = {}
  const tlsFlags: TlsFlags = {}
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1
    const flag = eq === -1 ? raw : raw.slice(0, eq)
    const value = (): string | undefined => (eq === -1 ? argv[++i] : raw.slice(eq + 1))
    switch (flag) {
      case '-h':
      case '--help':
        return 'help'
      case '-v':
      case '--version':
        return 'version'
      case '--debug':
        // Read before parsing, so that it also applies to errors in the arguments (debugWanted).
        break
      case '--bind':
        bind = parseBind(flag, value() ?? '')
        break
      case '--threads':
        options.numthreads = parseInteger(flag, value())
        break
      case '--app-threads':
        options.appThreads = parseInteger(flag, value())
        break
      case '--interface': {
        const v = value()
        if (v !== 'auto' && v !== 'wsgi' && v !== 'fetch' && v !== 'node') throw new UsageError(`--interface: expected auto, wsgi, fetch or node, got ${JSON.stringify(v)}`)
        options.interface = v
        break
      }
      case '--max-request-header-size':
        options.maxRequestHeaderSize = parseInteger(flag, value())
        break
      case '--max-request-body-size':
        options.maxRequestBodySize = parseInteger(flag, value())
        break
      case '--timeout':
        options.timeout = parseSeconds(flag, value())
        break
      case '--shutdown-timeout':
        options.shutdownTimeout = parseSeconds(flag, value())
        break
      case '--request-timeout':
        options.requestTimeout = parseSeconds(flag, value())
        break
      case '--min-request-body-rate':
        options.minRequestBodyRate = parseInteger(flag, value())
        break
      case '--min-response-data-rate':
        options.minResponseDataRate = parseInteger(flag, value())
        break
      case '--rate-grace-period':
        options.rateGracePeriod = parseSeconds(flag, value())
        break
      case '--max-queue':
        options.maxQueue = parseInteger(flag, value())
        break
      case '--max-connections':
        options.maxConnections = parseInteger(flag, value())
        break
      case '--reuse-port':
        options.reusePort = true
        break
      case '--umask': {
        const v = value()
        if (v === undefined || !/^[0-7]{1,4}$/.test(v)) throw new UsageError(`--umask: expected an octal mask like 007, got ${JSON.stringify(v)}`)
        options.socketMode = 0o666 & ~parseInt(v, 8)
        break
      }
      case '--pid':
        pidFile = value()
        if (!pidFile) throw new UsageError('--pid: expected a file path')
        break
      case '--access-log':
        options.accessLog = value()
        if (!options.accessLog) throw new UsageError('--access-log: expected - or a file path')
        break
      case '--access-log-format': {
        const v = value()
        if (v !== 'common' && v !== 'combined') throw new UsageError(`--access-log-format: expected common or combined, got ${JSON.stringify(v)}`)
        options.accessLogFormat = v
        break
      }
      case '--server-header':
        options.serverHeader = value() ?? ''
        break
      case '--proxy-protocol':
        options.proxyProtocol = true
        break
      case '--forwarded-allow-ips':
        options.forwardedAllowIps = (value() ?? '').split(',').map((x) => x.trim()).filter(Boolean)
        break
      case '--metrics':
        metrics = parseBind(flag, value() ?? '')
        break
      case '--certfile':
        tlsFlags.certfile = required(flag, value())
        break
      case '--keyfile':
        tlsFlags.keyfile = required(flag, value())
        break
      case '--ca-certs':
        tlsFlags.caCerts = required(flag, value())
        break
      case '--client-auth': {
        const v = required(flag, value())
        if (v !== 'none' && v !== 'optional' && v !== 'required') throw new UsageError(`--client-auth: expected none, optional or required, got ${JSON.stringify(v)}`)
        tlsFlags.clientAuth = v
        break
      }
      default:
        if (raw.startsWith('-')) throw new UsageError(`unknown option ${raw}`)
        if (target !== undefined) throw new UsageError(`unexpected argument ${raw}`)
        target = raw
    }
  }
  if (target === undefined) throw new UsageError('missing MODULE[:EXPORT]')
  const ssl = sslFromFlags(tlsFlags)
  if (ssl) options.ssl = ssl
  return { target, bind: systemdSocket() ?? bind, options, pidFile, metrics }
}

function parseSeconds(flag: string, v: string | undefined): number {
  const n = Number(v)
  if (v === undefined || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: expected seconds > 0, got ${JSON.stringify(v)}`)
  return n
}

/** The first socket passed by systemd socket activation, when this process is its target. */
function systemdSocket(): BindAddr | undefined {
  const fds = Number(process.env.LISTEN_FDS)
  if (!(fds >= 1) || process.env.LISTEN_PID !== String(process.pid)) return undefined
  return { fd: 3 }
}

/** An address as the flags write it (HOST:PORT, [IPV6]:PORT, unix:PATH), with `scheme://` when given. */
function showBind(b: BindAddr, scheme?: 'http' | 'https'): string {
  if (typeof b === 'string') return `unix:${b}`
  if (!Array.isArray(b)) return `fd:${b.fd}`
  return `${scheme ? `${scheme}://` : ''}${b[0].includes(':') ? `[${b[0]}]` : b[0]}:${b[1]}`
}

/** The option names of ServerOptions that CLI flags set, for errors the Server raises about them. */
const FLAG_OF: Record<string, string> = {
  numthreads: '--threads',
  appThreads: '--app-threads',
  maxRequestHeaderSize: '--max-request-header-size',
  maxRequestBodySize: '--max-request-body-size',
  timeout: '--timeout',
  shutdownTimeout: '--shutdown-timeout',
  requestTimeout: '--request-timeout',
  minRequestBodyRate: '--min-request-body-rate',
  minResponseDataRate: '--min-response-data-rate',
  rateGracePeriod: '--rate-grace-period',
  maxQueue: '--max-queue',
  maxConnections: '--max-connections',
  socketMode: '--umask',
  accessLog: '--access-log',
  serverHeader: '--server-header',
  forwardedAllowIps: '--forwarded-allow-ips',
}

/** The directory of `file` when it does not exist: the usual reason a file cannot be created. */
function missingDir(file: string): string | undefined {
  const dir = dirname(resolvePath(file))
  return existsSync(dir) ? undefined : dir
}

/** Whether the OS error behind `e` is one of these (its `osCode`, as node names errors). */
function isOsError(e: Error, ...names: string[]): boolean {
  return e instanceof GatehouseError && e.osCode !== undefined && names.includes(e.osCode)
}

/**
 * One line for an address that cannot be bound: what, why, and what to do. `flag` is the flag
 * that gave the address (--bind or --metrics).
 */
function bindFailure(e: Error, flag: string, bind: BindAddr): string {
  const where = showBind(bind)
  const unix = typeof bind === 'string'
  if (isOsError(e, 'EADDRINUSE') || /another server is listening/.test(e.message)) {
    return `cannot listen on ${where}: another process listens there; stop it or pick another ${flag}`
  }
  if (isOsError(e, 'EACCES', 'EPERM')) {
    if (unix) return `cannot listen on ${where}: no permission to create a socket in ${dirname(bind)}; pick a directory this user may write to`
    if (Array.isArray(bind) && bind[1] > 0 && bind[1] < 1024) {
      return `cannot listen on ${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE; pick a port from 1024 up`
    }
    return `cannot listen on ${where}: permission denied; pick another ${flag}`
  }
  const dir = unix && isOsError(e, 'ENOENT') ? missingDir(bind) : undefined
  if (dir) return `cannot listen on ${where}: the directory ${dir} does not exist; create it or pick another path`
  if (Array.isArray(bind) && isOsError(e, 'EADDRNOTAVAIL')) {
    return `cannot listen on ${where}: ${bind[0]} is not an address of this machine; use 127.0.0.1, 0.0.0.0 (every IPv4 address), [::] or one of its addresses`
  }
  return `${flag} ${where}: ${e.message}`
}

/**
 * The one line (and exit status) for an error the Server raised while the CLI set it up. `flag`
 * names the listener it was about, --bind or --metrics.
 */
function serverFailure(e: unknown, flag: string, bind: BindAddr): CliError {
  if (!(e instanceof Error)) return new CliError(String(e), 1, e)
  const code = (e as { code?: unknown }).code
  const firstLine = e.message.split('\n')[0] as string
  switch (code) {
    case 'GH_ERR_INVALID_OPTION': {
      // The Server names its options (numthreads); the user typed flags (--threads).
      const m = /^invalid ([\w.]+): (.*)$/.exec(firstLine)
      const named = m && FLAG_OF[m[1] as string]
      const log = /^cannot open the access log (.+): ([^:]+)$/.exec(firstLine)
      if (log) {
        const file = log[1] as string
        const dir = missingDir(file)
        const why = dir ? `the directory ${dir} does not exist; create it or pick another file` : (log[2] as string)
        return new CliError(`--access-log: cannot open ${file}: ${why}`, 2, e)
      }
      return new CliError(named ? `${named}: ${m[2]}` : firstLine, 2, e)
    }
    case 'GH_ERR_BIND':
      return new CliError(bindFailure(e, flag, bind), 1, e)
    case 'GH_ERR_NO_BINDING':
      // Several lines on purpose: the platform, and each way to get a binding.
      return new CliError(e.message, 1, e)
    default:
      // GH_ERR_TLS names the file and the problem; GH_ERR_APP (an appThreads worker that could
      // not load the module) starts with what happened; the rest of the text is for --debug.
      return new CliError(firstLine, 1, e)
  }
}

/** Whether to print stack traces: --debug, or DEBUG naming gatehouse (DEBUG=gatehouse, DEBUG=*). */
function debugWanted(argv: string[]): boolean {
  if (argv.includes('--debug')) return true
  return (process.env.DEBUG ?? '').split(/[\s,]+/).some((d) => d === '*' || d === 'gatehouse' || d === 'gatehouse:*')
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  if (args === 'help') {
    process.stdout.write(HELP + '\n')
    return 0
  }
  if (args === 'version') {
    process.stdout.write(SERVER_SOFTWARE + '\n')
    return 0
  }
  let app: App | string = args.target
  try {
    // Load it here too, so a bad module fails before binding; worker threads load their own.
    const loaded = await loadApp(args.target, args.options.interface)
    if (!args.options.appThreads) app = loaded
  } catch (e) {
    throw new CliError(`cannot load ${args.target}: ${explainLoadError(args.target, e)}`, 2, e)
  }
  // Loaded only now, so --help and --version work even where the native binding does not.
  let Server: typeof ServerClass
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Server = (require('./server') as { Server: typeof ServerClass }).Server
  } catch (e) {
    throw serverFailure(e, '--bind', args.bind)
  }
  let server: ServerClass
  try {
    server = new Server(args.bind, app, args.options)
    await server.start()
  } catch (e) {
    throw serverFailure(e, '--bind', args.bind)
  }
  let metricsServer: ServerClass | undefined
  try {
    if (args.metrics) {
      const metricsBind = args.metrics
      try {
        metricsServer = new Server(metricsBind, (_environ, startResponse) => {
          startResponse('200 OK', [['Content-Type', 'text/plain; version=0.0.4; charset=utf-8']])
          return [server.metrics()]
        })
        await metricsServer.start()
      } catch (e) {
        throw serverFailure(e, '--metrics', metricsBind)
      }
    }
    if (args.pidFile) {
      try {
        writeFileSync(args.pidFile, `${process.pid}\n`)
      } catch (e) {
        const dir = missingDir(args.pidFile)
        const reason = dir ? `the directory ${dir} does not exist; create it or pick another file` : (e as Error).message
        throw new CliError(`--pid: cannot write ${args.pidFile}: ${reason}`, 1, e)
      }
    }
  } catch (e) {
    // Nothing may stay listening after a failed start.
    await Promise.all([server.stop(), metricsServer?.stop()])
    throw e
  }
  let signals = 0
  const onSignal = (): void => {
    signals++
    if (signals > 1) process.exit(1)
    void Promise.all([server.stop(), metricsServer?.stop()])
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  const onHangup = (): void => {
    server.reloadCertificates().then(
      () => process.stderr.write('gatehouse: SIGHUP: certificates reloaded\n'),
      (e: unknown) => process.stderr.write(`gatehouse: SIGHUP: certificates not reloaded, the old ones stay: ${(e as Error).message}\n`),
    )
  }
  if (args.options.ssl) process.on('SIGHUP', onHangup)
  // Only now, with the signal handlers in place: whoever reads this line may signal at once.
  process.stdout.write(`Listening on ${showBind(server.bindAddr, args.options.ssl ? 'https' : 'http')}\n`)
  try {
    await server.serve()
    await metricsServer?.stop()
  } finally {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    process.off('SIGHUP', onHangup)
    if (args.pidFile) rmSync(args.pidFile, { force: true })
  }
  return 0
}

const debug = debugWanted(process.argv.slice(2))
main().then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    // A user's mistake is one line; anything else is a bug of ours, also one line unless --debug.
    const known = e instanceof CliError
    const line = known ? e.message : `internal error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)} (run with --debug for the stack)`
    process.stderr.write(`gatehouse: ${line}\n`)
    if (debug) process.stderr.write(`${inspect(known ? (e.reason ?? e) : e)}\n`)
    process.exitCode = known ? e.status : 1
  },
)
