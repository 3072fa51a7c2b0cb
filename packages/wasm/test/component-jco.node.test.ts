// Differential test: the same component run by our runtime and by `jco transpile` output must give
// the same results. jco's JavaScript conventions differ (option → value|undefined, result errors
// thrown, flags → {name: bool}, camelCase names, typed arrays), so values are converted by WIT type.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { transpile } from '@bytecodealliance/jco'
import { afterAll, beforeAll, expect, test } from 'vitest'
import {
  type ComponentInstance, componentFunctions, type FuncType, instantiateComponent, loadComponent, type ValType, type WitValue
} from '../src/component/index.js'
import { loadFixture } from './fixtures/load.js'

type JcoFn = (...args: unknown[]) => unknown
const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase())

function toJco (v: unknown, t: ValType): unknown {
  switch (t.kind) {
    case 'option': {
      const o = v as { tag: string, val?: unknown }
      return o.tag === 'none' ? undefined : toJco(o.val, t.type)
    }
    case 'result': {
      const r = v as { tag: string, val?: unknown }
      const inner = r.tag === 'ok' ? t.ok : t.err
      return { tag: r.tag, val: inner === undefined ? undefined : toJco(r.val, inner) }
    }
    case 'variant': {
      const r = v as { tag: string, val?: unknown }
      const c = t.cases.find((x) => x.name === r.tag)!
      return { tag: r.tag, val: c.type === undefined ? undefined : toJco(r.val, c.type) }
    }
    case 'flags': return Object.fromEntries(t.names.map((n) => [camel(n), (v as string[]).includes(n)]))
    case 'record': return Object.fromEntries(t.fields.map((f) => [camel(f.name), toJco((v as Record<string, unknown>)[f.name], f.type)]))
    case 'tuple': return t.types.map((et, i) => toJco((v as unknown[])[i], et))
    case 'list': return v instanceof Uint8Array ? v : (v as unknown[]).map((x) => toJco(x, t.elem))
    default: return v
  }
}

function fromJco (v: unknown, t: ValType): unknown {
  switch (t.kind) {
    case 'option': return v === undefined ? { tag: 'none', val: undefined } : { tag: 'some', val: fromJco(v, t.type) }
    case 'result': return { tag: 'ok', val: t.ok === undefined ? undefined : fromJco(v, t.ok) } // errors arrive thrown
    case 'variant': {
      const r = v as { tag: string, val?: unknown }
      const c = t.cases.find((x) => x.name === r.tag)!
      return { tag: r.tag, val: c.type === undefined ? undefined : fromJco(r.val, c.type) }
    }
    case 'flags': return t.names.filter((n) => (v as Record<string, boolean>)[camel(n)])
    case 'record': return Object.fromEntries(t.fields.map((f) => [f.name, fromJco((v as Record<string, unknown>)[camel(f.name)], f.type)]))
    case 'tuple': return t.types.map((et, i) => fromJco((v as unknown[])[i], et))
    case 'list': {
      if (t.elem.kind === 'u8') return new Uint8Array(v as ArrayLike<number>)
      return Array.from(v as ArrayLike<unknown>, (x) => fromJco(x, t.elem))
    }
    default: return v
  }
}

function callJco (fn: JcoFn, type: FuncType, args: unknown[]): unknown {
  try {
    const out = fn(...args.map((a, i) => toJco(a, type.params[i]!.type)))
    return type.result === undefined ? undefined : fromJco(out, type.result)
  } catch (err) {
    const payload = (err as { payload?: unknown }).payload
    if (type.result?.kind === 'result' && payload !== undefined) {
      return { tag: 'err', val: type.result.err === undefined ? undefined : fromJco(payload, type.result.err) }
    }
    return { threw: (err as Error).constructor.name }
  }
}

function callOurs (inst: ComponentInstance, name: string, args: unknown[]): unknown {
  try {
    return inst.call(name, ...args)
  } catch (err) {
    return { threw: (err as Error).name }
  }
}

