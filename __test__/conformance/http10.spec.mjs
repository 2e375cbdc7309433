// HTTP/1.0 and the protocol option (RFC 9112 §9.3, Appendix C): exact request bytes, expected status and connection state.
import test from 'ava'

import cases from './cases/http10.mjs'
import { registerCases } from './harness.mjs'

registerCases(test, cases)
