// A separate client process for the idle-connection scenarios: opens COUNT keep-alive connections
// to 127.0.0.1:PORT, sends one request on each, waits for every answer, and keeps them open.
//   node hold-client.mjs PORT COUNT [tls] [requests=R]
// With `tls`, each connection is TLS (the bench's self-signed certificate is not checked). With
// `requests=R`, each connection makes R requests one after another before it is held (a warm-up).
// Prints {"held":N,"failed":F,"ms":T} once done; then, for each "status" line on stdin, prints
// {"open":N}. Exits on stdin's end, on SIGTERM, or after 10 minutes at most.
import net from 'node:net'
import readline from 'node:readline'
import tls from 'node:tls'

const port = Number(process.argv[2])
const count = Number(process.argv[3])
const useTls = process.argv.slice(4).includes('tls')
const requestsEach = Number(/^requests=(\d+)$/.exec(process.argv.slice(4).find((a) => a.startsWith('requests=')) ?? '')?.[1] ?? 1)
const IN_FLIGHT = 200 // connections being opened at once
const REQUEST = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
const EXPECT = 'Hello, World!'

const sockets = []
let open = 0
let failed = 0

function holdOne() {
  return new Promise((resolve) => {
    let text = ''
    let done = false
    let answered = 0
    const finish = (ok) => {
      if (done) return
      done = true
      if (ok) open++
      else failed++
      resolve()
    }
    const socket = useTls ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : net.connect({ host: '127.0.0.1', port })
    socket.setTimeout(30000, () => {
      socket.destroy()
      finish(false)
    })
    socket.setEncoding('latin1')
    socket.once(useTls ? 'secureConnect' : 'connect', () => socket.write(REQUEST))
    socket.on('data', (piece) => {
      if (done) return
      text += piece
      if (!text.endsWith(EXPECT)) return
      if (++answered < requestsEach) {
        text = ''
        socket.write(REQUEST)
        return
      }
      socket.setTimeout(0)
      finish(true)
    })
    socket.on('error', () => finish(false))
    socket.on('close', () => {
      if (done && text.endsWith(EXPECT)) open--
      else finish(false)
    })
    sockets.push(socket)
  })
}

const started = Date.now()
let next = 0
async function lane() {
  while (next < count) {
    next++
    await holdOne()
  }
}
await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, lane))
console.log(JSON.stringify({ held: open, failed, ms: Date.now() - started }))

const quit = () => {
  for (const s of sockets) s.destroy()
  process.exit(0)
}
setTimeout(quit, 10 * 60 * 1000).unref()
process.on('SIGTERM', quit)
const lines = readline.createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() === 'status') console.log(JSON.stringify({ open }))
})
lines.on('close', quit)
// Keep running while the sockets are held (the timer above is unref'd).
setInterval(() => {}, 1 << 30)
