/**
 * Parser of the component binary format (component-model Binary.md) into a list of definitions in
 * binary order. Types are resolved while parsing (each type index becomes a plain object, see
 * types.ts), so instantiation only replays the runtime definitions.
 */
import { ByteReader, readCustomSection, WasmFormatError } from '../binary.js'
import { UnsupportedComponentError } from './errors.js'
import {
  type Case, type ComponentType, type ExternType, type Field, type FuncType, type InstanceType,
  isValType, prim, type TypeDef, type ValType
} from './types.js'

/** An index space a definition adds to or refers to. Core sorts are prefixed with `core-`. */
export type Sort =
  | 'core-func' | 'core-table' | 'core-memory' | 'core-global' | 'core-type' | 'core-module' | 'core-instance' | 'core-tag'
  | 'func' | 'value' | 'type' | 'component' | 'instance'

export interface CanonOptions {
  encoding: 'utf8' | 'utf16' | 'latin1+utf16'
  memory?: number
  realloc?: number
  postReturn?: number
  async?: boolean
}

export interface SortIndex { name: string, sort: Sort, index: number }

/** One runtime definition. Type-only definitions are resolved by the parser and not listed. */
export type Definition =
  | { kind: 'core-module', bytes: Uint8Array }
  | { kind: 'core-instantiate', module: number, args: { name: string, instance: number }[] }
  | { kind: 'core-exports', exports: SortIndex[] }
  | { kind: 'core-alias', sort: Sort, instance: number, name: string }
  | { kind: 'alias', sort: Sort, instance: number, name: string }
  | { kind: 'outer-alias', sort: Sort, count: number, index: number }
  | { kind: 'lift', coreFunc: number, options: CanonOptions, type: FuncType }
  | { kind: 'lower', func: number, options: CanonOptions }
  | { kind: 'import', name: string, type: ExternType }
  | { kind: 'export', name: string, sort: Sort, index: number }
  | { kind: 'component', component: ParsedComponent }
  | { kind: 'instantiate', component: number, args: SortIndex[] }
  | { kind: 'instance-exports', exports: SortIndex[] }
  | { kind: 'unsupported', what: string }

/** A parsed component: its definitions in order, and its imports' and exports' types. */
export interface ParsedComponent {
  definitions: Definition[]
  imports: Map<string, ExternType>
  exports: Map<string, ExternType>
  /** Custom sections by name (the payload bytes). */
  custom: Map<string, Uint8Array>
}

/** A static index-space scope: a component, a component type or an instance type. */
class Scope {
  types: TypeDef[] = []
  funcs: FuncType[] = []
  instances: InstanceType[] = []
  components: ComponentType[] = []
  coreTypes = 0
  constructor (readonly parent?: Scope) {}

  type (index: number): TypeDef {
    const t = this.types[index]
    if (t === undefined) throw new WasmFormatError(`type index ${index} out of range`)
    return t
  }

  /** Adds what an import/export/alias of `type` defines to the matching index space. */
  add (type: ExternType): void {
    switch (type.sort) {
      case 'func': this.funcs.push(type.type); break
      case 'instance': this.instances.push(type.type); break
      case 'component': this.components.push(type.type); break
      case 'type': this.types.push(type.type); break
      case 'module': break
      case 'value': throw new UnsupportedComponentError('component value imports/exports are not supported')
    }
  }
}

// Keys are the binary sort codes (core: 0x00 func … 0x10 type, 0x11 module, 0x12 instance).
const CORE_SORTS: Record<number, Sort> = { 0: 'core-func', 1: 'core-table', 2: 'core-memory', 3: 'core-global', 4: 'core-tag', 16: 'core-type', 17: 'core-module', 18: 'core-instance' }
const SORTS: Record<number, Sort> = { 1: 'func', 2: 'value', 3: 'type', 4: 'component', 5: 'instance' }
// Primitive value type codes, 0x7f (bool) down to 0x73 (string).
const PRIM_CODES: Record<number, ValType> = Object.fromEntries(
  (['bool', 's8', 'u8', 's16', 'u16', 's32', 'u32', 's64', 'u64', 'f32', 'f64', 'char', 'string'] as const).map((k, i) => [0x7f - i, prim[k]])
)

function unsupported (what: string): never {
  throw new UnsupportedComponentError(`unsupported component feature: ${what}`)
}

