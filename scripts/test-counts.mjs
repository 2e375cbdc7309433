// The test counts in the text of a test run: cargo test's "test result:" lines and ava's
// per-test lines. One place for the patterns, used by test-summary.mjs (a whole `npm test` log)
// and node-lines.mjs (one ava run per Node.js line).

/** Counts of passed, failed and skipped tests in `text` (ANSI colours are ignored). */
export function countTests(text) {
  const log = text.replace(/\x1b\[[0-9;]*m/g, '')
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
  return { passed, failed, skipped }
}

/** "N passed, N failed, N skipped". */
export function formatCounts({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed, ${skipped} skipped`
}

/**
 * The line node-lines.mjs prints before each ava run, and how test-summary.mjs finds the runs in a
 * log: `ava under Node.js v24.22.3`.
 */
export const RUN_HEADER = /^node-lines: ava under Node\.js (v\d+\.\d+\.\d+)\b.*$/gm
export function runHeader(version, where) {
  return `node-lines: ava under Node.js ${version} (${where})`
}
