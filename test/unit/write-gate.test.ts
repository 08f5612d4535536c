import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/config.js';
import type { ActionPlan } from '../../lib/actions/plan.js';
import type { Placement } from '../../lib/ports/index.js';
import { judgeWrite, type GateFacts, type GateSettings, type WriteRequest } from '../../lib/pipeline/write-gate.js';
import { anIncident } from '../fixtures/builders.js';

/** The write gate's rules (pure), and the one structural promise: nothing writes around it. */

const SETTINGS: GateSettings = loadConfig({ HEALER_DRY_RUN: 'false', HEALER_DENIED_NAMESPACES: 'kube-system,kube-public' }).settings;
const incident = anIncident();
const deployment = { kind: 'Deployment', name: 'web', namespace: 'shop', uid: 'd-1' };
const scale: ActionPlan = { action: 'scale-deployment', target: deployment, resourceVersion: '42', parameters: { replicas: 4 }, fromReplicas: 3, summary: 'scale 3 -> 4' };
const placed = (overrides: Partial<Placement> = {}): Placement => ({ chain: [deployment], optOut: false, namespaceOptOut: false, complete: true, gaps: [], ...overrides });
const facts = (overrides: Partial<GateFacts> = {}): GateFacts => ({ killSwitch: false, placement: placed(), ...overrides });
const act = (plan: ActionPlan = scale): WriteRequest => ({ kind: 'act', incident, plan });
const revert = (plan: ActionPlan = scale): WriteRequest => ({ kind: 'revert', incident, plan });

describe('write gate rules', () => {
  it('lets a pinned, allowlisted write on a readable, unprotected target through', () => {
    // Act
    const verdict = judgeWrite(act(), facts(), SETTINGS);
    // Assess
    expect(verdict.allowed).toBe(true);
    expect(verdict.verdicts.every((v) => v.reason === null)).toBe(true);
  });

  it.each([
    ['the deploy-time kill switch', act(), facts(), { ...SETTINGS, policy: { ...SETTINGS.policy, killSwitch: true } }, 'kill-switch'],
    ['the runtime kill switch (or an unreadable one)', revert(), facts({ killSwitch: true }), SETTINGS, 'kill-switch'],
    ['another cluster\'s incident', act(), facts(), { ...SETTINGS, cluster: 'prod-eu' }, 'same-cluster'],
    ['an action outside the allowlist', act({ ...scale, action: 'delete-namespace' as never }), facts(), SETTINGS, 'allowlisted'],
    ['a kind the action may not write', act({ ...scale, target: { kind: 'StatefulSet', name: 'db', namespace: 'shop', uid: 's' } }), facts(), SETTINGS, 'allowlisted'],
    ['a protected namespace', revert({ ...scale, target: { ...deployment, namespace: 'kube-system' } }), facts({ placement: placed({ chain: [{ ...deployment, namespace: 'kube-system' }] }) }), SETTINGS, 'protected-namespace'],
    ['a target that is gone', act(), facts({ placement: undefined }), SETTINGS, 'target-exists'],
    ['an owner chain that could not be read', act(), facts({ placement: placed({ complete: false, gaps: ['owner StatefulSet/db unreadable'] }) }), SETTINGS, 'placement-known'],
    ['an opted-out namespace', act(), facts({ placement: placed({ namespaceOptOut: true }) }), SETTINGS, 'not-opted-out'],
    ['an opted-out owner', revert(), facts({ placement: placed({ optOut: true }) }), SETTINGS, 'not-opted-out'],
    ['a crashing pod opted out since the decision, its Deployment the target', act(), facts({ subjectPlacement: placed({ chain: [{ kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'p' }, deployment], optOut: true }) }), SETTINGS, 'subject-not-opted-out'],
    ['the pod\'s namespace opted out (or unreadable), its Deployment the target', act(), facts({ subjectPlacement: placed({ namespaceOptOut: true }) }), SETTINGS, 'subject-not-opted-out'],
    ['the pod\'s owners unreadable, its Deployment the target', act(), facts({ subjectPlacement: placed({ complete: false, gaps: ['ReplicaSet web-abc unreadable'] }) }), SETTINGS, 'subject-not-opted-out'],
    ['a crashing pod gone since the decision, its Deployment the target', act(), facts({ subjectPlacement: null }), SETTINGS, 'subject-not-opted-out'],
    ['a kill switch that answered neither on nor off', act(), facts({ killSwitch: undefined as unknown as boolean }), SETTINGS, 'kill-switch'],
    ['a revert of a scale this site approves by hand (HEALER_APPROVAL_ACTIONS)', revert(), facts(), { ...SETTINGS, approval: { ...SETTINGS.approval, actions: ['scale-deployment'] } }, 'revert-bounds'],
    ['a plan without a uid', act({ ...scale, target: { ...deployment, uid: undefined } }), facts(), SETTINGS, 'pinned'],
    ['a replacement under the same name', act(), facts({ placement: placed({ chain: [{ ...deployment, uid: 'd-2' }] }) }), SETTINGS, 'pinned'],
    ['a patch without a resourceVersion', act({ ...scale, resourceVersion: undefined }), facts(), SETTINGS, 'pinned'],
    ['a revert of an eviction', revert({ action: 'evict-pod', target: { kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'p' }, parameters: {}, summary: 'x' }), facts({ placement: placed({ chain: [{ kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'p' }] }) }), SETTINGS, 'revert-bounds'],
    ['a revert to zero', revert({ ...scale, fromReplicas: 0 }), facts(), SETTINGS, 'revert-bounds'],
    ['a revert upwards', revert({ ...scale, fromReplicas: 9 }), facts(), SETTINGS, 'revert-bounds'],
  ] as const)('refuses %s', (_name, request, gateFacts, settings, rule) => {
    // Act
    const verdict = judgeWrite(request, gateFacts, settings);
    // Assess
    expect(verdict.allowed).toBe(false);
    expect(verdict.deniedBy).toBe(rule);
  });

  it('lets the healer undo its own scale although the crashing pod it was for is gone by then', () => {
    expect(judgeWrite(revert(), facts({ subjectPlacement: null }), SETTINGS).allowed).toBe(true);
  });

  it('denies when a rule throws, and when there are no rules', () => {
    // Act
    const thrown = judgeWrite(act(), facts(), SETTINGS, [['boom', () => { throw new Error('no'); }]]);
    const empty = judgeWrite(act(), facts(), SETTINGS, []);
    // Assess
    expect(thrown).toMatchObject({ allowed: false, deniedBy: 'boom' });
    expect(empty).toMatchObject({ allowed: false, deniedBy: 'no-rules' });
  });

  it('property: a revert is allowed only back to a positive count below the healer\'s own', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 20_000 }), fc.integer({ min: -5, max: 20_000 }), (before, ours) => {
        // Act
        const verdict = judgeWrite(revert({ ...scale, fromReplicas: before, parameters: { replicas: ours } }), facts(), SETTINGS);
        // Assess
        expect(verdict.allowed).toBe(before >= 1 && before < ours);
      }),
      { numRuns: 500 },
    );
  });
});

