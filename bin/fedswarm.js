#!/usr/bin/env node
// Entry point of the `fedswarm` command: loads the TypeScript sources through tsx and runs the CLI.
import { register } from 'tsx/esm/api'

const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  process.stderr.write(`fedswarm: Node.js >= 22 is required (this is ${process.version}); run it through npx or npm so the bundled Node 24 is used\n`)
  process.exit(1)
}
register()
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
