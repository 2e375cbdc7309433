// Responses to bad requests (RFC 9112 §9.6): exact request bytes, expected status and connection state.
import test from 'ava'

import cases from './cases/bad-requests.mjs'
import { registerCases } from './harness.mjs'

registerCases(test, cases)
