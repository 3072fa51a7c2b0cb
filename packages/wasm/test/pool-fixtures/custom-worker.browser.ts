import { exposeWorker } from '../../src/pool/expose.browser.js'
import type { HandlerModule } from '../../src/pool/protocol.js'
import * as handler from './bundled-handler.js'

exposeWorker(handler as HandlerModule)
