// Page side of bench/runtime-browser.mjs (bundled by esbuild for the browser): the image pipeline
// cold and warm in Chromium with receipts and blocks in IndexedDB. Tasks run in this thread through
// the worker's own task code (runComponentTask), so no worker bundling is needed; warm runs on a
// reopened node use an executor that refuses to run anything.
import { componentBytes } from '../examples/functions/dist/index.js'
import { awaitOk, createIpvm, taskToIpld, wasmTask } from '../packages/ipvm/dist/src/index.js'
import { runComponentTask } from '../packages/wasm/dist/src/executor/component-task.js'

const inThread = {
  concurrency: 1,
  async run (request) {
    const { fuel, memoryBytes } = request.limits
    const out = await runComponentTask({
      kind: 'component', key: request.module.toString(), bytes: request.bytes, func: request.func, args: request.args,
      ...(fuel === undefined ? {} : { fuel }), ...(memoryBytes === undefined ? {} : { memoryBytes })
    })
    return out
  }
}
const refusing = { concurrency: 1, run: async () => { throw new Error('a replay-only node was asked to run a task') } }

window.runBench = async ({ rounds, warm, reopen }) => {
  const png = new Uint8Array(await (await fetch('/sample.png')).arrayBuffer())
  const component = componentBytes()
  const out = { cold: [], warmMemory: [], warmIdbFirst: [], warmIdb: [], lookup: [], userAgent: navigator.userAgent }
  for (let round = 0; round < rounds; round++) {
    const location = `ipvm-bench-${round}-${Date.now()}`
    let ipvm = await createIpvm({ location, executor: inThread })
    const module = await ipvm.add(component)
    const image = await ipvm.add(png)
    const rsc = `ipfs://${module}`
    const meta = { fuel: 40_000_000_000, memory: 512 * 1024 * 1024, time: 120_000 }
    const crop = await wasmTask({ rsc, name: 'crop', func: 'crop', args: [image, 64 + round, 64, 768, 768], meta })
    const rotate = await wasmTask({ rsc, name: 'rotate90', func: 'rotate90', args: [awaitOk(crop)], meta })
    const gray = await wasmTask({ rsc, name: 'grayscale', func: 'grayscale', args: [awaitOk(rotate)], meta })
    const workflow = { name: 'image-pipeline-1mp', workflow: { tasks: [crop, rotate, gray].map((t) => taskToIpld(t.task)) } }
    let t0 = performance.now()
    let result = await ipvm.run(workflow).result
    out.cold.push(performance.now() - t0)
    if (result.tasks.some((t) => t.status !== 'ran')) throw new Error(`cold: ${result.tasks.map((t) => t.status)}`)
    for (let i = 0; i < warm + 5; i++) {
      t0 = performance.now()
      result = await ipvm.run(workflow).result
      if (i >= 5) out.warmMemory.push(performance.now() - t0)
      if (result.tasks.some((t) => t.status !== 'replayed')) throw new Error('warm run executed a task')
    }
    await ipvm.stop()
    for (let k = 0; k < reopen; k++) {
      ipvm = await createIpvm({ location, executor: refusing })
      t0 = performance.now()
      result = await ipvm.run(workflow).result
      const ms = performance.now() - t0
      if (result.tasks.some((t) => t.status !== 'replayed' || t.where !== 'store')) throw new Error(`reopened: ${result.tasks.map((t) => `${t.status}/${t.where}`)}`)
      ;(k === 0 ? out.warmIdbFirst : out.warmIdb).push(ms)
      await ipvm.stop()
    }
    // one receipt lookup by instruction CID straight from the store, on a reopened node
    ipvm = await createIpvm({ location, executor: refusing })
    for (let i = 0; i < 30; i++) {
      t0 = performance.now()
      const hit = await ipvm.store.getByInstruction([crop, rotate, gray][i % 3].instruction)
      if (i >= 5) out.lookup.push(performance.now() - t0)
      if (hit === undefined) throw new Error('receipt missing')
    }
    await ipvm.stop()
  }
  return out
}
window.benchReady = true
