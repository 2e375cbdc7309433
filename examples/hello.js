// The smallest gatehouse application: `npx gatehouse examples/hello.js`.
function app(environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']])
  return ['Hello, World!\n']
}

module.exports = { app }
