// An Express 5 app on gatehouse. Node-style handlers must be asked for:
//   npx gatehouse examples/express.js --interface node
//   curl http://127.0.0.1:8080/users/7
//   curl -d '{"name":"pen"}' -H 'Content-Type: application/json' http://127.0.0.1:8080/items
// In your own code: new Server(bind, fromNodeHandler(app)).
const express = require('express')

const app = express()
app.use(express.json())

/** @type {Array<{ id: number, name: string }>} */
const items = []

app.get('/', (req, res) => {
  res.type('text/plain').send('Hello from Express on gatehouse!\n')
})
app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id, from: req.ip })
})
app.post('/items', (req, res) => {
  if (typeof req.body?.name !== 'string') {
    res.status(422).json({ error: 'name must be a string' })
    return
  }
  const item = { id: items.length + 1, name: req.body.name }
  items.push(item)
  res.status(201).location(`/items/${item.id}`).json(item)
})
app.get('/items', (req, res) => {
  res.json(items)
})

exports.app = app
