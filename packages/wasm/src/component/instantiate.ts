/**
 * Instantiation: replays a parsed component's definitions in binary order (core modules, core
 * instances, aliases, `canon lift`/`canon lower`, nested shim components), which covers what
 * wit-component emits, including its `$imports` table shim/fixup modules. Also runs a core module
 * that carries a `component-type` custom section directly, with the canonical ABI and wit-component's
 * core naming conventions (no componentNew).
 */
import { binaryKind, readCustomSection, readSections } from '../binary.js'
import { ArgumentTypeError, FunctionNotFoundError, InvalidModuleError, WasmTrapError } from '../errors.js'
import { callLifted, type CoreFunction, type GuestMemory, type HostFunction, lowerHost, type WitValue } from './abi.js'
import { MissingImportError, UnsupportedComponentError } from './errors.js'
import { defaultHostImports, findHostFunction, findHostImport, type HostImports, type HostOptions } from './host.js'
import { type CanonOptions, type Definition, type ParsedComponent, parseComponent, parseComponentTypeSection, type Sort } from './parse.js'
import { type ComponentType, type ExternType, type FuncType, type InstanceType, usesResources } from './types.js'

/** A function exported by a component instance. */
export interface ComponentFunction {
  /** Export name: `add-one`, or `interface#func` for a function of an exported interface. */
  readonly name: string
  readonly type: FuncType
  /** Calls the function with WIT values (see abi.ts for their JavaScript form). */
  call (...args: unknown[]): WitValue
}

export interface ComponentInstance {
  /** Exported functions by export name. */
  readonly functions: ReadonlyMap<string, ComponentFunction>
  /** Every core instance created, in creation order (to read e.g. an injected fuel global). */
  readonly coreInstances: readonly WebAssembly.Instance[]
  /** True after a call trapped: every later call throws {@link WasmTrapError}. */
  readonly poisoned: boolean
  /** The first core instance export named `name` (e.g. `__ipvm_fuel`), searching in creation order. */
  coreExport (name: string): WebAssembly.ExportValue | undefined
  /** Calls an exported function by its exact export name ({@link FunctionNotFoundError} if none). */
  call (name: string, ...args: unknown[]): WitValue
}

export interface InstantiateOptions extends HostOptions {
  /** Compiles each core module (e.g. after metering it). Default: `WebAssembly.compile`. */
  compile?: (coreBytes: Uint8Array) => Promise<WebAssembly.Module> | WebAssembly.Module
  /** Set to false to not provide the default host imports (wasi:logging, homestar:host/helpers). */
  defaultImports?: boolean
}

type Value = unknown
type RuntimeExtern = { sort: Sort, value: Value }
type RuntimeInstance = Map<string, RuntimeExtern>
interface RuntimeFunc { type: FuncType, call: (args: readonly unknown[]) => WitValue }

/** State shared by every function of one top-level instance. */
interface InstanceState {
  poisoned: boolean
  coreInstances: WebAssembly.Instance[]
  compiled: Map<Uint8Array, WebAssembly.Module>
}

class Spaces {
  readonly entry: Entry = { inside: false }
  readonly core: Record<string, Value[]> = {}
  readonly comp: Record<string, Value[]> = {}
  constructor (readonly parent?: Spaces) {}

  space (sort: Sort): Value[] {
    const table = sort.startsWith('core-') ? this.core : this.comp
    table[sort] ??= []
    return table[sort]
  }

  get (sort: Sort, index: number): Value {
    const v = this.space(sort)[index]
    if (v === undefined) throw new InvalidModuleError(`component refers to ${sort} ${index}, which is not defined`)
    return v
  }

  push (sort: Sort, value: Value): void {
    if (sort === 'type' || sort === 'core-type') return
    this.space(sort).push(value)
  }
}

/** Per component instance: whether one of its exports is running (the canonical ABI's may_enter). */
interface Entry { inside: boolean }

function guard (state: InstanceState, entry: Entry, type: FuncType, run: (args: readonly unknown[]) => WitValue): RuntimeFunc {
  return {
    type,
    call (args) {
      if (state.poisoned) throw new WasmTrapError('the instance trapped earlier and may be corrupt: instantiate it again')
      if (entry.inside) {
        state.poisoned = true
        throw new WasmTrapError('a component instance cannot be re-entered from one of its imports')
      }
      entry.inside = true
      try {
        return run(args)
      } catch (err) {
        // Bad arguments are refused before the guest runs: the instance stays usable.
        if (err instanceof ArgumentTypeError) throw err
        state.poisoned = true
        throw asTrap(err)
      } finally {
        entry.inside = false
      }
    }
  }
}

