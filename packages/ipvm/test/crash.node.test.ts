/**
 * Crash safety of the real CLI: kill the process (SIGKILL, no chance to clean up) at random points
 * of a multi-task workflow, many times; after each kill, the rerun loses no receipt and reruns
 * nothing that had finished. Runs the built CLI (`npm run build`), as a user would.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { awaitOk, parseCID, taskToIpld, toDagJson, wasmTask } from '@ipvm/core'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = join(root, 'packages/ipvm/dist/bin/ipvm.js')
const moduleFile = join(root, 'examples/functions/dist/functions.wasm')
const imageFile = join(root, 'examples/image-pipeline/public/sample.png')

interface Line { type: string, instruction?: string, replayed?: boolean, status?: string }

function start (args: string[]): { child: ChildProcess, lines: AsyncIterable<string> } {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  return { child, lines: createInterface({ input: child.stdout! }) }
}

async function runToEnd (args: string[]): Promise<{ code: number | null, events: Line[], stdout: string }> {
  const { child, lines } = start(args)
  const events: Line[] = []
  let stdout = ''
  for await (const line of lines) {
    stdout += line + '\n'
    if (line.startsWith('{')) events.push(JSON.parse(line) as Line)
  }
  const code = await new Promise<number | null>((resolve) => { child.once('exit', resolve); if (child.exitCode !== null) resolve(child.exitCode) })
  return { code, events, stdout }
}

describe.skipIf(!existsSync(cli) || !existsSync(moduleFile))('crash safety (kill -9 during ipvm run)', () => {
  it('after every kill, the rerun replays all that finished and completes the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-crash-'))
    try {
      // private copies: the inputs must not change under the test (a rebuild rewrites them)
      await copyFile(moduleFile, join(dir, 'functions.wasm'))
      await copyFile(imageFile, join(dir, 'sample.png'))
      const module_ = join(dir, 'functions.wasm')
      const image_ = join(dir, 'sample.png')
      const setup = await runToEnd(['add', '--json', module_, image_, '--store', join(dir, 'seed')])
      expect(setup.code).toBe(0)
      const [module, image] = setup.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { uri: string, cid: string }))
      // 10 tasks: 6 independent blurs and a chain of 4 (each a real image function).
      const meta = { memory: 256 * 1024 * 1024, time: 60_000 }
      const tasks = []
      for (let i = 0; i < 6; i++) tasks.push(await wasmTask({ rsc: module!.uri, func: 'blur', args: [parseCID(image!.cid), 1 + i / 2], meta }))
      let previous = await wasmTask({ rsc: module!.uri, func: 'crop', args: [parseCID(image!.cid), 0, 0, 300, 200], meta })
      tasks.push(previous)
      for (const func of ['rotate90', 'grayscale', 'rotate90']) {
        previous = await wasmTask({ rsc: module!.uri, func, args: [awaitOk(previous)], meta })
        tasks.push(previous)
      }
      const workflow = toDagJson({ tasks: tasks.map((t) => taskToIpld(t.task)) })
      const file = join(dir, 'workflow.json')
      await writeFile(file, workflow)

      for (let round = 0; round < 5; round++) {
        const store = join(dir, `store-${round}`)
        expect((await runToEnd(['add', module_, image_, '--store', store])).code).toBe(0)
        // kill after a random number of finished tasks (0..8)
        const killAfter = Math.floor(Math.random() * 9)
        const { child, lines } = start(['run', '--json', file, '--store', store])
        const finishedBeforeKill = new Set<string>()
        for await (const line of lines) {
          if (!line.startsWith('{')) continue
          const event = JSON.parse(line) as Line
          if (event.type === 'task:ran') finishedBeforeKill.add(event.instruction!)
          if (finishedBeforeKill.size >= killAfter) {
            child.kill('SIGKILL')
            break
          }
        }
        await new Promise((resolve) => { if (child.exitCode !== null || child.signalCode !== null) resolve(null); else child.once('exit', resolve) })

        const rerun = await runToEnd(['run', '--json', file, '--store', store])
        expect(rerun.code, rerun.stdout).toBe(0)
        const finals = rerun.events.filter((e) => e.type === 'task:ran' || e.type === 'task:replayed' || e.type === 'task:failed')
        expect(finals).toHaveLength(10)
        expect(finals.every((e) => e.type !== 'task:failed')).toBe(true)
        const rerunRan = new Set(finals.filter((e) => e.type === 'task:ran').map((e) => e.instruction!))
        for (const instruction of finishedBeforeKill) expect(rerunRan.has(instruction), `round ${round}: ${instruction} finished before the kill but ran again`).toBe(false)
        expect(rerun.events.at(-1)).toMatchObject({ type: 'workflow:finished', status: 'completed' })
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 180_000)
})
