/**
 * A bench that runs in a fresh Node process: the Lambda handlers and the worker's wiring read
 * their configuration when imported, and bench/run.ts has imported the webhook's already. The
 * module runs itself with --measure in the child, whose progress goes to stderr and whose section
 * lines come back on stdout after a marker; run directly, it prints the section.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Runs `moduleUrl --measure` in a child and returns the section lines it reported. */
export async function sectionFromChild(moduleUrl: string, name: string): Promise<string[]> {
  const marker = `${name.toUpperCase().replace(/[^A-Z]+/g, '-')}-RESULT `;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(moduleUrl), '--measure'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, HEALER_LOG_LEVEL: 'error' } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const result = out.split('\n').find((l) => l.startsWith(marker));
  if (code !== 0 || !result) throw new Error(`the ${name} bench failed (exit ${code}): ${out.slice(-2000)}`);
  return JSON.parse(result.slice(marker.length)) as string[];
}

/** The module's own entry: measures with --measure (the child's side), else prints its section. */
export async function runAsMain(moduleUrl: string, name: string, measure: () => Promise<string[]>): Promise<void> {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  process.env.HEALER_LOG_LEVEL = 'error';
  if (process.argv.includes('--measure')) {
    const lines = await measure();
    process.stdout.write(`${name.toUpperCase().replace(/[^A-Z]+/g, '-')}-RESULT ${JSON.stringify(lines)}\n`);
    process.exit(0);
  }
  console.log((await sectionFromChild(moduleUrl, name)).join('\n'));
}