const CASES: [string, unknown[]][] = [
  ['add-one', [41]], ['add-one', [2147483647]], ['add-one', [-2147483648]], ['negate', [true]],
  ['inc-s8', [127]], ['inc-u8', [255]], ['inc-s16', [-32768]], ['inc-u16', [65535]], ['inc-u32', [4294967295]],
  ['inc-s64', [9007199254740993n]], ['inc-u64', [18446744073709551615n]], ['half-f32', [0.1]], ['half-f64', [-7.5]],
  ['subtract-int', [-128, 1]], ['next-char', ['a']], ['next-char', ['\u{10fffe}']], ['shout', ['héllo 😀']],
  ['reverse-bytes', [Uint8Array.of(1, 2, 3, 250)]], ['range', [6]], ['transpose', [[[1, 2, 3], [4, 5, 6]]]],
  ['move-point', [{ x: -1, y: 2, label: 'ü' }, 3]], ['labels', [[{ x: 1, y: 2, label: 'a' }, { x: 3, y: 4, label: '' }]]],
  ['swap', [[65535, 'z']]], ['grow', [{ tag: 'circle', val: 0.1 }]], ['grow', [{ tag: 'rect', val: [1, 40000] }]],
  ['grow', [{ tag: 'big', val: 12345678901234n }]], ['grow', [{ tag: 'empty' }]], ['next-color', ['green']],
  ['toggle', [['write']]], ['maybe-double', [{ tag: 'some', val: 2147483648 }]], ['maybe-double', [{ tag: 'none' }]],
  ['safe-div', [-7, 2]], ['safe-div', [1, 0]], ['num-to-kv', [{ tag: 'ok', val: 4294967295 }]],
  ['num-to-kv', [{ tag: 'err', val: 'x' }]], ['sum-kv', [[['a', 1], ['b', 2]]]],
  ['sum17', Array.from({ length: 17 }, (_, i) => i * 1000)], ['greet', ['jco']], ['now', []], ['boom', [3]]
]

let dir: string
let jco: Record<string, unknown>
let ours: ComponentInstance
let types: Map<string, FuncType>

const host = () => ({ seconds: 5n, milliseconds: 6, nanoseconds: 7 })

beforeAll(async () => {
  const bytes = await loadFixture('guest.component.wasm')
  types = componentFunctions(loadComponent(bytes))
  const { files } = await transpile(bytes, { name: 'guest', instantiation: 'async' }) as { files: Record<string, Uint8Array> }
  dir = mkdtempSync(join(tmpdir(), 'ipvm-jco-'))
  for (const [path, content] of Object.entries(files)) {
    const out = join(dir, path.replace(/\.js$/, '.mjs'))
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, content)
  }
  const mod = await import(pathToFileURL(join(dir, 'guest.mjs')).href) as {
    instantiate: (get: (p: string) => Promise<WebAssembly.Module>, imports: object) => Promise<Record<string, unknown>>
  }
  const noop = (): void => undefined
  jco = await mod.instantiate((p) => WebAssembly.compile(files[p]! as Uint8Array<ArrayBuffer>), {
    'wasi:logging/logging': { log: noop }, 'homestar:host/helpers': { getCurrentTime: host, print: noop }
  })
  ours = await instantiateComponent(bytes, { 'homestar:host/helpers': { 'get-current-time': host, print: noop } })
})

afterAll(() => { if (dir !== undefined) rmSync(dir, { recursive: true, force: true }) })

test('our runtime and jco transpile agree on every case', () => {
  for (const [name, args] of CASES) {
    const type = types.get(name)!
    const expected = callJco(jco[camel(name)] as JcoFn, type, args)
    expect(callOurs(ours, name, args) as WitValue, `${name}(${args.map(String).join(', ')})`).toEqual(expected)
  }
  const add = (jco['calc'] as Record<string, JcoFn>)['add']!
  expect(ours.call('ipvm:fixtures/calc@0.1.0#add', 0.1, 0.2)).toBe(add(0.1, 0.2))
})

test('both trap on the same input', () => {
  expect(callJco(jco['boom'] as JcoFn, types.get('boom')!, [0])).toEqual({ threw: 'RuntimeError' })
  expect(callOurs(ours, 'boom', [0])).toEqual({ threw: 'WasmTrapError' })
})
