// The request line (RFC 9112 §3): exact bytes, expected status and connection state.
import test from 'ava'

import cases from './cases/request-line.mjs'
import { registerCases } from './harness.mjs'

registerCases(test, cases)
