import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ACTIONS, needsApproval } from '../../lib/actions/catalog.js';
import { planAction, scaleCeiling, stillNeeded, type ActionPlan, type ScaleBounds } from '../../lib/actions/plan.js';
import { judge } from '../../lib/actions/verify.js';
import { approvalDigest, checkApprovalToken, parseApprovalToken, signApproval } from '../../lib/approval/token.js';
import { ACTION_IDS, type Diagnosis, type Evidence } from '../../lib/domain/types.js';
import { anEvictDiagnosis, anIncident, evidenceFor } from '../fixtures/builders.js';

/** The action catalog, the pure planner, the verification judge and approval tokens. */

const BOUNDS: ScaleBounds = { maxReplicas: 10, maxStep: 2, maxStepPercent: 50 };
const incident = anIncident();
const workload = { kind: 'Deployment', name: 'web', uid: 'd-1', resourceVersion: '42', desiredReplicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, paused: false, conditions: [], podStates: {} };
const evidence: Evidence = evidenceFor(incident, { workload });
const scaleTo = (replicas: number): Diagnosis => ({
  ...anEvictDiagnosis(incident),
  recommendation: 'scale-deployment',
  target: { kind: 'Deployment', name: 'web', namespace: incident.subject.namespace },
  parameters: { replicas },
});

describe('action catalog', () => {
  it('declares safety metadata for every allowlisted action, and nothing else', () => {
    expect(Object.keys(ACTIONS).sort()).toEqual([...ACTION_IDS].sort());
    for (const id of ACTION_IDS) {
      const spec = ACTIONS[id];
      expect(spec.targetKinds.length).toBeGreaterThan(0);
      expect(spec.cooldownSeconds).toBeGreaterThan(0);
      expect(['low', 'medium', 'high']).toContain(spec.risk);
    }
  });

  it('lets operators add approvals but never remove the ones the code declares', () => {
    expect(needsApproval('cordon-node', [])).toBe(true);
    expect(needsApproval('evict-pod', [])).toBe(false);
    expect(needsApproval('evict-pod', ['evict-pod'])).toBe(true);
  });
});

