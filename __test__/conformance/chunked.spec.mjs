// The chunked coding (RFC 9112 §7.1): exact request bytes, expected status and connection state.
import test from 'ava'

import cases from './cases/chunked.mjs'
import { registerCases } from './harness.mjs'

registerCases(test, cases)
