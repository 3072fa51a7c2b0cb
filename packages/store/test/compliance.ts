/**
 * The one test suite every ReceiptStore implementation passes (as js-libp2p's interface
 * compliance tests): call `receiptStoreCompliance(name, factory)` from a test file.
 */
import { AbortError, type CID, cidOf, cidOfBytes, encode, ipldEquals, receiptToIpld } from '@ipvm/core'
import { afterEach, describe, expect, it } from 'vitest'
import type { ReceiptStore, ReceiptStoreInit, StoredReceipt, StoredReceiptEntry } from '../src/index.js'
import { makeEntry, sizeOf } from './helpers.js'

export interface ComplianceSubject {
  store: ReceiptStore
  /** Opens the same database / directory again (the suite closes `store` first); absent for memory. */
  reopen?: () => Promise<ReceiptStore>
}

/** Opens a new, empty store with `init`. */
export type ComplianceFactory = (init: ReceiptStoreInit) => Promise<ComplianceSubject>

function sameReceipt (got: StoredReceiptEntry | undefined, want: StoredReceipt): void {
  expect(got).toBeDefined()
  expect(got!.receiptCid.equals(want.receiptCid)).toBe(true)
  expect(got!.instruction.equals(want.instruction)).toBe(true)
  expect(ipldEquals(receiptToIpld(got!.receipt), receiptToIpld(want.receipt))).toBe(true)
  expect(got!.replayable).toBe(want.replayable)
}

function cids (entries: StoredReceiptEntry[]): string[] {
  return entries.map((e) => e.receiptCid.toString()).sort()
}

async function someCid (label: string): Promise<CID> {
  return await cidOf({ label })
}

