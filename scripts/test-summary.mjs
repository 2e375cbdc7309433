// Sum the test counts of a `npm test` log (cargo test, and ava under each Node.js line that
// node-lines.mjs ran it under) into one line: "tests: N passed, N failed, N skipped". Before it,
// one line per Node.js line's ava run, so a failure says which line it was on.
import fs from 'node:fs'

import { countTests, formatCounts, RUN_HEADER } from './test-counts.mjs'

const log = fs.readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;]*m/g, '')
const headers = [...log.matchAll(RUN_HEADER)]
headers.forEach((h, i) => {
  const section = log.slice(h.index + h[0].length, headers[i + 1]?.index ?? log.length)
  console.log(`ava on Node.js ${h[1]}: ${formatCounts(countTests(section))}`)
})
console.log(`tests: ${formatCounts(countTests(log))}`)
