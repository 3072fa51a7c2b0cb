/**
 * The component model's type language as plain objects, and the canonical ABI's static facts about
 * each type: size, alignment and flattening (CanonicalABI.md "Despecialization", "Alignment",
 * "Element Size", "Flattening").
 */

export type PrimitiveKind = 'bool' | 's8' | 'u8' | 's16' | 'u16' | 's32' | 'u32' | 's64' | 'u64' | 'f32' | 'f64' | 'char' | 'string'

export interface Field { name: string, type: ValType }
export interface Case { name: string, type: ValType | undefined }

/** A component-model value type. `name` is the WIT name when the type was imported/exported under one. */
export type ValType = (
  | { kind: PrimitiveKind }
  | { kind: 'list', elem: ValType }
  | { kind: 'record', fields: Field[] }
  | { kind: 'tuple', types: ValType[] }
  | { kind: 'variant', cases: Case[] }
  | { kind: 'enum', names: string[] }
  | { kind: 'option', type: ValType }
  | { kind: 'result', ok: ValType | undefined, err: ValType | undefined }
  | { kind: 'flags', names: string[] }
  | { kind: 'own' | 'borrow' }
) & { name?: string }

export interface FuncType { kind: 'func', params: Field[], result: ValType | undefined }
export interface ResourceType { kind: 'resource' }
export interface InstanceType { kind: 'instance', exports: Map<string, ExternType> }
export interface ComponentType { kind: 'component', imports: Map<string, ExternType>, exports: Map<string, ExternType> }
export interface CoreModuleType { kind: 'core-module' }
export interface CoreFuncType { kind: 'core-func' }

/** Anything a type index can point at. */
export type TypeDef = ValType | FuncType | ResourceType | InstanceType | ComponentType | CoreModuleType | CoreFuncType

/** What an import or export is: its sort and its type. */
export type ExternType =
  | { sort: 'func', type: FuncType }
  | { sort: 'instance', type: InstanceType }
  | { sort: 'component', type: ComponentType }
  | { sort: 'type', type: TypeDef }
  | { sort: 'module', type: CoreModuleType }
  | { sort: 'value', type: TypeDef }

export type CoreValType = 'i32' | 'i64' | 'f32' | 'f64'

const PRIMITIVES = ['bool', 's8', 'u8', 's16', 'u16', 's32', 'u32', 's64', 'u64', 'f32', 'f64', 'char', 'string'] as const
/** Shared primitive type objects: the parser returns these, never copies. */
export const prim = Object.fromEntries(PRIMITIVES.map((k) => [k, { kind: k }])) as { [K in PrimitiveKind]: { kind: K } }

export function isValType (t: TypeDef): t is ValType {
  return !['func', 'resource', 'instance', 'component', 'core-module', 'core-func'].includes(t.kind)
}

/** True when the type (transitively) holds a resource handle. */
export function usesResources (t: TypeDef | undefined, seen = new Set<TypeDef>()): boolean {
  if (t === undefined || seen.has(t)) return false
  seen.add(t)
  switch (t.kind) {
    case 'own': case 'borrow': case 'resource': return true
    case 'list': return usesResources(t.elem, seen)
    case 'option': return usesResources(t.type, seen)
    case 'record': return t.fields.some((f) => usesResources(f.type, seen))
    case 'tuple': return t.types.some((e) => usesResources(e, seen))
    case 'variant': return t.cases.some((c) => usesResources(c.type, seen))
    case 'result': return usesResources(t.ok, seen) || usesResources(t.err, seen)
    case 'func': return t.params.some((p) => usesResources(p.type, seen)) || usesResources(t.result, seen)
    case 'instance': return [...t.exports.values()].some((e) => usesResources(e.type, seen))
    default: return false
  }
}

/** The WIT spelling of a type, for error messages. */
export function witName (t: ValType | undefined): string {
  if (t === undefined) return '_'
  const body = witBody(t)
  return t.name === undefined ? body : `${t.name} (${body})`
}

function witBody (t: ValType): string {
  switch (t.kind) {
    case 'list': return `list<${witName(t.elem)}>`
    case 'option': return `option<${witName(t.type)}>`
    case 'tuple': return `tuple<${t.types.map(witName).join(', ')}>`
    case 'result': return `result<${witName(t.ok)}, ${witName(t.err)}>`
    case 'record': return `record { ${t.fields.map((f) => `${f.name}: ${witName(f.type)}`).join(', ')} }`
    case 'variant': return `variant { ${t.cases.map((c) => c.type === undefined ? c.name : `${c.name}(${witName(c.type)})`).join(', ')} }`
    case 'enum': return `enum { ${t.names.join(', ')} }`
    case 'flags': return `flags { ${t.names.join(', ')} }`
    default: return t.kind
  }
}

