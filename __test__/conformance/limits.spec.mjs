// Limits: head, target, field count, body (RFC 9110 §15.5, RFC 6585 §5): exact request bytes,
// expected status and connection state; and the same limits set through the CLI flags.
import { spawn } from 'node:child_process'
import path from 'node:path'

import test from 'ava'

import cases from './cases/limits.mjs'
import { judge, registerCases, runCase } from './harness.mjs'

registerCases(test, cases)

const CLI = path.resolve('dist/cjs/cli.js')

/** The CLI on port 0 with `flags`; resolves its port. */
async function startCli(t, flags) {
  const child = spawn(process.execPath, [CLI, '__test__/fixtures/apps.mjs:greet', '--bind', '127.0.0.1:0', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d
      const m = /^Listening on http:\/\/127\.0\.0\.1:(\d+)\n/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.on('exit', () => reject(new Error(`the CLI exited: ${err}`)))
  })
}

// The app runs in the CLI's process, so its calls are not counted here: a 2xx answer stands for
// "accepted", a reject is the server's own text/plain answer.
const CLI_CASES = [
  { id: 'LI-20', title: '--max-request-header-size 1024: a 2 KiB head gets 431', rfc: 'RFC 6585 §5', request: `GET / HTTP/1.1\r\nHost: h\r\nX-A: ${'a'.repeat(2048)}\r\n\r\n`, expect: 431, conn: 'closed' },
  { id: 'LI-21', title: '--max-request-body-size 10: a declared 11-byte body gets 413', rfc: 'RFC 9110 §15.5.14', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world', expect: 413, conn: 'closed' },
  { id: 'LI-22', title: 'within both CLI limits the request is served', rfc: 'RFC 9110 §15.5.14', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhelloworld', expect: 200, conn: 'closed', check: (t, o) => t.is(o.finals[0]?.text, 'greet /') },
]

for (const c of CLI_CASES) {
  test(`${c.id} ${c.title} [${c.rfc}]`, async (t) => {
    const port = await startCli(t, ['--max-request-header-size', '1024', '--max-request-body-size', '10'])
    const o = await runCase({ port, ctx: { calls: [], readErrors: [] } }, c)
    judge(t, c, o, ['appCalls'])
  })
}
