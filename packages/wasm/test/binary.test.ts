import { describe, expect, it } from 'vitest'
import { renameExports } from '../src/index.js'
import { wat } from './wat.js'

describe('renameExports', () => {
  it('renames every export and keeps the module valid and working', async () => {
    const bytes = await wat('(module (memory (export "memory") 1) (func (export "add_one") (param i32) (result i32) local.get 0 i32.const 1 i32.add))')
    const renamed = renameExports(bytes, (name) => name === 'memory' ? name : name.replaceAll('_', '-'))
    const module = await WebAssembly.compile(renamed as Uint8Array<ArrayBuffer>)
    expect(WebAssembly.Module.exports(module).map((e) => e.name)).toEqual(['memory', 'add-one'])
    const instance = await WebAssembly.instantiate(module)
    expect((instance.exports['add-one'] as (n: number) => number)(41)).toBe(42)
    expect(() => renameExports(Uint8Array.of(0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0), (n) => n)).toThrow(/core module/)
  })
})
