// Host (RFC 9112 §3.2, RFC 9110 §7.2): exact request bytes, expected status and connection state.
import test from 'ava'

import cases from './cases/host.mjs'
import { registerCases } from './harness.mjs'

registerCases(test, cases)
