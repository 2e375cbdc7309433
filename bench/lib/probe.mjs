// One request to a peer, to check that it serves what the scenario expects before it is measured.
import http from 'node:http'
import https from 'node:https'

/** Resolves with { status, headers, body (Buffer), protocol } or rejects (10 s at most). */
export function request({ port, tls = false, method = 'GET', path = '/', body, timeoutMs = 10000 }) {
  return new Promise((resolve, reject) => {
    const lib = tls ? https : http
    const headers = body ? { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length } : {}
    const req = lib.request({ host: '127.0.0.1', port, method, path, headers, agent: false, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      const protocol = tls ? res.socket.getProtocol() : undefined
      const pieces = []
      res.on('data', (p) => pieces.push(p))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(pieces), protocol }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)))
    req.on('error', reject)
    req.end(body)
  })
}
