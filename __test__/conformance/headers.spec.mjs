// Header fields (RFC 9112 §5, RFC 9110 §5): exact request bytes, expected status and connection state.
import test from 'ava'

import cases from './cases/headers.mjs'
import { registerCases } from './harness.mjs'

registerCases(test, cases)
