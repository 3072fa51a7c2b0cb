/**
 * Child process of crash.node.test.ts: writes receipts to a LevelReceiptStore one `put` at a time
 * and prints each index once its `put` has resolved, until it is killed.
 */
import { LevelReceiptStore } from '../src/level.js'
import { makeEntry } from './helpers.js'

const dir = process.argv[2]
if (dir === undefined) throw new Error('usage: crash-child <dir>')
const store = await LevelReceiptStore.open(dir, { maxBytes: 1_000_000 })
for (let i = 0; ; i++) {
  // Batches of two: each batch must land whole or not at all.
  await store.put([await makeEntry(i, { pad: 2000 }), await makeEntry(i, { variant: 1, replayable: false })])
  process.stdout.write(`${i}\n`)
}
