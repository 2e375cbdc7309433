// Framing: Content-Length and Transfer-Encoding (RFC 9112 §6): exact request bytes, expected status and connection state.
import test from 'ava'

import cases from './cases/framing.mjs'
import { registerCases } from './harness.mjs'

registerCases(test, cases)
