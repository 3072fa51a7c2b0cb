// The bench handler, bundled into the bench's worker entry (see worker.ts).
let add: ((a: number, b: number) => number) | undefined

export async function init (options: { module: WebAssembly.Module }): Promise<void> {
  add = (await WebAssembly.instantiate(options.module)).exports['add'] as (a: number, b: number) => number
}

type Job = { kind: 'add', a: number, b: number } | { kind: 'spin', module: WebAssembly.Module }

export async function run (job: Job): Promise<number> {
  if (job.kind === 'add') return add!(job.a, job.b)
  const instance = await WebAssembly.instantiate(job.module)
  return (instance.exports['spin'] as () => number)()
}
