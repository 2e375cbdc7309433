// HTTPS: the SSL adapter on rustls, tested with real clients (node:tls, curl, openssl s_client)
// against certificates made by `openssl` in a temporary folder.
import { spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import util from 'node:util'

import test from 'ava'

import { Server, GatehouseError, eventually, makeServer, parseResponses, raw } from './helpers.mjs'
import { makePki, readResponses, removePki, run, sClient, sslEnvironApp, tlsConnect, tlsExchange } from './tls-helpers.mjs'

let pki
test.before(() => {
  pki = makePki()
})
test.after.always(() => removePki(pki))

const read = (file) => fs.readFileSync(file)
const rsa = () => ({ certificate: pki.rsaCert, privateKey: pki.rsaKey })
const fingerprint = (file) => new X509Certificate(read(file)).fingerprint256

/** A TLS server of `app` on 127.0.0.1:0 (or `bind`), stopped when the test ends. */
async function tlsServer(t, ssl, options = {}, app = sslEnvironApp, bind) {
  return makeServer(t, app, { ...options, ssl: { ...rsa(), ...ssl } }, bind)
}

/** One request over a new TLS connection: the parsed environ or the failure. */
async function get(port, options = {}, target = '/') {
  try {
    const { socket, protocol, cipher, peer, alpn } = await tlsConnect(port, { ca: read(pki.caCert), ...options })
    const { data } = await tlsExchange(socket, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
    socket.destroy()
    const [res] = parseResponses(data)
    if (!res) return { ok: false, protocol }
    return { ok: true, status: res.status, env: JSON.parse(res.text), protocol, cipher, peer, alpn }
  } catch (error) {
    return { ok: false, error }
  }
}

const clientCert = () => ({ cert: read(pki.clientCert), key: read(pki.clientKey) })
const strangerCert = () => ({ cert: read(pki.strangerCert), key: read(pki.strangerKey) })

/** What node reports as "C=US\nO=X\nCN=y", as an RFC 4514 string (most specific first). */
const rfc4514 = (nodeDn) => nodeDn.split('\n').reverse().join(',')

test('TLS 1.3 and TLS 1.2 handshakes succeed and SSL_PROTOCOL / SSL_CIPHER name what was negotiated', async (t) => {
  const { port } = await tlsServer(t, {})
  for (const version of ['TLSv1.3', 'TLSv1.2']) {
    const r = await get(port, { minVersion: version, maxVersion: version, ALPNProtocols: ['http/1.1'] })
    t.true(r.ok, `${version}: ${r.error}`)
    t.is(r.protocol, version)
    t.is(r.alpn, 'http/1.1', 'ALPN advertises http/1.1')
    t.is(r.env.SSL_PROTOCOL, version)
    t.is(r.env.SSL_CIPHER, r.cipher.name, 'the OpenSSL name of the cipher, as mod_ssl gives it')
    t.regex(r.env.SSL_CIPHER_USEKEYSIZE, /^(128|256)$/)
    t.is(r.env.HTTPS, 'on')
    t.is(r.env['wsgi.url_scheme'], 'https')
  }
})

test('openssl s_client: -tls1_3 and -tls1_2 succeed, -tls1_1 is refused and counted', async (t) => {
  const { port, server } = await tlsServer(t, {})
  for (const [flag, name] of [['-tls1_3', 'TLSv1.3'], ['-tls1_2', 'TLSv1.2']]) {
    const r = await sClient(port, [flag, '-CAfile', pki.caCert])
    t.is(r.code, 0, r.stderr)
    t.regex(r.stdout, new RegExp(`Protocol +: ${name.replace('.', '\\.')}`))
    t.regex(r.stdout, /Verify return code: 0 \(ok\)/)
    t.regex(r.stdout, /HTTP\/1\.1 200 OK/)
    t.regex(r.stdout, new RegExp(`"SSL_PROTOCOL":"${name.replace('.', '\\.')}"`))
  }
  const before = server.nativeStats().tlsHandshakeErrors
  const old = await sClient(port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'])
  t.not(old.code, 0)
  t.notRegex(old.stdout, /HTTP\/1\.1/)
  t.regex(old.stdout + old.stderr, /Cipher is \(NONE\)|alert|no protocols available/)
  t.true(await eventually(() => server.nativeStats().tlsHandshakeErrors > before), 'the refused handshake is counted')
})

test('a connection the server closes ends with a TLS close_notify before the FIN, in TLS 1.3 and 1.2', async (t) => {
  const { port } = await tlsServer(t, {})
  for (const flag of ['-tls1_3', '-tls1_2']) {
    // -msg shows each record read; the server closes after this `Connection: close` answer.
    const r = await sClient(port, [flag, '-CAfile', pki.caCert, '-msg'])
    t.is(r.code, 0, r.stderr)
    t.regex(r.stdout, /HTTP\/1\.1 200 OK/)
    t.regex(r.stdout, /<<< TLS 1\.[23], Alert \[length 0002\], warning close_notify/, `${flag}: close_notify received`)
  }
})

test('curl --cacert gets the page over HTTPS with HTTP/1.1 chosen by ALPN', async (t) => {
  const { port } = await tlsServer(t, {})
  const r = await run('curl', ['-sS', '--cacert', pki.caCert, '--resolve', `localhost:${port}:127.0.0.1`, '-w', '\n%{http_version} %{ssl_verify_result}', `https://localhost:${port}/from/curl`])
  t.is(r.code, 0, r.stderr)
  const [body, tail] = r.stdout.split('\n')
  t.is(tail, '1.1 0')
  const env = JSON.parse(body)
  t.is(env.PATH_INFO, '/from/curl')
  t.is(env.SSL_TLS_SNI, 'localhost')
  // Without the CA, curl refuses the certificate: it really is the one the test CA signed.
  const untrusted = await run('curl', ['-sS', '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/`])
  t.not(untrusted.code, 0)
})

test('RSA PKCS#1, ECDSA SEC1 and Ed25519 PKCS#8 keys are served, from paths, PEM strings or Buffers', async (t) => {
  t.regex(read(pki.rsaKey).toString(), /BEGIN RSA PRIVATE KEY/)
  t.regex(read(pki.ecKey).toString(), /BEGIN EC PRIVATE KEY/)
  t.regex(read(pki.edKey).toString(), /BEGIN PRIVATE KEY/)
  const cases = [
    ['rsa', { certificate: pki.rsaCert, privateKey: pki.rsaKey }],
    ['ec', { certificate: read(pki.ecCert).toString(), privateKey: read(pki.ecKey).toString() }],
    ['ed', { certificate: read(pki.edCert), privateKey: read(pki.edKey) }],
  ]
  for (const [name, ssl] of cases) {
    const { port } = await tlsServer(t, ssl)
    const r = await get(port, { servername: name === 'ed' ? 'ed25519.localhost' : 'localhost', checkServerIdentity: () => undefined })
    t.true(r.ok, `${name}: ${r.error}`)
    t.is(r.peer.fingerprint256, fingerprint(pki[`${name}Cert`]), name)
  }
})

test('clientAuth required: no certificate or an untrusted one fails the handshake; a trusted one is verified', async (t) => {
  const { port, server } = await tlsServer(t, { caCerts: pki.caCert, clientAuth: 'required' })
  const none = await get(port)
  t.false(none.ok, 'no certificate: no response')
  const stranger = await get(port, strangerCert())
  t.false(stranger.ok, 'untrusted certificate: no response')
  const good = await get(port, clientCert())
  t.true(good.ok, String(good.error))
  t.is(good.env.SSL_CLIENT_VERIFY, 'SUCCESS')
  t.true(await eventually(() => server.nativeStats().tlsHandshakeErrors >= 2))
})

test('a refused handshake ends with the fatal alert that says why, not a silent close', async (t) => {
  const { port } = await tlsServer(t, { caCerts: pki.caCert, clientAuth: 'required' })
  // -msg shows each record read: the server's alert names the refusal.
  const alerts = async (flags) => (await sClient(port, [...flags, '-msg'])).stdout.split('\n').filter((l) => l.startsWith('<<<') && /Alert/.test(l)).join('\n')
  t.regex(await alerts(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']), /fatal (handshake_failure|protocol_version)/, 'no version in common')
  for (const version of ['-tls1_3', '-tls1_2']) {
    t.regex(await alerts([version, '-CAfile', pki.caCert]), /fatal certificate_required/, `${version}: no client certificate`)
    t.regex(await alerts([version, '-CAfile', pki.caCert, '-cert', pki.strangerCert, '-key', pki.strangerKey]), /fatal (certificate_unknown|unknown_ca|bad_certificate)/, `${version}: an untrusted one`)
  }
})

test('a record that does not decrypt gets the fatal bad_record_mac alert, in TLS 1.3 and 1.2', async (t) => {
  const { port } = await tlsServer(t, {})
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2']) {
    const wire = net.connect(port, '127.0.0.1')
    await new Promise((resolve) => wire.once('connect', resolve))
    const { socket } = await tlsConnect(port, { socket: wire, ca: read(pki.caCert), maxVersion })
    const ended = new Promise((resolve) => {
      socket.once('error', (e) => resolve(e.code))
      socket.once('close', () => resolve('closed without an alert'))
    })
    // An application-data record of random bytes, written under the TLS layer.
    wire.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x30]), Buffer.alloc(0x30, 0x5a)]))
    // OpenSSL 3.0 names it SSLV3_ALERT_…, later lines SSL/TLS_ALERT_….
    t.regex(await ended, /^ERR_SSL_(SSLV3|SSL\/TLS)_ALERT_BAD_RECORD_MAC$/, maxVersion)
  }
})

test('clientAuth optional serves clients without a certificate; none never asks for one', async (t) => {
  const optional = await tlsServer(t, { caCerts: pki.caCert })
  t.is(optional.server.sslAdapter.clientAuth, 'optional', 'caCerts alone means optional')
  const anon = await get(optional.port)
  t.true(anon.ok)
  t.is(anon.env.SSL_CLIENT_VERIFY, 'NONE')
  t.is(anon.env.SSL_CLIENT_S_DN, undefined)
  const withCert = await get(optional.port, clientCert())
  t.is(withCert.env.SSL_CLIENT_VERIFY, 'SUCCESS')
  t.false((await get(optional.port, strangerCert())).ok, 'an untrusted certificate still fails')

  const none = await tlsServer(t, { caCerts: pki.caCert, clientAuth: 'none' })
  const r = await get(none.port, clientCert())
  t.true(r.ok)
  t.is(r.env.SSL_CLIENT_VERIFY, 'NONE', 'the certificate was not asked for')
})

test('every SSL_* key has the meaning and format mod_ssl gives it', async (t) => {
  const { port } = await tlsServer(t, { caCerts: pki.caCert, clientAuth: 'required' })
  const r = await get(port, { ...clientCert(), minVersion: 'TLSv1.3' })
  t.true(r.ok, String(r.error))
  const env = r.env
  const client = new X509Certificate(read(pki.clientCert))
  const server = new X509Certificate(read(pki.rsaCert))
  t.is(env.HTTPS, 'on')
  t.is(env['wsgi.url_scheme'], 'https')
  t.is(env.SSL_PROTOCOL, 'TLSv1.3')
  t.is(env.SSL_CIPHER, r.cipher.name)
  t.is(env.SSL_TLS_SNI, 'localhost')
  t.is(env.SSL_SERVER_S_DN, 'CN=localhost,O=Gatehouse Test,C=US')
  t.is(env.SSL_SERVER_S_DN, rfc4514(server.subject))
  t.is(env.SSL_SERVER_I_DN, rfc4514(server.issuer))
  t.is(env.SSL_CLIENT_VERIFY, 'SUCCESS')
  t.is(env.SSL_CLIENT_S_DN, 'CN=client one,OU=Clients,O=Gatehouse Test,C=US')
  t.is(env.SSL_CLIENT_S_DN, rfc4514(client.subject))
  t.is(env.SSL_CLIENT_S_DN_CN, 'client one')
  t.is(env.SSL_CLIENT_I_DN, 'CN=Gatehouse Test CA,O=Gatehouse Test,C=US')
  t.is(env.SSL_CLIENT_I_DN_CN, 'Gatehouse Test CA')
  t.is(env.SSL_CLIENT_M_VERSION, '3')
  t.is(env.SSL_CLIENT_M_SERIAL, 'C11E47', 'upper-case hex without the sign byte')
  t.is(env.SSL_CLIENT_M_SERIAL, client.serialNumber)
  t.is(env.SSL_CLIENT_V_START, client.validFrom, 'e.g. "Jan  2 03:04:05 2026 GMT"')
  t.is(env.SSL_CLIENT_V_END, client.validTo)
  t.regex(env.SSL_CLIENT_V_REMAIN, /^[12]$/)
  t.is(env.SSL_CLIENT_CERT, read(pki.clientCert).toString(), 'the PEM, as openssl wrote it')
  t.is(new X509Certificate(env.SSL_CLIENT_CERT).fingerprint256, client.fingerprint256)
})

test('plain HTTP to the TLS port gets a plain-text 400 saying the port speaks HTTPS, then close', async (t) => {
  const { port, server } = await tlsServer(t, {})
  const { data, closed } = await raw(port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
  const [res] = parseResponses(data)
  t.is(res.status, 400)
  t.is(res.headers['content-type'], 'text/plain; charset=utf-8')
  t.is(res.headers.connection, 'close')
  t.regex(res.text, /speaks HTTPS/)
  t.true(closed)
  t.is(server.nativeStats().tlsPlainHttp, 1)
  t.true((await get(port)).ok, 'TLS clients are still served')
})

test('reloadCertificates switches the served certificate while an old keep-alive connection goes on', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-reload-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const cert = path.join(dir, 'live.pem')
  const key = path.join(dir, 'live.key')
  fs.copyFileSync(pki.rsaCert, cert)
  fs.copyFileSync(pki.rsaKey, key)
  const { port, server } = await tlsServer(t, { certificate: cert, privateKey: key })

  const old = await tlsConnect(port, { ca: read(pki.caCert) })
  t.is(old.peer.fingerprint256, fingerprint(pki.rsaCert))
  const first = readResponses(old.socket, 1)
  old.socket.write('GET /before HTTP/1.1\r\nHost: localhost\r\n\r\n')
  t.is((await first)[0].status, 200)

  // New files, then a reload: new handshakes get the new certificate.
  fs.copyFileSync(pki.ecCert, cert)
  fs.copyFileSync(pki.ecKey, key)
  await server.reloadCertificates()
  const fresh = await get(port)
  t.true(fresh.ok)
  t.is(fresh.peer.fingerprint256, fingerprint(pki.ecCert))
  t.is(fresh.env.SSL_SERVER_S_DN, 'CN=localhost,OU=Reloaded,O=Gatehouse Test')

  // The connection made before the reload still works, on the old certificate.
  const again = readResponses(old.socket, 1)
  old.socket.write('GET /after HTTP/1.1\r\nHost: localhost\r\n\r\n')
  const [res] = await again
  t.is(res.status, 200)
  t.is(JSON.parse(res.body).SSL_SERVER_S_DN, 'CN=localhost,O=Gatehouse Test,C=US')
  old.socket.destroy()

  // A reload that cannot be used changes nothing.
  fs.writeFileSync(key, 'not a key')
  const bad = await server.reloadCertificates().catch((e) => e)
  t.true(bad instanceof GatehouseError)
  t.is(bad.code, 'GH_ERR_TLS')
  t.true(bad.message.includes(key), bad.message)
  t.is((await get(port)).peer.fingerprint256, fingerprint(pki.ecCert))
  fs.rmSync(key)
  const gone = await server.reloadCertificates().catch((e) => e)
  t.is(gone.code, 'GH_ERR_TLS')
  t.is(gone.osCode, 'ENOENT', 'a file that cannot be read carries its OS error')
  t.is(util.getSystemErrorName(gone.errno), 'ENOENT')

  // New settings can be given directly.
  await server.reloadCertificates({ certificate: pki.edCert, privateKey: pki.edKey })
  const ed = await get(port, { checkServerIdentity: () => undefined })
  t.is(ed.peer.fingerprint256, fingerprint(pki.edCert))
  t.is(server.sslAdapter.certificate, pki.edCert)
})

test('reloadCertificates on a plain HTTP server rejects with GH_ERR_TLS', async (t) => {
  const { server } = await makeServer(t, sslEnvironApp)
  const e = await server.reloadCertificates().catch((err) => err)
  t.is(e.code, 'GH_ERR_TLS')
})

test('a handshake that stalls is closed after `timeout`, and counted; a truncated one too', async (t) => {
  const { port, server } = await tlsServer(t, {}, { timeout: 1 })
  const started = Date.now()
  // Nothing at all, and half a ClientHello record header: both wait for more, then are cut.
  const [silent, partial] = await Promise.all([
    raw(port, [], { idleMs: 5000 }),
    raw(port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), { idleMs: 5000 }),
  ])
  const elapsed = Date.now() - started
  t.true(silent.closed && partial.closed)
  t.is(silent.data.length, 0)
  t.true(elapsed >= 900 && elapsed < 4000, `closed after ${elapsed} ms`)
  t.true(await eventually(() => server.nativeStats().tlsHandshakeTimeouts === 2))

  // A client that sends the start of a ClientHello and goes away; one that sends garbage.
  const before = server.nativeStats().tlsHandshakeErrors
  await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01])))
    s.on('close', resolve)
    s.on('error', resolve)
  })
  const junk = await raw(port, Buffer.from([0x16, 0xff, 0xff, 0x00, 0x05, 1, 2, 3, 4, 5]))
  t.true(junk.closed)
  t.true(await eventually(() => server.nativeStats().tlsHandshakeErrors >= before + 2))
  t.is(server.nativeStats().panics, 0)
  t.regex(server.metrics(), /^gatehouse_tls_handshake_timeouts_total 2$/m)
  t.true((await get(port)).ok, 'the server keeps serving')
  t.true(await eventually(() => server.nativeStats().openConnections === 0), 'nothing is left open')
})

