/**
 * Test helper: WAT text to Wasm bytes with the `wabt` devDependency, plus a validator for features
 * the engine under test may not ship (wabt re-reads and checks the binary with every feature on).
 */
import wabtFactory from 'wabt'

type Wabt = Awaited<ReturnType<typeof wabtFactory>>
// wabt's typings omit the features argument of validate(), which defaults every feature to off.
interface Validatable { validate: (features?: WatFeatures) => void }

let wabtPromise: Promise<Wabt> | undefined
function loadWabt (): Promise<Wabt> {
  wabtPromise ??= wabtFactory()
  return wabtPromise
}

/** Every post-MVP feature wabt knows, except GC (the rewriter rejects it by design). */
export const ALL_FEATURES = {
  exceptions: true,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  function_references: true,
  multi_value: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
  extended_const: true,
  relaxed_simd: true,
  memory64: true,
  multi_memory: true
} as const

export type WatFeatures = Partial<Record<keyof typeof ALL_FEATURES | 'gc', boolean>>

/** Compiles WAT text to a binary module (throws wabt's message on a syntax or type error). */
export async function wat (text: string, features: WatFeatures = ALL_FEATURES): Promise<Uint8Array> {
  const wabt = await loadWabt()
  const mod = wabt.parseWat('test.wat', text, features)
  try {
    mod.resolveNames()
    ;(mod as unknown as Validatable).validate(features)
    return mod.toBinary({ write_debug_names: true }).buffer.slice()
  } finally {
    mod.destroy()
  }
}

/** Validates a binary with wabt (all features on); returns the error text, or undefined when valid. */
export async function wabtCheck (bytes: Uint8Array, features: WatFeatures = ALL_FEATURES): Promise<string | undefined> {
  const wabt = await loadWabt()
  try {
    const mod = wabt.readWasm(bytes, { readDebugNames: false, check: true, ...features })
    try {
      ;(mod as unknown as Validatable).validate(features)
    } finally {
      mod.destroy()
    }
    return undefined
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
}

/** Disassembles a binary (for failure messages). */
export async function wasm2wat (bytes: Uint8Array, features: WatFeatures = ALL_FEATURES): Promise<string> {
  const wabt = await loadWabt()
  const mod = wabt.readWasm(bytes, { readDebugNames: true, check: false, ...features })
  try {
    mod.generateNames()
    mod.applyNames()
    return mod.toText({ foldExprs: false, inlineExport: false })
  } finally {
    mod.destroy()
  }
}
