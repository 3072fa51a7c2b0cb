/**
 * Property: for random structured programs (expressions, if/else, counted loops, blocks with early
 * exits), the instrumented module validates, computes what the original computes, and uses exactly
 * the fuel a reference interpreter counts (wasmtime's costs); a budget one below that runs out.
 */
import fc from 'fast-check'
import { expect, test } from 'vitest'
import { prepareCoreModule, readCoreModuleInfo, runCoreExport } from '../src/core-module.js'
import { WasmFormatError } from '../src/binary.js'
import { OutOfFuelError, OutOfMemoryError } from '../src/errors.js'
import { instrument } from '../src/meter.js'
import { wat } from './wat.js'

type BinOp = 'add' | 'sub' | 'mul' | 'and' | 'or' | 'xor' | 'shl' | 'shr_u' | 'shr_s' | 'rotl' | 'eq' | 'ne' | 'lt_s' | 'gt_u'
type Expr =
  | { k: 'const', v: number }
  | { k: 'get', n: string }
  | { k: 'bin', op: BinOp, a: Expr, b: Expr }
  | { k: 'eqz', a: Expr }
  | { k: 'select', a: Expr, b: Expr, c: Expr }
  | { k: 'div', a: Expr, b: Expr }
type Stmt =
  | { k: 'set', n: string, e: Expr }
  | { k: 'if', c: Expr, t: Stmt[], f: Stmt[] }
  | { k: 'loop', count: number, body: Stmt[] }
  | { k: 'exit', pre: Stmt[], c: Expr, post: Stmt[] }
  | { k: 'drop', e: Expr }
  | { k: 'nop' }

const BINOPS: BinOp[] = ['add', 'sub', 'mul', 'and', 'or', 'xor', 'shl', 'shr_u', 'shr_s', 'rotl', 'eq', 'ne', 'lt_s', 'gt_u']
const READABLE = ['a', 'b', 'c', 'p0', 'p1']
const WRITABLE = ['a', 'b', 'c']

const leaf: fc.Arbitrary<Expr> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v): Expr => ({ k: 'const', v })),
  fc.constantFrom(...READABLE).map((n): Expr => ({ k: 'get', n }))
)

function exprArb (depth: number): fc.Arbitrary<Expr> {
  if (depth === 0) return leaf
  const sub = exprArb(depth - 1)
  return fc.oneof(
    { arbitrary: leaf, weight: 2 },
    { arbitrary: fc.record({ op: fc.constantFrom(...BINOPS), a: sub, b: sub }).map((r): Expr => ({ k: 'bin', ...r })), weight: 4 },
    { arbitrary: sub.map((a): Expr => ({ k: 'eqz', a })), weight: 1 },
    { arbitrary: fc.tuple(sub, sub, sub).map(([a, b, c]): Expr => ({ k: 'select', a, b, c })), weight: 1 },
    { arbitrary: fc.tuple(sub, sub).map(([a, b]): Expr => ({ k: 'div', a, b })), weight: 1 }
  )
}

function stmtsArb (depth: number, loops: number): fc.Arbitrary<Stmt[]> {
  const e = exprArb(2)
  const simple: fc.Arbitrary<Stmt> = fc.oneof(
    { arbitrary: fc.record({ n: fc.constantFrom(...WRITABLE), e }).map((r): Stmt => ({ k: 'set', ...r })), weight: 5 },
    { arbitrary: e.map((x): Stmt => ({ k: 'drop', e: x })), weight: 1 },
    { arbitrary: fc.constant<Stmt>({ k: 'nop' }), weight: 1 }
  )
  if (depth === 0) return fc.array(simple, { maxLength: 4 })
  const inner = stmtsArb(depth - 1, loops)
  const choices: Array<fc.WeightedArbitrary<Stmt>> = [
    { arbitrary: simple, weight: 4 },
    { arbitrary: fc.record({ c: e, t: inner, f: inner }).map((r): Stmt => ({ k: 'if', ...r })), weight: 2 },
    { arbitrary: fc.record({ pre: inner, c: e, post: inner }).map((r): Stmt => ({ k: 'exit', ...r })), weight: 1 }
  ]
  if (loops < 2) {
    const body = stmtsArb(depth - 1, loops + 1)
    choices.push({ arbitrary: fc.record({ count: fc.integer({ min: 0, max: 4 }), body }).map((r): Stmt => ({ k: 'loop', ...r })), weight: 2 })
  }
  return fc.array(fc.oneof(...choices), { maxLength: 4 })
}

