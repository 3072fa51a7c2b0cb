#!/usr/bin/env node
// The main job, as a person would run it: add the guest module and a sample image, run the image
// pipeline (crop → rotate90 → grayscale), run it again (everything replayed from receipts), then run
// the blur variant (crop and rotate90 replayed, only blur runs). Uses a fresh store each time unless
// IPVM_DEMO_STORE is set.
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const store = process.env.IPVM_DEMO_STORE ?? mkdtempSync(join(tmpdir(), 'ipvm-demo-'))
const cli = join(root, 'packages/ipvm/dist/bin/ipvm.js')

function ipvm (...args) {
  console.log(`\n$ ipvm ${args.join(' ')}`)
  const result = spawnSync(process.execPath, [cli, ...args, '--store', store], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

ipvm('add', 'examples/functions/dist/functions.wasm', 'examples/image-pipeline/public/sample.png')
ipvm('run', 'examples/workflows/image-pipeline.json')
ipvm('run', 'examples/workflows/image-pipeline.json')
ipvm('run', 'examples/workflows/image-pipeline-blur.json')
console.log(`\nreceipts, blocks and this node's key are in ${store}`)