function asTrap (err: unknown): WasmTrapError {
  if (err instanceof WasmTrapError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new WasmTrapError(`wasm trap: ${message}`, {}, { cause: err })
}

function guestOf (spaces: Spaces, options: CanonOptions): GuestMemory {
  const memory = options.memory === undefined ? undefined : spaces.get('core-memory', options.memory) as WebAssembly.Memory
  const realloc = options.realloc === undefined ? undefined : spaces.get('core-func', options.realloc) as (a: number, b: number, c: number, d: number) => number
  return {
    memory: () => memory ?? missingMemory(),
    realloc: () => realloc
  }
}

function missingMemory (): never {
  throw new WasmTrapError('canonical ABI: the function needs linear memory but has no memory option')
}

async function compileAll (component: ParsedComponent, compile: NonNullable<InstantiateOptions['compile']>, out: Map<Uint8Array, WebAssembly.Module>): Promise<void> {
  const pending: Promise<void>[] = []
  const walk = (c: ParsedComponent): void => {
    for (const d of c.definitions) {
      if (d.kind === 'core-module') pending.push(Promise.resolve(compile(d.bytes)).then((m) => { out.set(d.bytes, m) }))
      else if (d.kind === 'component') walk(d.component)
    }
  }
  walk(component)
  await Promise.all(pending)
}

async function run (component: ParsedComponent, args: Map<string, RuntimeExtern>, state: InstanceState, parent?: Spaces): Promise<RuntimeInstance> {
  const spaces = new Spaces(parent)
  const exports: RuntimeInstance = new Map()
  for (const d of component.definitions) await step(d, spaces, args, exports, state)
  return exports
}

async function step (d: Definition, spaces: Spaces, args: Map<string, RuntimeExtern>, exports: RuntimeInstance, state: InstanceState): Promise<void> {
  switch (d.kind) {
    case 'core-module': spaces.push('core-module', state.compiled.get(d.bytes)); return
    case 'core-instantiate': {
      const module = spaces.get('core-module', d.module) as WebAssembly.Module
      const imports: WebAssembly.Imports = {}
      for (const a of d.args) imports[a.name] = spaces.get('core-instance', a.instance) as WebAssembly.ModuleImports
      const instance = await instantiateCore(module, imports)
      state.coreInstances.push(instance)
      spaces.push('core-instance', instance.exports)
      return
    }
    case 'core-exports': {
      const bag: Record<string, Value> = {}
      for (const e of d.exports) bag[e.name] = spaces.get(e.sort, e.index)
      spaces.push('core-instance', bag)
      return
    }
    case 'core-alias': {
      const instance = spaces.get('core-instance', d.instance) as Record<string, Value>
      if (!(d.name in instance)) throw new InvalidModuleError(`core instance ${d.instance} has no export ${d.name}`)
      spaces.push(d.sort, instance[d.name])
      return
    }
    case 'alias': {
      const instance = spaces.get('instance', d.instance) as RuntimeInstance
      const ext = instance.get(d.name)
      if (ext === undefined) throw new InvalidModuleError(`instance ${d.instance} has no export ${d.name}`)
      spaces.push(d.sort, ext.value)
      return
    }
    case 'outer-alias': {
      let outer: Spaces | undefined = spaces
      for (let n = d.count; n > 0; n--) outer = outer?.parent
      if (outer === undefined) throw new InvalidModuleError('outer alias beyond the outermost component')
      spaces.push(d.sort, outer.get(d.sort, d.index))
      return
    }
    case 'lift': {
      const core = spaces.get('core-func', d.coreFunc) as CoreFunction
      const post = d.options.postReturn === undefined ? undefined : spaces.get('core-func', d.options.postReturn) as CoreFunction
      const guest = guestOf(spaces, d.options)
      const type = d.type
      spaces.push('func', guard(state, spaces.entry, type, (a) => callLifted(guest, type, core, post, a)))
      return
    }
    case 'lower': {
      const f = spaces.get('func', d.func) as RuntimeFunc
      if (usesResources(f.type)) throw new UnsupportedComponentError('resources are not supported (a lowered function takes or returns a resource handle)')
      spaces.push('core-func', lowerHost(guestOf(spaces, d.options), f.type, (...a) => f.call(a)))
      return
    }
    case 'import': {
      const ext = args.get(d.name)
      if (ext === undefined) throw new MissingImportError([d.name])
      spaces.push(ext.sort, ext.value)
      return
    }
    case 'export': {
      const value = spaces.get(d.sort, d.index)
      exports.set(d.name, { sort: d.sort, value })
      spaces.push(d.sort, value)
      return
    }
    case 'component': spaces.push('component', d.component); return
    case 'instantiate': {
      const nested = spaces.get('component', d.component) as ParsedComponent
      const nestedArgs = new Map<string, RuntimeExtern>()
      for (const a of d.args) nestedArgs.set(a.name, { sort: a.sort, value: spaces.get(a.sort, a.index) })
      spaces.push('instance', await run(nested, nestedArgs, state, spaces))
      return
    }
    case 'unsupported': throw new UnsupportedComponentError(`unsupported component feature: ${d.what}`)
    case 'instance-exports': {
      const bag: RuntimeInstance = new Map()
      for (const e of d.exports) if (e.sort !== 'type') bag.set(e.name, { sort: e.sort, value: spaces.get(e.sort, e.index) })
      spaces.push('instance', bag)
      return
    }
  }
}

function hostFunc (type: FuncType, f: HostFunction): RuntimeFunc {
  return { type, call: (args) => f(...(args as WitValue[])) as WitValue }
}

/** Matches the component's imports with host functions; throws one error naming everything missing. */
function resolveImports (imports: Map<string, ExternType>, host: HostImports): Map<string, RuntimeExtern> {
  const out = new Map<string, RuntimeExtern>()
  const missing: string[] = []
  const resources: string[] = []
  for (const [name, ext] of imports) {
    if (ext.sort === 'type') continue
    if (usesResources(ext.type)) {
      missing.push(name)
      resources.push(name)
      continue
    }
    const entry = findHostImport(host, name)
    if (ext.sort === 'func') {
      if (typeof entry === 'function') out.set(name, { sort: 'func', value: hostFunc(ext.type, entry) })
      else missing.push(name)
    } else if (ext.sort === 'instance') {
      const funcs = [...ext.type.exports].filter(([, e]) => e.sort === 'func')
      // An interface that only defines types (used by other interfaces) needs nothing from the host.
      if (funcs.length === 0) {
        out.set(name, { sort: 'instance', value: new Map() })
        continue
      }
      if (entry === undefined || typeof entry === 'function') {
        missing.push(name)
        continue
      }
      const bag: RuntimeInstance = new Map()
      for (const [fname, fext] of funcs) {
        if (fext.sort !== 'func') continue
        const f = findHostFunction(entry, fname)
        if (f === undefined) missing.push(`${name}#${fname}`)
        else bag.set(fname, { sort: 'func', value: hostFunc(fext.type, f) })
      }
      out.set(name, { sort: 'instance', value: bag })
    } else missing.push(`${name} (a ${ext.sort} import)`)
  }
  if (missing.length > 0) throw new MissingImportError(missing, resources)
  return out
}

function makeInstance (state: InstanceState, functions: Map<string, ComponentFunction>): ComponentInstance {
  return {
    functions,
    coreInstances: state.coreInstances,
    get poisoned () { return state.poisoned },
    coreExport (name) {
      for (const instance of state.coreInstances) if (name in instance.exports) return instance.exports[name]
      return undefined
    },
    call (name, ...args) {
      const f = functions.get(name)
      if (f === undefined) throw new FunctionNotFoundError(name, [...functions.keys()])
      return f.call(...args)
    }
  }
}

function collectFunctions (exports: RuntimeInstance, prefix: string, out: Map<string, ComponentFunction>): void {
  for (const [name, ext] of exports) {
    const full = prefix === '' ? name : `${prefix}#${name}`
    if (ext.sort === 'func') {
      const f = ext.value as RuntimeFunc
      out.set(full, { name: full, type: f.type, call: (...args) => f.call(args) })
    } else if (ext.sort === 'instance' && prefix === '') collectFunctions(ext.value as RuntimeInstance, name, out)
  }
}

/** A parsed component, or a core module with its world decoded from its `component-type` section. */
export type ComponentSource =
  | { kind: 'component', component: ParsedComponent }
  | { kind: 'embedded', bytes: Uint8Array, world: ComponentType }

/** Instantiates one core module: a trap in its start function is a trap, anything else a bad module. */
async function instantiateCore (module: WebAssembly.Module, imports: WebAssembly.Imports): Promise<WebAssembly.Instance> {
  try {
    return await WebAssembly.instantiate(module, imports)
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) throw asTrap(err)
    throw new InvalidModuleError(`core instantiation failed: ${(err as Error).message}`, {}, { cause: err })
  }
}

