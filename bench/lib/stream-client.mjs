// A separate client process for the 1 GiB scenario.
//   node stream-client.mjs download PORT BYTES   reads the whole response, counts its bytes
//   node stream-client.mjs upload PORT BYTES     sends BYTES in 1 MiB writes (respecting
//                                                backpressure) and reads the app's count
// Prints {"bytes":N,"seconds":S} (for upload: bytes the app says it read).
import http from 'node:http'

const [mode, portText, bytesText] = process.argv.slice(2)
const port = Number(portText)
const total = Number(bytesText)
const CHUNK = Buffer.alloc(1024 * 1024, 'u')

function finish(bytes, started) {
  console.log(JSON.stringify({ bytes, seconds: (performance.now() - started) / 1000 }))
}

function fail(e) {
  console.error(String(e && e.stack ? e.stack : e))
  process.exit(1)
}

const started = performance.now()
if (mode === 'download') {
  http
    .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let bytes = 0
      res.on('data', (p) => (bytes += p.length))
      res.on('end', () => finish(bytes, started))
      res.on('error', fail)
    })
    .on('error', fail)
} else if (mode === 'upload') {
  if (total % CHUNK.length !== 0) fail(new Error('BYTES must be a multiple of 1 MiB'))
  const req = http.request(
    { host: '127.0.0.1', port, path: '/', method: 'POST', agent: false, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': total } },
    (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (p) => (text += p))
      res.on('end', () => finish(Number(text), started))
      res.on('error', fail)
    },
  )
  req.on('error', fail)
  const writes = total / CHUNK.length
  for (let i = 0; i < writes; i++) {
    if (req.destroyed) break
    if (!req.write(CHUNK)) {
      await new Promise((resolve) => {
        const done = () => {
          req.off('drain', done)
          req.off('close', done)
          resolve()
        }
        req.on('drain', done)
        req.on('close', done)
      })
    }
  }
  req.end()
} else {
  fail(new Error('mode must be download or upload'))
}
