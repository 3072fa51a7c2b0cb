#!/usr/bin/env node
// The Node 20 shims must load before anything from the libp2p/Helia stack is imported.
import '../src/node20.js'
import { main } from '../src/cli/main.js'

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr })
