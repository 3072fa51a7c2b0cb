/**
 * Peer reputation by issuer DID: lowered when a peer's receipt disagrees with what this node computed
 * as referee, raised a little when it agrees. Peers below the threshold are skipped in placement and
 * their receipts ignored in lookups. Persisted in a blockstore (LevelDB in Node, IndexedDB in
 * browsers) under one fixed key, so it survives a restart.
 */
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Blockstore } from 'interface-blockstore'

export interface ReputationInit {
  /** Where scores persist (default: memory only). */
  blockstore?: Blockstore
  /** Peers at or below this score are ignored (default -1: one proven lie). */
  threshold?: number
}

const KEY_BYTES = new TextEncoder().encode('ipvm/reputation/1')
let keyCid: CID | undefined

async function key (): Promise<CID> {
  keyCid ??= CID.createV1(0x55, await sha256.digest(KEY_BYTES))
  return keyCid
}

export class Reputation {
  private readonly scores = new Map<string, number>()
  private readonly threshold: number
  private saving: Promise<void> = Promise.resolve()
  private dirty = false

  constructor (private readonly init: ReputationInit = {}) {
    this.threshold = init.threshold ?? -1
  }

  /** Loads persisted scores (call once before use). */
  async load (): Promise<void> {
    const store = this.init.blockstore
    if (store === undefined) return
    try {
      const cid = await key()
      if (!await store.has(cid)) return
      const chunks: Uint8Array[] = []
      const got: unknown = store.get(cid)
      if (got instanceof Uint8Array) chunks.push(got)
      else if (got !== null && typeof got === 'object' && Symbol.asyncIterator in got) for await (const c of got as AsyncIterable<Uint8Array>) chunks.push(c)
      else chunks.push(await (got as Promise<Uint8Array>))
      const bytes = chunks.length === 1 ? chunks[0]! : new Uint8Array(chunks.reduce<number[]>((a, c) => { a.push(...c); return a }, []))
      const decoded = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
      for (const [did, score] of Object.entries(decoded)) if (typeof score === 'number') this.scores.set(did, score)
    } catch {
      // unreadable: start from nothing
    }
  }

  score (did: string): number {
    return this.scores.get(did) ?? 0
  }

  isBad (did: string): boolean {
    return this.score(did) <= this.threshold
  }

  /** A proven wrong receipt. */
  penalize (did: string): void {
    this.scores.set(did, this.score(did) - 1)
    this.persist()
  }

  /** A receipt that matched the referee's. */
  reward (did: string): void {
    this.scores.set(did, Math.min(5, this.score(did) + 0.1))
    this.persist()
  }

  entries (): Array<[string, number]> {
    return [...this.scores]
  }

  /** Resolves when everything changed so far is written. */
  async flush (): Promise<void> {
    await this.saving
  }

  private persist (): void {
    const store = this.init.blockstore
    if (store === undefined || this.dirty) return
    this.dirty = true
    this.saving = this.saving.then(async () => {
      await Promise.resolve()
      this.dirty = false
      try {
        await store.put(await key(), new TextEncoder().encode(JSON.stringify(Object.fromEntries(this.scores))))
      } catch {
        // best effort: reputation is advisory
      }
    })
  }
}
