// The same raw cases against gatehouse and against a node:http server with its default options:
// gatehouse must be at least as strict as node:http on each case. A case where gatehouse passes
// to the app what node:http refuses fails the test unless NOTES says why that is right (the RFC,
// or a configured limit); a case that cannot be run on either server fails it too. Every other
// difference goes to t.log. With GATEHOUSE_WRITE_COMPARISON=1 the table is written to
// __test__/conformance/node-comparison.md, which is committed.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import badRequests from './cases/bad-requests.mjs'
import chunked from './cases/chunked.mjs'
import expectContinue from './cases/continue.mjs'
import framing from './cases/framing.mjs'
import headers from './cases/headers.mjs'
import host from './cases/host.mjs'
import http10 from './cases/http10.mjs'
import limits from './cases/limits.mjs'
import noBody from './cases/no-body.mjs'
import requestLine from './cases/request-line.mjs'
import smuggling from './cases/smuggling.mjs'
import { requestBytes, runCase, startGatehouse, startNode } from './harness.mjs'

const GROUPS = {
  'request line': requestLine,
  headers,
  host,
  framing,
  chunked,
  limits,
  'bad requests': badRequests,
  '100-continue': expectContinue,
  'HEAD/204/304': noBody,
  'HTTP/1.0': http10,
  smuggling,
}

/** Options node:http has an equivalent for; a case with any other option is not compared. */
const MAPPED_OPTIONS = new Set(['maxRequestHeaderSize'])

function comparable(c) {
  if (c.compare === false) return false
  return Object.keys(c.options ?? {}).every((k) => MAPPED_OPTIONS.has(k))
}

/**
 * accept (the app ran and answered below 400) or reject (anything else). For a case that sends
 * several requests on one connection, the last answer decides.
 */
function verdictOf(c, o) {
  const decisive = o.statuses.length > 0 ? ((c.responses ?? 1) > 1 ? o.statuses.at(-1) : o.statuses[0]) : o.status
  return o.appCalls > 0 && typeof decisive === 'number' && decisive < 400 ? 'accept' : 'reject'
}

function show(o) {
  if (o.error) return `error: ${o.error}`
  const st = o.statuses.length > 1 ? o.statuses.join(' then ') : typeof o.status === 'number' ? String(o.status) : { close: 'silent close', none: 'no answer', garbage: 'not HTTP', cut: 'cut', partial: 'partial' }[o.status] ?? String(o.status)
  const app = o.appCalls > 0 && !(typeof o.status === 'number' && o.status < 400) ? `, app ran${o.appCalls > 1 ? ` ${o.appCalls}x` : ''}` : o.appCalls > 1 ? `, app ran ${o.appCalls}x` : ''
  return `${st}${app}, ${o.closed ? 'closed' : 'kept open'}`
}

function classify(c, g, n) {
  if (g.error || n.error) return 'error'
  const smuggledTo = (o) => o.appCalls > (c.appCalls ?? 1)
  if (smuggledTo(n) && !smuggledTo(g)) return 'stricter'
  if (smuggledTo(g) && !smuggledTo(n)) return 'looser'
  const gv = verdictOf(c, g)
  const nv = verdictOf(c, n)
  if (gv === 'reject' && nv === 'accept') return 'stricter'
  if (gv === 'accept' && nv === 'reject') return 'looser'
  if (g.status !== n.status || g.statuses.join() !== n.statuses.join()) return gv === 'reject' ? 'both refuse, other status' : 'both accept, other answers'
  if (g.closed !== n.closed) return 'same status, other connection handling'
  return 'same'
}

async function outcome(start, t, c) {
  try {
    const target = await start(t, c)
    const o = await runCase(target, c)
    return { status: o.status, statuses: o.finals.map((r) => r.status), closed: o.closed, appCalls: o.appCalls }
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) }
  }
}

/** Run `fn` over `items`, `width` at a time. */
async function pool(items, width, fn) {
  const out = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i])
      }
    }),
  )
  return out
}

const rows = []

for (const [group, cases] of Object.entries(GROUPS)) {
  test(`gatehouse is at least as strict as node:http: ${group}`, async (t) => {
    const list = cases.filter(comparable)
    const results = await pool(list, 6, async (c) => {
      const g = await outcome(startGatehouse, t, c)
      const n = await outcome(startNode, t, { ...c, waitMs: 1500, hardMs: 5000 })
      return { group, c, g, n, verdict: classify(c, g, n) }
    })
    for (const r of results) {
      rows.push(r)
      const line = `${r.c.id} ${r.verdict}: gatehouse ${show(r.g)}; node:http ${show(r.n)}`
      if (r.verdict === 'error') t.fail(line)
      else if (r.verdict === 'looser' && NOTES[r.c.id] === undefined) t.fail(`${line} (looser than node:http with no note in NOTES saying why)`)
      else if (r.verdict !== 'same') t.log(line)
    }
    t.true(results.length > 0, 'some cases were compared')
  })
}

