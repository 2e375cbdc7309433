// A Hono app on gatehouse. The module's default export has a `fetch` method, so the CLI's
// --interface auto serves it as a fetch-style handler:
//   npx gatehouse examples/hono.mjs
//   curl http://127.0.0.1:8080/greet/ada
//   curl -d '{"a":1}' -H 'Content-Type: application/json' http://127.0.0.1:8080/echo
//   curl -N http://127.0.0.1:8080/count
// In your own code: new Server(bind, fromFetch(app)).
import { Hono } from 'hono'
import { stream } from 'hono/streaming'

const app = new Hono()

app.get('/', (c) => c.text('Hello from Hono on gatehouse!\n'))
app.get('/greet/:name', (c) => c.json({ hello: c.req.param('name') }))
app.post('/echo', async (c) => c.json(await c.req.json(), 201))
// Streamed: each line goes out as it is written, with backpressure.
app.get('/count', (c) =>
  stream(c, async (s) => {
    for (let i = 1; i <= 3; i++) await s.write(`${i}\n`)
  }),
)
app.onError((err, c) => c.json({ error: err.message }, 500))

export default app
