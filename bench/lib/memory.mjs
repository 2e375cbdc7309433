// Memory of a server process, from /proc/PID/status (Linux).
import { readFileSync } from 'node:fs'
import { delay } from './procs.mjs'

/** { rssKiB, hwmKiB } of a process: VmRSS now, and VmHWM (the peak RSS since it started). */
export function readMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)
    if (!m) throw new Error(`no ${name} in /proc/${pid}/status`)
    return Number(m[1])
  }
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') }
}

/** The median of `count` VmRSS readings `everyMs` apart: one reading can catch a GC half-way. */
export async function steadyRss(pid, count = 5, everyMs = 200) {
  const readings = []
  for (let i = 0; i < count; i++) {
    if (i > 0) await delay(everyMs)
    readings.push(readMemory(pid).rssKiB)
  }
  readings.sort((a, b) => a - b)
  return readings[Math.floor(readings.length / 2)]
}

/** Sample VmRSS every `everyMs` until stop(); stop() resolves with { maxRssKiB, samples }. */
export function sampleRss(pid, everyMs = 50) {
  let maxRssKiB = 0
  let samples = 0
  const take = () => {
    try {
      maxRssKiB = Math.max(maxRssKiB, readMemory(pid).rssKiB)
      samples++
    } catch {
      // the process is gone; stop() tells the caller
    }
  }
  take()
  const timer = setInterval(take, everyMs)
  return {
    stop() {
      clearInterval(timer)
      take()
      return { maxRssKiB, samples }
    },
  }
}
