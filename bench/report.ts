/**
 * Where `npm run bench` puts its figures: a dated section at the top of BENCHMARKS.md, naming the
 * machine and the commit, so every figure has its baseline and its context beside it. A second run
 * on the same day replaces that day's section instead of piling up.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const BENCHMARKS = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
const HEADING = '## `npm run bench` ';

export function machine(): string {
  const cpus = os.cpus();
  let commit = 'unknown commit';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '') commit += ' plus uncommitted changes';
  } catch {
    // not a git checkout: the section says so
  }
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, load ${os.loadavg()[0]?.toFixed(2)} at start; ${commit}`;
}

/** Puts the section into BENCHMARKS.md (pure text in, text out: testable without the file). */
export function withSection(markdown: string, day: string, about: string, lines: readonly string[]): string {
  const section = [`${HEADING}(${day})`, '', `Machine: ${about}.`, '', ...lines, ''].join('\n');
  const blocks = markdown.split(/\n(?=## )/);
  const kept = blocks.filter((b) => !b.startsWith(`${HEADING}(${day})`));
  const firstSection = kept.findIndex((b) => b.startsWith('## '));
  const at = firstSection === -1 ? kept.length : firstSection;
  return [...kept.slice(0, at), section, ...kept.slice(at)].join('\n');
}

export function writeSection(about: string, lines: readonly string[], day = new Date().toISOString().slice(0, 10)): string {
  writeFileSync(BENCHMARKS, withSection(readFileSync(BENCHMARKS, 'utf8'), day, about, lines));
  return BENCHMARKS;
}
