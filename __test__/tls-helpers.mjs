// TLS test helpers: a throwaway PKI made with the `openssl` command (a CA, server certificates
// with RSA PKCS#1, ECDSA SEC1 and Ed25519 PKCS#8 keys, client certificates, an expired one), and
// small clients (node:tls, curl, openssl s_client) that report what they saw.
import { execFile, execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

const SERVER_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n'
const CLIENT_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n'

/**
 * Make every certificate the TLS tests use in a new temporary folder (about a second on two
 * cores). Returns the folder and the path of each file.
 */
export function makePki() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-tls-'))
  const p = (name) => path.join(dir, name)
  fs.writeFileSync(p('server.ext'), SERVER_EXT)
  fs.writeFileSync(p('client.ext'), CLIENT_EXT)

  // The CA (P-256, so its signatures are quick to make).
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir)
  openssl(['req', '-new', '-x509', '-key', 'ca.key', '-days', '3', '-subj', '/C=US/O=Gatehouse Test/CN=Gatehouse Test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.pem'], dir)

  const sign = (name, subj, ext, serial) => {
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', subj, '-out', `${name}.csr`], dir)
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', serial, '-days', '2', '-sha256', '-extfile', ext, '-out', `${name}.pem`], dir)
  }
  // Server certificates for localhost and 127.0.0.1, one per key type and encoding.
  openssl(['genrsa', '-traditional', '-out', 'rsa.key', '2048'], dir) // PKCS#1: BEGIN RSA PRIVATE KEY
  sign('rsa', '/C=US/O=Gatehouse Test/CN=localhost', 'server.ext', '0x0A11CE')
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key'], dir) // SEC1: BEGIN EC PRIVATE KEY
  sign('ec', '/O=Gatehouse Test/OU=Reloaded/CN=localhost', 'server.ext', '0x0EC0')
  openssl(['genpkey', '-algorithm', 'ed25519', '-out', 'ed.key'], dir) // PKCS#8: BEGIN PRIVATE KEY
  sign('ed', '/O=Gatehouse Test/CN=ed25519.localhost', 'server.ext', '0x0ED0')

  // A client certificate from the CA, and one from nobody the server trusts.
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'client.key'], dir)
  sign('client', '/C=US/O=Gatehouse Test/OU=Clients/CN=client one', 'client.ext', '0x00C11E47')
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'stranger.key'], dir)
  openssl(['req', '-new', '-x509', '-key', 'stranger.key', '-days', '2', '-subj', '/CN=stranger', '-out', 'stranger.pem'], dir)

  // An expired certificate: `openssl ca` is the one command of OpenSSL 3.0 that sets dates.
  fs.writeFileSync(p('index.txt'), '')
  fs.writeFileSync(p('serial'), '1000\n')
  fs.writeFileSync(
    p('ca.cnf'),
    `[ca]\ndefault_ca=d\n[d]\ndatabase=${p('index.txt')}\nnew_certs_dir=${dir}\nserial=${p('serial')}\ndefault_md=sha256\npolicy=any\nunique_subject=no\n[any]\ncommonName=supplied\n[ext]\n${SERVER_EXT}`,
  )
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'expired.key'], dir)
  openssl(['req', '-new', '-key', 'expired.key', '-subj', '/CN=localhost', '-out', 'expired.csr'], dir)
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'expired.csr', '-out', 'expired.pem', '-startdate', '200101000000Z', '-enddate', '200102000000Z', '-extensions', 'ext', '-notext'], dir)

  fs.writeFileSync(p('garbage.pem'), 'this is not PEM\n')
  const names = ['ca', 'rsa', 'ec', 'ed', 'client', 'stranger', 'expired']
  const files = { dir }
  for (const n of names) {
    files[`${n}Cert`] = p(`${n}.pem`)
    files[`${n}Key`] = p(`${n}.key`)
  }
  files.garbage = p('garbage.pem')
  return files
}

/** Remove the folder made by makePki. */
export function removePki(pki) {
  if (pki?.dir) fs.rmSync(pki.dir, { recursive: true, force: true })
}

/**
 * Open a TLS connection with node:tls. Resolves once the handshake is done with the socket and
 * what was negotiated; rejects when the handshake fails.
 */
export function tlsConnect(port, options = {}) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options })
    socket.once('secureConnect', () => {
      resolve({ socket, protocol: socket.getProtocol(), cipher: socket.getCipher(), peer: socket.getPeerX509Certificate(), alpn: socket.alpnProtocol })
    })
    socket.once('error', reject)
  })
}

/** Send raw request bytes on a connected TLS socket; collect everything until it closes or idles. */
export function tlsExchange(socket, bytes, { idleMs = 1500 } = {}) {
  return new Promise((resolve) => {
    const chunks = []
    let idle
    const done = (closed) => {
      clearTimeout(idle)
      socket.off('data', onData)
      resolve({ data: Buffer.concat(chunks), closed })
    }
    const arm = () => {
      clearTimeout(idle)
      idle = setTimeout(() => done(false), idleMs)
    }
    const onData = (d) => {
      chunks.push(d)
      arm()
    }
    socket.on('data', onData)
    socket.once('end', () => done(true))
    socket.once('close', () => done(true))
    socket.once('error', () => done(true))
    socket.write(bytes)
    arm()
  })
}

/**
 * Read exactly the next `count` HTTP responses with Content-Length bodies from a TLS socket
 * that stays open.
 */
export function readResponses(socket, count) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const out = []
    const onData = (d) => {
      buf = Buffer.concat([buf, d])
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end === -1) break
        const head = buf.subarray(0, end).toString('latin1')
        const m = /\r\ncontent-length: *(\d+)/i.exec(head)
        const len = m ? Number(m[1]) : 0
        if (buf.length < end + 4 + len) break
        out.push({ status: Number(head.slice(9, 12)), head, body: buf.subarray(end + 4, end + 4 + len).toString() })
        buf = buf.subarray(end + 4 + len)
      }
      if (out.length >= count) {
        socket.off('data', onData)
        resolve(out)
      }
    }
    socket.on('data', onData)
    socket.once('error', reject)
  })
}

/** Run a command; resolves { code, stdout, stderr } (never rejects). */
export function run(cmd, args, { input, timeoutMs = 10000 } = {}) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
    })
    if (input !== undefined) child.stdin.end(input)
    else child.stdin.end()
  })
}

/**
 * `openssl s_client` with `args`, sending `request` once connected; resolves its output. The
 * request ends with `Connection: close`, so the server closes and s_client exits.
 */
export function sClient(port, args, request = 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n') {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-ign_eof', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000)
    // 'close', not 'exit': it comes after the child's output has all been read.
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.write(request)
  })
}

/** An app that answers with every TLS-related environ key as JSON. */
export function sslEnvironApp(environ, startResponse) {
  const out = { 'wsgi.url_scheme': environ['wsgi.url_scheme'], PATH_INFO: environ.PATH_INFO }
  for (const [k, v] of Object.entries(environ)) if (k === 'HTTPS' || k.startsWith('SSL_')) out[k] = v
  startResponse('200 OK', [['Content-Type', 'application/json']])
  return [JSON.stringify(out)]
}
