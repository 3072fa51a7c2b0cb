/** Test parts: real WebAssembly core modules run in-thread, real stores, real content. */
import type { CID } from '@ipvm/core'
import { MemoryBlockstore, MemoryReceiptStore, type ReceiptStore } from '@ipvm/store'
import { prepareCoreModule, runCoreExport } from '@ipvm/wasm'
import { wat } from '../../wasm/test/wat.js'
import { blockstoreContent } from '../src/content.js'
import type { WasmExecutor, WasmRunRequest } from '../src/executor.js'
import { createIpvmFromParts, type Ipvm, type IpvmInit } from '../src/runtime.js'

/**
 * Runs core modules on the calling thread (no pool): the same metering and ABI code the workers
 * use, so scheduler tests exercise real Wasm. Records every call.
 */
export function directExecutor (): WasmExecutor & { calls: WasmRunRequest[] } {
  const calls: WasmRunRequest[] = []
  return {
    concurrency: 2,
    calls,
    async run (request, options = {}) {
      calls.push(request)
      options.signal?.throwIfAborted()
      const prepared = await prepareCoreModule(request.bytes, request.limits)
      const limits = { ...(request.limits.fuel === undefined ? {} : { fuel: request.limits.fuel }), ...(request.limits.memoryBytes === undefined ? {} : { memoryBytes: request.limits.memoryBytes }) }
      const result = await runCoreExport(prepared.module, prepared.info, request.func, request.args, limits)
      return result.fuelUsed === undefined ? { value: result.value } : { value: result.value, fuelUsed: result.fuelUsed }
    }
  }
}

export const MATH_WAT = `(module
  (func (export "add_one") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "double") (param i64) (result i64) local.get 0 i64.const 2 i64.mul)
  (func (export "fail") (param i32) (result i32) unreachable)
  (func (export "spin") (param i32) (result i32) (loop br 0) i32.const 0)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s))`

export interface TestNode {
  ipvm: Ipvm
  store: ReceiptStore
  blocks: MemoryBlockstore
  executor: ReturnType<typeof directExecutor>
  module: CID
  rsc: string
}

export async function testNode (init: Partial<IpvmInit> = {}, store: ReceiptStore = new MemoryReceiptStore(), blocks = new MemoryBlockstore()): Promise<TestNode> {
  const executor = directExecutor()
  const content = blockstoreContent(blocks)
  const module = await content.add(await wat(MATH_WAT))
  const ipvm = await createIpvmFromParts({ store, content, executor, ...init })
  return { ipvm, store, blocks, executor, module, rsc: `ipfs://${module.toString()}` }
}
