import test from 'ava'

import { makeServer, raw, parseResponses } from './helpers.mjs'

/** An app that answers with the environ's string values as JSON. */
function environApp(seen) {
  return (environ, startResponse) => {
    seen.push(environ)
    const plain = {}
    for (const [k, v] of Object.entries(environ)) if (typeof v === 'string') plain[k] = v
    startResponse('200 OK', [['Content-Type', 'application/json']])
    return [JSON.stringify(plain)]
  }
}

test('environ carries the CGI keys of the request', async (t) => {
  const seen = []
  const { port, url } = await makeServer(t, environApp(seen), { serverName: 'gh.test' })
  const res = await fetch(`${url}/a%20b/c?x=1&y=%20`, { headers: { 'X-Custom': 'v1', 'Content-Type': 'text/x' }, method: 'POST', body: 'abc' })
  const env = await res.json()
  t.is(env.REQUEST_METHOD, 'POST')
  t.is(env.SCRIPT_NAME, '')
  t.is(env.PATH_INFO, '/a b/c')
  t.is(env.QUERY_STRING, 'x=1&y=%20')
  t.is(env.REQUEST_URI, '/a%20b/c?x=1&y=%20')
  t.is(env.SERVER_NAME, 'gh.test')
  t.is(env.SERVER_PORT, String(port))
  t.is(env.SERVER_PROTOCOL, 'HTTP/1.1')
  t.regex(env.SERVER_SOFTWARE, /^gatehouse\/\d+\.\d+\.\d+/)
  t.is(env.REMOTE_ADDR, '127.0.0.1')
  t.regex(env.REMOTE_PORT, /^\d+$/)
  t.is(env.CONTENT_TYPE, 'text/x')
  t.is(env.CONTENT_LENGTH, '3')
  t.is(env.HTTP_X_CUSTOM, 'v1')
  t.is(env.HTTP_HOST, `127.0.0.1:${port}`)
  t.is(env.HTTP_CONTENT_TYPE, undefined, 'Content-Type is CONTENT_TYPE only')
  const e = seen[0]
  t.deepEqual(e['wsgi.version'], [1, 0])
  t.is(e['wsgi.url_scheme'], 'http')
  t.is(e['wsgi.multithread'], true)
  t.is(e['wsgi.multiprocess'], false)
  t.is(e['wsgi.run_once'], false)
  t.is(typeof e['wsgi.errors'].write, 'function')
  t.is(typeof e['wsgi.input'].read, 'function')
})

test('repeated headers are joined with a comma, cookies with a semicolon', async (t) => {
  const { port } = await makeServer(t, environApp([]))
  const { data } = await raw(
    port,
    'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nCookie: a=1\r\nx-a: 2\r\nCookie: b=2\r\nConnection: close\r\n\r\n',
  )
  const [res] = parseResponses(data)
  const env = JSON.parse(res.text)
  t.is(env.HTTP_X_A, '1, 2')
  t.is(env.HTTP_COOKIE, 'a=1; b=2')
})

test('a header name with an underscore is dropped so it cannot pose as the dashed one', async (t) => {
  const { port } = await makeServer(t, environApp([]))
  const { data } = await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\nX-User: real\r\nX_User: spoof\r\nConnection: close\r\n\r\n')
  const env = JSON.parse(parseResponses(data)[0].text)
  t.is(env.HTTP_X_USER, 'real')
})

test('gateway u0 decodes PATH_INFO as UTF-8 and falls back to latin-1', async (t) => {
  const { port } = await makeServer(t, environApp([]))
  const { data } = await raw(port, 'GET /caf%C3%A9/%E2%98%BA HTTP/1.1\r\nHost: h\r\n\r\nGET /%FF%FE HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  const [a, b] = parseResponses(data)
  t.is(JSON.parse(a.text).PATH_INFO, '/café/☺')
  t.is(JSON.parse(b.text).PATH_INFO, '/\u00ff\u00fe')
})

test('gateway 1.0 gives one latin-1 character per byte of PATH_INFO', async (t) => {
  const { port } = await makeServer(t, environApp([]), { gateway: '1.0' })
  const { data } = await raw(port, 'GET /caf%C3%A9 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
  t.is(JSON.parse(parseResponses(data)[0].text).PATH_INFO, '/caf\u00c3\u00a9')
})

test('HTTP/1.0 requests show SERVER_PROTOCOL HTTP/1.0', async (t) => {
  const { port } = await makeServer(t, environApp([]))
  const { data } = await raw(port, 'GET /x HTTP/1.0\r\n\r\n')
  const [res] = parseResponses(data)
  t.is(res.version, '1.0')
  t.is(JSON.parse(res.text).SERVER_PROTOCOL, 'HTTP/1.0')
})