function readSort (r: ByteReader): Sort {
  const b = r.u8()
  if (b === 0) {
    const core = r.u8()
    return CORE_SORTS[core] ?? r.fail(`unknown core sort 0x${core.toString(16)}`)
  }
  return SORTS[b] ?? r.fail(`unknown sort 0x${b.toString(16)}`)
}

/** importname'/exportname': a plain name (0x00) or an older interface-name form (0x01). */
function readExternName (r: ByteReader): string {
  const b = r.u8()
  if (b === 0x00 || b === 0x01) return r.name()
  return unsupported(`extern name encoding 0x${b.toString(16)}`)
}

function vec<T> (r: ByteReader, read: () => T): T[] {
  const n = r.u32()
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(read())
  return out
}

function readValType (r: ByteReader, scope: Scope): ValType {
  // A valtype is an s33: negative values are the primitive codes, others type indexes.
  const v = r.s64()
  if (v < 0n) {
    const code = Number(v) + 0x80
    return PRIM_CODES[code] ?? unsupported(`value type 0x${code.toString(16)}`)
  }
  const t = scope.type(Number(v))
  if (!isValType(t)) r.fail(`type index ${v} is a ${t.kind} type, not a value type`)
  return t
}

function readOptional<T> (r: ByteReader, read: () => T): T | undefined {
  const b = r.u8()
  if (b === 0) return undefined
  if (b === 1) return read()
  return r.fail(`bad option flag 0x${b.toString(16)}`)
}

function readDefType (r: ByteReader, scope: Scope): TypeDef {
  const code = r.peek()
  if (PRIM_CODES[code] !== undefined) {
    r.u8()
    return PRIM_CODES[code]!
  }
  r.u8()
  switch (code) {
    case 0x72: return { kind: 'record', fields: vec(r, () => ({ name: r.name(), type: readValType(r, scope) } satisfies Field)) }
    case 0x71: return {
      kind: 'variant',
      cases: vec(r, () => {
        const c: Case = { name: r.name(), type: readOptional(r, () => readValType(r, scope)) }
        if (r.u8() !== 0) unsupported('variant case refinement')
        return c
      })
    }
    case 0x70: return { kind: 'list', elem: readValType(r, scope) }
    case 0x67: return unsupported('fixed-size lists')
    case 0x6f: return { kind: 'tuple', types: vec(r, () => readValType(r, scope)) }
    case 0x6e: return { kind: 'flags', names: vec(r, () => r.name()) }
    case 0x6d: return { kind: 'enum', names: vec(r, () => r.name()) }
    case 0x6b: return { kind: 'option', type: readValType(r, scope) }
    case 0x6a: return { kind: 'result', ok: readOptional(r, () => readValType(r, scope)), err: readOptional(r, () => readValType(r, scope)) }
    case 0x69: r.u32(); return { kind: 'own' }
    case 0x68: r.u32(); return { kind: 'borrow' }
    case 0x66: case 0x65: case 0x64: return unsupported('async streams, futures and error-context')
    case 0x40: return readFuncType(r, scope)
    case 0x43: return unsupported('async functions')
    case 0x41: return readComponentType(r, scope)
    case 0x42: return readInstanceType(r, scope)
    case 0x3f: return unsupported('resource type definitions (resources)')
    default: return r.fail(`unknown type code 0x${code.toString(16)}`)
  }
}

function readFuncType (r: ByteReader, scope: Scope): FuncType {
  const params = vec(r, () => ({ name: r.name(), type: readValType(r, scope) }))
  const tag = r.u8()
  let result: ValType | undefined
  if (tag === 0x00) result = readValType(r, scope)
  else if (tag === 0x01) {
    // Older binaries: a (possibly empty) list of named results. One unnamed result is the norm now.
    const named = vec(r, () => ({ name: r.name(), type: readValType(r, scope) }))
    if (named.length === 1) result = named[0]!.type
    else if (named.length > 1) result = { kind: 'record', fields: named }
  } else r.fail(`bad result list 0x${tag.toString(16)}`)
  return { kind: 'func', params, result }
}

