// Expect: 100-continue (RFC 9110 §10.1.1): exact request bytes, expected status and connection state.
import test from 'ava'

import cases from './cases/continue.mjs'
import { registerCases } from './harness.mjs'

registerCases(test, cases)
