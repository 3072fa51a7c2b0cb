/** `ipvm add` and `ipvm run`: CIDs, the table, JSON lines per event, exit codes, --store. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { awaitOk, taskToIpld, toDagJson, wasmTask } from '@ipvm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from './cli.js'

const moduleFile = fileURLToPath(new URL('../../../examples/functions/dist/functions.wasm', import.meta.url))


describe('ipvm add / ipvm run', () => {
  let dir: string
  let store: string
  let rsc: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipvm-cli-'))
    store = join(dir, 'store')
    const added = await cli('add', moduleFile, '--store', store, '--pool', '1')
    expect(added.code).toBe(0)
    rsc = added.out.trim()
    expect(rsc).toMatch(/^ipfs:\/\/bafkrei[a-z2-7]+$/)
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('add prints the same CID for the same bytes, and JSON with --json', async () => {
    const again = await cli('add', '--json', moduleFile, '--store', join(dir, 'other'))
    expect(JSON.parse(again.out)).toMatchObject({ uri: rsc, file: moduleFile })
  })

  it('run: a table, then everything replayed; --json gives one object per event with instruction, replayed and out', async () => {
    const one = await wasmTask({ rsc, func: 'add-one', args: [1] })
    const two = await wasmTask({ rsc, func: 'add-one', args: [awaitOk(one)] })
    const file = join(dir, 'chain.json')
    await writeFile(file, toDagJson({ tasks: [taskToIpld(one.task), taskToIpld(two.task)] }))
    const first = await cli('run', file, '--store', store, '--pool', '1')
    expect(first.code, first.err).toBe(0)
    expect(first.out).toMatch(/status\s+completed: 2 ran, 0 replayed, 0 failed/)
    expect(first.out).toMatch(/1\s+add-one\s+bafyrmi\S+\s+ran/)
    const second = await cli('run', '--json', file, '--store', store, '--pool', '1')
    expect(second.code).toBe(0)
    const events = second.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(events.filter((e) => e.type === 'store:warning')).toEqual([])
    const finals = events.filter((e) => e.type === 'task:replayed')
    expect(finals).toEqual([
      expect.objectContaining({ instruction: one.instruction.toString(), replayed: true, out: { ok: 2 } }),
      expect.objectContaining({ instruction: two.instruction.toString(), replayed: true, out: { ok: 3 } })
    ])
    expect(events.at(-1)).toMatchObject({ type: 'workflow:finished', status: 'completed', replayed: 2 })
  })

  it('exit 1 when a task fails (its error receipt in the table), 2 for bad input', async () => {
    const bad = await wasmTask({ rsc, func: 'add-one', args: ['one'] })
    const file = join(dir, 'bad.json')
    await writeFile(file, toDagJson({ tasks: [taskToIpld(bad.task)] }))
    const failed = await cli('run', file, '--store', store, '--pool', '1')
    expect(failed.code).toBe(1)
    expect(failed.out).toMatch(/failed\s.*ArgumentTypeError/)
    await writeFile(join(dir, 'broken.json'), '{"tasks": 5}')
    const broken = await cli('run', join(dir, 'broken.json'), '--store', store)
    expect(broken.code).toBe(2)
    expect(broken.err).toMatch(/^ipvm: WorkflowValidationError: invalid workflow: tasks: expected a list of tasks/)
    expect((await cli('run', file, '--pool', 'zero')).code).toBe(2)
  })
})