/** Reads an externdesc and what it adds to `scope` (type bounds create a new type index). */
function readExternDesc (r: ByteReader, scope: Scope, name: string): ExternType {
  const b = r.u8()
  switch (b) {
    case 0x00:
      if (r.u8() !== 0x11) r.fail('bad core extern desc')
      r.u32()
      return { sort: 'module', type: { kind: 'core-module' } }
    case 0x01: {
      const t = scope.type(r.u32())
      if (t.kind !== 'func') r.fail(`${name}: func import of a ${t.kind} type`)
      return { sort: 'func', type: t }
    }
    case 0x02: return unsupported('value imports/exports')
    case 0x03: {
      const bound = r.u8()
      if (bound === 0x00) {
        const t = scope.type(r.u32())
        // A named copy, so error messages can say `point` rather than only the structure.
        return { sort: 'type', type: isValType(t) && t.name === undefined ? { ...t, name: localName(name) } : t }
      }
      if (bound === 0x01) return { sort: 'type', type: { kind: 'resource' } }
      return r.fail(`bad type bound 0x${bound.toString(16)}`)
    }
    case 0x04: {
      const t = scope.type(r.u32())
      if (t.kind !== 'component') r.fail(`${name}: component import of a ${t.kind} type`)
      return { sort: 'component', type: t }
    }
    case 0x05: {
      const t = scope.type(r.u32())
      if (t.kind !== 'instance') r.fail(`${name}: instance import of a ${t.kind} type`)
      return { sort: 'instance', type: t }
    }
    default: return r.fail(`bad extern desc 0x${b.toString(16)}`)
  }
}

