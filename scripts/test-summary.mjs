// Sum the test counts of a `npm test` log (cargo test and ava) into one line:
// "tests: N passed, N failed".
import fs from 'node:fs'

const log = fs.readFileSync(process.argv[2], 'utf8').replace(/\x1b\[[0-9;]*m/g, '')
let passed = 0
let failed = 0
let skipped = 0
for (const m of log.matchAll(/^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/gm)) {
  passed += Number(m[1])
  failed += Number(m[2])
  skipped += Number(m[3])
}
// ava (verbose): one line per test, ✔ passed, ✘ failed, - skipped. Its closing counts leave the
// passed ones out when something failed, so the per-test lines are what is counted.
passed += (log.match(/^\s+✔ /gm) ?? []).length
failed += (log.match(/^\s+✘ /gm) ?? []).length
skipped += (log.match(/^\s+- \[skip\]/gm) ?? []).length
for (const m of log.matchAll(/^\s+(\d+) (?:uncaught exceptions?|unhandled rejections?|tests? remained pending after a timeout)/gm)) failed += Number(m[1])
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
