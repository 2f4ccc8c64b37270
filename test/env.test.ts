// Checks that tests run on the bundled Node (>= 22), which libp2p requires.
import { test } from 'node:test'
import assert from 'node:assert/strict'

test('runs on Node >= 22', () => {
  const major = Number(process.versions.node.split('.')[0])
  assert.ok(major >= 22, `Node ${process.versions.node} is too old`)
})
