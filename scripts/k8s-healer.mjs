#!/usr/bin/env node
// The `k8s-healer` command (package.json "bin"). The healer runs on Node 22 (the Lambda runtime):
// on an older Node this re-runs itself on the node@22 devDependency; then it loads the TypeScript
// CLI through tsx (a devDependency: the CLI runs from a checkout, like `npm start`).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  const require = createRequire(import.meta.url);
  const node22 = require.resolve('node/bin/node');
  const run = spawnSync(node22, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../lib/cli/program.ts');
process.exitCode = await main(process.argv.slice(2));
