// The Express 5 app of the framework scenarios; wrk asks for `/`.
'use strict'
const express = require('express')
const shared = require('./shared.cjs')

function expressApp(scenario) {
  const app = express()
  if (scenario === 'hello-json') app.get('/', (req, res) => res.json({ message: shared.HELLO }))
  else app.get('/', (req, res) => res.type('text/plain').send(shared.HELLO))
  app.get('/users/:id', (req, res) => res.json({ id: req.params.id }))
  app.post('/users', express.json(), (req, res) => res.status(201).json(req.body))
  app.get('/health', (req, res) => res.send('ok'))
  return app
}

module.exports = { expressApp }
