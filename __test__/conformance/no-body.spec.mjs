// HEAD, 204, 205, 304 and 1xx carry no body (RFC 9110 §9.3.2, §15): exact request bytes, expected status and connection state.
import test from 'ava'

import cases from './cases/no-body.mjs'
import { registerCases } from './harness.mjs'

registerCases(test, cases)
