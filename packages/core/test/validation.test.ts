/** Every malformed workflow gets a typed error naming the task, the field and what was expected. */
import { describe, expect, it } from 'vitest'
import { DuplicateTaskError, parseWorkflow, type ValidationIssue, WorkflowParseError, WorkflowValidationError } from '../src/index.js'

const MODULE = 'ipfs://bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq'
const run = (extra: Record<string, unknown> = {}) => ({ rsc: MODULE, op: 'wasm/run', input: { func: 'add_one', args: [1] }, nnc: '', ...extra })
const task = (runValue: unknown = run(), extra: Record<string, unknown> = {}) => ({ cause: null, meta: {}, prf: [], run: runValue, ...extra })

async function issuesOf (input: unknown): Promise<ValidationIssue[]> {
  try {
    await parseWorkflow(input as object)
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowValidationError)
    expect((err as WorkflowValidationError).code).toBe('ERR_INVALID_WORKFLOW')
    return (err as WorkflowValidationError).issues
  }
  throw new Error('expected a WorkflowValidationError')
}

describe('workflow validation', () => {
  it('rejects documents that are not workflows', async () => {
    expect(await issuesOf([])).toEqual([{ path: '', expected: 'a workflow map {"tasks": [...]}', got: 'a list' }])
    expect((await issuesOf({}))[0]).toMatchObject({ path: 'tasks', expected: 'a list of tasks', got: 'nothing' })
    expect((await issuesOf({ tasks: [] }))[0]).toMatchObject({ path: 'tasks', got: 'an empty list' })
    expect((await issuesOf({ workflow: 5 }))[0]).toMatchObject({ path: 'workflow' })
  })

  it('names the task index and field of missing or mistyped fields', async () => {
    const issues = await issuesOf({ tasks: [task(), task(run({ rsc: 42, op: '' })), { cause: null, meta: {}, prf: [] }] })
    expect(issues).toContainEqual({ task: 1, path: 'run.rsc', expected: 'a URI string such as "ipfs://<cid>"', got: 'an integer' })
    expect(issues).toContainEqual({ task: 1, path: 'run.op', expected: 'an ability string such as "wasm/run"', got: 'the string ""' })
    expect(issues).toContainEqual({ task: 2, path: 'run', expected: 'an instruction map {rsc, op, input, nnc}', got: 'nothing' })
  })

  it('checks wasm/run inputs, nonces, meta limits, cause and proofs', async () => {
    const issues = await issuesOf({
      tasks: [
        task(run({ input: { func: 7 } })),
        task(run({ nnc: 12 })),
        task(run(), { meta: { fuel: 'lots' } }),
        task(run(), { cause: 'yesterday', prf: ['x'] }),
        task(run({ rsc: 'not a url' })),
        task(run(), { meta: [] })
      ]
    })
    const where = issues.map((i) => `${i.task}:${i.path}`)
    expect(where).toEqual(expect.arrayContaining(['0:run.input.func', '0:run.input.args', '1:run.nnc', '2:meta.fuel', '3:cause', '3:prf[0]', '4:run.rsc', '5:meta']))
    const message = new WorkflowValidationError(issues).message
    expect(message).toMatch(/^invalid workflow: task 0: run.input.func: expected the name of an exported function, got an integer \(and \d+ more\)$/)
  })

  it('rejects unknown await keys and awaits that do not hold a link', async () => {
    const cid = { '/': 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du' }
    const issues = await issuesOf({
      tasks: [
        task(run({ input: { func: 'f', args: [{ 'await/maybe': cid }] } })),
        task(run({ input: { func: 'f', args: [{ nested: [{ 'await/ok': 'bafy-not-a-link' }] }] } }))
      ]
    })
    expect(issues).toContainEqual({ task: 0, path: 'run.input.args[0].await/maybe', expected: 'an await key: "await/ok", "await/error" or "await/*"', got: '"await/maybe"' })
    expect(issues).toContainEqual({ task: 1, path: 'run.input.args[0].nested[0].await/ok', expected: 'a link to an instruction ({"/": "<cid>"})', got: 'the string "bafy-not-a-link"' })
  })

  it('refuses a link where an expanded instruction must be', async () => {
    const issues = await issuesOf({ tasks: [task({ '/': 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du' })] })
    expect(issues[0]).toMatchObject({ task: 0, path: 'run', got: 'a link' })
  })

  it('refuses duplicate instructions and suggests a nonce, as Homestar does', async () => {
    const err = await parseWorkflow({ tasks: [task(), task(run(), { meta: { fuel: 5 } })] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DuplicateTaskError)
    expect((err as DuplicateTaskError).tasks).toEqual([0, 1])
    expect((err as DuplicateTaskError).message).toContain('workflow cannot contain duplicate tasks')
    expect((err as DuplicateTaskError).message).toContain('use a nonce (nnc field) to ensure uniqueness')
    // a nonce makes them distinct
    const ok = await parseWorkflow({ tasks: [task(), task(run({ nnc: 'a' }))] })
    expect(ok.tasks).toHaveLength(2)
  })

  it('reports bad CIDs, bad JSON and bad CBOR as parse errors with the problem', async () => {
    await expect(parseWorkflow('{"tasks": [')).rejects.toBeInstanceOf(WorkflowParseError)
    await expect(parseWorkflow('{"tasks": [{"run": {"/": "bafyNOTACID"}}]}')).rejects.toThrow(/not valid DAG-JSON/)
    await expect(parseWorkflow({ tasks: [task(run({ input: { func: 'f', args: [{ 'await/ok': { '/': 'not-a-cid' } }] } }))] })).rejects.toThrow(/not a valid CID/)
    await expect(parseWorkflow(Uint8Array.of(0xa1, 0x65))).rejects.toThrow(/not valid DAG-CBOR/)
    await expect(parseWorkflow(new Uint8Array(0))).rejects.toThrow(/empty/)
    await expect(parseWorkflow('{"tasks": []}', { maxBytes: 4 })).rejects.toMatchObject({ code: 'ERR_WORKFLOW_PARSE' })
    await expect(parseWorkflow({ tasks: [task(), task(run({ nnc: 'x' }))] }, { maxTasks: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_WORKFLOW' })
    await expect(parseWorkflow({ tasks: [task(run({ input: { func: 'f', args: [Number.NaN] } }))] })).rejects.toThrow(/NaN is not an IPLD number/)
    await expect(parseWorkflow({ tasks: [task(run({ input: { func: 'f', args: [undefined] } }))] })).rejects.toThrow(/args\[0\]: undefined is not an IPLD value/)
  })

  it('honours an aborted signal', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(parseWorkflow({ tasks: [task()] }, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('ignores unknown keys (the JS client `name` label) but keeps it as a label', async () => {
    const plain = await parseWorkflow({ tasks: [task()] })
    const labelled = await parseWorkflow({ tasks: [task(run({ name: 'increment' }), { extra: true })] })
    expect(labelled.tasks[0]!.instruction.toString()).toBe(plain.tasks[0]!.instruction.toString())
    expect(labelled.cid.toString()).toBe(plain.cid.toString())
    expect(labelled.tasks[0]!.label).toBe('increment')
  })

  it('accepts an IPLD link as rsc, as Homestar does', async () => {
    const fromLink = await parseWorkflow({ tasks: [task(run({ rsc: { '/': 'bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq' } }))] })
    expect(fromLink.workflow.tasks[0]!.run.rsc).toBe(MODULE)
  })
})
