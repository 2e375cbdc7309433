// Hello world in TypeScript, checked against gatehouse's own types (`npm run check:examples`).
//
// Serve it with the CLI through a TypeScript loader such as tsx:
//   NODE_OPTIONS="--import tsx" npx gatehouse examples/hello.ts
// or compile it with tsc and serve the JavaScript. Run directly (`npx tsx examples/hello.ts`), it
// starts its own Server on 127.0.0.1:8080 and stops on Ctrl-C.
import { Server, type App } from '@gatehouse/server'

/** Greets whoever `?name=` names, or the World. */
export const app: App = (environ, startResponse) => {
  const name = new URLSearchParams(environ.QUERY_STRING).get('name') ?? 'World'
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']])
  return [`Hello, ${name}!\n`]
}

async function main(): Promise<void> {
  const server = new Server(['127.0.0.1', 8080], app, { numthreads: 10 })
  await server.start()
  const [host, port] = server.bindAddr as [string, number]
  console.log(`Listening on http://${host}:${port}`)
  process.once('SIGINT', () => void server.stop())
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
}