test('keep-alive and pipelining work over TLS, and a large body crosses both ways', async (t) => {
  const app = async (environ, startResponse) => {
    const body = await environ['wsgi.input'].read()
    startResponse('200 OK', [['Content-Type', 'text/plain']])
    return environ.REQUEST_METHOD === 'POST' ? [body] : [`${environ.PATH_INFO} ${environ['wsgi.url_scheme']}`]
  }
  const { port } = await tlsServer(t, {}, {}, app)
  const { socket } = await tlsConnect(port, { ca: read(pki.caCert) })
  t.teardown(() => socket.destroy())
  const pipelined = Array.from({ length: 10 }, (_, i) => `GET /r${i} HTTP/1.1\r\nHost: localhost\r\n\r\n`).join('')
  const first = readResponses(socket, 10)
  socket.write(pipelined)
  t.deepEqual(
    (await first).map((r) => r.body),
    Array.from({ length: 10 }, (_, i) => `/r${i} https`),
  )
  const big = Buffer.alloc(3 * 1024 * 1024, 'abcdefgh')
  const echoed = readResponses(socket, 1)
  socket.write(`POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${big.length}\r\n\r\n`)
  socket.write(big)
  const [res] = await echoed
  t.is(res.status, 200)
  t.is(res.body.length, big.length)
  t.true(Buffer.from(res.body).equals(big))
  const last = readResponses(socket, 1)
  socket.write('GET /last HTTP/1.1\r\nHost: localhost\r\n\r\n')
  t.is((await last)[0].body, '/last https', 'the same connection is still usable')
})

