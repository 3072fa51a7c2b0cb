/**
 * Known-answer vectors from Homestar and the UCAN Invocation v0.2 spec (../shared/vectors): ipvm must
 * name things exactly as Homestar and its JavaScript client do.
 */
import addOnePartOne from '@vectors/homestar/test-workflow-add-one-part-one.json?raw'
import addOnePartTwo from '@vectors/homestar/test-workflow-add-one-part-two.json?raw'
import addOne from '@vectors/homestar/test-workflow-add-one.json?raw'
import jco from '@vectors/homestar/test-workflow-jco.json?raw'
import noAwaits1 from '@vectors/homestar/test-workflow-no-awaits1.json?raw'
import noAwaits2 from '@vectors/homestar/test-workflow-no-awaits2.json?raw'
import specExecutorReceipt from '@vectors/spec/ucan-invocation-v0.2_8-3-1-issued-by-executor.json?raw'
import specDelegateReceipt from '@vectors/spec/ucan-invocation-v0.2_8-3-2-issued-by-delegate.json?raw'
import specEffectsReceipt from '@vectors/spec/ucan-invocation-v0.2_8-3-3-receipt-with-effects.json?raw'
import { base16 } from 'multiformats/bases/base16'
import { base32hex } from 'multiformats/bases/base32'
import { describe, expect, it } from 'vitest'
import { encode, instructionCid, instructionToIpld, isOk, parseDagJson, parseWorkflow, planWorkflow, readReceipt, receiptCid, toDagJson } from '../src/index.js'

const ADD_ONE_INSTRUCTION = 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du'
const ADD_ONE_INSTRUCTION_CBOR = 'a4626f70687761736d2f72756e636e6e6360637273637842697066733a2f2f62616679626569626b34326a7768713777327a6370653671337767746c6575677033796d6673337061356765726a6d6e616b716968687178347a7165696e707574a2646172677381016466756e63676164645f6f6e65'
const ADD_ONE_WORKFLOW = 'bafyrmialnbzgwscjrq7sa3kdnw2roqdrdzp7xh2tvmo37qmgvarwrhcgre'

describe('Homestar known answers', () => {
  it('add-one: instruction CID and DAG-CBOR bytes of task 0', async () => {
    const workflow = await parseWorkflow(addOne)
    const first = workflow.tasks[0]!
    expect(first.instruction.toString()).toBe(ADD_ONE_INSTRUCTION)
    expect(base16.baseEncode(encode(instructionToIpld(first.task.run)))).toBe(ADD_ONE_INSTRUCTION_CBOR)
  })

  it('add-one: the workflow CID Homestar asserts (fuel above u64 hashed as a float64)', async () => {
    const workflow = await parseWorkflow(addOne)
    expect(workflow.cid.toString()).toBe(ADD_ONE_WORKFLOW)
    expect(typeof workflow.workflow.tasks[0]!.meta.fuel).toBe('number')
  })

  it('add-one: task 1 awaits task 0 (await/ok), planned after it', async () => {
    const workflow = await parseWorkflow(addOne)
    const second = workflow.tasks[1]!
    expect(second.awaits).toHaveLength(1)
    expect(second.awaits[0]!.kind).toBe('await/ok')
    expect(second.awaits[0]!.instruction.toString()).toBe(ADD_ONE_INSTRUCTION)
    expect(second.awaits[0]!.path).toBe('run.input.args[0]')
    expect(second.dependencies).toEqual([0])
    expect(second.external).toEqual([])
    expect(planWorkflow(workflow).batches).toEqual([[0], [1]])
  })

  it('the same workflow text, DAG-CBOR bytes, parsed object and envelope give the same CIDs', async () => {
    const fromText = await parseWorkflow(addOne)
    const fromCbor = await parseWorkflow(fromText.bytes)
    const fromBytesJson = await parseWorkflow(new TextEncoder().encode(addOne))
    const fromObject = await parseWorkflow(JSON.parse(addOne) as object)
    const fromEnvelope = await parseWorkflow(`{"name": "add-one", "workflow": ${addOne}}`)
    for (const other of [fromCbor, fromBytesJson, fromObject, fromEnvelope]) {
      expect(other.cid.toString()).toBe(fromText.cid.toString())
      expect(other.tasks.map((t) => t.instruction.toString())).toEqual(fromText.tasks.map((t) => t.instruction.toString()))
    }
    expect(fromEnvelope.name).toBe('add-one')
  })

  it('no-awaits1 and no-awaits2 share one instruction (one shared receipt)', async () => {
    const one = await parseWorkflow(noAwaits1)
    const two = await parseWorkflow(noAwaits2)
    const first = new Set(one.tasks.map((t) => t.instruction.toString()))
    const shared = two.tasks.filter((t) => first.has(t.instruction.toString()))
    expect(shared).toHaveLength(1)
    expect(shared[0]!.instruction.toString()).toBe(one.tasks[0]!.instruction.toString())
    expect(shared[0]!.index).toBe(1)
    // a bare link argument is content, not an await
    expect(one.tasks[0]!.awaits).toEqual([])
    expect(planWorkflow(one).batches).toEqual([[0]])
  })

  it('part two awaits an instruction outside its own file: an external dependency, not an error', async () => {
    const partOne = await parseWorkflow(addOnePartOne)
    const partTwo = await parseWorkflow(addOnePartTwo)
    const task = partTwo.tasks[0]!
    expect(task.dependencies).toEqual([])
    expect(task.external.map(String)).toEqual(['bafyrmigpfy6vvnfmv2wpsnpjmrn6iurejcjhz2doqdl6cfext27etqvi54'])
    expect(partOne.tasks[0]!.instruction.toString()).toBe(ADD_ONE_INSTRUCTION)
    expect(planWorkflow(partTwo).batches).toEqual([[0]])
  })

  it('jco: an await whose link matches no task is reported as external', async () => {
    const workflow = await parseWorkflow(jco)
    expect(workflow.tasks[1]!.external.map(String)).toEqual(['bafyrmigltroc4nrdaskjselusvfcuooc52k2rl7nmrf72edbauyptmx5bq'])
    expect(workflow.tasks[1]!.dependencies).toEqual([])
  })
})

