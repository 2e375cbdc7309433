// A bounded fuzz run in `npm test`: a few seconds of mutated requests at a server on 127.0.0.1.
// After each, the answer must be well-formed HTTP/1.x (or a close), and a normal request must
// still be answered. Reproduce a run with GATEHOUSE_FUZZ_SEED=<the printed seed>; longer runs:
// `npm run fuzz -- --minutes 10`.
import test from 'ava'

import { FUZZ_OPTIONS, fuzzApp, iterate, prng } from '../scripts/fuzz-lib.mjs'
import { makeServer } from './helpers.mjs'

const SECONDS = Number(process.env.GATEHOUSE_FUZZ_SECONDS ?? 4)
const MAX_ITERATIONS = 5000
const WORKERS = 12

test('fuzz: mutated requests never crash the server, get well-formed answers, and a normal request still works', async (t) => {
  const seed = Number(process.env.GATEHOUSE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32))
  console.log(`fuzz seed ${seed} (GATEHOUSE_FUZZ_SEED=${seed} reproduces this run)`)
  t.log(`seed ${seed}`)
  let server
  const started = await makeServer(t, fuzzApp(() => server), FUZZ_OPTIONS)
  server = started.server
  const { port } = started
  const failures = []
  let iterations = 0
  let panics = server.nativeStats?.()?.panics ?? null
  const until = Date.now() + SECONDS * 1000
  // Each worker has its own stream of inputs derived from the seed, so a run is reproducible
  // worker by worker whatever the scheduling.
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      const rng = prng(seed + w * 0x9e3779b9)
      while (Date.now() < until && iterations < MAX_ITERATIONS && failures.length < 5) {
        iterations++
        const r = await iterate(rng, port, panics)
        if (r.panics !== null && r.panics !== undefined) panics = r.panics
        if (r.failure) failures.push({ worker: w, failure: r.failure, input: JSON.stringify(r.input.toString('latin1')), answer: JSON.stringify(r.answer.subarray(0, 200).toString('latin1')) })
      }
    }),
  )
  console.log(`fuzz: ${iterations} iterations in ${SECONDS} s, ${failures.length} failures`)
  t.log(`${iterations} iterations, ${failures.length} failures`)
  for (const f of failures) t.log(f)
  t.deepEqual(failures, [], `seed ${seed}: inputs after which the server misbehaved`)
  t.true(iterations >= 50, `only ${iterations} iterations ran`)
})