export function receiptStoreCompliance (name: string, factory: ComplianceFactory): void {
  describe(`ReceiptStore compliance: ${name}`, () => {
    const open: ReceiptStore[] = []
    async function subject (init: ReceiptStoreInit = {}): Promise<ComplianceSubject> {
      const s = await factory(init)
      open.push(s.store)
      return s
    }
    async function fresh (init: ReceiptStoreInit = {}): Promise<ReceiptStore> {
      return (await subject(init)).store
    }
    afterEach(async () => {
      for (const store of open.splice(0)) await store.close().catch(() => undefined)
    })

    it('finds a stored receipt by instruction and by receipt CID', async () => {
      const store = await fresh()
      const entry = await makeEntry(1)
      await store.put(entry)
      const byInstruction = await store.getByInstruction(entry.instruction)
      sameReceipt(byInstruction, entry)
      expect(byInstruction!.bytes).toEqual(encode(receiptToIpld(entry.receipt)))
      expect((await cidOfBytes(byInstruction!.bytes)).equals(entry.receiptCid)).toBe(true)
      sameReceipt(await store.getByReceiptCid(entry.receiptCid), entry)
      expect(await store.has(entry.instruction)).toBe(true)
    })

    it('misses unknown instructions and receipt CIDs', async () => {
      const store = await fresh()
      await store.put(await makeEntry(1))
      const other = await makeEntry(2)
      expect(await store.getByInstruction(other.instruction)).toBeUndefined()
      expect(await store.getByReceiptCid(other.receiptCid)).toBeUndefined()
      expect(await store.has(other.instruction)).toBe(false)
    })

    it('never answers an instruction with a non-replayable receipt, but keeps it by receipt CID', async () => {
      const store = await fresh()
      const failed = await makeEntry(7, { replayable: false })
      await store.put(failed)
      expect(await store.getByInstruction(failed.instruction)).toBeUndefined()
      expect(await store.has(failed.instruction)).toBe(false)
      sameReceipt(await store.getByReceiptCid(failed.receiptCid), failed)
      const ok = await makeEntry(7, { variant: 1 })
      expect(ok.instruction.equals(failed.instruction)).toBe(true)
      await store.put(ok)
      sameReceipt(await store.getByInstruction(failed.instruction), ok)
      // A later limit failure must not shadow the replayable answer.
      await store.put(await makeEntry(7, { replayable: false, variant: 2 }))
      sameReceipt(await store.getByInstruction(failed.instruction), ok)
    })

    it('answers with the most recently stored replayable receipt', async () => {
      const store = await fresh()
      const first = await makeEntry(3, { variant: 1 })
      const second = await makeEntry(3, { variant: 2 })
      await store.put(first)
      await store.put(second)
      sameReceipt(await store.getByInstruction(first.instruction), second)
      await store.delete(second.receiptCid)
      sameReceipt(await store.getByInstruction(first.instruction), first)
    })

    it('lists receipts by workflow', async () => {
      const store = await fresh()
      const wfA = await someCid('workflow A')
      const wfB = await someCid('workflow B')
      const a1 = await makeEntry(1, { workflow: wfA })
      const a2 = await makeEntry(2, { workflow: wfA })
      const b1 = await makeEntry(3, { workflow: wfB })
      await store.put([a1, a2, b1, await makeEntry(4)])
      expect(cids(await store.listByWorkflow(wfA))).toEqual([a1, a2].map((e) => e.receiptCid.toString()).sort())
      expect(cids(await store.listByWorkflow(wfB))).toEqual([b1.receiptCid.toString()])
      expect(await store.listByWorkflow(await someCid('workflow C'))).toEqual([])
    })

    it('finds receipts by an argument they took (reverse lookup)', async () => {
      const store = await fresh()
      const image = await someCid('image')
      const model = await someCid('model')
      const e1 = await makeEntry(1, { args: [image, model] })
      const e2 = await makeEntry(2, { args: [image] })
      const e3 = await makeEntry(3, { args: [model, model] })
      await store.put([e1, e2, e3])
      expect(cids(await store.listByArgument(image))).toEqual([e1, e2].map((e) => e.receiptCid.toString()).sort())
      expect(cids(await store.listByArgument(model))).toEqual([e1, e3].map((e) => e.receiptCid.toString()).sort())
      expect(await store.listByArgument(await someCid('nothing'))).toEqual([])
      const back = (await store.listByArgument(image)).find((e) => e.receiptCid.equals(e1.receiptCid))!
      expect(back.args.map(String).sort()).toEqual([image, model].map(String).sort())
    })

    it('counts hits, misses, receipts and bytes', async () => {
      const store = await fresh()
      const e1 = await makeEntry(1, { pad: 100 })
      const e2 = await makeEntry(2, { pad: 300 })
      await store.put([e1, e2])
      await store.getByInstruction(e1.instruction)
      await store.getByInstruction(e1.instruction)
      await store.getByInstruction((await makeEntry(9)).instruction)
      const stats = await store.stats()
      expect(stats.hits).toBe(2)
      expect(stats.misses).toBe(1)
      expect(stats.count).toBe(2)
      expect(stats.bytes).toBe(sizeOf(e1) + sizeOf(e2))
    })

    it('stores the same receipt twice as one', async () => {
      const store = await fresh()
      const e = await makeEntry(1, { workflow: await someCid('wf'), args: [await someCid('x')] })
      await store.put(e)
      await store.put([e, e])
      const stats = await store.stats()
      expect(stats.count).toBe(1)
      expect(stats.bytes).toBe(sizeOf(e))
      expect(await store.listByWorkflow(e.workflow!)).toHaveLength(1)
      expect(await store.listByArgument(e.args![0]!)).toHaveLength(1)
    })

    it('keeps the issuers a receipt was accepted from (acceptedFrom), absent when not given, across a reopen', async () => {
      const s = await subject()
      const wf = await someCid('wf')
      const issuers = ['did:key:z6MkissuerB', 'did:key:z6MkissuerC']
      const accepted = await makeEntry(1, { workflow: wf, acceptedFrom: issuers })
      const own = await makeEntry(2, { workflow: wf })
      const none = await makeEntry(3, { acceptedFrom: [] })
      await s.store.put([accepted, own, none])
      const check = async (store: ReceiptStore): Promise<void> => {
        expect((await store.getByInstruction(accepted.instruction))!.acceptedFrom).toEqual(issuers)
        expect((await store.getByReceiptCid(accepted.receiptCid))!.acceptedFrom).toEqual(issuers)
        const listed = await store.listByWorkflow(wf)
        expect(listed.find((e) => e.receiptCid.equals(accepted.receiptCid))!.acceptedFrom).toEqual(issuers)
        const plain = await store.getByInstruction(own.instruction)
        expect(plain).toBeDefined()
        expect(plain!.acceptedFrom).toBeUndefined()
        expect('acceptedFrom' in plain!).toBe(false)
        expect((await store.getByInstruction(none.instruction))!.acceptedFrom).toEqual([])
      }
      await check(s.store)
      // Stored again with more issuers (a stricter lookup confirmed it): replaced, read after a touch too.
      const more = [...issuers, 'did:key:z6MkissuerD']
      await s.store.put({ ...accepted, acceptedFrom: more })
      expect((await s.store.getByInstruction(accepted.instruction))!.acceptedFrom).toEqual(more)
      expect((await s.store.getByInstruction(accepted.instruction))!.acceptedFrom).toEqual(more)
      await s.store.put({ ...accepted, acceptedFrom: issuers })
      await expect(s.store.put({ ...own, acceptedFrom: [42] as unknown as string[] })).rejects.toBeInstanceOf(TypeError)
      if (s.reopen === undefined) return
      await s.store.close()
      const again = await s.reopen()
      open.push(again)
      await check(again)
    })

    it('keeps a receipt in the encoded form it arrived in (Homestar result lists)', async () => {
      const store = await fresh()
      const base = await makeEntry(5)
      // Homestar writes `out: ["ok", v]` and no fx: the bytes (and so the CID) differ from ours.
      const bytes = encode({ ran: base.receipt.ran, out: ['ok', 6], meta: {}, iss: null, prf: [] })
      const homestar: StoredReceipt = { ...base, bytes, receiptCid: await cidOfBytes(bytes) }
      await store.put(homestar)
      const got = await store.getByInstruction(base.instruction)
      expect(got!.bytes).toEqual(bytes)
      expect(got!.receiptCid.equals(homestar.receiptCid)).toBe(true)
      expect(got!.receipt.out).toEqual({ ok: 6 })
    })

    it('deletes a receipt and its index entries', async () => {
      const store = await fresh()
      const wf = await someCid('wf')
      const arg = await someCid('arg')
      const e = await makeEntry(1, { workflow: wf, args: [arg] })
      const keep = await makeEntry(2, { workflow: wf })
      await store.put([e, keep])
      expect(await store.delete(e.receiptCid)).toBe(true)
      expect(await store.delete(e.receiptCid)).toBe(false)
      expect(await store.getByInstruction(e.instruction)).toBeUndefined()
      expect(await store.getByReceiptCid(e.receiptCid)).toBeUndefined()
      expect(cids(await store.listByWorkflow(wf))).toEqual([keep.receiptCid.toString()])
      expect(await store.listByArgument(arg)).toEqual([])
      const stats = await store.stats()
      expect(stats.count).toBe(1)
      expect(stats.bytes).toBe(sizeOf(keep))
    })

    it('clears everything', async () => {
      const store = await fresh()
      const wf = await someCid('wf')
      const entries = await Promise.all([1, 2, 3].map(async (n) => await makeEntry(n, { workflow: wf })))
      await store.put(entries)
      await store.clear()
      for (const e of entries) expect(await store.getByReceiptCid(e.receiptCid)).toBeUndefined()
      expect(await store.listByWorkflow(wf)).toEqual([])
      const stats = await store.stats()
      expect(stats.count).toBe(0)
      expect(stats.bytes).toBe(0)
      await store.put(entries[0]!)
      expect((await store.stats()).count).toBe(1)
    })

    it('writes a batch all or nothing: one bad entry stores none', async () => {
      const store = await fresh()
      const good = await makeEntry(1)
      const other = await makeEntry(2)
      // A receipt CID that is not the hash of the receipt would poison the memo: rejected.
      const bad: StoredReceipt = { ...other, receiptCid: good.receiptCid.equals(other.receiptCid) ? other.receiptCid : (await makeEntry(3)).receiptCid }
      await expect(store.put([good, bad])).rejects.toMatchObject({ name: 'ReceiptCidMismatchError' })
      expect(await store.getByReceiptCid(good.receiptCid)).toBeUndefined()
      expect(await store.has(good.instruction)).toBe(false)
      expect((await store.stats()).count).toBe(0)
    })

    it('honours an aborted signal: nothing is written or read', async () => {
      const store = await fresh()
      const e = await makeEntry(1)
      const signal = AbortSignal.abort()
      await expect(store.put(e, { signal })).rejects.toMatchObject({ name: 'AbortError' })
      expect(await store.getByReceiptCid(e.receiptCid)).toBeUndefined()
      await store.put(e)
      await expect(store.getByInstruction(e.instruction, { signal })).rejects.toBeInstanceOf(AbortError)
      await expect(store.listByArgument(e.instruction, { signal })).rejects.toMatchObject({ name: 'AbortError' })
      await expect(store.delete(e.receiptCid, { signal })).rejects.toMatchObject({ name: 'AbortError' })
      expect(await store.has(e.instruction)).toBe(true)
    })

    it('evicts the least recently used receipts beyond maxBytes', async () => {
      const [e1, e2, e3] = await Promise.all([1, 2, 3].map(async (n) => await makeEntry(n, { pad: 1000 })))
      const budget = sizeOf(e1!) + sizeOf(e2!) + sizeOf(e3!) - 1
      const store = await fresh({ maxBytes: budget })
      await store.put(e1!)
      await store.put(e2!)
      // Reading e1 makes e2 the least recently used.
      expect(await store.getByInstruction(e1!.instruction)).toBeDefined()
      await store.put(e3!)
      expect(await store.getByReceiptCid(e2!.receiptCid)).toBeUndefined()
      expect(await store.has(e1!.instruction)).toBe(true)
      expect(await store.has(e3!.instruction)).toBe(true)
      const stats = await store.stats()
      expect(stats.count).toBe(2)
      expect(stats.bytes).toBeLessThanOrEqual(budget)
      expect(stats.evictions).toBe(1)
      expect(stats.maxBytes).toBe(budget)
    })

    it('keeps a batch larger than the budget until the next eviction', async () => {
      const entries = await Promise.all([1, 2, 3].map(async (n) => await makeEntry(n, { pad: 500 })))
      const store = await fresh({ maxBytes: sizeOf(entries[0]!) })
      await store.put(entries)
      expect((await store.stats()).count).toBe(3)
      // An explicit evict applies the store's budget: only the most recently used one fits.
      expect(await store.evict()).toBe(2)
      expect((await store.stats()).count).toBe(1)
      expect(await store.evict({ maxBytes: 0 })).toBe(1)
      expect((await store.stats()).count).toBe(0)
    })

    it('evicts nothing without a budget', async () => {
      const store = await fresh()
      await store.put(await makeEntry(1, { pad: 5000 }))
      expect(await store.evict()).toBe(0)
      expect((await store.stats()).count).toBe(1)
    })

    it('rejects calls after close', async () => {
      const store = await fresh()
      await store.put(await makeEntry(1))
      await store.close()
      await expect(store.put(await makeEntry(2))).rejects.toThrow()
      await expect(store.getByInstruction((await makeEntry(1)).instruction)).rejects.toThrow()
    })

    it('keeps receipts, indexes, totals and LRU order across close and reopen', async (ctx) => {
      const [e1, e2, e3] = await Promise.all([1, 2, 3].map(async (n) => await makeEntry(n, { pad: 1000 })))
      const budget = sizeOf(e1!) + sizeOf(e2!) + sizeOf(e3!) - 1
      const s = await subject({ maxBytes: budget })
      if (s.reopen === undefined) {
        ctx.skip()
        return
      }
      const wf = await someCid('wf')
      const arg = await someCid('arg')
      const failed = await makeEntry(9, { replayable: false })
      await s.store.put([e1!, { ...e2!, workflow: wf, args: [arg] }])
      await s.store.getByInstruction(e1!.instruction)
      await s.store.close()
      const again = await s.reopen()
      open.push(again)
      sameReceipt(await again.getByInstruction(e1!.instruction), e1!)
      expect(cids(await again.listByWorkflow(wf))).toEqual([e2!.receiptCid.toString()])
      expect(cids(await again.listByArgument(arg))).toEqual([e2!.receiptCid.toString()])
      const stats = await again.stats()
      expect(stats.count).toBe(2)
      expect(stats.bytes).toBe(sizeOf(e1!) + sizeOf(e2!))
      // e1 was read last before the reopen, so e2 is the one to go.
      await again.put(e3!)
      expect(await again.has(e2!.instruction)).toBe(false)
      expect(await again.has(e1!.instruction)).toBe(true)
      await again.put(failed)
      await again.close()
      const third = await s.reopen()
      open.push(third)
      expect(await third.getByInstruction(failed.instruction)).toBeUndefined()
      sameReceipt(await third.getByReceiptCid(failed.receiptCid), failed)
    })
  })
}