describe('nonces keep the form they arrived in', () => {
  const run = (nnc: string) => `{"rsc":"ipfs://bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq","op":"wasm/run","input":{"func":"add_one","args":[1]}${nnc}}`
  const workflowWith = (nnc: string) => `{"tasks":[{"cause":null,"meta":{},"prf":[],"run":${run(nnc)}}]}`

  it('the string form is the base32hex-lower of the 12 bytes', () => {
    expect(base32hex.baseEncode(base16.baseDecode('0f30d302d534046b3e3cdf14'))).toBe('1sod60ml6g26mfhsrsa0')
  })

  it('absent, empty, string and bytes nonces', async () => {
    const absent = await parseWorkflow(workflowWith(''))
    const empty = await parseWorkflow(workflowWith(',"nnc":""'))
    const asString = await parseWorkflow(workflowWith(',"nnc":"1sod60ml6g26mfhsrsa0"'))
    const asBytes = await parseWorkflow(workflowWith(',"nnc":{"/":{"bytes":"DzDTAtU0BGs+PN8U"}}'))
    const bytes16 = await parseWorkflow(workflowWith(',"nnc":{"/":{"bytes":"TFNTM0Z0ditHdHE5OTY1TQ"}}'))
    expect(absent.tasks[0]!.instruction.toString()).toBe(ADD_ONE_INSTRUCTION)
    expect(empty.tasks[0]!.instruction.toString()).toBe(ADD_ONE_INSTRUCTION)
    expect(asString.workflow.tasks[0]!.run.nnc).toBe('1sod60ml6g26mfhsrsa0')
    const nonceBytes = asBytes.workflow.tasks[0]!.run.nnc
    expect(nonceBytes).toBeInstanceOf(Uint8Array)
    expect(base16.baseEncode(nonceBytes as Uint8Array)).toBe('0f30d302d534046b3e3cdf14')
    expect((bytes16.workflow.tasks[0]!.run.nnc as Uint8Array).byteLength).toBe(16)
    const cids = new Set([absent, asString, asBytes, bytes16].map((w) => w.tasks[0]!.instruction.toString()))
    expect(cids.size).toBe(4)
    // the instruction CID is recomputable from the parsed instruction alone
    expect((await instructionCid(asBytes.workflow.tasks[0]!.run)).toString()).toBe(asBytes.tasks[0]!.instruction.toString())
  })
})

describe('UCAN Invocation v0.2 spec receipts', () => {
  it('reads the spec examples (keyed results, `s` signatures, effects)', async () => {
    const byExecutor = readReceipt(parseDagJson(specExecutorReceipt))
    expect(isOk(byExecutor.out)).toBe(true)
    expect(byExecutor.sig?.byteLength).toBeGreaterThan(64)
    expect(byExecutor.ran.toString()).toBe('bafyreia5tctxekbm5bmuf6tsvragyvjdiiceg5q6wghfjiqczcuevmdqcu')
    const byDelegate = readReceipt(parseDagJson(specDelegateReceipt))
    expect(byDelegate.iss).toMatch(/^did:/)
    const withEffects = readReceipt(parseDagJson(specEffectsReceipt))
    expect(withEffects.fx.fork.length + (withEffects.fx.join === undefined ? 0 : 1)).toBeGreaterThan(0)
    // what we write round-trips through our reader
    const again = readReceipt(parseDagJson(toDagJson({ ...withEffects, out: withEffects.out })))
    expect((await receiptCid(again)).toString()).toBe((await receiptCid(withEffects)).toString())
  })

  it("reads Homestar's list results and runtime receipt form", () => {
    const homestar = parseDagJson('{"cid":{"/":"bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du"},"instruction":{"/":"bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du"},"iss":null,"meta":null,"out":["ok",true],"prf":[],"ran":{"/":"bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du"},"version":"0.2.0"}')
    const receipt = readReceipt(homestar)
    expect(receipt.out).toEqual({ ok: true })
    expect(receipt.iss).toBeNull()
    expect(receipt.fx).toEqual({ fork: [] })
  })
})