test('stop() closes idle TLS keep-alive connections at once', async (t) => {
  const server = new Server(['127.0.0.1', 0], sslEnvironApp, { ssl: rsa(), shutdownTimeout: 5 })
  await server.start()
  const { socket } = await tlsConnect(server.bindAddr[1], { ca: read(pki.caCert) })
  const closed = new Promise((resolve) => socket.once('close', resolve))
  const first = readResponses(socket, 1)
  socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
  t.is((await first)[0].status, 200)
  const started = Date.now()
  await server.stop()
  await closed
  t.true(Date.now() - started < 2000, 'an idle connection does not wait for shutdownTimeout')
})

test('SNI picks the certificate by host name; other names get the main one', async (t) => {
  const sni = { 'ed25519.localhost': { certificate: pki.edCert, privateKey: pki.edKey }, '*.example.test': { certificate: pki.ecCert, privateKey: pki.ecKey } }
  const { port } = await tlsServer(t, { sni })
  const skip = { checkServerIdentity: () => undefined }
  const ed = await get(port, { servername: 'ed25519.localhost', ...skip })
  t.is(ed.peer.fingerprint256, fingerprint(pki.edCert))
  t.is(ed.env.SSL_TLS_SNI, 'ed25519.localhost')
  t.is(ed.env.SSL_SERVER_S_DN, 'CN=ed25519.localhost,O=Gatehouse Test')
  const wild = await get(port, { servername: 'www.example.test', ...skip })
  t.is(wild.peer.fingerprint256, fingerprint(pki.ecCert))
  const main = await get(port, { servername: 'localhost' })
  t.is(main.peer.fingerprint256, fingerprint(pki.rsaCert))
  const other = await get(port, { servername: 'unknown.test', ...skip })
  t.is(other.peer.fingerprint256, fingerprint(pki.rsaCert))
})