// ---- canonical ABI: layout -------------------------------------------------------------------

/** The discriminant's byte width for a variant with `n` cases. */
export function discriminantSize (n: number): 1 | 2 | 4 {
  return n <= 0x100 ? 1 : n <= 0x10000 ? 2 : 4
}

function flagsSize (n: number): number {
  return n === 0 ? 0 : n <= 8 ? 1 : n <= 16 ? 2 : 4 * Math.ceil(n / 32)
}

export function alignTo (offset: number, align: number): number {
  return Math.ceil(offset / align) * align
}

function caseTypes (t: ValType): (ValType | undefined)[] {
  switch (t.kind) {
    case 'variant': return t.cases.map((c) => c.type)
    case 'option': return [undefined, t.type]
    case 'result': return [t.ok, t.err]
    default: return []
  }
}

/** Number of cases of a variant-like type (variant, enum, option, result). */
export function caseCount (t: ValType): number {
  return t.kind === 'enum' ? t.names.length : caseTypes(t).length
}

/** Cached layout facts, computed once per type object. */
interface Layout { size: number, align: number, flat: CoreValType[], payloadOffset: number }
const layouts = new WeakMap<ValType, Layout>()

export function layout (t: ValType): Layout {
  let l = layouts.get(t)
  if (l === undefined) {
    l = computeLayout(t)
    layouts.set(t, l)
  }
  return l
}

function recordLayout (types: ValType[]): Layout {
  let size = 0
  let align = 1
  const flat: CoreValType[] = []
  for (const ft of types) {
    const f = layout(ft)
    size = alignTo(size, f.align) + f.size
    align = Math.max(align, f.align)
    flat.push(...f.flat)
  }
  return { size: alignTo(size, align), align, flat, payloadOffset: 0 }
}

function joinFlat (a: CoreValType, b: CoreValType): CoreValType {
  if (a === b) return a
  if ((a === 'i32' && b === 'f32') || (a === 'f32' && b === 'i32')) return 'i32'
  return 'i64'
}

function variantLayout (cases: (ValType | undefined)[]): Layout {
  const disc = discriminantSize(cases.length)
  let caseAlign = 1
  let caseSize = 0
  const payload: CoreValType[] = []
  for (const ct of cases) {
    if (ct === undefined) continue
    const c = layout(ct)
    caseAlign = Math.max(caseAlign, c.align)
    caseSize = Math.max(caseSize, c.size)
    c.flat.forEach((ft, i) => { payload[i] = i < payload.length ? joinFlat(payload[i]!, ft) : ft })
  }
  const align = Math.max(disc, caseAlign)
  const payloadOffset = alignTo(disc, caseAlign)
  return { size: alignTo(payloadOffset + caseSize, align), align, flat: ['i32', ...payload], payloadOffset }
}

function computeLayout (t: ValType): Layout {
  const simple = (size: number, flat: CoreValType): Layout => ({ size, align: size, flat: [flat], payloadOffset: 0 })
  switch (t.kind) {
    case 'bool': case 's8': case 'u8': return simple(1, 'i32')
    case 's16': case 'u16': return simple(2, 'i32')
    case 's32': case 'u32': case 'char': return simple(4, 'i32')
    case 's64': case 'u64': return simple(8, 'i64')
    case 'f32': return simple(4, 'f32')
    case 'f64': return simple(8, 'f64')
    case 'string': case 'list': return { size: 8, align: 4, flat: ['i32', 'i32'], payloadOffset: 0 }
    case 'record': return recordLayout(t.fields.map((f) => f.type))
    case 'tuple': return recordLayout(t.types)
    case 'flags': {
      const size = flagsSize(t.names.length)
      return { size, align: Math.min(size, 4) || 1, flat: new Array<CoreValType>(Math.ceil(t.names.length / 32)).fill('i32'), payloadOffset: 0 }
    }
    case 'enum': {
      const size = discriminantSize(t.names.length)
      return { size, align: size, flat: ['i32'], payloadOffset: 0 }
    }
    case 'variant': case 'option': case 'result': return variantLayout(caseTypes(t))
    case 'own': case 'borrow': return simple(4, 'i32')
  }
}

/** The payload types of a variant-like type, by case index. */
export { caseTypes }

/** Flat core types of a list of types (params or results), before the MAX_FLAT limits. */
export function flattenTypes (types: ValType[]): CoreValType[] {
  return types.flatMap((t) => layout(t).flat)
}

export const MAX_FLAT_PARAMS = 16
export const MAX_FLAT_RESULTS = 1
