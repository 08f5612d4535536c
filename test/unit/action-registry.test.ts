import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTIONS } from '../../lib/actions/catalog.js';
import { actionOf, isActionId } from '../../lib/actions/registry.js';
import { ACTION_IDS } from '../../lib/domain/types.js';

describe('action registry', () => {
  it('holds one record per allowlisted id, filed under its own id', () => {
    for (const id of ACTION_IDS) {
      expect(isActionId(id)).toBe(true);
      expect(actionOf(id).spec.id).toBe(id);
      expect(ACTIONS[id]).toBe(actionOf(id).spec);
    }
    expect(isActionId('toString')).toBe(false);
    expect(isActionId('drain-node')).toBe(false);
  });

  it('undoes only what its record declares reversible, and today that is only a scale', () => {
    for (const id of ACTION_IDS) {
      if (actionOf(id).revert) expect(ACTIONS[id].reversible).toBe(true);
      // A revert passes neither policy nor approval (the gate refuses it for these too).
      if (actionOf(id).revert) expect(ACTIONS[id].needsApproval).toBe(false);
    }
    expect(ACTION_IDS.filter((id) => actionOf(id).revert !== undefined)).toEqual(['scale-deployment']);
  });

  it('pins the patches and the scale to a resourceVersion, the eviction and the Job deletion to the uid only', () => {
    expect(ACTION_IDS.filter((id) => actionOf(id).pinnedToVersion).sort()).toEqual(['cordon-node', 'rollout-restart', 'scale-deployment']);
  });
});

describe('one module per action', () => {
  const root = join(import.meta.dirname, '..', '..');
  const sources = ['lib', 'functions', 'scripts', 'eval'].flatMap((dir) => walk(join(root, dir))).filter((f) => f.endsWith('.ts'));
  const text = (file: string) => readFileSync(file, 'utf8');
  const rel = (file: string) => relative(root, file);
  const ids = ACTION_IDS.join('|');

  it('branches on an action id nowhere but in that action\'s own record', () => {
    // Act: a switch case or an equality test naming an action id.
    const branching = new RegExp(`case\\s+'(${ids})'|[!=]==\\s*'(${ids})'|'(${ids})'\\s*[!=]==`);
    const offenders = sources.filter((f) => branching.test(text(f))).map(rel);
    // Assess
    expect(offenders).toEqual([]);
  });

  it('keeps the action records free of SDKs (the webhook bundle imports them)', () => {
    const records = walk(join(root, 'lib', 'actions'));
    const withSdk = records.filter((f) => /from '(@kubernetes|@aws-sdk|@anthropic-ai)/.test(text(f))).map(rel);
    expect(withSdk).toEqual([]);
  });

  it('implements the actions\' write port once, in the Kubernetes adapter', () => {
    const implementers = sources.filter((f) => /implements [^{]*\bActionClient\b/.test(text(f))).map(rel);
    expect(implementers).toEqual(['lib/adapters/kubernetes-actions.ts']);
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
