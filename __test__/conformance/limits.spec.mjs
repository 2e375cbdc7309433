// Limits: head, target, field count, body (RFC 9110 §15.5, RFC 6585 §5): exact request bytes, expected status and connection state.
import test from 'ava'

import cases from './cases/limits.mjs'
import { registerCases } from './harness.mjs'

registerCases(test, cases)
