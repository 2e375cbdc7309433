// The Hono app of the framework scenarios, the same on every runtime. Imported by its path in
// bench/node_modules (not as 'hono'): Deno runs with --no-config and no package.json resolution.
import { Hono } from '../node_modules/hono/dist/index.js'
import shared from './shared.cjs'

/** A router with a few routes, so that routing is not a single-entry table; wrk asks for `/`. */
export function honoApp(scenario) {
  const app = new Hono()
  if (scenario === 'hello-json') app.get('/', (c) => c.json({ message: shared.HELLO }))
  else app.get('/', (c) => c.text(shared.HELLO))
  app.get('/users/:id', (c) => c.json({ id: c.req.param('id') }))
  app.post('/users', async (c) => c.json(await c.req.json(), 201))
  app.get('/health', (c) => c.text('ok'))
  return app
}
