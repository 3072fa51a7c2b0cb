/** Runs the `ipvm` CLI in-process and captures what it prints. */
import { main } from '../src/cli/main.js'

export async function cli (...argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await main(argv, { stdout: { write: (t: string) => { out += t } }, stderr: { write: (t: string) => { err += t } } })
  return { code, out, err }
}