/** Why gatehouse differs where it is looser, or where the difference needs a word. */
const NOTES = {
  'RL-19': 'Extension methods: RFC 9110 §9.1 lets any token be a method and a WSGI app decides what to do with it; llhttp only knows a fixed list.',
  'CH-07': 'BWS around ";" and "=" in a chunk extension is in the RFC 9112 §7.1.1 grammar and RFC 9110 §5.6.3 says a recipient MUST accept it; llhttp refuses all whitespace there. No desync follows from accepting it: a parser that reads the size up to the space reads the same size.',
  'LI-04': 'A configured limit, not strictness: gatehouse\'s default head limit is 64 KiB (maxRequestHeaderSize), node\'s maxHeaderSize is 16 KiB.',
  'LI-07': 'A configured limit: a 16 KiB target is within gatehouse\'s target limit (414 past it) but over node\'s 16 KiB head limit.',
  'FR-29': 'Whitespace around a field value is not part of it (RFC 9110 §5.5: OWS before and after the value is excluded), so "chunked<HTAB>" is "chunked"; llhttp refuses the tab.',
  'FR-46': 'As FR-29, with the tab on both sides of the value.',
  'CH-49': 'The app answered without reading a body that turns out malformed: both send the 200; node then parses the leftover bytes and adds a 400, gatehouse closes the connection.',
}

function escapeBytes(buf, max = 90) {
  let s = ''
  for (const b of buf) {
    if (s.length >= max) {
      s += '…'
      break
    }
    if (b === 0x0d) s += '\\r'
    else if (b === 0x0a) s += '\\n'
    else if (b === 0x09) s += '\\t'
    else if (b === 0x5c) s += '\\\\'
    else if (b === 0x7c) s += '\\|'
    else if (b === 0x60) s += "'"
    else if (b < 0x20 || b >= 0x7f) s += `\\x${b.toString(16).padStart(2, '0')}`
    else s += String.fromCharCode(b)
  }
  return s
}

test.after.always('write node-comparison.md when GATEHOUSE_WRITE_COMPARISON=1', () => {
  if (process.env.GATEHOUSE_WRITE_COMPARISON !== '1' || rows.length === 0) return
  const order = ['stricter', 'looser', 'both refuse, other status', 'both accept, other answers', 'same status, other connection handling', 'error', 'same']
  const count = (v) => rows.filter((r) => r.verdict === v).length
  const byGroup = Object.keys(GROUPS).map((g) => {
    const rs = rows.filter((r) => r.group === g)
    return `| ${g} | ${rs.length} | ${rs.filter((r) => r.verdict === 'same').length} | ${rs.filter((r) => r.verdict === 'stricter').length} | ${rs.filter((r) => r.verdict === 'looser').length} | ${rs.filter((r) => !['same', 'stricter', 'looser'].includes(r.verdict)).length} |`
  })
  const differing = rows
    .filter((r) => r.verdict !== 'same')
    .sort((a, b) => order.indexOf(a.verdict) - order.indexOf(b.verdict) || a.c.id.localeCompare(b.c.id, 'en', { numeric: true }))
  const lines = [
    '# gatehouse and node:http on the same raw requests',
    '',
    'Generated by `GATEHOUSE_WRITE_COMPARISON=1 npx ava __test__/conformance/node-comparison.spec.mjs`',
    `(node:http of Node.js ${process.version}, default server options; \`maxRequestHeaderSize\` mapped to`,
    '`maxHeaderSize`). Every case of `cases/*.mjs` is sent byte for byte to both servers, except the',
    'timeout cases and the cases that need a gatehouse-only option (body limit, `protocol`). The app',
    'is the same on both: it reads the body and answers `200 ok <length>`.',
    '',
    '*Stricter*: gatehouse refuses what node:http passes to the app. *Looser*: gatehouse passes what',
    'node:http refuses. A refusal is any answer of 400 or more, or a close without an answer.',
    '',
    '## Summary',
    '',
    '| verdict | cases |',
    '| --- | --- |',
    ...order.filter((v) => count(v) > 0).map((v) => `| ${v} | ${count(v)} |`),
    `| **compared** | **${rows.length}** |`,
    '',
    '| group | compared | same | stricter | looser | other differences |',
    '| --- | --- | --- | --- | --- | --- |',
    ...byGroup,
    '',
    '## Where they differ',
    '',
    '| case | request bytes | gatehouse | node:http | verdict |',
    '| --- | --- | --- | --- | --- |',
    ...differing.map((r) => `| ${r.c.id} ${r.c.title.replace(/\|/g, '\\|')} | \`${escapeBytes(requestBytes(r.c))}\` | ${show(r.g)} | ${show(r.n)} | ${r.verdict} |`),
    '',
    '## Notes',
    '',
    ...differing.filter((r) => NOTES[r.c.id]).map((r) => `- **${r.c.id}** (${r.verdict}): ${NOTES[r.c.id]}`),
    '',
  ]
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node-comparison.md')
  fs.writeFileSync(file, lines.join('\n'))
})