function localName (name: string): string {
  return name.replace(/^.*[/#]/, '').replace(/@.*$/, '')
}

function readCoreType (r: ByteReader, scope: Scope): void {
  const code = r.u8()
  if (code !== 0x60) unsupported(`core type 0x${code.toString(16)} (core module types)`)
  // Core function types only matter to the core engine; skip the value types.
  for (let k = 0; k < 2; k++) {
    const n = r.u32()
    for (let i = 0; i < n; i++) {
      const vt = r.u8()
      if (vt === 0x63 || vt === 0x64) r.s64()
    }
  }
  scope.coreTypes++
}

/** Reads an alias and applies it to a type scope (only outer type aliases and instance-export aliases). */
function aliasInTypeScope (r: ByteReader, scope: Scope): void {
  const sort = readSort(r)
  const target = r.u8()
  if (target === 0x02) {
    let outer: Scope | undefined = scope
    for (let n = r.u32(); n > 0; n--) outer = outer?.parent
    const index = r.u32()
    if (outer === undefined) r.fail('outer alias beyond the outermost scope')
    if (sort === 'type') scope.types.push(outer.type(index))
    else if (sort === 'core-type') scope.coreTypes++
    else unsupported(`outer alias of a ${sort}`)
  } else if (target === 0x00) {
    const instance = scope.instances[r.u32()] ?? r.fail('instance index out of range')
    const name = r.name()
    const ext = instance.exports.get(name) ?? r.fail(`instance has no export ${name}`)
    if (ext.sort !== sort) r.fail(`alias of ${name}: expected a ${sort}, found a ${ext.sort}`)
    scope.add(ext)
  } else unsupported('core export alias inside a type')
}

function readInstanceType (r: ByteReader, parent: Scope): InstanceType {
  const scope = new Scope(parent)
  const exports = new Map<string, ExternType>()
  for (let n = r.u32(); n > 0; n--) readDecl(r, scope, exports, undefined)
  return { kind: 'instance', exports }
}

function readComponentType (r: ByteReader, parent: Scope): ComponentType {
  const scope = new Scope(parent)
  const imports = new Map<string, ExternType>()
  const exports = new Map<string, ExternType>()
  for (let n = r.u32(); n > 0; n--) readDecl(r, scope, exports, imports)
  return { kind: 'component', imports, exports }
}

function readDecl (r: ByteReader, scope: Scope, exports: Map<string, ExternType>, imports: Map<string, ExternType> | undefined): void {
  const b = r.u8()
  switch (b) {
    case 0x00: readCoreType(r, scope); break
    case 0x01: scope.types.push(readDefType(r, scope)); break
    case 0x02: aliasInTypeScope(r, scope); break
    case 0x03: {
      if (imports === undefined) r.fail('import declaration in an instance type')
      const name = readExternName(r)
      const ext = readExternDesc(r, scope, name)
      imports.set(name, ext)
      scope.add(ext)
      break
    }
    case 0x04: {
      const name = readExternName(r)
      const ext = readExternDesc(r, scope, name)
      exports.set(name, ext)
      scope.add(ext)
      break
    }
    default: r.fail(`bad type declaration 0x${b.toString(16)}`)
  }
}

function readCanonOptions (r: ByteReader): CanonOptions {
  const options: CanonOptions = { encoding: 'utf8' }
  for (let n = r.u32(); n > 0; n--) {
    const b = r.u8()
    switch (b) {
      case 0x00: options.encoding = 'utf8'; break
      case 0x01: options.encoding = 'utf16'; break
      case 0x02: options.encoding = 'latin1+utf16'; break
      case 0x03: options.memory = r.u32(); break
      case 0x04: options.realloc = r.u32(); break
      case 0x05: options.postReturn = r.u32(); break
      case 0x06: options.async = true; break
      case 0x07: r.u32(); options.async = true; break
      default: r.fail(`unknown canon option 0x${b.toString(16)}`)
    }
  }
  if (options.encoding !== 'utf8') unsupported(`string encoding ${options.encoding}`)
  if (options.async === true) unsupported('async lift/lower')
  return options
}

/** Parses a component binary (the bytes must start with the component preamble). */
export function parseComponent (bytes: Uint8Array): ParsedComponent {
  return parseIn(new ByteReader(bytes), undefined)
}

function parseIn (r: ByteReader, parent: Scope | undefined): ParsedComponent {
  const head = r.take(8)
  if (head[0] !== 0 || head[1] !== 0x61 || head[2] !== 0x73 || head[3] !== 0x6d) r.fail('not a WebAssembly binary')
  if (head[6] !== 1 || head[7] !== 0) r.fail('not a component (layer 1)')
  const scope = new Scope(parent)
  const definitions: Definition[] = []
  const imports = new Map<string, ExternType>()
  const exports = new Map<string, ExternType>()
  const custom = new Map<string, Uint8Array>()
  const def = (d: Definition): void => { definitions.push(d) }

  while (!r.done) {
    const id = r.u8()
    const s: ByteReader = r.slice(r.u32())
    // Custom, core module, component and start sections hold one item; the others a vector.
    const count = id === 0 || id === 1 || id === 4 || id === 9 ? 1 : s.u32()
    for (let i = 0; i < count; i++) {
      switch (id) {
        case 0: {
          const { name, payload } = readCustomSection(s.take(s.remaining))
          custom.set(name, payload)
          break
        }
        case 1: def({ kind: 'core-module', bytes: s.take(s.remaining) }); break
        case 2: {
          const b = s.u8()
          if (b === 0x00) {
            def({ kind: 'core-instantiate', module: s.u32(), args: vec(s, () => {
              const name = s.name()
              if (s.u8() !== 0x12) s.fail('core instantiate argument must be an instance')
              return { name, instance: s.u32() }
            }) })
          } else if (b === 0x01) {
            def({ kind: 'core-exports', exports: vec(s, () => ({ name: s.name(), sort: CORE_SORTS[s.u8()] ?? s.fail('bad core sort'), index: s.u32() })) })
          } else s.fail(`bad core instance 0x${b.toString(16)}`)
          break
        }
        case 3: readCoreType(s, scope); break
        case 4: {
          const nested = parseIn(s, scope)
          scope.components.push({ kind: 'component', imports: nested.imports, exports: nested.exports })
          def({ kind: 'component', component: nested })
          break
        }
        case 5: {
          const b = s.u8()
          if (b === 0x00) {
            const component = s.u32()
            const type = scope.components[component] ?? s.fail(`component index ${component} out of range`)
            def({ kind: 'instantiate', component, args: vec(s, () => ({ name: s.name(), sort: readSort(s), index: s.u32() })) })
            scope.instances.push({ kind: 'instance', exports: type.exports })
          } else if (b === 0x01) {
            const list = vec(s, () => ({ name: readExternName(s), sort: readSort(s), index: s.u32() }))
            scope.instances.push({ kind: 'instance', exports: new Map(list.map((e) => [e.name, staticExtern(scope, e.sort, e.index, s)])) })
            def({ kind: 'instance-exports', exports: list })
          } else s.fail(`bad instance 0x${b.toString(16)}`)
          break
        }
        case 6: {
          const sort = readSort(s)
          const target = s.u8()
          if (target === 0x00) {
            const instance = s.u32()
            const name = s.name()
            const type = scope.instances[instance]?.exports.get(name)
            if (type === undefined) s.fail(`alias of missing instance export ${instance}.${name}`)
            if (type.sort !== sort) s.fail(`alias of ${name}: expected a ${sort}, found a ${type.sort}`)
            scope.add(type)
            if (sort !== 'type') def({ kind: 'alias', sort, instance, name })
          } else if (target === 0x01) {
            def({ kind: 'core-alias', sort, instance: s.u32(), name: s.name() })
          } else if (target === 0x02) {
            const count = s.u32()
            const index = s.u32()
            let outer: Scope | undefined = scope
            for (let n = count; n > 0; n--) outer = outer?.parent
            if (outer === undefined) s.fail('outer alias beyond the outermost component')
            if (sort === 'type') scope.types.push(outer.type(index))
            else if (sort === 'core-type') scope.coreTypes++
            else if (sort === 'component' || sort === 'core-module') {
              if (sort === 'component') scope.components.push(outer.components[index] ?? s.fail('outer component index out of range'))
              def({ kind: 'outer-alias', sort, count, index })
            } else s.fail(`outer alias of a ${sort}`)
          } else s.fail(`bad alias target 0x${target.toString(16)}`)
          break
        }
        case 7: scope.types.push(readDefType(s, scope)); break
        case 8: {
          const b = s.u8()
          if (b === 0x00) {
            if (s.u8() !== 0x00) s.fail('bad canon lift')
            const coreFunc = s.u32()
            const options = readCanonOptions(s)
            const type = scope.type(s.u32())
            if (type.kind !== 'func') s.fail('canon lift of a non-function type')
            scope.funcs.push(type)
            def({ kind: 'lift', coreFunc, options, type })
          } else if (b === 0x01) {
            if (s.u8() !== 0x00) s.fail('bad canon lower')
            def({ kind: 'lower', func: s.u32(), options: readCanonOptions(s) })
          } else if (b >= 0x02 && b <= 0x04) {
            // resource.new/drop/rep: refused only when instantiation reaches them, so that a WASI
            // component first gets the error naming the resource imports it needs.
            s.u32()
            def({ kind: 'unsupported', what: 'resources (canon resource.new/drop/rep)' })
          } else unsupported(`canon built-in 0x${b.toString(16)} (async, threads or error-context)`)
          break
        }
        case 9: return unsupported('component start functions')
        case 10: {
          const name = readExternName(s)
          const type = readExternDesc(s, scope, name)
          imports.set(name, type)
          scope.add(type)
          if (type.sort !== 'type') def({ kind: 'import', name, type })
          break
        }
        case 11: {
          const name = readExternName(s)
          const sort = readSort(s)
          const index = s.u32()
          let type = staticExtern(scope, sort, index, s)
          // An optional type ascription; it does not change what the export is at run time.
          const ascribed = readOptional(s, () => readExternDesc(s, scope, name))
          if (ascribed !== undefined && ascribed.sort === type.sort) type = ascribed
          exports.set(name, type)
          scope.add(type)
          if (sort !== 'type') def({ kind: 'export', name, sort, index })
          break
        }
        case 12: return unsupported('component values')
        default: r.fail(`unknown component section ${id}`)
      }
    }
    if (!s.done) s.fail(`section ${id} has ${s.remaining} trailing bytes`)
  }
  return { definitions, imports, exports, custom }
}

/** The static type of `sort` index `index` in `scope`. */
function staticExtern (scope: Scope, sort: Sort, index: number, r: ByteReader): ExternType {
  switch (sort) {
    case 'func': return { sort, type: scope.funcs[index] ?? r.fail(`func index ${index} out of range`) }
    case 'instance': return { sort, type: scope.instances[index] ?? r.fail(`instance index ${index} out of range`) }
    case 'component': return { sort, type: scope.components[index] ?? r.fail(`component index ${index} out of range`) }
    case 'type': return { sort, type: scope.type(index) }
    case 'core-module': return { sort: 'module', type: { kind: 'core-module' } }
    default: return unsupported(`export of a ${sort}`)
  }
}

/**
 * Decodes a `component-type` custom section (what wit-bindgen / `wasm-tools component embed` put in
 * a core module): a component whose single exported component type describes the world. Returns the
 * world's imports and exports.
 */
export function parseComponentTypeSection (payload: Uint8Array): ComponentType {
  const outer = parseComponent(payload).exports
  // Encoding: (component (type (component (type $world (component …)) (export "pkg/world" (component $world)))) (export "world" (type 0)))
  for (const ext of outer.values()) {
    if (ext.sort !== 'type' || ext.type.kind !== 'component') continue
    for (const inner of ext.type.exports.values()) {
      if (inner.sort === 'component') return inner.type
    }
  }
  return unsupported('component-type section without a world')
}