/** Parses component bytes, or a core module carrying a `component-type` custom section. */
export function loadComponent (bytes: Uint8Array): ComponentSource {
  if (binaryKind(bytes) === 'component') return { kind: 'component', component: parseComponent(bytes) }
  const worlds: ComponentType[] = []
  for (const s of readSections(bytes)) {
    if (s.id !== 0) continue
    const { name, payload } = readCustomSection(s.content)
    if (name.startsWith('component-type')) worlds.push(parseComponentTypeSection(payload))
  }
  if (worlds.length === 0) {
    throw new InvalidModuleError('a core module without a component-type custom section is not a component: build it with wit-bindgen or `wasm-tools component embed`')
  }
  const world: ComponentType = { kind: 'component', imports: new Map(), exports: new Map() }
  for (const w of worlds) {
    for (const [k, v] of w.imports) world.imports.set(k, v)
    for (const [k, v] of w.exports) world.exports.set(k, v)
  }
  return { kind: 'embedded', bytes, world }
}

/** The exported functions of a component and their types, without instantiating it. */
export function componentFunctions (source: ComponentSource): Map<string, FuncType> {
  const exports = source.kind === 'component' ? source.component.exports : source.world.exports
  const out = new Map<string, FuncType>()
  for (const [name, ext] of exports) {
    if (ext.sort === 'func') out.set(name, ext.type)
    else if (ext.sort === 'instance') for (const [f, fext] of ext.type.exports) if (fext.sort === 'func') out.set(`${name}#${f}`, fext.type)
  }
  return out
}

