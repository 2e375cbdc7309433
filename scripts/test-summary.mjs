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
for (const m of log.matchAll(/^\s+(\d+) tests? passed/gm)) passed += Number(m[1])
for (const m of log.matchAll(/^\s+(\d+) tests? failed/gm)) failed += Number(m[1])
for (const m of log.matchAll(/^\s+(\d+) (?:tests? )?(?:were )?skipped/gm)) skipped += Number(m[1])
for (const m of log.matchAll(/^\s+(\d+) (?:uncaught exceptions?|unhandled rejections?|tests? remained pending after a timeout)/gm)) failed += Number(m[1])
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