// --- printing -------------------------------------------------------------------------------

function printExpr (e: Expr): string {
  switch (e.k) {
    case 'const': return `(i32.const ${e.v})`
    case 'get': return `(local.get $${e.n})`
    case 'bin': return `(i32.${e.op} ${printExpr(e.a)} ${printExpr(e.b)})`
    case 'eqz': return `(i32.eqz ${printExpr(e.a)})`
    case 'select': return `(select ${printExpr(e.a)} ${printExpr(e.b)} ${printExpr(e.c)})`
    case 'div': return `(i32.div_u ${printExpr(e.a)} (i32.or ${printExpr(e.b)} (i32.const 1)))`
  }
}

function printStmts (stmts: Stmt[], loops: number): string {
  return stmts.map((s) => printStmt(s, loops)).join(' ')
}

function printStmt (s: Stmt, loops: number): string {
  switch (s.k) {
    case 'set': return `(local.set $${s.n} ${printExpr(s.e)})`
    case 'drop': return `(drop ${printExpr(s.e)})`
    case 'nop': return '(nop)'
    case 'if': return `(if ${printExpr(s.c)} (then ${printStmts(s.t, loops)}) (else ${printStmts(s.f, loops)}))`
    case 'exit': return `(block ${printStmts(s.pre, loops)} (br_if 0 ${printExpr(s.c)}) ${printStmts(s.post, loops)})`
    case 'loop': {
      const k = `$k${loops}`
      return `(local.set ${k} (i32.const ${s.count})) (block $b${loops} (loop $l${loops} ` +
        `(br_if $b${loops} (i32.eqz (local.get ${k}))) ${printStmts(s.body, loops + 1)} ` +
        `(local.set ${k} (i32.sub (local.get ${k}) (i32.const 1))) (br $l${loops})))`
    }
  }
}

function printModule (stmts: Stmt[]): string {
  return `(module (func (export "run") (param $p0 i32) (param $p1 i32) (result i32)
    (local $a i32) (local $b i32) (local $c i32) (local $k0 i32) (local $k1 i32)
    ${printStmts(stmts, 0)}
    (i32.xor (local.get $a) (i32.add (local.get $b) (local.get $c)))))`
}

// --- reference interpreter: value and op count (wasmtime costs) -----------------------------

interface State { locals: Map<string, number>, ops: number }

function binop (op: BinOp, a: number, b: number): number {
  const s = b & 31
  switch (op) {
    case 'add': return (a + b) | 0
    case 'sub': return (a - b) | 0
    case 'mul': return Math.imul(a, b)
    case 'and': return a & b
    case 'or': return a | b
    case 'xor': return a ^ b
    case 'shl': return a << s
    case 'shr_u': return (a >>> s) | 0
    case 'shr_s': return a >> s
    case 'rotl': return s === 0 ? a : ((a << s) | (a >>> (32 - s))) | 0
    case 'eq': return a === b ? 1 : 0
    case 'ne': return a !== b ? 1 : 0
    case 'lt_s': return a < b ? 1 : 0
    case 'gt_u': return (a >>> 0) > (b >>> 0) ? 1 : 0
  }
}

function evalExpr (e: Expr, st: State): number {
  st.ops++ // every expression node is one charged instruction ...
  switch (e.k) {
    case 'const': return e.v
    case 'get': return st.locals.get(e.n)!
    case 'bin': return binop(e.op, evalExpr(e.a, st), evalExpr(e.b, st))
    case 'eqz': return evalExpr(e.a, st) === 0 ? 1 : 0
    case 'select': {
      const a = evalExpr(e.a, st)
      const b = evalExpr(e.b, st)
      return evalExpr(e.c, st) !== 0 ? a : b
    }
    case 'div': {
      const a = evalExpr(e.a, st) >>> 0
      st.ops += 2 // ... and div_u also has i32.or and i32.const
      const b = (evalExpr(e.b, st) | 1) >>> 0
      return Math.floor(a / b) | 0
    }
  }
}

function execStmts (stmts: Stmt[], st: State, loops: number): void {
  for (const s of stmts) execStmt(s, st, loops)
}

