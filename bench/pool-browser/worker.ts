import { exposeWorker } from '../../packages/wasm/src/pool/expose.browser.js'
import type { HandlerModule } from '../../packages/wasm/src/pool/protocol.js'
import * as handler from './handler.js'

exposeWorker(handler as unknown as HandlerModule)