describe('one door to the cluster', () => {
  // Every file of the healer's own code (not tests), read as text.
  const root = join(import.meta.dirname, '..', '..');
  const sources = ['lib', 'functions', 'scripts'].flatMap((dir) => walk(join(root, dir))).filter((f) => f.endsWith('.ts'));
  const text = (file: string) => readFileSync(file, 'utf8');
  const rel = (file: string) => relative(root, file);

  it('calls a writer\'s execute or revert only inside the write gate', () => {
    // Act
    const callers = sources.filter((f) => /\.(execute|revert)\(/.test(text(f))).map(rel);
    // Assess
    expect(callers).toEqual(['lib/pipeline/write-gate.ts']);
  });

  it('hands the Kubernetes writer to nothing but the write gate', () => {
    // Act: where the actor is made, and what it is given to.
    const makers = sources.filter((f) => /new KubernetesActor\(/.test(text(f))).map(rel);
    const wiring = text(join(root, 'lib/wiring/acting.ts'));
    // Assess
    expect(makers).toEqual(['lib/wiring/acting.ts']);
    expect(wiring.match(/writer: actor/g)).toHaveLength(1);
    expect(wiring).toMatch(/new WriteGate\(\{\s*writer: actor/);
    // Besides the gate, the actor is handed out once more, typed as a read-only observer.
    const handedTo = [...wiring.matchAll(/(\w+): actor\b/g)].map((m) => m[1]);
    expect(handedTo).toEqual(['writer', 'observer']);
    expect(wiring.match(/\bactor\b/g)).toHaveLength(4);
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
