// Pipelined requests: safe, body-less requests whose heads are already read go to the app
// together, and their answers go out in order (several per write when they are ready).
import test from 'ava'

import { makeServer, raw, parseResponses } from './helpers.mjs'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** An app that records when each request starts and ends; /slow answers after 150 ms. */
function recordingApp(events) {
  return async (environ, startResponse) => {
    const what = `${environ.REQUEST_METHOD} ${environ.PATH_INFO}`
    events.push(`start ${what}`)
    if (environ.PATH_INFO === '/slow') await sleep(150)
    const body = environ.CONTENT_LENGTH ? await environ['wsgi.input'].read() : Buffer.alloc(0)
    events.push(`end ${what}`)
    const headers = [['Content-Type', 'text/plain']]
    // A declared length the body does not match: the core sends what there is and closes.
    if (environ.PATH_INFO === '/close') headers.push(['Content-Length', '64'])
    startResponse('200 OK', headers)
    return [`${what}${body.length ? ` ${body.toString('latin1')}` : ''}`]
  }
}

const get = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: h\r\n${extra}\r\n`

test('pipelined GETs run in the app together and are answered in order, the slow one first', async (t) => {
  const events = []
  const { port } = await makeServer(t, recordingApp(events))
  const { data, closed } = await raw(port, get('/slow') + get('/a') + get('/b') + get('/last', 'Connection: close\r\n'))
  t.deepEqual(
    parseResponses(data).map((r) => r.text),
    ['GET /slow', 'GET /a', 'GET /b', 'GET /last'],
  )
  t.true(closed)
  // /a and /b were in the app while /slow still waited: they did not wait for its answer.
  t.true(events.indexOf('start GET /a') < events.indexOf('end GET /slow'), events.join(', '))
  t.true(events.indexOf('end GET /b') < events.indexOf('end GET /slow'), events.join(', '))
})

test('a method that is not safe waits for the answers before it', async (t) => {
  const events = []
  const { port } = await makeServer(t, recordingApp(events))
  const del = 'DELETE /d HTTP/1.1\r\nHost: h\r\n\r\n'
  const { data } = await raw(port, get('/slow') + del + get('/after', 'Connection: close\r\n'))
  t.deepEqual(
    parseResponses(data).map((r) => r.text),
    ['GET /slow', 'DELETE /d', 'GET /after'],
  )
  t.true(events.indexOf('end GET /slow') < events.indexOf('start DELETE /d'), events.join(', '))
})

test('a request with a body ends the run ahead; the ones after it are answered in turn', async (t) => {
  const events = []
  const { port } = await makeServer(t, recordingApp(events))
  const post = 'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz'
  const { data } = await raw(port, get('/slow') + get('/a') + post + get('/b') + get('/c', 'Connection: close\r\n'))
  t.deepEqual(
    parseResponses(data).map((r) => r.text),
    ['GET /slow', 'GET /a', 'POST /p xyz', 'GET /b', 'GET /c'],
  )
  t.true(events.indexOf('end GET /slow') < events.indexOf('start POST /p'), events.join(', '))
})

test('an answer that closes the connection ends it: the requests pipelined after it get no answer', async (t) => {
  const events = []
  const { port } = await makeServer(t, recordingApp(events))
  const { data, closed } = await raw(port, get('/close') + get('/x') + get('/y'))
  const text = data.toString('latin1')
  t.regex(text, /^HTTP\/1\.1 200 OK\r\n/)
  t.regex(text, /\r\nConnection: close\r\n/i)
  t.true(text.endsWith('\r\n\r\nGET /close'), text)
  t.true(closed)
  // The server goes on serving.
  const again = await raw(port, get('/again', 'Connection: close\r\n'))
  t.deepEqual(
    parseResponses(again.data).map((r) => r.text),
    ['GET /again'],
  )
})

test('a pool smaller than the pipeline still answers every request, in order', async (t) => {
  const events = []
  const { port, server } = await makeServer(t, recordingApp(events), { numthreads: 2 })
  const paths = Array.from({ length: 40 }, (_, i) => `/r${i}`)
  const { data, closed } = await raw(port, paths.map((p) => get(p)).join('') + get('/last', 'Connection: close\r\n'))
  t.deepEqual(
    parseResponses(data).map((r) => r.text),
    [...paths.map((p) => `GET ${p}`), 'GET /last'],
  )
  t.true(closed)
  t.is(server.stats().Requests, 41)
})

test('a streamed answer among pipelined whole ones keeps its place', async (t) => {
  const app = (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']])
    if (environ.PATH_INFO === '/stream') {
      return (async function* () {
        yield 'one,'
        await sleep(20)
        yield 'two'
      })()
    }
    return [environ.PATH_INFO]
  }
  const { port } = await makeServer(t, app)
  const { data } = await raw(port, get('/a') + get('/stream') + get('/b') + get('/c', 'Connection: close\r\n'))
  t.deepEqual(
    parseResponses(data).map((r) => r.text),
    ['/a', 'one,two', '/b', '/c'],
  )
})