function execStmt (s: Stmt, st: State, loops: number): void {
  switch (s.k) {
    case 'set': st.locals.set(s.n, evalExpr(s.e, st)); st.ops++; return
    case 'drop': evalExpr(s.e, st); return // drop costs 0
    case 'nop': return
    case 'if': {
      const c = evalExpr(s.c, st)
      st.ops++ // if; else and end cost 0
      execStmts(c !== 0 ? s.t : s.f, st, loops)
      return
    }
    case 'exit': {
      execStmts(s.pre, st, loops)
      const c = evalExpr(s.c, st)
      st.ops++ // br_if
      if (c === 0) execStmts(s.post, st, loops)
      return
    }
    case 'loop': {
      st.ops += 2 // i32.const, local.set
      for (let k = s.count; ; k--) {
        st.ops += 3 // local.get, i32.eqz, br_if
        if (k === 0) return
        execStmts(s.body, st, loops + 1)
        st.ops += 5 // local.get, i32.const, i32.sub, local.set, br
      }
    }
  }
}

function reference (stmts: Stmt[], p0: number, p1: number): { value: number, ops: number } {
  const st: State = { locals: new Map([['a', 0], ['b', 0], ['c', 0], ['p0', p0], ['p1', p1]]), ops: 0 }
  execStmts(stmts, st, 0)
  const l = st.locals
  st.ops += 5
  return { value: l.get('a')! ^ ((l.get('b')! + l.get('c')!) | 0), ops: st.ops }
}

test('random programs: metered output validates, agrees with the original and uses the reference op count', async () => {
  const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
  await fc.assert(fc.asyncProperty(stmtsArb(3, 0), int32, int32, async (stmts, p0, p1) => {
    const bytes = await wat(printModule(stmts))
    const metered = instrument(bytes, { fuel: true, maxMemoryBytes: 65536 })
    expect(WebAssembly.validate(metered as Uint8Array<ArrayBuffer>)).toBe(true)

    const expected = reference(stmts, p0, p1)
    const plain = await prepareCoreModule(bytes)
    expect((await runCoreExport(plain.module, plain.info, 'run', [p0, p1])).value).toBe(expected.value)

    const p = await prepareCoreModule(bytes, { fuel: 1n })
    const result = await runCoreExport(p.module, p.info, 'run', [p0, p1], { fuel: 1_000_000 })
    expect(result).toEqual({ value: expected.value, fuelUsed: BigInt(expected.ops) })
    expect((await runCoreExport(p.module, p.info, 'run', [p0, p1], { fuel: expected.ops })).value).toBe(expected.value)
    await expect(runCoreExport(p.module, p.info, 'run', [p0, p1], { fuel: expected.ops - 1 })).rejects.toBeInstanceOf(OutOfFuelError)

    // The same with the fuel global imported instead of defined.
    const shared = instrument(bytes, { fuel: true, fuelImport: true })
    const info = readCoreModuleInfo(shared)
    expect(info.fuelImported).toBe(true)
    const module = await WebAssembly.compile(shared as Uint8Array<ArrayBuffer>)
    expect(await runCoreExport(module, info, 'run', [p0, p1], { fuel: expected.ops })).toEqual({ value: expected.value, fuelUsed: BigInt(expected.ops) })
  }), { numRuns: 80 })
})

test('mutated modules: instrument either throws WasmFormatError/OutOfMemoryError or, for valid input, emits a valid module', async () => {
  const base = await wat(`(module (memory 1 4) (global $g (mut i32) (i32.const 3)) (table 2 funcref)
    (func $f (param i32) (result i32)
      (block $b (loop $l (br_if $b (i32.eqz (local.get 0)))
        (global.set $g (i32.add (global.get $g) (i32.load offset=4 (local.get 0))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br $l)))
      (drop (memory.grow (i32.const 1)))
      (if (result i32) (i32.gt_s (global.get $g) (i32.const 10)) (then (global.get $g)) (else (call_indirect (param i32) (result i32) (i32.const 0) (i32.const 1)))))
    (elem (i32.const 0) $f)
    (export "f" (func $f)))`)
  let validMutants = 0
  await fc.assert(fc.asyncProperty(
    fc.array(fc.record({ at: fc.nat({ max: base.byteLength - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 3 }),
    async (mutations) => {
      const bytes = base.slice()
      for (const m of mutations) bytes[m.at] = m.value
      let out: Uint8Array
      try {
        out = instrument(bytes, { fuel: true, maxMemoryBytes: 8 * 65536 })
      } catch (err) {
        expect(err instanceof WasmFormatError || err instanceof OutOfMemoryError).toBe(true)
        return
      }
      if (WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
        validMutants++
        expect(WebAssembly.validate(out as Uint8Array<ArrayBuffer>)).toBe(true)
      }
    }), { numRuns: 400 })
  expect(validMutants).toBeGreaterThan(0)
})