test('with proxyProtocol the PROXY header (v1 or v2) comes before the TLS handshake', async (t) => {
  const app = (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']])
    return [`${environ.REMOTE_ADDR} ${environ.HTTPS}`]
  }
  const { port, server } = await tlsServer(t, {}, { proxyProtocol: true }, app)
  const v1 = Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 40000 443\r\n')
  const v2 = Buffer.concat([
    Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1'),
    Buffer.from([0x21, 0x11, 0x00, 0x0c, 198, 51, 100, 9, 127, 0, 0, 1, 0x9c, 0x40, 0x01, 0xbb]),
  ])
  for (const [header, client] of [[v1, '203.0.113.7'], [v2, '198.51.100.9']]) {
    const tcp = net.connect(port, '127.0.0.1')
    await new Promise((resolve) => tcp.once('connect', resolve))
    tcp.write(header)
    const { socket } = await tlsConnect(undefined, { socket: tcp, ca: read(pki.caCert) })
    const { data } = await tlsExchange(socket, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    t.is(parseResponses(data)[0].text, `${client} on`)
  }
  // Without the header the connection is closed before any TLS.
  const bare = await get(port)
  t.false(bare.ok)
  t.is(server.nativeStats().tlsHandshakes, 2)
})

test('with appThreads the SSL_* keys reach the application in its worker threads', async (t) => {
  const app = `${path.resolve('__test__/tls-helpers.mjs')}:sslEnvironApp`
  const server = new Server(['127.0.0.1', 0], app, { appThreads: 1, ssl: { ...rsa(), caCerts: pki.caCert } })
  await server.start()
  t.teardown(() => server.stop())
  const r = await get(server.bindAddr[1], clientCert())
  t.true(r.ok, String(r.error))
  t.is(r.env['wsgi.url_scheme'], 'https')
  t.is(r.env.SSL_CLIENT_S_DN_CN, 'client one')
  t.is(r.env.SSL_CLIENT_VERIFY, 'SUCCESS')
})

test('TLS works on a UNIX socket', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-tls-unix-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const sock = path.join(dir, 's.sock')
  await tlsServer(t, {}, {}, sslEnvironApp, sock)
  const { socket } = await tlsConnect(undefined, { path: sock, ca: read(pki.caCert) })
  const { data } = await tlsExchange(socket, 'GET /unix HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  const env = JSON.parse(parseResponses(data)[0].text)
  t.is(env.HTTPS, 'on')
  t.is(env.PATH_INFO, '/unix')
  const plain = await raw(sock, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
  t.is(parseResponses(plain.data)[0].status, 400, 'plain HTTP on the UNIX socket gets the 400 too')
})

test('start() fails before binding, naming the file and the problem', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-tls-bad-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const sock = path.join(dir, 'never.sock')
  const missing = path.join(dir, 'missing.pem')
  const cases = [
    [{ certificate: missing, privateKey: pki.rsaKey }, missing, /cannot read/],
    [{ certificate: pki.garbage, privateKey: pki.rsaKey }, pki.garbage, /no PEM certificate/],
    [{ certificate: pki.rsaCert, privateKey: pki.garbage }, pki.garbage, /no private key/],
    [{ certificate: pki.rsaCert, privateKey: pki.ecKey }, pki.ecKey, /does not match the certificate/],
    [{ certificate: pki.expiredCert, privateKey: pki.expiredKey }, pki.expiredCert, /expired on Jan  2 00:00:00 2020 GMT/],
    [{ ...rsa(), caCerts: pki.garbage, clientAuth: 'required' }, pki.garbage, /no PEM certificate/],
    [{ ...rsa(), sni: { 'a.test': { certificate: pki.rsaCert, privateKey: missing } } }, missing, /cannot read/],
  ]
  for (const [ssl, file, problem] of cases) {
    const server = new Server(sock, sslEnvironApp, { ssl })
    const e = await server.start().catch((err) => err)
    t.true(e instanceof GatehouseError, String(e))
    t.is(e.code, 'GH_ERR_TLS', e.message)
    t.true(e.message.includes(file), `${e.message} names ${file}`)
    t.regex(e.message, problem)
    t.false(fs.existsSync(sock), 'nothing was bound')
    t.false(server.ready)
  }
})

test('ssl options are checked when the server is made, and sslAdapter shows and sets them', async (t) => {
  const bad = [
    [{ certificate: pki.rsaCert }, /ssl.privateKey: required/],
    [{ ...rsa(), clientAuth: 'required' }, /needs ssl.caCerts/],
    [{ ...rsa(), clientAuth: 'sometimes', caCerts: pki.caCert }, /clientAuth/],
    [{ ...rsa(), certificate: 42 }, /ssl.certificate/],
    [{ ...rsa(), sni: { 'bad name!': rsa() } }, /not a host name/],
  ]
  for (const [ssl, message] of bad) {
    const e = t.throws(() => new Server(['127.0.0.1', 0], sslEnvironApp, { ssl }))
    t.is(e.code, 'GH_ERR_INVALID_OPTION')
    t.regex(e.message, message)
  }
  const plain = new Server(['127.0.0.1', 0], sslEnvironApp)
  t.is(plain.sslAdapter, undefined)
  plain.sslAdapter = rsa()
  t.deepEqual(plain.sslAdapter, { ...rsa(), clientAuth: 'none' })
  plain.sslAdapter.certificate = 'changed'
  t.is(plain.sslAdapter.certificate, pki.rsaCert, 'the getter gives a copy')
  await plain.start()
  t.teardown(() => plain.stop())
  t.true((await get(plain.bindAddr[1])).ok, 'setting sslAdapter before start() serves HTTPS')
  t.throws(() => (plain.sslAdapter = undefined), { code: 'GH_ERR_INVALID_OPTION' })
})

test('the CLI serves HTTPS with --certfile/--keyfile and reloads the certificate on SIGHUP', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-tls-cli-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const cert = path.join(dir, 'c.pem')
  const key = path.join(dir, 'k.pem')
  fs.copyFileSync(pki.rsaCert, cert)
  fs.copyFileSync(pki.rsaKey, key)
  const child = spawn(process.execPath, ['dist/cjs/cli.js', 'examples/hello.js', '--bind', '127.0.0.1:0', '--certfile', cert, '--keyfile', key, '--ca-certs', pki.caCert], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const line = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve(out.split('\n')[0])
    })
    child.on('exit', () => reject(new Error(`exited early: ${err}`)))
  })
  const m = /^Listening on https:\/\/127\.0\.0\.1:(\d+)$/.exec(line)
  t.truthy(m, line)
  const port = Number(m[1])
  const before = await tlsConnect(port, { ca: read(pki.caCert), ...clientCert() })
  t.is(before.peer.fingerprint256, fingerprint(pki.rsaCert))
  before.socket.destroy()

  fs.copyFileSync(pki.ecCert, cert)
  fs.copyFileSync(pki.ecKey, key)
  child.kill('SIGHUP')
  t.true(await eventually(() => err.includes('certificates reloaded'), 5000), err)
  const after = await tlsConnect(port, { ca: read(pki.caCert) })
  t.is(after.peer.fingerprint256, fingerprint(pki.ecCert))
  after.socket.destroy()

  const exited = new Promise((resolve) => child.on('exit', resolve))
  child.kill('SIGTERM')
  t.is(await exited, 0)
})

test('the CLI exits 1 with the file and the problem when a certificate cannot be used', async (t) => {
  const r = await run(process.execPath, ['dist/cjs/cli.js', 'examples/hello.js', '--bind', '127.0.0.1:0', '--certfile', pki.expiredCert, '--keyfile', pki.expiredKey])
  t.is(r.code, 1)
  t.true(r.stderr.includes(pki.expiredCert), r.stderr)
  t.regex(r.stderr, /expired/)
  const half = await run(process.execPath, ['dist/cjs/cli.js', 'examples/hello.js', '--certfile', pki.rsaCert])
  t.is(half.code, 2)
  t.regex(half.stderr, /--certfile and --keyfile go together/)
  const help = await run(process.execPath, ['dist/cjs/cli.js', '--help'])
  for (const flag of ['--certfile', '--keyfile', '--ca-certs', '--client-auth', 'SIGHUP']) t.true(help.stdout.includes(flag), flag)
})
