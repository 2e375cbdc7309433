// A small JSON API: PathInfoDispatcher mounts one application per path prefix.
//   npx gatehouse examples/json-api.js
//   curl http://127.0.0.1:8080/health
//   curl -d '{"name":"pen"}' -H 'Content-Type: application/json' http://127.0.0.1:8080/api/items
//   curl http://127.0.0.1:8080/api/items
//   curl http://127.0.0.1:8080/api/items/1
//   curl -X DELETE http://127.0.0.1:8080/api/items/1
const { PathInfoDispatcher } = require('@gatehouse/server')

/** @typedef {import('@gatehouse/server').App} App */
/** @typedef {import('@gatehouse/server').Environ} Environ */
/** @typedef {import('@gatehouse/server').StartResponse} StartResponse */

const MAX_BODY = 64 * 1024

/** @type {Map<number, { id: number, name: string }>} */
const items = new Map()
let nextId = 1

/**
 * Answer with a JSON document.
 * @param {StartResponse} startResponse
 * @param {string} status
 * @param {unknown} value
 * @param {Array<[string, string]>} [headers]
 */
function json(startResponse, status, value, headers = []) {
  const body = JSON.stringify(value) + '\n'
  startResponse(status, [
    ['Content-Type', 'application/json'],
    ['Content-Length', String(Buffer.byteLength(body))],
    ...headers,
  ])
  return [body]
}

/**
 * The request body as JSON, or an error status and message.
 * @param {Environ} environ
 * @returns {Promise<{ value: unknown } | { status: string, error: string }>}
 */
async function readJson(environ) {
  if (!/^application\/json\b/i.test(environ.CONTENT_TYPE ?? '')) {
    return { status: '415 Unsupported Media Type', error: 'send Content-Type: application/json' }
  }
  // Read at most one byte past the limit: enough to know the body is too large.
  const body = await environ['wsgi.input'].read(MAX_BODY + 1)
  if (body.length > MAX_BODY) return { status: '413 Content Too Large', error: `at most ${MAX_BODY} bytes` }
  try {
    return { value: JSON.parse(body.toString('utf8')) }
  } catch {
    return { status: '400 Bad Request', error: 'the body is not JSON' }
  }
}

/**
 * Mounted at /api/items: PATH_INFO holds the rest of the path ('' or '/' for the collection,
 * '/ID' for one item) and SCRIPT_NAME the prefix.
 * @type {import('@gatehouse/server').App}
 */
const itemsApp = async (environ, startResponse) => {
  const rest = environ.PATH_INFO.replace(/^\/|\/$/g, '')
  const method = environ.REQUEST_METHOD
  if (rest === '') {
    if (method === 'GET' || method === 'HEAD') return json(startResponse, '200 OK', [...items.values()])
    if (method === 'POST') {
      const parsed = await readJson(environ)
      if ('error' in parsed) return json(startResponse, parsed.status, { error: parsed.error })
      const name = /** @type {{ name?: unknown }} */ (parsed.value)?.name
      if (typeof name !== 'string' || name === '') {
        return json(startResponse, '422 Unprocessable Content', { error: 'expected {"name": "..."}' })
      }
      const item = { id: nextId++, name }
      items.set(item.id, item)
      const location = `${environ.SCRIPT_NAME}/${item.id}`
      return json(startResponse, '201 Created', item, [['Location', location]])
    }
    return json(startResponse, '405 Method Not Allowed', { error: 'use GET or POST' }, [['Allow', 'GET, HEAD, POST']])
  }
  const item = /^\d+$/.test(rest) ? items.get(Number(rest)) : undefined
  if (!item) return json(startResponse, '404 Not Found', { error: `no item ${rest}` })
  if (method === 'GET' || method === 'HEAD') return json(startResponse, '200 OK', item)
  if (method === 'DELETE') {
    items.delete(item.id)
    startResponse('204 No Content', [])
    return []
  }
  return json(startResponse, '405 Method Not Allowed', { error: 'use GET or DELETE' }, [['Allow', 'GET, HEAD, DELETE']])
}

/** @type {App} */
function health(_environ, startResponse) {
  return json(startResponse, '200 OK', { ok: true, items: items.size })
}

const app = PathInfoDispatcher({ '/api/items': itemsApp, '/health': health })

module.exports = { app }
