#!/usr/bin/env node
/** The `gatehouse` command: serve an application module. */
import { resolve as resolvePath } from 'node:path'
import { pathToFileURL } from 'node:url'

import { Server, SERVER_SOFTWARE } from './server'
import type { App, BindAddr, ServerOptions } from './types'

const HELP = `Usage: gatehouse MODULE[:EXPORT] [options]

Serve the WSGI-style application exported by MODULE (a path to a .js/.mjs/.cjs file, or a
package name). EXPORT defaults to \`app\`, then to the module's default export.

Options:
  --bind HOST:PORT | unix:PATH    where to listen (default 127.0.0.1:8080; [::1]:PORT for IPv6)
  --threads N                     requests inside the application at once (default 10)
  --max-request-header-size N     bytes of request head before 431 (default 65536)
  --max-request-body-size N       bytes of request body before 413 (default 0: no limit)
  --timeout S                     seconds for a request head, an idle keep-alive connection,
                                  and a stalled body read or write (default 10)
  -h, --help                      print this help
  -v, --version                   print the version

TypeScript modules: run through a loader, e.g.
  NODE_OPTIONS="--import tsx" gatehouse app.ts

Once listening, one line goes to stdout: "Listening on http://HOST:PORT" (or "unix:PATH").
SIGTERM and SIGINT stop the server gracefully.`

interface Args {
  target: string
  bind: BindAddr
  options: ServerOptions
}

class UsageError extends Error {}

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
  const options: ServerOptions = {}
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
      case '--max-request-header-size':
        options.maxRequestHeaderSize = parseInteger(flag, value())
        break
      case '--max-request-body-size':
        options.maxRequestBodySize = parseInteger(flag, value())
        break
      case '--timeout': {
        const v = value()
        const n = Number(v)
        if (v === undefined || !Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout: expected seconds > 0, got ${JSON.stringify(v)}`)
        options.timeout = n
        break
      }
      default:
        if (raw.startsWith('-')) throw new UsageError(`unknown option ${raw}`)
        if (target !== undefined) throw new UsageError(`unexpected argument ${raw}`)
        target = raw
    }
  }
  if (target === undefined) throw new UsageError('missing MODULE[:EXPORT]')
  return { target, bind, options }
}

async function loadApp(target: string): Promise<App> {
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
    throw new UsageError(`${spec} has no ${exportName ? `export ${JSON.stringify(exportName)}` : '`app` or default export'} that is a function`)
  }
  return app as App
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
  let app: App
  try {
    app = await loadApp(args.target)
  } catch (e) {
    process.stderr.write(`gatehouse: cannot load ${args.target}: ${e instanceof UsageError ? e.message : (e as Error).stack}\n`)
    return 2
  }
  const server = new Server(args.bind, app, args.options)
  await server.start()
  const b = server.bindAddr
  const where = typeof b === 'string' ? `unix:${b}` : `http://${b[0].includes(':') ? `[${b[0]}]` : b[0]}:${b[1]}`
  process.stdout.write(`Listening on ${where}\n`)
  let signals = 0
  const onSignal = (): void => {
    signals++
    if (signals > 1) process.exit(1)
    void server.stop()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  await server.serve()
  process.off('SIGTERM', onSignal)
  process.off('SIGINT', onSignal)
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
