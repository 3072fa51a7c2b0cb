/** `ipvm inspect`: human and JSON output, and one-line errors with exit code 2 for bad files. */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { cli } from './cli.js'

const vectors = fileURLToPath(new URL('../../../../shared/vectors/homestar/', import.meta.url))


describe('ipvm inspect', () => {
  it('prints the workflow CID, instruction CIDs, dependencies and plan', async () => {
    const { code, out, err } = await cli('inspect', join(vectors, 'test-workflow-add-one.json'))
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(out).toContain('workflow  bafyrmialnbzgwscjrq7sa3kdnw2roqdrdzp7xh2tvmo37qmgvarwrhcgre')
    expect(out).toMatch(/0\s+0\s+add_one\s+bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du\s+-\s+-/)
    expect(out).toContain('plan      [#0] → [#1]')
  })

  it('--json prints one object with the documented shape', async () => {
    const { code, out } = await cli('inspect', '--json', join(vectors, 'test-workflow-add-one-part-two.json'))
    expect(code).toBe(0)
    const report = JSON.parse(out) as Record<string, unknown>
    expect(report).toMatchObject({
      workflow: expect.stringMatching(/^bafyrmi/),
      tasks: [{ index: 0, instruction: expect.stringMatching(/^bafyrmi/), task: expect.stringMatching(/^bafyrmi/), awaits: [], external: ['bafyrmigpfy6vvnfmv2wpsnpjmrn6iurejcjhz2doqdl6cfext27etqvi54'], batch: 0, func: 'add_one' }],
      batches: [[0]]
    })
    expect(out.trim().split('\n')).toHaveLength(1)
  })

  it('reads DAG-CBOR files and gives the same CIDs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-inspect-'))
    const json = await cli('inspect', '--json', join(vectors, 'test-workflow-no-awaits2.json'))
    const { parseWorkflow } = await import('@ipvm/core')
    const { readFile } = await import('node:fs/promises')
    const parsed = await parseWorkflow(await readFile(join(vectors, 'test-workflow-no-awaits2.json'), 'utf8'))
    await writeFile(join(dir, 'w.cbor'), parsed.bytes)
    const cbor = await cli('inspect', '--json', join(dir, 'w.cbor'))
    expect(cbor.code).toBe(0)
    expect(JSON.parse(cbor.out)).toEqual(JSON.parse(json.out))
  })

  it('bad files: one line naming the problem, exit code 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-inspect-'))
    const cases: Array<[string, string, RegExp]> = [
      ['broken.json', '{"tasks": [', /^ipvm: WorkflowParseError: not valid DAG-JSON/],
      ['empty-tasks.json', '{"tasks": []}', /^ipvm: WorkflowValidationError: invalid workflow: tasks: expected at least one task, got an empty list\n$/],
      ['bad-op.json', '{"tasks": [{"run": {"rsc": "ipfs://x", "op": 5, "input": {}}}]}', /^ipvm: WorkflowValidationError: invalid workflow: task 0: run.op: expected an ability string/],
      ['dup.json', '{"tasks": [{"run": {"rsc": "ipfs://x", "op": "x/y", "input": {}}}, {"run": {"rsc": "ipfs://x", "op": "x/y", "input": {}}}]}', /^ipvm: DuplicateTaskError: .*use a nonce/],
      ['garbage.cbor', '\u00ff\u00fe', /^ipvm: WorkflowParseError: not valid DAG-CBOR/]
    ]
    for (const [name, content, pattern] of cases) {
      await writeFile(join(dir, name), content)
      const { code, out, err } = await cli('inspect', join(dir, name))
      expect(code, name).toBe(2)
      expect(out, name).toBe('')
      expect(err, name).toMatch(pattern)
      expect(err.trimEnd().split('\n'), name).toHaveLength(1)
    }
    const missing = await cli('inspect', join(dir, 'nope.json'))
    expect(missing).toEqual({ code: 2, out: '', err: `ipvm: ${join(dir, 'nope.json')}: no such file\n` })
  })

  it('usage errors exit 2', async () => {
    expect((await cli()).code).toBe(2)
    expect((await cli('frobnicate')).err).toBe('ipvm: unknown command "frobnicate" (try ipvm --help)\n')
    expect((await cli('inspect')).code).toBe(2)
    expect((await cli('--nope')).code).toBe(2)
    expect((await cli('--help')).code).toBe(0)
  })
})
