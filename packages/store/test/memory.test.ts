import { MemoryReceiptStore } from '../src/index.js'
import { receiptStoreCompliance } from './compliance.js'

// Memory has no reopen: the persistence test skips itself.
receiptStoreCompliance('MemoryReceiptStore', async (init) => ({ store: new MemoryReceiptStore(init) }))
