// A separate client process for the burst scenario: COUNT GET requests at once, each on its own
// connection, to 127.0.0.1:PORT; waits until every one is answered (or failed).
//   node burst-client.mjs PORT COUNT
// Prints {"seconds":S,"p50":S,"ok":N,"failed":F,"error":"the first failure"}: seconds from the
// first request to the last answer, p50 the median time to an answer.
import http from 'node:http'

const port = Number(process.argv[2])
const count = Number(process.argv[3])
const TIMEOUT_MS = 30000

const answeredAt = []
let failed = 0
let error

const started = performance.now()
function one() {
  return new Promise((resolve) => {
    let settled = false
    const settle = (problem) => {
      if (settled) return
      settled = true
      if (problem === undefined) answeredAt.push((performance.now() - started) / 1000)
      else {
        failed++
        error ??= String(problem.message ?? problem)
      }
      resolve()
    }
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: TIMEOUT_MS }, (res) => {
      res.resume()
      res.on('end', () => settle(res.statusCode === 200 ? undefined : `answered ${res.statusCode}`))
      res.on('error', settle)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)))
    req.on('error', settle)
  })
}

await Promise.all(Array.from({ length: count }, one))
const seconds = (performance.now() - started) / 1000
answeredAt.sort((a, b) => a - b)
const p50 = answeredAt.length ? answeredAt[Math.floor((answeredAt.length - 1) / 2)] : null
console.log(JSON.stringify({ seconds, p50, ok: answeredAt.length, failed, error }))
