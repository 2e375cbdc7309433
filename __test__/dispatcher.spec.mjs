import test from 'ava'

import { makeServer, PathInfoDispatcher } from './helpers.mjs'

const named = (name) => (environ, sr) => {
  sr('200 OK', [['Content-Type', 'application/json']])
  return [JSON.stringify({ name, script: environ.SCRIPT_NAME, path: environ.PATH_INFO })]
}

test('the longest matching prefix wins and moves into SCRIPT_NAME', async (t) => {
  const app = new PathInfoDispatcher({ '/': named('root'), '/api': named('api'), '/api/v2/': named('v2') })
  const { url } = await makeServer(t, app)
  const get = async (p) => (await fetch(url + p)).json()
  t.deepEqual(await get('/api/v2/users'), { name: 'v2', script: '/api/v2', path: '/users' })
  t.deepEqual(await get('/api/v2'), { name: 'v2', script: '/api/v2', path: '' })
  t.deepEqual(await get('/api/x'), { name: 'api', script: '/api', path: '/x' })
  t.deepEqual(await get('/apix'), { name: 'root', script: '', path: '/apix' }, 'a prefix matches whole segments only')
  t.deepEqual(await get('/'), { name: 'root', script: '', path: '/' })
})

test('a list of [prefix, app] works without new, and no match gives 404', async (t) => {
  const app = PathInfoDispatcher([['/only', named('only')]])
  t.deepEqual(app.apps.map(([p]) => p), ['/only'])
  const { url } = await makeServer(t, app)
  t.is((await fetch(url + '/only/here')).status, 200)
  const miss = await fetch(url + '/other')
  t.is(miss.status, 404)
  t.is(await miss.text(), 'Not Found\n')
})