/**
 * Instantiates a component (or a core module with a `component-type` section) with host imports.
 * The default host imports (see host.ts) are added unless `options.defaultImports` is false;
 * `hostImports` entries take precedence.
 */
export async function instantiateComponent (bytes: Uint8Array | ComponentSource, hostImports: HostImports = {}, options: InstantiateOptions = {}): Promise<ComponentInstance> {
  const source = bytes instanceof Uint8Array ? loadComponent(bytes) : bytes
  const host: HostImports = options.defaultImports === false ? hostImports : { ...defaultHostImports(options), ...hostImports }
  const compile = options.compile ?? ((b: Uint8Array) => WebAssembly.compile(b as Uint8Array<ArrayBuffer>))
  const state: InstanceState = { poisoned: false, coreInstances: [], compiled: new Map() }
  const functions = new Map<string, ComponentFunction>()
  if (source.kind === 'component') {
    const args = resolveImports(source.component.imports, host)
    await compileAll(source.component, compile, state.compiled)
    collectFunctions(await run(source.component, args, state), '', functions)
  } else {
    await runEmbedded(source, host, compile, state, functions)
  }
  return makeInstance(state, functions)
}

async function runEmbedded (source: ComponentSource & { kind: 'embedded' }, host: HostImports, compile: NonNullable<InstantiateOptions['compile']>, state: InstanceState, functions: Map<string, ComponentFunction>): Promise<void> {
  const { world } = source
  const args = resolveImports(world.imports, host)
  const module = await compile(source.bytes)
  let exportsOf: WebAssembly.Exports | undefined
  const coreExport = (name: string): Value => exportsOf?.[name]
  const guest: GuestMemory = {
    memory: () => (coreExport('memory') as WebAssembly.Memory | undefined) ?? missingMemory(),
    realloc: () => (coreExport('cabi_import_realloc') ?? coreExport('cabi_realloc')) as ((a: number, b: number, c: number, d: number) => number) | undefined
  }
  const imports: WebAssembly.Imports = {}
  const unknown: string[] = []
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') {
      unknown.push(`${imp.module}.${imp.name} (a ${imp.kind})`)
      continue
    }
    let f: RuntimeFunc | undefined
    if (imp.module === '$root') f = args.get(imp.name)?.value as RuntimeFunc | undefined
    else {
      const instance = args.get(imp.module)?.value as RuntimeInstance | undefined
      f = instance?.get(imp.name)?.value as RuntimeFunc | undefined
    }
    if (f === undefined) {
      if (imp.name.startsWith('[resource-') || imp.name.includes('[method]') || imp.name.includes('[constructor]')) {
        throw new UnsupportedComponentError(`resources are not supported (core import ${imp.module}.${imp.name})`)
      }
      unknown.push(`${imp.module}.${imp.name}`)
      continue
    }
    imports[imp.module] ??= {}
    const fn = f
    ;(imports[imp.module] as Record<string, Value>)[imp.name] = lowerHost(guest, fn.type, (...a) => fn.call(a))
  }
  if (unknown.length > 0) throw new MissingImportError(unknown)
  const instance = await instantiateCore(module, imports)
  state.coreInstances.push(instance)
  exportsOf = instance.exports
  const entry: Entry = { inside: false }
  const lift = (name: string, coreName: string, type: FuncType): void => {
    const core = instance.exports[coreName]
    if (typeof core !== 'function') throw new InvalidModuleError(`the core module does not export ${coreName}, which its component-type section declares`)
    const post = instance.exports[`cabi_post_${coreName}`] as CoreFunction | undefined
    const f = guard(state, entry, type, (a) => callLifted(guest, type, core as CoreFunction, post, a))
    functions.set(name, { name, type, call: (...a) => f.call(a) })
  }
  for (const [name, ext] of world.exports) {
    if (ext.sort === 'func') lift(name, name, ext.type)
    else if (ext.sort === 'instance') {
      for (const [fname, fext] of (ext.type as InstanceType).exports) if (fext.sort === 'func') lift(`${name}#${fname}`, `${name}#${fname}`, fext.type)
    }
  }
}
