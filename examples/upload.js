// An upload that streams the request body to a file, one piece at a time: memory stays flat
// whatever the size, and a slow disk slows the reads (backpressure) instead of filling a buffer.
//   npx gatehouse examples/upload.js
//   curl -T big.iso http://127.0.0.1:8080/big.iso
// Files land in $UPLOAD_DIR (default: gatehouse-uploads in the system's temporary folder).
const { createWriteStream } = require('node:fs')
const { mkdir, rename, rm } = require('node:fs/promises')
const { once } = require('node:events')
const { finished } = require('node:stream/promises')
const { tmpdir } = require('node:os')
const { join } = require('node:path')

const dir = process.env.UPLOAD_DIR || join(tmpdir(), 'gatehouse-uploads')

/**
 * @param {import('@gatehouse/server').StartResponse} startResponse
 * @param {string} status
 * @param {unknown} value
 * @param {Array<[string, string]>} [headers]
 */
function json(startResponse, status, value, headers = []) {
  const body = JSON.stringify(value) + '\n'
  startResponse(status, [['Content-Type', 'application/json'], ...headers])
  return [body]
}

/** @type {import('@gatehouse/server').App} */
const app = async (environ, startResponse) => {
  if (environ.REQUEST_METHOD !== 'PUT' && environ.REQUEST_METHOD !== 'POST') {
    return json(startResponse, '405 Method Not Allowed', { error: 'PUT or POST a body' }, [['Allow', 'PUT, POST']])
  }
  // The file name is the last path segment; nothing that could climb out of `dir`.
  const name = environ.PATH_INFO.slice(1)
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) {
    return json(startResponse, '400 Bad Request', { error: 'name the file in the path: /NAME (letters, digits, . _ -)' })
  }
  await mkdir(dir, { recursive: true })
  const path = join(dir, name)
  const partial = `${path}.${process.pid}.${Date.now()}.part`
  const file = createWriteStream(partial)
  let bytes = 0
  try {
    // `for await` reads wsgi.input as it arrives (read(size) in a loop works the same way).
    for await (const chunk of environ['wsgi.input']) {
      bytes += chunk.length
      if (!file.write(chunk)) await once(file, 'drain')
    }
    file.end()
    await finished(file)
    await rename(partial, path)
  } catch (e) {
    // The client went away, the body was invalid or the disk failed: keep no partial file.
    file.destroy()
    await rm(partial, { force: true })
    throw e
  }
  return json(startResponse, '201 Created', { name, bytes })
}

module.exports = { app }
