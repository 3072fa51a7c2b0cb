import { describe, expect, it } from 'vitest'
import { awaitError, awaitOk, awaitResult, cidOf, linksIn, parseWorkflow, planWorkflow, taskToIpld, toDagJson, wasmTask } from '../src/index.js'

const MODULE = 'ipfs://bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq'

describe('workflow builder', () => {
  it("builds Homestar's add-one chain with the same instruction CIDs", async () => {
    const first = await wasmTask({ rsc: MODULE, func: 'add_one', args: [1] })
    const second = await wasmTask({ rsc: MODULE, func: 'add_one', args: [awaitOk(first)] })
    expect(first.instruction.toString()).toBe('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')
    const parsed = await parseWorkflow(toDagJson({ tasks: [taskToIpld(first.task), taskToIpld(second.task)] }))
    expect(parsed.tasks[1]!.dependencies).toEqual([0])
    expect(parsed.tasks[1]!.instruction.toString()).toBe(second.instruction.toString())
    expect(planWorkflow(parsed).batches).toEqual([[0], [1]])
  })

  it('makes the three await forms and accepts a CID object as rsc', async () => {
    const first = await wasmTask({ rsc: MODULE, func: 'f', args: [] })
    const cid = first.instruction
    expect(Object.keys(awaitOk(first))).toEqual(['await/ok'])
    expect(Object.keys(awaitError(cid))).toEqual(['await/error'])
    expect(Object.keys(awaitResult(cid.toString()))).toEqual(['await/*'])
    const byCid = await wasmTask({ rsc: cid, func: 'f', args: [] })
    expect(byCid.task.run.rsc).toBe(`ipfs://${cid.toString()}`)
  })
})

describe('resourceCid', () => {
  const cid = 'bafkreiaordu77rtndozz5a5tlfqn7exv574uxnbjclo42lpuybe7grjvuq'
  it('reads ipfs:// URIs, /ipfs/ paths and subdomain gateways; nothing else', async () => {
    const { resourceCid } = await import('../src/index.js')
    expect(resourceCid(`ipfs://${cid}`)?.toString()).toBe(cid)
    expect(resourceCid(`ipfs://${cid}/file.wasm?x=1`)?.toString()).toBe(cid)
    expect(resourceCid(`https://gateway.example/ipfs/${cid}`)?.toString()).toBe(cid)
    expect(resourceCid(`https://${cid}.ipfs.dweb.example/`)?.toString()).toBe(cid)
    expect(resourceCid('https://example.com/module.wasm')).toBeUndefined()
    expect(resourceCid('ipfs://not-a-cid')).toBeUndefined()
  })
})

describe('linksIn', () => {
  it('finds every link once, in nested lists and maps and inside awaits, in the order first met', async () => {
    const [x, y, z] = await Promise.all([cidOf(1), cidOf(2), cidOf(3)])
    expect(linksIn([x, { a: [y, { 'await/ok': z }], b: x }, 'text', 4, new Uint8Array([1])]).map(String)).toEqual([x, y, z].map(String))
    expect(linksIn({ n: 1, s: 'a', l: [true, null] })).toEqual([])
    expect(linksIn(undefined)).toEqual([])
  })
})
