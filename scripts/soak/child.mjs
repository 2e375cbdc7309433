// The parent's handle on a soak server child (server.mjs): start it, ask it for its counters,
// read its RSS, stop it.
import { fork } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

const serverScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server.mjs')

/** Start a soak server child with these Server options; resolves once it listens. */
export function startServer(options) {
  return new Promise((resolve, reject) => {
    const child = fork(serverScript, [JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-8192)
    })
    const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })))
    exited.then(({ code, signal }) => reject(new Error(`the soak server exited before listening (${code ?? signal}): ${stderr}`)))
    child.once('error', reject)
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line)
      if (!m) return reject(new Error(`the soak server said ${JSON.stringify(line)}`))
      resolve(new ServerChild(child, Number(m[1]), exited, () => stderr))
    })
  })
}

class ServerChild {
  #asked = 0
  constructor(child, port, exited, stderr) {
    this.child = child
    this.port = port
    this.exited = exited
    this.stderr = stderr
    this.alive = true
    exited.then(() => (this.alive = false))
  }

  /** The child's snapshot (server.mjs snapshot()): counters, status counts, pool, the app's own. */
  stats(timeoutMs = 30_000) {
    const id = ++this.#asked
    return new Promise((resolve, reject) => {
      if (!this.alive) return reject(new Error(`the soak server is gone: ${this.stderr()}`))
      const timer = setTimeout(() => {
        this.child.off('message', on)
        reject(new Error(`the soak server did not answer a stats request within ${timeoutMs} ms`))
      }, timeoutMs)
      const on = (m) => {
        if (m.type !== 'stats' || m.id !== id) return
        clearTimeout(timer)
        this.child.off('message', on)
        resolve(m.snapshot)
      }
      this.child.on('message', on)
      this.child.send({ type: 'stats', id })
    })
  }

  /**
   * The child's resident set in bytes, read by the parent from /proc (the child does not even
   * wake up for it); elsewhere, what the child says.
   */
  async rss() {
    try {
      const status = fs.readFileSync(`/proc/${this.child.pid}/status`, 'utf8')
      const m = /^VmRSS:\s+(\d+) kB$/m.exec(status)
      if (m) return Number(m[1]) * 1024
    } catch {
      // not Linux, or the child is gone: ask it
    }
    return (await this.stats()).memory.rss
  }

  /** Stop the server and wait for the process to exit (killed if it does not within 15 s). */
  async stop() {
    if (!this.alive) return this.exited
    this.child.send({ type: 'stop' })
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000)
    const r = await this.exited
    clearTimeout(timer)
    return r
  }
}
