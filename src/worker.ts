/**
 * The entry of an `appThreads` worker thread: load the application module, attach this thread
 * to the server as a lane, and serve the requests the core hands it.
 */
import { parentPort, workerData } from 'node:worker_threads'

import type { EnvironBase } from './environ'
import { Gateway } from './gateway'
import { loadApp, registerTsxInWorker } from './load'
import { binding } from './native'
import type { AppInterface } from './types'

/** What the main thread sends each worker. */
export interface WorkerData {
  key: number
  app: string
  /** What the module exports (the `interface` option). */
  interface: AppInterface
  base: Omit<EnvironBase, 'errors'>
}

const data = workerData as WorkerData
const errors = { write: (s: string) => process.stderr.write(s), flush: () => undefined }

registerTsxInWorker()
  .then(() => loadApp(data.app, data.interface))
  .then(
    (app) => {
      new Gateway((onBatch) => binding.attachLane(data.key, onBatch), app, { ...data.base, errors })
      parentPort?.postMessage({ ready: true })
    },
    (e: unknown) => parentPort?.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  )
