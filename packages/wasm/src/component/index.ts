/**
 * The WebAssembly component runtime: a component binary parser and the canonical ABI in TypeScript,
 * small enough for a page (no jco at run time). See instantiate.ts for the entry point and abi.ts for
 * how WIT values look in JavaScript; ipld-wit.ts is the IPVM ABI (IPLD in, IPLD out).
 */
export type { CoreValue, GuestMemory, HostFunction, WitValue } from './abi.js'
export { MissingImportError, UnsupportedComponentError } from './errors.js'
export { defaultHostImports, type HostImports, type HostOptions, type LogEntry } from './host.js'
export {
  type ComponentFunction, componentFunctions, type ComponentInstance, type ComponentSource, instantiateComponent,
  type InstantiateOptions, loadComponent
} from './instantiate.js'
export {
  base64NoPad, callIpld, exportNameVariants, findFunctionName, ipldToWit, ipldToWitArgs, witResultToIpld, witToIpld
} from './ipld-wit.js'
export { type CanonOptions, type Definition, type ParsedComponent, parseComponent, parseComponentTypeSection, type Sort } from './parse.js'
export {
  type Case, type ComponentType, type ExternType, type Field, type FuncType, type InstanceType, type PrimitiveKind,
  type TypeDef, type ValType, witName
} from './types.js'