describe('planAction', () => {
  it('plans an eviction pinned to the pod uid, watching its ReplicaSet', () => {
    const planned = planAction(anEvictDiagnosis(incident), evidence, BOUNDS);
    expect(planned).toMatchObject({ ok: true, plan: { action: 'evict-pod', target: { kind: 'Pod', uid: 'pod-uid' }, watch: { kind: 'ReplicaSet' } } });
  });

  it('plans a scale within bounds with the resourceVersion it was made on', () => {
    expect(planAction(scaleTo(4), evidence, BOUNDS)).toMatchObject({ ok: true, plan: { resourceVersion: '42', fromReplicas: 3, parameters: { replicas: 4 } } });
  });

  it.each([
    ['down', 2, /only scales up/],
    ['to the same count', 3, /only scales up/],
    ['by more than the step', 6, /out of bounds: at most 4/],
  ])('refuses to scale %s', (_what, replicas, reason) => {
    const planned = planAction(scaleTo(replicas), evidence, BOUNDS);
    expect(planned.ok).toBe(false);
    if (!planned.ok) expect(planned.reason).toMatch(reason);
  });

  it('never scales a Deployment up from zero replicas, whatever the bounds allow', () => {
    // Prepare: switched off on purpose; +1 is within every bound.
    const off: Evidence = { ...evidence, workload: { ...workload, desiredReplicas: 0, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 0 } };

    // Act
    const planned = planAction(scaleTo(1), off, BOUNDS);

    // Assess
    expect(planned.ok).toBe(false);
    if (!planned.ok) expect(planned.reason).toMatch(/scaled to zero/);
  });

  it('property: a planned scale never passes the maximum, the step or the share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 400 }),
        fc.record({ maxReplicas: fc.integer({ min: 1, max: 300 }), maxStep: fc.integer({ min: 1, max: 50 }), maxStepPercent: fc.integer({ min: 1, max: 300 }) }),
        (from, to, bounds) => {
          // Prepare
          const ev: Evidence = { ...evidence, workload: { ...workload, desiredReplicas: from } };
          // Act
          const planned = planAction(scaleTo(to), ev, bounds);
          // Assess
          if (!planned.ok) return;
          expect(from).toBeGreaterThan(0);
          expect(to).toBeGreaterThan(from);
          expect(to).toBeLessThanOrEqual(bounds.maxReplicas);
          expect(to - from).toBeLessThanOrEqual(bounds.maxStep);
          expect(to - from).toBeLessThanOrEqual(Math.max(1, Math.floor((from * bounds.maxStepPercent) / 100)));
          expect(to).toBeLessThanOrEqual(scaleCeiling(from, bounds));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses a paused Deployment, an unread one, a target outside the chain and parameters an action does not take', () => {
    const reasonOf = (d: Diagnosis, ev: Evidence) => {
      const planned = planAction(d, ev, BOUNDS);
      return planned.ok ? 'planned' : planned.reason;
    };
    expect(reasonOf(scaleTo(4), { ...evidence, workload: { ...workload, paused: true } })).toMatch(/paused/);
    expect(reasonOf(scaleTo(4), { ...evidence, workload: undefined })).toMatch(/not read/);
    expect(reasonOf({ ...scaleTo(4), target: { kind: 'Deployment', name: 'other', namespace: 'shop' } }, evidence)).toMatch(/not in the incident's owner chain/);
    expect(reasonOf({ ...anEvictDiagnosis(incident), parameters: { replicas: 9 } }, evidence)).toMatch(/parameters for evict-pod are invalid/);
  });

  it('leaves alone what healed or finished meanwhile', () => {
    expect(stillNeeded('evict-pod', { ...evidence, podReady: true })).toMatch(/healthy again/);
    expect(stillNeeded('rollout-restart', evidence)).toMatch(/every replica is available/);
    expect(stillNeeded('delete-job', { ...evidence, job: { name: 'j', active: 0, succeeded: 1, failed: 0, suspended: false, conditions: [{ type: 'Complete' }] } })).toMatch(/already finished/);
    expect(stillNeeded('cordon-node', { ...evidence, node: { name: 'n', unschedulable: true, conditions: [] } })).toMatch(/already cordoned/);
    expect(stillNeeded('evict-pod', { ...evidence, exists: false })).toMatch(/no longer exists/);
  });
});

describe('judge (verification)', () => {
  const plan = (action: ActionPlan['action'], parameters: Record<string, number> = {}): ActionPlan => ({ action, target: { kind: 'X', name: 'x' }, parameters, summary: 's' });
  const replicas = (desired: number, available: number) => ({ desired, updated: desired, ready: available, available, observedLatest: true });

  it('says done, pending or failed from what it sees, and fails what stays pending too long', () => {
    expect(judge(plan('evict-pod'), { targetPresent: false, replicas: replicas(2, 2) }, 5).status).toBe('done');
    expect(judge(plan('evict-pod'), { targetPresent: false, replicas: replicas(2, 1) }, 5).status).toBe('pending');
    expect(judge(plan('evict-pod'), { targetPresent: false, replicas: replicas(2, 1) }, 301).status).toBe('failed');
    expect(judge(plan('scale-deployment', { replicas: 4 }), { targetPresent: true, replicas: replicas(4, 4) }, 1).status).toBe('done');
    const changed = judge(plan('scale-deployment', { replicas: 4 }), { targetPresent: true, replicas: replicas(6, 6) }, 1);
    expect(changed.status).toBe('failed');
    expect(changed.detail).toMatch(/something else changed it/);
    expect(judge(plan('delete-job'), { targetPresent: false }, 1).status).toBe('done');
    expect(judge(plan('cordon-node'), { targetPresent: true, unschedulable: false }, 1).status).toBe('failed');
    expect(judge(plan('rollout-restart'), { targetPresent: true, replicas: { ...replicas(3, 3), observedLatest: false } }, 1).status).toBe('pending');
  });
});

describe('approval tokens', () => {
  const key = Buffer.alloc(32, 7);
  const plan: ActionPlan = { action: 'cordon-node', target: { kind: 'Node', name: 'n1', uid: 'u1' }, resourceVersion: '5', parameters: {}, summary: 'cordon Node n1' };
  const digest = approvalDigest({ incidentId: 'i1', cluster: 'c', plan });
  const id = 'a'.repeat(32);
  const exp = Date.parse('2026-11-25T13:00:00Z');
  const token = signApproval(key, id, exp, digest);

  it('accepts its own token before expiry, refuses it after', () => {
    const parsed = parseApprovalToken(token);
    expect(parsed).toBeDefined();
    expect(checkApprovalToken(key, parsed!, digest, exp - 1)).toEqual({ ok: true });
    expect(checkApprovalToken(key, parsed!, digest, exp)).toEqual({ ok: false, reason: 'expired' });
  });

  it('binds the digest to the exact plan: another resourceVersion, target or parameter is another digest', () => {
    expect(approvalDigest({ incidentId: 'i1', cluster: 'c', plan: { ...plan, resourceVersion: '6' } })).not.toBe(digest);
    expect(approvalDigest({ incidentId: 'i1', cluster: 'c', plan: { ...plan, target: { ...plan.target, name: 'n2' } } })).not.toBe(digest);
    // Property order does not matter.
    expect(approvalDigest({ cluster: 'c', plan: { summary: plan.summary, parameters: {}, resourceVersion: '5', target: plan.target, action: plan.action }, incidentId: 'i1' })).toBe(digest);
  });

  it('property: any altered character of the link is refused (tampered or unparseable), never accepted', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: token.length - 1 }), fc.constantFrom(...'0123456789abcdefABCXYZ-_.'), (at, char) => {
        const altered = token.slice(0, at) + char + token.slice(at + 1);
        fc.pre(altered !== token);
        const parsed = parseApprovalToken(altered);
        if (!parsed) return;
        expect(checkApprovalToken(key, parsed, digest, exp - 1000).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a token signed with another key', () => {
    const other = signApproval(Buffer.alloc(32, 8), id, exp, digest);
    expect(checkApprovalToken(key, parseApprovalToken(other)!, digest, exp - 1)).toEqual({ ok: false, reason: 'tampered' });
  });
});
