// Handler for bench/pool.bench.mjs (plain JS, so the built pool loads it without any loader).
let cached

export async function init (options) {
  if (options?.module !== undefined) cached = (await WebAssembly.instantiate(options.module)).exports
}

export async function run (job) {
  switch (job.kind) {
    case 'add': return cached.add(job.a, job.b) // instance made once in init
    case 'call': return (await WebAssembly.instantiate(job.module)).exports[job.export](...job.args)
    case 'spin': return (await WebAssembly.instantiate(job.module)).exports.spin()
    default: throw new Error(`unknown job ${job.kind}`)
  }
}
