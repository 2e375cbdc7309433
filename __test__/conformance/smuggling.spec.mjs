// Request smuggling: known desync payloads, each refused, and the request hidden in each
// (GET /smuggled) never reaches the app.
import test from 'ava'

import cases from './cases/smuggling.mjs'
import { registerCases } from './harness.mjs'

const neverSmuggled = (c) => ({
  ...c,
  check: (t, o) => {
    t.false(
      o.calls.some((call) => call.environ.PATH_INFO === '/smuggled'),
      'the hidden request reached the app',
    )
    t.false(o.bytes.toString('latin1').includes('ok 0', o.bytes.indexOf('\r\n\r\n') + 4 + 4), 'no second answer')
    c.check?.(t, o)
  },
})

registerCases(test, cases.map(neverSmuggled))
