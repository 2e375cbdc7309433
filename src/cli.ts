#!/usr/bin/env node
/** The `gatehouse` command: serve an application module. */
import { rmSync, writeFileSync } from 'node:fs'
import { resolve as resolvePath } from 'node:path'

import { LoadError, loadApp } from './load'
import type { Server as ServerClass } from './server'
import { SERVER_SOFTWARE } from './version'
import type { App, BindAddr, ServerOptions } from './types'

const HELP = `Usage: gatehouse MODULE[:EXPORT] [options]

Serve the application exported by MODULE (a path to a .js/.mjs/.cjs file, or a package name).
EXPORT defaults to \`app\`, then to the module's default export.

Options:
  --bind HOST:PORT | unix:PATH    where to listen (default 127.0.0.1:8080; [::1]:PORT for IPv6)
  --threads N                     requests inside the application at once (default 10)
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
  --max-queue N                   requests waiting for a pool slot before 503 (default 1000)
  --max-connections N             stop accepting past N open connections (default: no limit)
  --reuse-port                    set SO_REUSEPORT: a new process can bind beside the old one
  --umask MODE                    octal umask for a UNIX socket file, e.g. 007 (mode 660)
  --pid FILE                      write the process id to FILE (removed on exit)
  --access-log -|FILE             write an access log to stdout (-) or FILE (default: off)
  --access-log-format F           common or combined (default combined)
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
  -h, --help                      print this help
  -v, --version                   print the version

TypeScript modules: run through a loader, e.g.
  NODE_OPTIONS="--import tsx" gatehouse app.ts

Started by systemd with socket activation (LISTEN_FDS/LISTEN_PID), the first inherited socket is
served and --bind is ignored.

Once listening, one line goes to stdout: "Listening on http://HOST:PORT" (https:// with
--certfile, or "unix:PATH"). SIGTERM and SIGINT stop the server gracefully; a second signal
forces the exit. With --certfile, SIGHUP reads the certificate files again: new connections get
the new certificate, open ones go on, and a file that cannot be used leaves the old one in place.`

interface Args {
  target: string
  bind: BindAddr
  options: ServerOptions
  pidFile: string | undefined
  metrics: BindAddr | undefined
}

class UsageError extends Error {}

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

function parseBind(value: string): BindAddr {
  if (value.startsWith('unix:')) return value.slice(5)
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value)
  if (!m) throw new UsageError(`--bind: expected HOST:PORT, [IPV6]:PORT or unix:PATH, got ${JSON.stringify(value)}`)
  const host = m[1] ?? m[2] ?? ''
  return [host === '' ? '0.0.0.0' : host, Number(m[3])]
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
      case '--bind':
        bind = parseBind(value() ?? '')
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
      case '--proxy-protocol':
        options.proxyProtocol = true
        break
      case '--forwarded-allow-ips':
        options.forwardedAllowIps = (value() ?? '').split(',').map((x) => x.trim()).filter(Boolean)
        break
      case '--metrics':
        metrics = parseBind(value() ?? '')
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

function describe(b: BindAddr, scheme: 'http' | 'https'): string {
  if (typeof b === 'string') return `unix:${b}`
  if (!Array.isArray(b)) return `fd:${b.fd}`
  return `${scheme}://${b[0].includes(':') ? `[${b[0]}]` : b[0]}:${b[1]}`
}

async function main(): Promise<number> {
  let args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (e) {
    process.stderr.write(`gatehouse: ${(e as Error).message}\nTry 'gatehouse --help'.\n`)
    return 2
  }
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
    process.stderr.write(`gatehouse: cannot load ${args.target}: ${e instanceof LoadError ? e.message : (e as Error).stack}\n`)
    return 2
  }
  // Loaded only now, so --help and --version work even where the native binding does not.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Server } = require('./server') as { Server: typeof ServerClass }
  const server = new Server(args.bind, app, args.options)
  try {
    await server.start()
  } catch (e) {
    const err = e as { code?: string; message?: string }
    if (err.code === 'GH_ERR_TLS') {
      // A certificate that cannot be used: one line naming the file says it all.
      process.stderr.write(`gatehouse: ${err.message}\n`)
      return 1
    }
    throw e
  }
  let metricsServer: ServerClass | undefined
  if (args.metrics) {
    metricsServer = new Server(args.metrics, (_environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain; version=0.0.4; charset=utf-8']])
      return [server.metrics()]
    })
    await metricsServer.start()
  }
  if (args.pidFile) writeFileSync(args.pidFile, `${process.pid}\n`)
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
  process.stdout.write(`Listening on ${describe(server.bindAddr, args.options.ssl ? 'https' : 'http')}\n`)
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

main().then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`gatehouse: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exitCode = 1
  },
)
